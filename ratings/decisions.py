"""Deciding on each close (E1–E9, D2–D8): the queued task, its enqueueing and the sweeps.

`rating_request_send` is the body of the queued task, one queued per close. It decides its own
conversation's closes and, in the same transaction, those of up to RATING_DECISION_BATCH - 1
other conversations with a close left undecided (D6): their rows locked with SKIP LOCKED, so
that batches running at once on several workers take disjoint conversations and never wait for
each other; the statements per batch are the same for one close and for a hundred. Then it
delivers the requests it made (and its own conversation's request still waiting) over one mail
connection, each once (`ratings.delivery`): the first RATING_DELIVERY_CHUNK itself, the rest
queued in chunks (`rating_requests_deliver`) for other workers. A task whose conversation
another batch decided finds nothing and returns. It may run twice, on two workers at once, or
again after a failure: the conversation row lock puts runs in order, each close is decided
once (one `RatingDecision` per close), a conversation gets at most one request of each kind (a
unique constraint), and a request is delivered once.

The sweeps pick up whatever a lost task left behind (D5): `rating_decisions_recent_sweep`,
every FAST_SWEEP_SECONDS from each worker (`manage.py worker`, D8), over the last hour's
closes and the undelivered requests; `rating_decisions_sweep`, every minute from django-q2's
scheduler, over everything, as the backstop.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from redis.exceptions import RedisError

from conversations import clock
from conversations.models import Contact, Conversation, ConversationClose, State
from conversations.outbox import due_for_retry, outbox_enqueue, with_reconnects
from ratings.delivery import requests_deliver
from ratings.figures import figures_add, local_day
from ratings.models import RatingDecision, RatingRequest, RatingSettings
from ratings.rules import KINDS, TEAMMATE, CloseFacts, Switches, eligibility, request_kind

logger = logging.getLogger(__name__)

SEND_TASK = "ratings.decisions.rating_request_send"
SWEEP_TASK = "ratings.decisions.rating_decisions_sweep"
DELIVER_TASK = "ratings.decisions.rating_requests_deliver"
# D8: the fast sweep looks this far back (older closes are the minute sweep's).
RECENT = timedelta(hours=1)


def rating_request_enqueue(*, conversation_id: int) -> None:
    """Queue the decision for a conversation's closes; called once the close is committed."""
    outbox_enqueue(SEND_TASK, conversation_id=conversation_id, task_name=f"rate-{conversation_id}")


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


def _undecided(**filters):
    return ConversationClose.objects.filter(decision__isnull=True, **filters).values_list(
        "conversation_id", flat=True
    )


def rating_decisions_sweep(*, now: datetime | None = None) -> int:
    """D5: re-enqueue conversations with a close left undecided, or a survey left undelivered,
    for longer than the grace period. Undelivered surveys are retried with a growing pause.
    Returns how many conversations were queued."""
    now = now or clock.now()
    stale = now - timedelta(seconds=django_settings.RATING_SWEEP_GRACE_SECONDS)
    return _enqueue(sorted(set(_undecided(closed_at__lte=stale)) | set(_due(now, stale))))


def rating_decisions_recent_sweep(*, now: datetime | None = None) -> int:
    """D8: the same over the last hour's closes (an index range, so a few queries cheap enough
    to run every few seconds); what is older is the minute sweep's. Returns how many
    conversations were queued."""
    now = now or clock.now()
    stale = now - timedelta(seconds=django_settings.RATING_SWEEP_GRACE_SECONDS)
    undecided = _undecided(closed_at__lte=stale, closed_at__gte=now - RECENT)
    return _enqueue(sorted(set(undecided) | set(_due(now, stale))))


def _due(now: datetime, stale: datetime) -> list[int]:
    return due_for_retry(RatingRequest.objects.all(), now=now, stale=stale, key="conversation_id")


def _enqueue(conversation_ids: list[int]) -> int:
    # One task per conversation: each decides a batch (D6), so the first ones queued take the
    # rest, and those after them find nothing left.
    for conversation_id in conversation_ids:
        rating_request_enqueue(conversation_id=conversation_id)
    return len(conversation_ids)


def rating_request_send(*, conversation_id: int) -> str:
    """The queued task (D4–D7): decide every undecided close of the conversation, with a
    batch of other conversations' (D6), then deliver the requests made and the conversation's
    request still waiting, if any. Safe to run any number of times.

    A database connection lost on the way (a restart, a failover, backends terminated) rolls
    the step back; the task reconnects and runs again at once, a few times, rather than leave
    the close to the sweep."""
    return with_reconnects(lambda: _decide_and_deliver(conversation_id))


def _decide_and_deliver(conversation_id: int) -> str:
    request_ids, settings = _decide(conversation_id)
    if not request_ids:
        return "nothing to deliver"
    # D6: the first chunk here (its own conversation's first), the rest queued in chunks so
    # that other workers hand them over in parallel and this one goes on deciding.
    chunk = django_settings.RATING_DELIVERY_CHUNK
    for start in range(chunk, len(request_ids), chunk):
        _deliveries_enqueue(request_ids[start : start + chunk])
    return requests_deliver(request_ids[:chunk], settings=settings)


