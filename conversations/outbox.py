"""Handing a message to the outside world exactly once: a survey, a reply mailed to a customer.

A deliverable row (`Deliverable`: `delivered_at`, attempts, the last attempt and its error) is
written in the transaction that decides to send it, so nothing is lost; `deliver_once` sends
it later, from the task queue, under the row's lock, and records `delivered_at` in the same
transaction, the hand-over being its last step. Whatever runs twice (a retried task, a second
worker, the sweep) finds it delivered and sends nothing.

A refusal (the mail server says no) is recorded on the row and raised as `DeliveryFailed`, so
the queue or the sweep tries again after a growing pause (`retry_pause`, `due_for_retry`). A
database connection lost on the way is reconnected (`reconnect`); one lost after the hand-over
records the hand-over on a new connection instead of sending it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core.mail import get_connection as get_mail_connection
from django.db import DatabaseError, InterfaceError, OperationalError, models, transaction
from django.db import connection as db_connection
from django.db.models import Q, QuerySet
from django_q.tasks import async_task

from conversations import clock

logger = logging.getLogger(__name__)

# Something that could not be delivered for this long is given up.
DELIVERY_GIVE_UP = timedelta(days=7)
# A lost database connection (not a refusal by the database): reconnect and try again.
CONNECTION_LOST = (InterfaceError, OperationalError)
RECONNECT_TRIES = 3
RECORD_TRIES = 6  # 0.1 + 0.2 + … + 3.2 s: recording what was already sent insists longer
# What a delivery attempt writes on its row.
DELIVERY_FIELDS = ["delivery_attempts", "last_attempt_at", "delivered_at", "last_error"]


class Deliverable(models.Model):
    """The delivery state of something sent once (D4)."""

    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True


class DeliveryFailed(Exception):
    """It could not be handed over (the mail server refused); the queue will try again."""


def outbox_enqueue(func: str, *, task_name: str, **kwargs) -> None:
    """H8: queue a task whose outcome its own rows record (a decision's `decided_at`, a
    delivery's `delivered_at`): django-q2 keeps no success row of it (`save=False`), as its
    monitor reads and locks every kept success on each result it saves; a failure is still
    kept. The schedules' own tasks (the sweeps, the daily digest run) keep theirs, for the
    admin and `/healthz`."""
    async_task(func, task_name=task_name, save=False, **kwargs)


def retry_pause(attempts: int) -> timedelta:
    """2, 4, 8 … units between delivery attempts, at most an hour. The unit is
    RATING_DELIVERY_RETRY_SECONDS (a minute by default)."""
    unit = django_settings.RATING_DELIVERY_RETRY_SECONDS
    return min(timedelta(seconds=unit * 2 ** max(attempts, 1)), timedelta(hours=1))


def due_for_retry(queryset: QuerySet, *, now: datetime, stale: datetime, key: str) -> list:
    """The `key` of each row of `queryset` (created before `stale`, not given up yet) that is
    not delivered and whose pause since its last attempt is over."""
    undelivered = queryset.filter(
        delivered_at__isnull=True, created_at__lte=stale, created_at__gte=now - DELIVERY_GIVE_UP
    ).filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=stale))
    return [
        value
        for value, attempts, last_attempt in undelivered.values_list(
            key, "delivery_attempts", "last_attempt_at"
        )
        if last_attempt is None or now - last_attempt >= retry_pause(attempts)
    ]


def reconnect(attempt: int) -> bool:
    """Drop a broken database connection so that the next query opens a new one; False inside
    a caller's transaction, where a new connection cannot carry on its work."""
    if db_connection.in_atomic_block:
        return False
    db_connection.close()
    time.sleep(0.1 * 2**attempt)
    return True


def with_reconnects(work: Callable[[], str]) -> str:
    """Run `work`; a connection lost on the way rolls it back, and it runs again at once on a
    new connection, a few times, rather than wait for the sweep."""
    for attempt in range(RECONNECT_TRIES - 1):
        try:
            return work()
        except CONNECTION_LOST:
            if not reconnect(attempt):
                raise
    return work()


def deliver_once(
    queryset: QuerySet,
    pk: int,
    send: Callable,
    *,
    handed_over: Callable | None = None,
    mail=None,
    skip_locked: bool = False,
) -> str:
    """Hand the row `pk` of `queryset` over once: `send(row, connection)` sends it (with the
    opened mail connection, whose QUIT waits for the commit) and returns what to report.
    The row stays locked while it is sent, so a second worker waits, then finds it delivered.
    With `mail` (a mail connection the caller opened and closes) several rows go over one
    SMTP session, each in its own transaction. With `skip_locked`, a row another worker is
    sending is left to it ("being sent elsewhere") instead of waited for.

    Should the connection be lost after the hand-over, the row is marked delivered on a new
    connection, where `handed_over(row, summary)` records whatever else the send wrote."""
    failure = None
    handed_over_at = None
    summary = ""
    own_mail = mail is None
    mail = get_mail_connection() if own_mail else mail
    try:
        with transaction.atomic():
            rows = queryset.select_for_update(of=("self",), skip_locked=skip_locked)
            row = rows.filter(pk=pk).first() if skip_locked else rows.get(pk=pk)
            if row is None:
                return "being sent elsewhere"
            if row.delivered_at is not None:
                return "already delivered"
            now = clock.now()
            row.delivery_attempts += 1
            row.last_attempt_at = now
            try:
                with transaction.atomic():
                    summary = send(row, mail)
                    handed_over_at = now
            except DatabaseError:
                raise
            except Exception as error:  # noqa: BLE001 - a refusal is recorded, then retried
                failure = error
                row.last_error = f"{type(error).__name__}: {error}"[:2000]
            else:
                row.delivered_at = now
                row.last_error = ""
            row.save(update_fields=DELIVERY_FIELDS)
    except CONNECTION_LOST:
        if handed_over_at is None:
            raise
        summary = _record_handed_over(queryset, pk, handed_over_at, summary, handed_over)
    finally:
        if own_mail or failure is not None:
            mail.close()  # the SMTP session's QUIT, after the commit (a refused one: a new one)
    if failure is not None:
        logger.warning("%s not delivered: %s", row, failure)
        raise DeliveryFailed(row.last_error) from failure
    return summary


def _record_handed_over(queryset, pk, at: datetime, summary: str, handed_over) -> str:
    """It was handed over but the connection that was to record it was lost: record it on a
    new connection, once. Tried for a few seconds; past that it is left to the sweep (which
    would send it again)."""
    for attempt in range(RECORD_TRIES):
        if not reconnect(attempt):
            break
        try:
            with transaction.atomic():
                row = queryset.select_for_update(of=("self",)).get(pk=pk)
                if row.delivered_at is None:
                    row.delivery_attempts += 1
                    row.last_attempt_at = at
                    row.delivered_at = at
                    row.last_error = ""
                    row.save(update_fields=DELIVERY_FIELDS)
                    if handed_over is not None:
                        handed_over(row, summary)
            logger.warning("%s was sent; recorded after a lost connection.", row)
            return summary
        except CONNECTION_LOST:
            continue
    # Not a CONNECTION_LOST: the task must not send it again at once.
    raise DeliveryFailed(f"{queryset.model.__name__} {pk} was sent but could not be recorded.")
