"""D4: a survey is handed to its channel exactly once, whatever runs twice or fails midway.

`request_deliver` sends a request's survey under the request's row lock and records
`delivered_at` in the same transaction, the hand-over being its last step. A mail server that
refuses is recorded on the request (attempts, last error) and raised as `DeliveryFailed`, so
the queue or the sweep tries again after a growing pause (`retry_pause`). A database
connection lost on the way is reconnected (`reconnect`); one lost after the mail server took
the survey records the hand-over on a new connection instead of sending it again.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core.mail import get_connection as get_mail_connection
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection

from conversations import clock
from ratings.models import RatingRequest
from ratings.surveys import note_delivered, survey_send

logger = logging.getLogger(__name__)

# A survey that could not be delivered for this long is given up.
DELIVERY_GIVE_UP = timedelta(days=7)
# A lost database connection (not a refusal by the database): reconnect and try again.
CONNECTION_LOST = (InterfaceError, OperationalError)
RECONNECT_TRIES = 3
RECORD_TRIES = 6  # 0.1 + 0.2 + … + 3.2 s: recording a survey already sent insists longer
# What a delivery attempt writes on its request.
DELIVERY_FIELDS = ["delivery_attempts", "last_attempt_at", "delivered_at", "last_error"]


class DeliveryFailed(Exception):
    """The survey could not be handed to the mail server; the queue will try again."""


def retry_pause(attempts: int) -> timedelta:
    """2, 4, 8 … units between delivery attempts, at most an hour. The unit is
    RATING_DELIVERY_RETRY_SECONDS (a minute by default)."""
    unit = django_settings.RATING_DELIVERY_RETRY_SECONDS
    return min(timedelta(seconds=unit * 2 ** max(attempts, 1)), timedelta(hours=1))


def reconnect(attempt: int) -> bool:
    """Drop a broken database connection so that the next query opens a new one; False inside
    a caller's transaction, where a new connection cannot carry on its work."""
    if db_connection.in_atomic_block:
        return False
    db_connection.close()
    time.sleep(0.1 * 2**attempt)
    return True


def request_deliver(request_id: int) -> str:
    """Hand the survey over once (D4). The request row stays locked while it is sent, so a
    second worker waits and then finds it delivered.

    The hand-over is the last step before the commit (see `surveys.survey_send`). Should the
    database connection be lost after the mail server took the survey (a worker's connection
    cut while it talks SMTP), the hand-over is recorded again on a new connection instead of
    being rolled back and sent a second time by the retry."""
    failure = None
    handed_over_at = None
    mail = get_mail_connection()
    try:
        with transaction.atomic():
            request = (
                RatingRequest.objects.select_for_update(of=("self",))
                .select_related("conversation", "contact", "teammate", "app")
                .get(pk=request_id)
            )
            if request.delivered_at is not None:
                return "already delivered"
            now = clock.now()
            request.delivery_attempts += 1
            request.last_attempt_at = now
            try:
                with transaction.atomic():
                    summary = survey_send(request, connection=mail)
                    handed_over_at = now
            except DatabaseError:
                raise
            except Exception as error:  # noqa: BLE001 - a mail failure is recorded, then retried
                failure = error
                request.last_error = f"{type(error).__name__}: {error}"[:2000]
            else:
                request.delivered_at = now
                request.last_error = ""
            request.save(update_fields=DELIVERY_FIELDS)
    except CONNECTION_LOST:
        if handed_over_at is None:
            raise
        summary = _record_handed_over(request_id, handed_over_at, summary)
    finally:
        mail.close()  # the SMTP session's QUIT, after the commit
    if failure is not None:
        logger.warning(
            "Survey for conversation %s not delivered: %s", request.conversation_id, failure
        )
        raise DeliveryFailed(request.last_error) from failure
    return summary


def _record_handed_over(request_id: int, at: datetime, summary: str) -> str:
    """The mail server took the survey but the connection that was to record it was lost:
    record it (and its note in the thread) on a new connection, once. Tried for a few seconds;
    past that it is left to the sweep (which would send it again)."""
    for attempt in range(RECORD_TRIES):
        if not reconnect(attempt):
            break
        try:
            with transaction.atomic():
                request = (
                    RatingRequest.objects.select_for_update(of=("self",))
                    .select_related("conversation", "contact")
                    .get(pk=request_id)
                )
                if request.delivered_at is None:
                    request.delivery_attempts += 1
                    request.last_attempt_at = at
                    request.delivered_at = at
                    request.last_error = ""
                    request.save(update_fields=DELIVERY_FIELDS)
                    note_delivered(request, summary)
            logger.warning("Survey %s was sent; recorded after a lost connection.", request_id)
            return summary
        except CONNECTION_LOST:
            continue
    # Not a CONNECTION_LOST: the task must not send it again at once.
    raise DeliveryFailed(f"Survey {request_id} was sent but could not be recorded.")
