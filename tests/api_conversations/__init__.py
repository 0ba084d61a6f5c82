"""The teammate API on conversations: create (with Idempotency-Key), read, list with filters,
reply, note, close, snooze, reopen — through the same services as the admin inbox — and the
rating request's status and the rating of a conversation."""
