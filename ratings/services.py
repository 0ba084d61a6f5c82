"""Writes of the rating spine: deciding on a close, delivering the survey, taking answers.

`rating_request_send` is the body of the queued task. It may run twice, on two workers at
once, or again after a failure: the conversation row lock puts runs in order, each close is
decided once (one `RatingDecision` per close), a conversation gets at most one request
(a unique constraint), and a request is delivered once (`delivered_at`, under the request's
row lock). A mail failure is recorded and raised, so the queue tries again; the sweep
(`rating_decisions_sweep`, every minute) picks up whatever a lost task left behind (D5).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection as get_mail_connection
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import Exists, OuterRef, Q
from django_q.tasks import async_task
from redis.exceptions import RedisError

from conversations import clock
from conversations.models import Conversation, ConversationClose, Part, State
from conversations.services import conversation_event, refuse_nul
from ratings import delivery
from ratings.figures import figures_add, local_day, reasons_add, value_column
from ratings.models import (
    Rating,
    RatingDecision,
    RatingEvent,
    RatingReason,
    RatingRequest,
    RatingSettings,
)
from ratings.rules import (
    REASONS,
    CloseFacts,
    Switches,
    answer_refusal,
    effective_windows,
    eligibility,
)
from ratings.signals import rating_event_recorded
from ratings.tokens import BadToken, rating_token_read

logger = logging.getLogger(__name__)

SEND_TASK = "ratings.services.rating_request_send"
# A survey that could not be delivered for this long is given up.
DELIVERY_GIVE_UP = timedelta(days=7)
MAX_COMMENT_LENGTH = 5000
# A lost database connection (not a refusal by the database): reconnect and try again.
CONNECTION_LOST = (InterfaceError, OperationalError)
RECONNECT_TRIES = 3
RECORD_TRIES = 6  # 0.1 + 0.2 + … + 3.2 s: recording a survey already sent insists longer
# What a delivery attempt writes on its request.
DELIVERY_FIELDS = ["delivery_attempts", "last_attempt_at", "delivered_at", "last_error"]


class RatingLinkInvalid(ValidationError):
    """A9: a tampered, unknown or cross-conversation link."""

    def __init__(self, message="This rating link is not valid."):
        super().__init__(message, code="invalid_link")


class RatingRefused(ValidationError):
    """A3–A6: the rule named by `rule` refuses the answer (A7 tells the customer)."""

    def __init__(self, rule: str):
        self.rule = rule
        super().__init__(REASONS[rule], code=rule)


class DeliveryFailed(Exception):
    """The survey could not be handed to the mail server; the queue will try again."""


# --- enqueueing ---------------------------------------------------------------------------------


def rating_request_enqueue(*, conversation_id: int) -> None:
    """Queue the decision for a conversation's closes; called once the close is committed."""
    async_task(SEND_TASK, conversation_id=conversation_id, task_name=f"rate-{conversation_id}")


def rating_decisions_sweep(*, now: datetime | None = None) -> int:
    """D5: re-enqueue conversations with a close left undecided, or a survey left undelivered,
    for longer than the grace period. Undelivered surveys are retried with a growing pause.
    Returns how many conversations were queued."""
    now = now or clock.now()
    stale = now - timedelta(seconds=django_settings.RATING_SWEEP_GRACE_SECONDS)
    undecided = ConversationClose.objects.filter(
        decision__isnull=True, closed_at__lte=stale
    ).values_list("conversation_id", flat=True)
    undelivered = RatingRequest.objects.filter(
        delivered_at__isnull=True,
        created_at__lte=stale,
        created_at__gte=now - DELIVERY_GIVE_UP,
    ).filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=stale))
    due_requests = [
        conversation_id
        for conversation_id, attempts, last_attempt in undelivered.values_list(
            "conversation_id", "delivery_attempts", "last_attempt_at"
        )
        if last_attempt is None or now - last_attempt >= _retry_pause(attempts)
    ]
    conversation_ids = sorted(set(undecided) | set(due_requests))
    for conversation_id in conversation_ids:
        rating_request_enqueue(conversation_id=conversation_id)
    return len(conversation_ids)


def _retry_pause(attempts: int) -> timedelta:
    """2, 4, 8 … minutes between delivery attempts, at most an hour. (The unit, a minute, is
    RATING_DELIVERY_RETRY_SECONDS: bench/topology.py shortens it to see a retry in seconds.)"""
    unit = django_settings.RATING_DELIVERY_RETRY_SECONDS
    return min(timedelta(seconds=unit * 2 ** max(attempts, 1)), timedelta(hours=1))


