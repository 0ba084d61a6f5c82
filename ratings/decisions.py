"""Deciding on each close (E1–E9, D2–D5): the queued task, its enqueueing and the sweep.

`rating_request_send` is the body of the queued task. It may run twice, on two workers at
once, or again after a failure: the conversation row lock puts runs in order, each close is
decided once (one `RatingDecision` per close), a conversation gets at most one request
(a unique constraint), and a request is delivered once (`ratings.delivery`). The sweep
(`rating_decisions_sweep`, every minute) picks up whatever a lost task left behind (D5).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django_q.tasks import async_task
from redis.exceptions import RedisError

from conversations import clock
from conversations.models import Contact, Conversation, ConversationClose, State
from conversations.outbox import due_for_retry, with_reconnects
from ratings.delivery import request_deliver
from ratings.figures import figures_add, local_day
from ratings.models import RatingDecision, RatingRequest, RatingSettings
from ratings.rules import TEAMMATE, CloseFacts, Switches, eligibility, request_kind

logger = logging.getLogger(__name__)

SEND_TASK = "ratings.decisions.rating_request_send"
SWEEP_TASK = "ratings.decisions.rating_decisions_sweep"


def rating_request_enqueue(*, conversation_id: int) -> None:
    """Queue the decision for a conversation's closes; called once the close is committed."""
    async_task(SEND_TASK, conversation_id=conversation_id, task_name=f"rate-{conversation_id}")


def on_conversation_closed(sender, conversation, close, quiet, **kwargs):
    """Receiver of `conversation_closed` (sent after commit): queue the decision (D4). The
    close is committed already, so a broker that cannot be reached (Redis restarting) does not
    fail it, and the teammate is not told of an error for a close that was made: the sweep
    queues its decision after the grace period (D5)."""
    try:
        rating_request_enqueue(conversation_id=conversation.pk)
    except RedisError:
        logger.warning(
            "Decision for conversation %s not queued (broker unreachable); the sweep will.",
            conversation.pk,
            exc_info=True,
        )


def rating_decisions_sweep(*, now: datetime | None = None) -> int:
    """D5: re-enqueue conversations with a close left undecided, or a survey left undelivered,
    for longer than the grace period. Undelivered surveys are retried with a growing pause.
    Returns how many conversations were queued."""
    now = now or clock.now()
    stale = now - timedelta(seconds=django_settings.RATING_SWEEP_GRACE_SECONDS)
    undecided = ConversationClose.objects.filter(
        decision__isnull=True, closed_at__lte=stale
    ).values_list("conversation_id", flat=True)
    due_requests = due_for_retry(
        RatingRequest.objects.all(), now=now, stale=stale, key="conversation_id"
    )
    conversation_ids = sorted(set(undecided) | set(due_requests))
    for conversation_id in conversation_ids:
        rating_request_enqueue(conversation_id=conversation_id)
    return len(conversation_ids)


def rating_request_send(*, conversation_id: int) -> str:
    """The queued task (D4, D5): decide every undecided close of the conversation, then deliver
    its request if it has one not yet delivered. Safe to run any number of times.

    A database connection lost on the way (a restart, a failover, backends terminated) rolls
    the step back; the task reconnects and runs again at once, a few times, rather than leave
    the close to the sweep a minute later."""
    return with_reconnects(lambda: _decide_and_deliver(conversation_id))


def _decide_and_deliver(conversation_id: int) -> str:
    request_id = _decide(conversation_id)
    if request_id is None:
        return "nothing to deliver"
    return request_deliver(request_id)


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
    # B5: a teammate's request and the bot's, at most one of each (E6 per kind).
    requests = {r.kind: r for r in RatingRequest.objects.filter(conversation=conversation)}
    undecided = [close for close in closes if not close.decided]
    if undecided:
        latest_close_id = closes[-1].pk
        settings = RatingSettings.load()
        for close in undecided:
            kind = request_kind(_facts(conversation, close, None))
            if close.pk != latest_close_id or conversation.state != State.CLOSED:
                _record(close, rule="reopened", kind=kind)
                continue
            switches = settings.switches
            facts = _facts(conversation, close, requests.get(kind), switches)
            rule = eligibility(facts, switches)
            if rule is not None:
                _record(close, rule=rule, kind=kind)
                continue
            requests[kind] = _create_request(conversation, close, settings, kind)
            _record(close, request=requests[kind], kind=kind)
    # One request is delivered per run: the newest waiting (the one this run made, if any);
    # an older one still undelivered is the sweep's, after its pause (D4, D5).
    waiting = [r for r in requests.values() if r.delivered_at is None]
    if not waiting:
        return None
    return max(waiting, key=lambda r: r.pk).pk


def _facts(
    conversation: Conversation,
    close: ConversationClose,
    request: RatingRequest | None,
    switches: Switches | None = None,
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
        by_bot=close.by_bot,
        bot_characters=close.bot_characters,
        last_bot_message_at=close.last_bot_message_at,
        contact_last_asked_at=_contact_last_asked_at(conversation, close, switches),
    )


def _contact_last_asked_at(
    conversation: Conversation, close: ConversationClose, switches: Switches | None
) -> datetime | None:
    """E9: when the conversation's one contact was last sent a rating request, in any
    conversation; looked up only while the fatigue guard is on. The contact's row is locked
    first, so that two of their conversations decided at once on two workers take turns: the
    second sees the first's request."""
    if switches is None or switches.fatigue_days is None or close.contact_count != 1:
        return None
    contact = (
        Contact.objects.select_for_update(of=("self",)).filter(conversations=conversation).first()
    )
    if contact is None:
        return None
    return (
        RatingRequest.objects.filter(contact=contact)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def _record(
    close: ConversationClose,
    *,
    rule: str = "",
    request: RatingRequest | None = None,
    kind: str = TEAMMATE,
):
    RatingDecision.objects.create(
        close=close,
        conversation_id=close.conversation_id,
        kind=kind,
        outcome=RatingDecision.Outcome.SENT if request else RatingDecision.Outcome.SKIPPED,
        rule=rule,
        request=request,
        decided_at=clock.now(),
    )


def _create_request(
    conversation: Conversation, close: ConversationClose, settings: RatingSettings, kind: str
) -> RatingRequest:
    """D2: the rating belongs to the last teammate who replied before the close; the bot's
    request (B) to no teammate. D3: a rating app replaces the survey in the Messenger only."""
    contact = conversation.contacts.get()
    app = settings.rating_app if conversation.channel == "messenger" else None
    try:
        request = RatingRequest.objects.create(
            conversation=conversation,
            close=close,
            kind=kind,
            teammate_id=close.last_teammate_replier_id if kind == TEAMMATE else None,
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
    figures_add([(local_day(request.created_at), request.teammate_key, {"requests": 1})], kind=kind)
    return request
