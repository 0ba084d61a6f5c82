"""Erasure (G1, G2) and retention (G4): the conversations' half.

What a person wrote, or what was written to them, is replaced by `ERASED_TEXT`; what the
figures need (the conversation, its parts, their authors, kinds and times, E3's running
counts) stays, so ratings, closes and reports are untouched.

- `contact_personal_data_erase`: one contact's name, email and Messenger identity (so their
  widget sessions and visitor id stop working, W1–W4), the bodies of their own parts in every
  conversation, and in the conversations where they are the only contact every message body
  and the subject; previews and first lines of all their conversations. It runs inside the
  transaction of `ratings.erasure.contact_erase`, which erases the ratings' half and writes
  the audit row: call that one.
- `conversation_bodies_erase_closed`: G4's retention, the message bodies of conversations
  closed before a moment, in batches of a few queries each (never a query per part).

The search index (I3, PostgreSQL's GIN index on the bodies) follows the bodies by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, Q

from conversations import clock, poll_versions
from conversations.models import BodyFormat, Contact, Conversation, Part, State

ERASED_TEXT = "[erased]"
ERASED_NAME = "Erased contact"
# The placeholder is plain text (E3a): drawn as it is, whatever the body was.
ERASED_BODY = {"body": ERASED_TEXT, "body_format": BodyFormat.TEXT}
# The parts whose body is a message: events' bodies are the product's own words.
MESSAGE_KINDS = (Part.Kind.REPLY, Part.Kind.NOTE, Part.Kind.BOT)
RETENTION_BATCH = 500


@dataclass(frozen=True)
class ErasedCounts:
    conversations: int = 0
    parts: int = 0


def _messages(parts):
    return parts.filter(kind__in=MESSAGE_KINDS).exclude(body="").exclude(body=ERASED_TEXT)


def contact_personal_data_erase(*, contact: Contact, now: datetime) -> ErasedCounts:
    """G1, G2 (conversations' half), inside the caller's transaction, on a locked contact
    not erased yet. Returns what was erased."""
    conversations = Conversation.objects.filter(contacts=contact)
    ids = list(conversations.values_list("pk", flat=True))
    alone = list(
        Conversation.objects.filter(pk__in=ids)
        .annotate(n=Count("contacts"))
        .filter(n=1)
        .values_list("pk", flat=True)
    )
    parts = _messages(
        Part.objects.filter(Q(author_contact=contact) | Q(conversation_id__in=alone))
    ).update(**ERASED_BODY)
    Conversation.objects.filter(pk__in=alone).exclude(subject="").update(subject=ERASED_TEXT)
    # Every conversation of theirs changes (W6: a widget's poll sees it and asks again).
    Conversation.objects.filter(pk__in=ids).update(
        preview=ERASED_TEXT, first_line=ERASED_TEXT, updated_at=now
    )
    poll_versions.bump(conversation_ids=ids, contact_ids=[contact.pk])  # H4: update(), no signal
    contact.name, contact.email = ERASED_NAME, ""
    contact.external_id = contact.visitor_id = None
    contact.erased_at = now
    contact.messenger_links_epoch += 1  # K19: the links sent to them end too
    contact.save(
        update_fields=[
            "name",
            "email",
            "external_id",
            "visitor_id",
            "erased_at",
            "messenger_links_epoch",
        ]
    )
    return ErasedCounts(conversations=len(ids), parts=parts)


def conversation_bodies_erase_closed(
    *, before: datetime, batch_size: int = RETENTION_BATCH
) -> ErasedCounts:
    """G4: erase the message bodies (and previews, first lines) of the conversations closed
    before `before`, batch by batch, each batch its own transaction of three queries. Open
    and snoozed conversations are never touched, nor one reopened since (it is not closed);
    one erased, then reopened and closed again, is erased again once its new close is old.
    A conversation's `updated_at` marks it done: erasure sets it, any later part moves it."""
    total = ErasedCounts()
    while True:
        with transaction.atomic():
            ids = list(
                Conversation.objects.select_for_update()
                .filter(state=State.CLOSED, closed_at__lt=before)
                .exclude(bodies_erased_at__gte=F("updated_at"))
                .order_by("closed_at", "pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            now = clock.now()
            parts = _messages(Part.objects.filter(conversation_id__in=ids)).update(**ERASED_BODY)
            Conversation.objects.filter(pk__in=ids).update(
                preview=ERASED_TEXT, first_line=ERASED_TEXT, updated_at=now, bodies_erased_at=now
            )
            poll_versions.bump(conversation_ids=ids)  # H4: an update(), no signal
        total = ErasedCounts(
            conversations=total.conversations + len(ids), parts=total.parts + parts
        )
        if len(ids) < batch_size:
            return total