def _deliveries_enqueue(request_ids: list[int]) -> None:
    try:
        outbox_enqueue(DELIVER_TASK, request_ids=request_ids, task_name=f"deliver-{request_ids[0]}")
    except RedisError:
        logger.warning("Deliveries %s not queued; the sweep will.", request_ids, exc_info=True)


def rating_requests_deliver(*, request_ids: list[int]) -> str:
    """The queued task of a chunk of a batch's requests (D6): each delivered once (D4)."""
    return with_reconnects(lambda: requests_deliver(request_ids))


@transaction.atomic
def _decide(
    conversation_id: int, limit: int | None = None
) -> tuple[list[int], RatingSettings | None]:
    """D6: decide every undecided close of conversation `conversation_id` (its row locked, as
    every service locks it) and of up to `limit` - 1 others (SKIP LOCKED: another batch has
    them), in order, in one transaction; return the requests to deliver: those made here and
    the conversation's own still waiting, and the settings if it loaded them (read once per
    batch). The same statements for 1 close and for `limit`."""
    limit = limit or django_settings.RATING_DECISION_BATCH
    own = list(Conversation.objects.select_for_update().filter(pk=conversation_id))
    others = []
    if limit > 1:
        # The oldest undecided closes of the last hour (an index range on the closes' time,
        # whatever the number of conversations), then as many of their conversations as no
        # other batch holds. A few times the batch: batches started at once read the same
        # candidates (each other's decisions are not committed yet) and split them.
        now = clock.now()
        candidates = list(
            ConversationClose.objects.filter(
                decision__isnull=True,
                closed_at__gte=now - RECENT,
                closed_at__lte=now,  # a clock set back (the demo's timeline) sees no later close
            )
            .exclude(conversation_id=conversation_id)
            .order_by("closed_at", "id")
            .values_list("conversation_id", flat=True)[: 4 * limit]
        )
        if candidates:
            others = list(
                Conversation.objects.filter(pk__in=set(candidates))
                .order_by("pk")
                .select_for_update(skip_locked=True)[: limit - 1]
            )
    conversations = {c.pk: c for c in own + others}
    if not conversations:
        return [], None
    closes = list(
        ConversationClose.objects.filter(conversation_id__in=conversations)
        .order_by("conversation_id", "closed_at", "id")
        .annotate(decided=Exists(RatingDecision.objects.filter(close_id=OuterRef("pk"))))
    )
    # B5: a teammate's request and the bot's, at most one of each (E6 per kind).
    requests = {
        (r.conversation_id, r.kind): r
        for r in RatingRequest.objects.filter(conversation_id__in=conversations)
    }
    undecided = [close for close in closes if not close.decided]
    made: list[RatingRequest] = []
    settings = None
    if undecided:
        latest = {close.conversation_id: close.pk for close in closes}
        settings = RatingSettings.load()
        batch = _Batch(settings, conversations, undecided)
        for close in undecided:
            batch.decide(close, latest[close.conversation_id], requests)
        made = batch.save()
    waiting = [
        r for (cid, _kind), r in requests.items() if cid == conversation_id and not r.delivered_at
    ]
    # The conversation's own request waiting (the newest: an older one still undelivered is the
    # sweep's, after its pause), then the ones made here, in order.
    own_waiting = [max(waiting, key=lambda r: r.pk).pk] if waiting else []
    return own_waiting + [r.pk for r in made if r.pk not in own_waiting], settings