# --- deciding and delivering ----------------------------------------------------------------------


def rating_request_send(*, conversation_id: int) -> str:
    """The queued task (D4, D5): decide every undecided close of the conversation, then deliver
    its request if it has one not yet delivered. Safe to run any number of times.

    A database connection lost on the way (a restart, a failover, backends terminated) rolls
    the step back; the task reconnects and runs again at once, a few times, rather than wait
    for the sweep (found by bench/topology.py's "pg cut")."""
    for attempt in range(RECONNECT_TRIES - 1):
        try:
            return _decide_and_deliver(conversation_id)
        except CONNECTION_LOST:
            if not _reconnect(attempt):
                raise
    return _decide_and_deliver(conversation_id)


def _decide_and_deliver(conversation_id: int) -> str:
    request_id = _decide(conversation_id)
    if request_id is None:
        return "nothing to deliver"
    return _deliver(request_id)


def _reconnect(attempt: int) -> bool:
    """Drop a broken database connection so that the next query opens a new one; False inside
    a caller's transaction, where a new connection cannot carry on its work."""
    if db_connection.in_atomic_block:
        return False
    db_connection.close()
    time.sleep(0.1 * 2**attempt)
    return True


@transaction.atomic
def _decide(conversation_id: int) -> int | None:
    """Decide every undecided close, in order, under the conversation's row lock; return the
    conversation's request still to deliver, if any. Four queries when nothing is left to
    decide, and a handful more per close decided."""
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        return None
    closes = list(
        conversation.closes.order_by("closed_at", "id").annotate(
            decided=Exists(RatingDecision.objects.filter(close_id=OuterRef("pk")))
        )
    )
    request = RatingRequest.objects.filter(conversation=conversation).first()
    undecided = [close for close in closes if not close.decided]
    if undecided:
        latest_close_id = closes[-1].pk
        settings = RatingSettings.load()
        for close in undecided:
            if close.pk != latest_close_id or conversation.state != State.CLOSED:
                _record(close, rule="reopened")
                continue
            rule = eligibility(_facts(conversation, close, request), _switches(settings))
            if rule is not None:
                _record(close, rule=rule)
                continue
            request = _create_request(conversation, close, settings)
            _record(close, request=request)
    if request is None or request.delivered_at is not None:
        return None
    return request.pk


def _facts(
    conversation: Conversation, close: ConversationClose, request: RatingRequest | None
) -> CloseFacts:
    return CloseFacts(
        origin=conversation.origin,
        contact_role=close.contact_role,
        contact_count=close.contact_count,
        teammate_replied=close.teammate_replied,
        reply_characters=close.reply_characters,
        last_reply_at=close.last_reply_at,
        closed_at=close.closed_at,
        quiet=close.quiet,
        request_already_sent=request is not None,
    )


def _switches(settings: RatingSettings) -> Switches:
    return Switches(
        for_users=settings.ask_users,
        for_leads=settings.ask_leads,
        direct_outbound=settings.send_direct_outbound,
        outbound_api_workflows=settings.send_outbound_api_workflows,
    )


def _record(close: ConversationClose, *, rule: str = "", request: RatingRequest | None = None):
    RatingDecision.objects.create(
        close=close,
        conversation_id=close.conversation_id,
        outcome=RatingDecision.Outcome.SENT if request else RatingDecision.Outcome.SKIPPED,
        rule=rule,
        request=request,
        decided_at=clock.now(),
    )


def _create_request(
    conversation: Conversation, close: ConversationClose, settings: RatingSettings
) -> RatingRequest:
    """D2: the rating belongs to the last teammate who replied before the close. D3: a rating
    app replaces the survey in the Messenger only."""
    contact = conversation.contacts.get()
    app = settings.rating_app if conversation.channel == "messenger" else None
    try:
        request = RatingRequest.objects.create(
            conversation=conversation,
            close=close,
            teammate_id=close.last_teammate_replier_id,
            contact=contact,
            channel=conversation.channel,
            app=app,
            created_at=clock.now(),
        )
    except IntegrityError:
        # Another worker got here first (the row lock and SQLite's one writer at a time rule
        # it out; the unique constraint is the last guard). The error leaves `_decide`, whose
        # transaction is rolled back whole: no savepoint needed here.
        raise ValidationError("A rating request already exists for this conversation.") from None
    figures_add([(local_day(request.created_at), request.teammate_id, {"requests": 1})])
    return request


