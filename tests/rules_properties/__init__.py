"""Property tests (Hypothesis) of ratings.rules: the decisions are pure functions of the facts.

`eligibility` (E1–E8), `answer_refusal` (A3–A5) and `effective_windows` (W1, W2) are checked
over generated facts, not chosen examples: the answer depends on the facts and nothing else (no
database, no clock, no call order, no object identity, no time zone of the same instant); E3 is
monotone in the number of visible characters and E4 in the time of the close; A4/A5 refusals
only grow with the time since the close; A3 is final; a workflow's hours win (W1), else the
settings (W2). The example-based boundaries are in test_rules.py.

No test here takes the `db` fixture: pytest-django refuses any database access, so a rule that
read the database would fail every example. Runs are bounded and derandomized (the same
examples every run) so the file takes a few seconds."""
