"""D4: a survey is handed to its channel exactly once, whatever runs twice or fails midway.

`request_deliver` sends a request's survey through `conversations.outbox.deliver_once`: under
the request's row lock, `delivered_at` recorded in the same transaction, a refusal recorded
and raised (`DeliveryFailed`) so that the queue or the sweep tries again after a growing
pause, and a hand-over that lost its database connection recorded (with its note in the
thread) on a new one instead of sent again.
"""

from __future__ import annotations

import re

from django.conf import settings as django_settings
from django.core.mail import get_connection as get_mail_connection

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
from ratings.models import RatingRequest, RatingSettings
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
    "requests_deliver",
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
    return requests_deliver([request_id])


def _deliverable():
    return RatingRequest.objects.select_related("conversation", "contact", "teammate", "app")


def requests_deliver(request_ids: list[int], *, settings: RatingSettings | None = None) -> str:
    """Hand the survey of each request over once (D4), in order, over one mail connection
    (D6). A refusal is recorded on its request and the others are still tried; then
    `DeliveryFailed` says which were refused (the queue or the sweep tries them again). D7:
    when an email went out and none was refused, the email surveys waiting after an earlier
    refusal are tried now (the mail server takes mail again), not after their pause.
    `settings`: the ones the deciding batch loaded, else loaded here once."""
    settings = settings or RatingSettings.load()
    mail = get_mail_connection()
    summaries: list[str] = []
    refused: list[str] = []
    emailed = False

    def deliver(request_id: int, *, skip_locked: bool = False) -> None:
        nonlocal emailed
        try:
            summary = deliver_once(
                _deliverable(),
                request_id,
                lambda request, connection: survey_send(
                    request, connection=connection, settings=settings
                ),
                handed_over=note_delivered,
                mail=mail,
                skip_locked=skip_locked,
            )
        except DeliveryFailed as error:
            refused.append(f"request {request_id}: {error}")
            return
        summaries.append(summary)
        emailed |= summary.startswith("Rating survey emailed")

    try:
        for request_id in request_ids:
            deliver(request_id)
        if emailed and not refused:
            # Several runs may do this at once: each leaves to the others what they hold.
            for request_id in _waiting_after_refusal(exclude=request_ids):
                deliver(request_id, skip_locked=True)
    finally:
        mail.close()  # the SMTP session's QUIT, after the last commit
    if refused:
        raise DeliveryFailed("; ".join(refused))
    return "; ".join(summaries)


def _waiting_after_refusal(*, exclude) -> list[int]:
    """D7: email surveys not delivered, refused at least once, not given up (a partial index
    on the undelivered requests keeps this cheap), the oldest first, a batch of them."""
    now = clock.now()
    return list(
        RatingRequest.objects.filter(
            delivered_at__isnull=True,
            channel="email",
            delivery_attempts__gt=0,
            created_at__gte=now - DELIVERY_GIVE_UP,
        )
        .exclude(pk__in=exclude)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[: django_settings.RATING_DECISION_BATCH]
    )
