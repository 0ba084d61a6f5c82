"""The report pages through the client, with ratings made by the real services.

R1 summary (S1 CSAT, S3 response rate, shares, reasons, target, trend chart), R2 teammates
(sorting, links to comments), R3 comments (every filter, follow-up, escaping, pagination),
R4 achievements; period edges; a changed rating counted once; "—" when there is nothing to
divide; invalid query strings never 500; a fixed number of queries whatever the data size."""
