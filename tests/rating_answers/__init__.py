"""The customer's answers at the service level: rating_submit and rating_comment. A1 first
rating, A2 change, A3 final after a comment, A4/A5 hour limits and A6 a workflow's own limits
at their boundaries, A7 refusals that write nothing, A8 append-only history, A9 links."""
