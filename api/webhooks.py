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
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django_q.tasks import async_task

from api.models import Webhook, WebhookDelivery
from conversations import clock
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


def timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT", 5))


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
    async_task(SEND_TASK, delivery_id=delivery_id, task_name=f"webhook-{delivery_id}")


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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not follow (it would turn the POST into a GET)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the status code; raises on a network failure."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout_seconds()) as response:
            response.read(1024)
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


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
        status_code = _post(delivery.webhook.url, body, headers)
    except Exception as failure:  # noqa: BLE001 - any failure is recorded, then retried
        error = f"{type(failure).__name__}: {failure}"[:2000]
    if status_code is not None and not 200 <= status_code < 300:
        error = f"The receiver answered {status_code}."
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
