"""Reads of the conversations app that more than one face needs."""

from __future__ import annotations

from conversations.models import FormerTeammate, Teammate


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


def teammate_names(keys=None) -> dict[int, str]:
    """G5: the name of each teammate key (a teammate's id, kept by requests and ratings),
    deleted teammates' (`FormerTeammate`) included; `keys=None` for every one. One query."""
    current = Teammate.objects.order_by().values_list("pk", "name")
    former = FormerTeammate.objects.order_by().values_list("teammate_key", "name")
    if keys is not None:
        keys = [key for key in keys if key]
        current, former = current.filter(pk__in=keys), former.filter(teammate_key__in=keys)
    # A former teammate's key is never a current teammate's (ids are not reused).
    return dict(current.union(former, all=True))
