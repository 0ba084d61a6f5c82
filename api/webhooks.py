"""Webhooks: every accepted rating, change and comment, and every discard of a mail scanner's
rating (A10) (A8's history) POSTed as signed JSON.

The outbox: `on_rating_event_recorded` receives `ratings.signals.rating_event_recorded`, sent
inside the transaction that accepted the answer, and writes one `WebhookDelivery` per active
webhook there; the send is queued once that transaction commits. A refused answer rolls the
rows back with it; a committed one always has its rows.

Delivery is at least once. A sender takes a delivery with a conditional UPDATE (a lease), so
two workers never post it at the same time, and posts outside any transaction (no row or
database lock is held while waiting on the network). A failure (not 2xx, a timeout, a refused
connection) is recorded and tried again after 1, 2, 4 … minutes (at most an hour between
tries, `MAX_ATTEMPTS` in all); the sweep, run every minute by a schedule, queues what is due,
including whatever a lost task or a dead worker left behind.

K5: the post goes through `api.outbound`: an address refused there (loopback, private,
link-local …, unless WEBHOOK_ALLOW_PRIVATE), a host that does not resolve, a redirect (never
followed) and a timeout are failures like the others: recorded in `last_error` in plain words
and tried again by the same rules (the host may resolve elsewhere by then; every try is
vetted again), given up after `MAX_ATTEMPTS`.

What a receiver gets: the JSON body, and the headers
  X-CSAT-Event-Id      the event's id, the same on every try: drop repeats by it
  X-CSAT-Event-Type    rating.rated | rating.changed | rating.commented | rating.discarded
                       (a discard: the rating no longer stands; `data.rule` says why, A10)
  X-CSAT-Timestamp     seconds since the epoch when this try was signed
  X-CSAT-Signature     sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q

from api import outbound
from api.models import Webhook, WebhookDelivery
from conversations import clock
from conversations.outbox import outbox_enqueue
from ratings.models import Rating, RatingEvent
from ratings.scale import reaction

logger = logging.getLogger(__name__)

SEND_TASK = "api.webhooks.webhook_delivery_send"
MAX_ATTEMPTS = 15
LEASE = timedelta(minutes=2)
FIRST_TRY_GRACE = timedelta(minutes=1)
SWEEP_BATCH = 500
USER_AGENT = "csat-webhooks/1"
SIGNATURE_HEADER = "X-CSAT-Signature"
TIMESTAMP_HEADER = "X-CSAT-Timestamp"
EVENT_ID_HEADER = "X-CSAT-Event-Id"
EVENT_TYPE_HEADER = "X-CSAT-Event-Type"


# --- the outbox ---------------------------------------------------------------------------------


def event_payload(*, event_id: uuid.UUID, event: RatingEvent, rating: Rating) -> dict:
    """The JSON body of one rating event: what was accepted, as it was then."""

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": str(event_id),
        "type": f"rating.{event.kind}",
        "created_at": moment(event.at),
        "data": {
            "rating_id": rating.pk,
            "conversation_id": rating.conversation_id,
            "teammate_id": rating.teammate_key or None,  # G5: kept when deleted
            # B: a teammate's rating or the bot's (teammate_id then null).
            "kind": rating.kind,
            "value": event.value,
            "reaction": reaction(event.value).name,
            "comment": event.comment,
            "reasons": list(event.reasons or []),
            "rated_at": moment(rating.rated_at),
            "changed_at": moment(rating.changed_at),
            "commented_at": moment(rating.commented_at),
            # A10: why a rating was discarded (empty for an answer).
            "rule": event.rule,
            "rule_words": event.rule_words,
        },
    }


def on_rating_event_recorded(sender, event: RatingEvent, rating: Rating, **kwargs) -> None:
    """Receiver of `rating_event_recorded` (inside the answer's transaction): one delivery per
    active webhook, written now, sent once the transaction commits."""
    webhook_ids = list(Webhook.objects.filter(active=True).values_list("pk", flat=True))
    if not webhook_ids:
        return
    event_id = uuid.uuid4()  # one id per event, the same for every webhook and every try
    payload = event_payload(event_id=event_id, event=event, rating=rating)
    now = clock.now()
    for webhook_id in webhook_ids:
        delivery = WebhookDelivery.objects.create(
            webhook_id=webhook_id,
            event_id=event_id,
            event_type=payload["type"],
            rating_event=event,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        transaction.on_commit(partial(webhook_delivery_enqueue, delivery_id=delivery.pk))


def webhook_delivery_enqueue(*, delivery_id: int) -> None:
    outbox_enqueue(SEND_TASK, delivery_id=delivery_id, task_name=f"webhook-{delivery_id}")


def webhook_deliveries_sweep(*, now: datetime | None = None) -> int:
    """Queue every delivery that is due (a retry whose pause is over, or one whose task was
    lost) and not held by a sender. Run every minute by a schedule; returns how many."""
    now = now or clock.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        # A first try is queued on commit: the sweep leaves it to that task for a while.
        .filter(Q(attempts__gt=0) | Q(created_at__lte=now - FIRST_TRY_GRACE))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in due:
        webhook_delivery_enqueue(delivery_id=delivery_id)
    return len(due)


# --- sending ------------------------------------------------------------------------------------


def retry_pause(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the `attempts`-th failure, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=1))


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of X-CSAT-Signature: HMAC-SHA256 of "<timestamp>.<body>"."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (in constant time), as a reference for receivers."""
    try:
        expected = sign(secret=secret, timestamp=int(timestamp), body=body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


def _failure(answer: outbound.Answer) -> str:
    """The last error of an answer that is not a 2xx ("" for a 2xx)."""
    if 200 <= answer.status < 300:
        return ""
    if 300 <= answer.status < 400:
        # K5: a redirect is never followed (it could lead anywhere, a private address too).
        return f"Redirect not followed ({answer.status} to {answer.location[:500] or '?'})."
    return f"The receiver answered {answer.status}."


def webhook_delivery_send(*, delivery_id: int) -> str:
    """The queued task: post one delivery if it is pending, due and not held by another
    sender. Never raises for a failed post: the failure is recorded and the sweep retries."""
    now = clock.now()
    taken = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not taken:
        return "not due, already sent, or being sent"
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event_type,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret=delivery.webhook.secret, timestamp=timestamp, body=body),
    }
    status_code, error = None, ""
    try:
        # K5: resolved, vetted and connected to the vetted address; no redirect followed.
        answer = outbound.post(delivery.webhook.url, body=body, headers=headers)
    except outbound.OutboundError as failure:  # refused, unresolvable, timed out: it says so
        error = str(failure)[:2000]
    except Exception as failure:  # noqa: BLE001 - any failure is recorded, then retried
        error = f"{type(failure).__name__}: {failure}"[:2000]
    else:
        status_code, error = answer.status, _failure(answer)
    done = clock.now()
    outcome = {"locked_until": None, "last_status_code": status_code, "last_error": error}
    if not error:
        outcome.update(
            status=WebhookDelivery.Status.DELIVERED, delivered_at=done, next_attempt_at=None
        )
    elif delivery.attempts >= MAX_ATTEMPTS:
        outcome.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
    else:
        outcome.update(next_attempt_at=done + retry_pause(delivery.attempts))
    WebhookDelivery.objects.filter(pk=delivery_id).update(**outcome)
    if error:
        logger.warning(
            "Webhook delivery %s failed (try %s): %s", delivery_id, delivery.attempts, error
        )
        return f"failed: {error}"
    return f"delivered ({status_code})"
