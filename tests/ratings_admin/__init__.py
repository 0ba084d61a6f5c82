"""The ratings admin: the one row of settings (Settings table, W1/W2), the view-only records
(requests, decisions, ratings and their A8 history) and the conversation page's rating panel
("why did this customer get no survey?", E1–E8). Data is made with the services."""
