"""The report selectors and pages issue a fixed number of queries whatever the data size, and
the selectors' figures match hand-computed ones (S1, S3, R1–R4).

Fixed queries: every selector and every page is read on a small data set (1 teammate, 3
ratings) and on a larger one (6 teammates, 60 ratings over two weeks, with comments, reasons,
follow-ups, a changed rating and unanswered requests), with the same exact number of queries.
The data is made by the real services (tests/report_helpers.py): eligible closes decided by the
in-process queue, answers through `rating_submit` / `rating_comment` with the link's token."""