class _Batch:
    """The decisions of one batch, made in memory from the rules, then written in a few
    statements whatever their number."""

    def __init__(self, settings: RatingSettings, conversations: dict, undecided: list):
        self.settings = settings
        self.switches: Switches = settings.switches
        self.conversations = conversations
        self.now = clock.now()
        self.decisions: list[RatingDecision] = []
        self.requests: list[RatingRequest] = []
        asking = {c.conversation_id for c in undecided if c.contact_count == 1}
        # The one contact of each conversation that may get a request (E5), in one query.
        through = Conversation.contacts.through
        self.contacts = {
            row.conversation_id: row.contact
            for row in through.objects.filter(conversation_id__in=asking).select_related("contact")
        }
        self.last_asked = self._last_asked()

    def _last_asked(self) -> dict[int, datetime | None]:
        """E9: when each contact was last sent a request, in any conversation; looked up only
        while the fatigue guard is on. The contacts' rows are locked first, in id order (so two
        batches never deadlock), so that two of a contact's conversations decided at once on
        two workers take turns: the second sees the first's request."""
        if self.switches.fatigue_days is None or not self.contacts:
            return {}
        ids = sorted({contact.pk for contact in self.contacts.values()})
        list(Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
        latest = (
            RatingRequest.objects.filter(contact_id__in=ids)
            .values("contact_id")
            .annotate(at=Max("created_at"))
            .order_by()
        )
        return {row["contact_id"]: row["at"] for row in latest}

    def decide(self, close: ConversationClose, latest_close_id: int, requests: dict) -> None:
        conversation = self.conversations[close.conversation_id]
        contact = self.contacts.get(close.conversation_id)  # one contact only (E5)
        own = {k: requests[(conversation.pk, k)] for k in KINDS if (conversation.pk, k) in requests}
        kind, rule, request = close_decision(
            conversation,
            close,
            latest=close.pk == latest_close_id,
            requests=own,
            contact=contact,
            last_asked=self.last_asked,
            settings=self.settings,
            switches=self.switches,
            now=self.now,
        )
        if request is not None:
            requests[(conversation.pk, kind)] = request
            self.requests.append(request)
        self._record(close, rule=rule or "", request=request, kind=kind)

    def _record(self, close, *, rule: str = "", request=None, kind: str = TEAMMATE) -> None:
        self.decisions.append(
            RatingDecision(
                close=close,
                conversation_id=close.conversation_id,
                kind=kind,
                outcome=RatingDecision.Outcome.SENT if request else RatingDecision.Outcome.SKIPPED,
                rule=rule,
                request=request,
                decided_at=self.now,
            )
        )

    def save(self) -> list[RatingRequest]:
        """The requests (their ids come back from the INSERT), the decisions, the daily
        figures: a statement each (the figures one per kind of request made)."""
        try:
            RatingRequest.objects.bulk_create(self.requests)
        except IntegrityError:
            # Another worker got here first (the row locks and SQLite's one writer at a time
            # rule it out; the unique constraint is the last guard). The error leaves
            # `_decide`, whose transaction is rolled back whole.
            raise ValidationError(
                "A rating request already exists for this conversation."
            ) from None
        for decision in self.decisions:
            decision.request_id = decision.request.pk if decision.request else None
        RatingDecision.objects.bulk_create(self.decisions)
        by_kind: dict[str, list] = {}
        for request in self.requests:
            by_kind.setdefault(request.kind, []).append(
                (local_day(request.created_at), request.teammate_key, {"requests": 1})
            )
        for kind, changes in sorted(by_kind.items()):
            figures_add(changes, kind=kind)
        return self.requests


def close_decision(
    conversation: Conversation,
    close: ConversationClose,
    *,
    latest: bool,
    requests: dict[str, RatingRequest],
    contact: Contact | None,
    last_asked: dict[int, datetime | None],
    settings: RatingSettings,
    switches: Switches,
    now: datetime,
) -> tuple[str, str | None, RatingRequest | None]:
    """What one close decides, with no query: its kind (B3), and the rule that skips it
    ("reopened" when it is not the conversation's `latest` close or the conversation is no
    longer closed; else E1–E9, B), or the new request (unsaved, D2, D3). `requests`: the
    conversation's requests by kind (E6); `contact`: its one contact (E5); `last_asked`: when
    each contact was last asked (E9; empty while the guard is off), moved on for a request.
    `_Batch` (the queued task's body) and the demo's set-based path (`demo.bulk`) both decide
    so."""
    kind = request_kind(_facts(conversation, close, None))
    if not latest or conversation.state != State.CLOSED:
        return kind, "reopened", None
    asked = last_asked.get(contact.pk) if contact else None  # empty unless E9 is on
    rule = eligibility(_facts(conversation, close, requests.get(kind), asked), switches)
    if rule is not None:
        return kind, rule, None
    request = _new_request(conversation, close, settings, kind, contact, now)
    if contact is not None:
        last_asked[contact.pk] = request.created_at
    return kind, None, request


def _facts(
    conversation: Conversation,
    close: ConversationClose,
    request: RatingRequest | None,
    contact_last_asked_at: datetime | None = None,
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
        contact_last_asked_at=contact_last_asked_at,
    )


def _new_request(
    conversation: Conversation,
    close: ConversationClose,
    settings: RatingSettings,
    kind: str,
    contact: Contact | None,
    now: datetime,
) -> RatingRequest:
    """D2: the rating belongs to the last teammate who replied before the close; the bot's
    request (B) to no teammate. D3: a rating app replaces the survey in the Messenger only."""
    if contact is None:
        raise ValidationError(f"Conversation {conversation.pk} has no contact to ask.")
    teammate_id = close.last_teammate_replier_id if kind == TEAMMATE else None
    return RatingRequest(
        conversation=conversation,
        close=close,
        kind=kind,
        teammate_id=teammate_id,
        teammate_key=teammate_id or 0,  # G5, as RatingRequest.save() sets it: bulk_create skips it
        contact=contact,
        channel=conversation.channel,
        app_id=settings.rating_app_id if conversation.channel == "messenger" else None,
        created_at=now,
    )