def _deliver(request_id: int) -> str:
    """Hand the survey over once (D4). The request row stays locked while it is sent, so a
    second worker waits and then finds it delivered.

    The hand-over is the last step before the commit (see `delivery.deliver`). Should the
    database connection be lost after the mail server took the survey (a worker's connection
    cut while it talks SMTP), the hand-over is recorded again on a new connection instead of
    being rolled back and sent a second time by the retry (found by bench/topology.py)."""
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
                    summary = delivery.deliver(request, connection=mail)
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
        if not _reconnect(attempt):
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
                    delivery.note_delivered(request, summary)
            logger.warning("Survey %s was sent; recorded after a lost connection.", request_id)
            return summary
        except CONNECTION_LOST:
            continue
    # Not a CONNECTION_LOST: the task must not send it again at once.
    raise DeliveryFailed(f"Survey {request_id} was sent but could not be recorded.")


# --- the customer's answers ---------------------------------------------------------------------


def _request_for(token: str) -> RatingRequest:
    """A9: the request a link names, locked; refused when the link was altered or names
    another conversation than the request's."""
    try:
        link = rating_token_read(token)
    except BadToken:
        raise RatingLinkInvalid() from None
    request = (
        RatingRequest.objects.select_for_update(of=("self",))
        .select_related("close", "contact", "conversation__workflow")
        .filter(pk=link.request_id)
        .first()
    )
    if request is None or request.conversation_id != link.conversation_id:
        raise RatingLinkInvalid()
    return request


def rating_windows(request: RatingRequest, settings: RatingSettings):
    """A4–A6 with W1/W2: the hour limits for this request's conversation."""
    workflow = request.conversation.workflow
    return effective_windows(
        prevent_rating=settings.prevent_rating_after,
        rating_hours=settings.rating_window_hours,
        prevent_change=settings.prevent_change_after,
        change_hours=settings.change_window_hours,
        workflow_rating_hours=workflow.rating_window_hours if workflow else None,
        workflow_change_hours=workflow.change_window_hours if workflow else None,
    )


