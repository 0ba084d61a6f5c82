"""Hostile input goes through unharmed and is shown as text (issue 6, item 4).

Comments and names holding markup, SQL-looking text, template syntax, odd Unicode (a
right-to-left override, zero-width joiners, combining marks, emoji with skin tones), very long
text and the NUL character, made through the real services and the real forms, then read back
through every surface that shows them: the customer's rating page and Messenger view (A1, A7),
the report pages (R2, R3, R4), the CSV exports (R5, with spreadsheet formulas neutralised), the
admin (the inbox's conversation page, the rating admin, the people lists), the survey email
(D1) and the REST API.

"Shown as text" means: escaped the way Django escapes (the raw markup never appears in the
HTML), and read back whole by an HTML parser as the page's text. "Unharmed" means stored and
returned exactly (CSV and JSON equal to what was typed). NUL, which PostgreSQL cannot store in
text, is a 400 / ValidationError with words on both databases, never a 500."""
