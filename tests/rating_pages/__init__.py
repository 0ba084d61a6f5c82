"""The customer's rating page behind an email link, and its comment form (ratings.views).

A GET never writes (mail scanners open every link); a POST goes through rating_submit /
rating_comment. A1 one click records, A2 change, A3 final after a comment, A4/A5 hour limits,
A6 a workflow's own limits, A7 refusals said plainly with a 4xx and nothing written, A8 history,
A9 links that cannot be forged and never log anyone in, S1 CSAT."""