def _clean_value(value) -> int:
    """A whole number 1–5, or its digits as text (from a form): 4.5 or True is no reaction."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        value = 0
    if value not in Rating.Value.values:
        raise ValidationError("Choose one of the five reactions (1 to 5).", code="invalid_value")
    return value


@transaction.atomic
def rating_submit(*, token: str, value: int) -> Rating:
    """A1: record the reaction; A2: change it; A4, A5, A6: within the hours since the close;
    A3: not after a comment. A refusal raises `RatingRefused` and writes nothing."""
    value = _clean_value(value)
    request = _request_for(token)
    rating = Rating.objects.filter(request=request).first()
    now = clock.now()
    rule = answer_refusal(
        action="rate",
        closed_at=request.close.closed_at,
        now=now,
        windows=rating_windows(request, RatingSettings.load()),
        has_rating=rating is not None,
        has_comment=rating is not None and rating.commented_at is not None,
    )
    if rule:
        raise RatingRefused(rule)
    if rating is None:
        rating = Rating.objects.create(
            request=request,
            teammate_id=request.teammate_id,
            conversation_id=request.conversation_id,
            value=value,
            rated_at=now,
            changed_at=now,
        )
        _history(rating, RatingEvent.Kind.RATED, now)
        figures_add(
            [
                (local_day(now), rating.teammate_id, {value_column(value): 1}),
                (local_day(request.created_at), rating.teammate_id, {"answered": 1}),
            ]
        )
    elif rating.value != value:
        figures_add(
            [
                (
                    local_day(rating.rated_at),
                    rating.teammate_id,
                    {value_column(rating.value): -1, value_column(value): 1},
                )
            ]
        )
        rating.value = value
        rating.changed_at = now
        rating.save(update_fields=["value", "changed_at"])
        _history(rating, RatingEvent.Kind.CHANGED, now)
    else:
        return rating  # the same reaction again: nothing changes
    conversation_event(
        conversation=request.conversation,
        event=Part.Event.RATED,
        body=f"{Rating.Value(value).label} ({value}/5)",
        by=request.contact,
    )
    return rating


@transaction.atomic
def rating_comment(*, token: str, comment: str, reasons: Iterable[str] = ()) -> Rating:
    """A1: an optional comment, with the admin's low-rating reasons after terrible or bad.
    A3: one comment, after which the rating is final."""
    comment = (comment or "").strip()
    reasons = list(dict.fromkeys(r.strip() for r in (reasons or ()) if r and r.strip()))
    if not comment and not reasons:
        raise ValidationError("Write a comment or tick a reason.", code="empty")
    if len(comment) > MAX_COMMENT_LENGTH:
        raise ValidationError(
            f"The comment is longer than {MAX_COMMENT_LENGTH} characters.", code="too_long"
        )
    refuse_nul(comment, "comment")  # PostgreSQL cannot store it: a 400, not a 500
    request = _request_for(token)
    rating = Rating.objects.filter(request=request).first()
    if rating is None:
        raise ValidationError("Choose a reaction before leaving a comment.", code="no_rating")
    settings = RatingSettings.load()
    if reasons:
        if rating.value > Rating.Value.BAD:
            raise ValidationError(
                "Reasons are offered only after a terrible or bad rating.", code="reasons"
            )
        unknown = [r for r in reasons if r not in settings.reasons]
        if unknown:
            raise ValidationError(f"Unknown reason: {unknown[0]}.", code="reasons")
    now = clock.now()
    rule = answer_refusal(
        action="comment",
        closed_at=request.close.closed_at,
        now=now,
        windows=rating_windows(request, settings),
        has_rating=True,
        has_comment=rating.commented_at is not None,
    )
    if rule:
        raise RatingRefused(rule)
    rating.comment = comment
    rating.reasons = reasons
    rating.commented_at = now
    rating.save(update_fields=["comment", "reasons", "commented_at"])
    RatingReason.objects.bulk_create(RatingReason(rating=rating, reason=r) for r in reasons)
    reasons_add(day=local_day(rating.rated_at), teammate_id=rating.teammate_id, reasons=reasons)
    _history(rating, RatingEvent.Kind.COMMENTED, now)
    return rating


def _history(rating: Rating, kind: str, at: datetime) -> RatingEvent:
    """A8: the append-only record of what was accepted, announced to receivers (webhooks)
    inside the same transaction."""
    event = RatingEvent.objects.create(
        rating=rating,
        kind=kind,
        value=rating.value,
        comment=rating.comment,
        reasons=rating.reasons,
        at=at,
    )
    rating_event_recorded.send(sender=RatingEvent, event=event, rating=rating)
    return event


def on_conversation_closed(sender, conversation, close, quiet, **kwargs):
    """Receiver of `conversation_closed` (sent after commit): queue the decision (D4). The
    close is committed already, so a broker that cannot be reached (Redis restarting) does not
    fail it: the sweep queues its decision after the grace period (D5; found by
    bench/topology.py's "redis restart", where the close answered 500 although it was made)."""
    try:
        rating_request_enqueue(conversation_id=conversation.pk)
    except RedisError:
        logger.warning(
            "Decision for conversation %s not queued (broker unreachable); the sweep will.",
            conversation.pk,
            exc_info=True,
        )


@transaction.atomic
def rating_follow_up(*, rating: Rating, by, undo: bool = False) -> Rating:
    """R3: a manager marks a rating as followed up (who and when are kept), or takes it back."""
    if rating.pk is None:
        raise ValidationError("This rating has not been saved.")
    locked = Rating.objects.select_for_update().get(pk=rating.pk)
    if undo:
        locked.followed_up_at = None
        locked.followed_up_by = None
    elif locked.followed_up_at is None:
        locked.followed_up_at = clock.now()
        locked.followed_up_by = by
    else:
        raise ValidationError("This rating was already marked as followed up.")
    locked.save(update_fields=["followed_up_at", "followed_up_by"])
    rating.followed_up_at, rating.followed_up_by_id = (
        locked.followed_up_at,
        locked.followed_up_by_id,
    )
    return locked


@transaction.atomic
def happiness_target_set(*, target) -> RatingSettings:
    """The CSAT goal the reports measure against: a whole percentage from 0 to 100."""
    try:
        value = int(str(target).strip())
    except (TypeError, ValueError):
        raise ValidationError("The happiness target is a whole number from 0 to 100.") from None
    if not 0 <= value <= 100:
        raise ValidationError("The happiness target is a whole number from 0 to 100.")
    settings = RatingSettings.load()
    settings.happiness_target = value
    settings.save(update_fields=["happiness_target", "updated_at"])
    return settings
