"""D4: a survey is handed to its channel exactly once, whatever runs twice or fails midway.

`request_deliver` sends a request's survey through `conversations.outbox.deliver_once`: under
the request's row lock, `delivered_at` recorded in the same transaction, a refusal recorded
and raised (`DeliveryFailed`) so that the queue or the sweep tries again after a growing
pause, and a hand-over that lost its database connection recorded (with its note in the
thread) on a new one instead of sent again.
"""

from __future__ import annotations

import re

from conversations import clock
from conversations.outbox import (
    CONNECTION_LOST,
    DELIVERY_FIELDS,
    DELIVERY_GIVE_UP,
    RECONNECT_TRIES,
    DeliveryFailed,
    deliver_once,
    reconnect,
    retry_pause,
)
from mail.threading import message_domain
from ratings.models import RatingRequest
from ratings.surveys import note_delivered, survey_send

__all__ = [
    "CONNECTION_LOST",
    "DELIVERY_FIELDS",
    "DELIVERY_GIVE_UP",
    "RECONNECT_TRIES",
    "DeliveryFailed",
    "on_mail_bounced",
    "reconnect",
    "request_deliver",
    "retry_pause",
]


def on_mail_bounced(sender, message_ids, reason, **kwargs) -> int:
    """M11: a survey email that bounced is recorded on its request (the customer's address
    may be wrong: the conversation page shows it)."""
    pattern = re.compile(rf"^<rating-request-(\d+)\.(\d+)@{re.escape(message_domain())}>$", re.I)
    bounced = [found for found in (pattern.match(m) for m in message_ids) if found]
    updated = 0
    for found in bounced:
        updated += RatingRequest.objects.filter(
            pk=int(found[1]), conversation_id=int(found[2])
        ).update(bounced_at=clock.now(), bounce=reason or "Bounced.")
    return updated


def request_deliver(request_id: int) -> str:
    """Hand the survey of request `request_id` over once (D4)."""
    return deliver_once(
        RatingRequest.objects.select_related("conversation", "contact", "teammate", "app"),
        request_id,
        lambda request, mail: survey_send(request, connection=mail),
        handed_over=note_delivered,
    )
