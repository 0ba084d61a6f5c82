"""Telling apart what the locmem outbox holds: surveys (D1) and mailed replies (M1)."""

from __future__ import annotations

from django.core import mail


def message_id(email) -> str:
    return email.message()["Message-ID"]


def surveys() -> list:
    """The survey emails sent so far, oldest first."""
    return [email for email in mail.outbox if message_id(email).startswith("<rating-request-")]


def replies() -> list:
    """The replies (and bot messages) mailed so far, oldest first."""
    return [email for email in mail.outbox if message_id(email).startswith("<part-")]
