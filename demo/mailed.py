"""The demo's email conversations as if their replies had been mailed at their moment.

While the demo plays, the mail app's receiver is off (each reply would otherwise be queued to
be mailed now, to the demo's example addresses); afterwards every teammate reply and bot
message of an email conversation gets its Message-ID and a delivered `OutboundEmail`, so the
threads look as they would in a running installation.
"""

from __future__ import annotations

from conversations.models import Channel, Part
from conversations.signals import part_added
from demo.common import ReceiverOff, chunks
from mail.models import OutboundEmail
from mail.outbound import MAILED_KINDS, on_part_added
from mail.threading import part_message_id

RECEIVER_UID = "mail.outbound"
CHUNK = 1000


def mail_off() -> ReceiverOff:
    """`with mail_off():` nothing is queued to be mailed while the demo plays."""
    return ReceiverOff(part_added, on_part_added, RECEIVER_UID)


def mark_mailed(conversation_ids: list[int]) -> int:
    """Give the mailed parts of these conversations their Message-ID and a delivered email,
    `CHUNK` conversations at a time (a bounded `IN (…)`, a bounded list in memory)."""
    return sum(_mark_mailed(chunk) for chunk in chunks(conversation_ids, CHUNK))


def _mark_mailed(conversation_ids: list[int]) -> int:
    parts = list(
        Part.objects.filter(
            conversation_id__in=conversation_ids,
            conversation__channel=Channel.EMAIL,
            kind__in=MAILED_KINDS,
            author_contact__isnull=True,
        ).only("pk", "conversation_id", "created_at")
    )
    return _mailed(parts)


def mailed_of(parts: list[Part]) -> list[Part]:
    """Those of `parts` (just made, their conversation at hand: the set-based path,
    `demo.bulk`) that `mark_mailed` picks."""
    return [
        part
        for part in parts
        if part.kind in MAILED_KINDS
        and part.author_contact_id is None
        and part.conversation.channel == Channel.EMAIL
    ]


def emails_of(parts: list[Part]) -> list[OutboundEmail]:
    """Give each of these parts (their ids known) its Message-ID; their delivered emails,
    unsaved."""
    for part in parts:
        part.message_id = part_message_id(part)
    return [
        OutboundEmail(
            part=part,
            conversation_id=part.conversation_id,
            created_at=part.created_at,
            delivered_at=part.created_at,
            delivery_attempts=1,
            last_attempt_at=part.created_at,
        )
        for part in parts
    ]


def parts_mailed(parts: list[Part]) -> int:
    """`mark_mailed` for parts just written (the set-based path's, their conversation at
    hand)."""
    return _mailed(mailed_of(parts))


def _mailed(parts: list[Part]) -> int:
    emails = emails_of(parts)
    Part.objects.bulk_update(parts, ["message_id"], batch_size=CHUNK)
    OutboundEmail.objects.bulk_create(emails, batch_size=CHUNK)
    return len(parts)
