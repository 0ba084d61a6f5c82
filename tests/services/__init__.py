"""conversations.services: each write's happy path, and each refusal leaving the state as it was."""
