"""What each close decides, through real closes: the close commits, the receiver enqueues and the
(synchronous) queue runs `rating_request_send`. E1–E8 skips with their rule, D2 the rated
teammate, D4 idempotence, D5 the sweep and the "reopened" close, and the task's query count."""
