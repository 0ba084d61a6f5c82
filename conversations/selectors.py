"""Reads of the conversations app that more than one face needs."""

from __future__ import annotations

from conversations.models import Teammate


def teammate_of(user) -> Teammate | None:
    """The teammate profile of a signed-in user, or None: anonymous visitors, and staff
    accounts without a profile (they may use the admin's settings and the reports, but cannot
    act in a conversation: the services record which teammate acted)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.teammate
    except Teammate.DoesNotExist:
        return None


def no_teammate_message(user) -> str:
    """Why `user` may not act in a conversation, and what to do about it."""
    if getattr(user, "is_superuser", False):
        return (
            "Your superuser account has no teammate profile, so it cannot act on "
            "conversations. Create a teammate profile for it first (for example in "
            "manage.py shell: Teammate.objects.create(user=<your user>, name=<your name>))."
        )
    return (
        "Your account has no teammate profile, so it cannot act on conversations. "
        "Ask an admin to add you as a teammate."
    )
