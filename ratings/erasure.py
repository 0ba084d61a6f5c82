"""Erasure and retention (G1–G4): a contact's personal data erased on request, and message
bodies erased after the retention period.

- G1 `contact_erase(*, contact, by)`: the contact's name, email, message bodies
  (`conversations.erasure`), their ratings' comments and reasons, the reasons' rows and the
  history's comments and reasons are replaced by a placeholder; rating values, requests and
  the daily figures (`DailyFigures`, `DailyReasons`) stay, so every report adds up as before.
  The history (A8) is append-only through `RatingEvent.save()`; erasure alone rewrites its
  comment and reasons, deliberately, through a queryset update (values and times stay).
- G2 their rating links (A9, `ratings.links`) and Messenger identity (W1–W4) stop working:
  the link is refused as a bad link is, the visitor id and user id no longer name them.
- G3 one `Erasure` row says who erased whom, when, and how much.
- Erasing an erased contact again is refused with a ValidationError (nothing to do, and the
  audit keeps the one erasure).
- G4 `retention_erase()`: the daily schedule's task; with `RatingSettings.retention_days`
  set, the message bodies of conversations closed more than that many days ago.

One transaction per erasure; the retention runs in batches, one transaction each.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone

from conversations import clock
from conversations.erasure import (
    ERASED_TEXT,
    contact_personal_data_erase,
    conversation_bodies_erase_closed,
)
from conversations.models import Contact
from ratings.models import Erasure, Rating, RatingEvent, RatingReason, RatingSettings

ALREADY_ERASED = (
    "This contact's personal data was erased on {when}: there is nothing left to erase."
)


def _name(user) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or user.get_username())[:150]


@transaction.atomic
def contact_erase(*, contact: Contact, by) -> Erasure:
    """G1–G3: erase `contact`'s personal data; `by` is the user who asked (kept in the audit
    row). A ValidationError when it was erased already, with nothing written."""
    locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
    if locked is None:
        raise ValidationError("This contact does not exist.")
    if locked.erased_at is not None:
        when = formats.date_format(timezone.localtime(locked.erased_at), "j M Y, H:i")
        raise ValidationError(ALREADY_ERASED.format(when=when), code="erased")
    now = clock.now()
    erased = contact_personal_data_erase(contact=locked, now=now)
    ratings = Rating.objects.filter(request__contact=locked)
    rated = ratings.count()
    ratings.exclude(comment="").update(comment=ERASED_TEXT)
    ratings.exclude(reasons=[]).update(reasons=[])
    RatingReason.objects.filter(rating__request__contact=locked).delete()
    # A8's history is append-only by save(); this update is erasure's one exception.
    history = RatingEvent.objects.filter(request__contact=locked)
    entries = history.count()
    history.exclude(comment="").update(comment=ERASED_TEXT)
    history.exclude(reasons=[]).update(reasons=[])
    for field in ("name", "email", "external_id", "visitor_id", "erased_at"):
        setattr(contact, field, getattr(locked, field))  # the caller's copy, as it is now
    return Erasure.objects.create(
        reason=Erasure.Reason.REQUEST,
        contact_key=locked.pk,
        by=by if getattr(by, "pk", None) else None,
        by_name=_name(by) if getattr(by, "pk", None) else "",
        at=now,
        conversations=erased.conversations,
        parts=erased.parts,
        ratings=rated,
        history=entries,
    )


def retention_erase(*, now=None) -> int:
    """G4, the daily schedule's task: with `retention_days` set, erase the message bodies of
    the conversations closed more than that many days ago; returns how many conversations.
    A run that erased something leaves an `Erasure` row (reason retention)."""
    days = RatingSettings.current().retention_days
    if not days:
        return 0
    now = now or clock.now()
    erased = conversation_bodies_erase_closed(before=now - timedelta(days=days))
    if erased.conversations:
        Erasure.objects.create(
            reason=Erasure.Reason.RETENTION,
            at=now,
            by_name=f"Retention ({days} days)",
            conversations=erased.conversations,
            parts=erased.parts,
        )
    return erased.conversations
