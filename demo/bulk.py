"""`seed_demo`'s set-based path (large runs, issue 15 item 6): the same plans, the same
timeline and the same rating side as `demo.play`, each conversation made in memory by the
services' own in-memory changes and rules, then written a batch of conversations at a time
(one transaction a batch): on PostgreSQL one COPY a table, every id taken from its sequence
first; elsewhere a few bulk INSERTs. About 20 statements a batch of a thousand conversations
instead of some 44 a conversation.

What still decides, taken from the services (no copy of a rule here):

- each step's change of the conversation, its running figures (E2–E4, D2, B) and the inbox's
  columns (I1, I2) and the parts it adds: `conversations.services`' `conversation_made`,
  `reply_made`, `contact_reply_reopens` (Z3), `note_made`, `bot_message_made`, `snooze_made`,
  `reopen_made`, `close_made` (with the facts of each close), `event_made`; each body stored
  as `message_body` stores it (E3a, E3b);
- each close's decision (E1–E9, B, "reopened"), its kind and its request (D2, D3):
  `ratings.decisions.close_decision`, the function the queued task's batch calls, with the
  settings' switches; a close is decided at the moment the demo's worker would decide it,
  every undecided close of the conversation at once, as `rating_request_send` does;
- delivery (D1, D4): marked delivered at that moment, once, with the thread's note of
  `ratings.surveys.survey_note` and the survey email's Message-ID (`survey_message_id`);
- each answer: `ratings.rules.answer_refusal` (A3–A6 with W1/W2 and B4 windows from
  `RatingSettings.windows`) refuses as `rating_submit` and `rating_comment` would (the run
  stops: the demo never plans a refused answer); the rating, its history (A8), its reasons
  and the thread's "rated" line from `ratings.answers`' `rating_made`, `history_made`,
  `comment_made` and `rated_body`, the in-memory halves of those two services;
- the daily figures: `ratings.figures.figures_rebuild` after the run (a recount of the rows,
  which the figures kept by the services always equal);
- the email threads' Message-IDs and delivered `OutboundEmail`s: `demo.mailed`, per batch.

What goes around them: the COPY and INSERTs themselves (no row lock, no savepoint, no `part_added`
or `rating_event_recorded` signal: the demo turns the mail and alert receivers off anyway,
and the set-based path is refused while a webhook is active, whose receiver would record
deliveries), and the services' input checks (the plans are valid by construction: the same
plans go through the services in a small run, and `tests/test_seed_demo_bulk.py` checks that
both paths make the same rows).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from conversations import clock, services
from conversations.models import Conversation, ConversationClose, Part, Teammate
from conversations.text import message_body
from demo import mailed
from demo.common import chunks
from demo.customers import Customers
from demo.play import play
from demo.steps import (
    Bot,
    BotClose,
    Close,
    Note,
    Plan,
    Reopen,
    Reply,
    Snooze,
    Start,
    body_format,
)
from mail.models import OutboundEmail
from ratings.answers import (
    RatingRefused,
    _clean_reasons,
    comment_made,
    history_made,
    rated_body,
    rating_made,
)
from ratings.decisions import close_decision
from ratings.models import (
    Rating,
    RatingDecision,
    RatingEvent,
    RatingReason,
    RatingRequest,
    Source,
)
from ratings.rules import answer_refusal
from ratings.surveys import survey_message_id, survey_note
from ratings.tokens import rating_token_read

# Conversations written together (one transaction).
BATCH = 1000
# Rows an INSERT where there is no COPY (SQLite's variable limit splits it further).
INSERT_ROWS = 1000
# Runs of at least this many conversations take the set-based path (`seed_demo --path auto`).
SET_BASED_FROM = 2000

_keys = itertools.count(1)


@dataclass(eq=False)
class Made:
    """One conversation as it is being made: the unsaved rows in the order the services
    would write them."""

    pk: int  # a key of this run's own (the rating side's), not the conversation's id
    conversation: Conversation
    people: list
    parts: list[Part] = field(default_factory=list)
    closes: list[ConversationClose] = field(default_factory=list)
    decided: int = 0  # how many of `closes` have their decision
    decisions: list[RatingDecision] = field(default_factory=list)
    requests: dict[str, RatingRequest] = field(default_factory=dict)  # by kind (E6, B5)
    surveys: list[tuple[Part, RatingRequest]] = field(default_factory=list)  # email notes
    ratings: dict[int, Rating] = field(default_factory=dict)  # by id(request)
    events: list[RatingEvent] = field(default_factory=list)
    reasons: list[RatingReason] = field(default_factory=list)


def _body(step) -> tuple[str, str]:
    fmt = body_format(step.body)
    return message_body(step.body, fmt), fmt


def run_step(step, made: Made | None, moment: datetime) -> Made:
    """One step made in memory by the change its service makes (`demo.play.play`'s `run`)."""
    if isinstance(step, Start):
        body, fmt = _body(step)
        people = list(dict.fromkeys(step.contacts))
        conversation, part = services.conversation_made(
            channel=step.channel,
            origin=step.origin,
            people=people,
            body=body,
            started_by=step.started_by,
            workflow=step.workflow,
            subject=(step.subject or "").strip(),
            body_format=fmt,
            at=moment,
        )
        made = Made(pk=next(_keys), conversation=conversation, people=people)
        made.parts.append(part)
        return made
    conversation, parts = made.conversation, made.parts
    if isinstance(step, Reply):
        body, fmt = _body(step)
        reopened = services.contact_reply_reopens(conversation, step.author, moment)
        if reopened is not None:
            parts.append(reopened)
        parts.append(services.reply_made(conversation, step.author, body, moment, "", fmt))
    elif isinstance(step, Note):
        body, fmt = _body(step)
        parts.append(services.note_made(conversation, step.author, body, fmt, moment))
    elif isinstance(step, Bot):
        body, fmt = _body(step)
        parts.append(services.bot_message_made(conversation, body, fmt, moment))
    elif isinstance(step, Snooze):
        parts.append(services.snooze_made(conversation, step.by, step.until(moment), moment))
    elif isinstance(step, Reopen):
        parts.append(services.reopen_made(conversation, step.by, moment))
    elif isinstance(step, Close | BotClose):
        by = step.by if isinstance(step, Close) else None
        quiet = step.quiet if isinstance(step, Close) else False
        role = made.people[0].role if conversation.contact_count == 1 else ""
        close, event = services.close_made(conversation, by=by, quiet=quiet, role=role, at=moment)
        made.closes.append(close)
        parts.append(event)
    else:
        raise TypeError(f"No set-based change for {type(step).__name__}.")
    return made


class BulkCustomers(Customers):
    """The demo's rating side (`demo.customers.Customers`: the same draws, the same answers)
    with the worker's decision and delivery and the customer's answers made in memory."""

    def __init__(self, *, seed, now):
        super().__init__(seed=seed, now=now)
        self.app = self.settings.rating_app  # D3 (read once: the demo does not change it)
        self.switches = self.settings.switches
        self.made: dict[int, Made] = {}
        # The requests by the key `delivered` gives them, which their links name (A9).
        self.requests: dict[int, tuple[Made, RatingRequest]] = {}
        self.request_keys: dict[int, int] = {}  # id(request) -> that key
        self.last_asked: dict[int, datetime] = {}  # E9: each contact's latest request so far

    def before_play(self, plan: Plan) -> None:
        """A conversation's follow-ups all run before the next one is played: what was kept
        for the previous one is let go (a run holds one conversation's rows at a time, and
        its batch until written)."""
        super().before_play(plan)
        self.made, self.requests, self.request_keys = {}, {}, {}

    def after_close(self, conversation: Made, moment: datetime):
        self.made[conversation.pk] = conversation
        return super().after_close(conversation, moment)

    # the worker

    def send(self, conversation_id: int) -> None:
        """`rating_request_send`'s decisions and delivery, at this moment."""
        made = self.made[conversation_id]
        undecided = made.closes[made.decided :]
        if not undecided:
            return
        now = clock.now()
        conversation = made.conversation
        contact = made.people[0] if conversation.contact_count == 1 else None
        last_asked = {}
        if self.switches.fatigue_days is not None and contact is not None:
            last_asked = {contact.pk: self.last_asked.get(contact.pk)}
        made_now = []
        for close in undecided:
            kind, rule, request = close_decision(
                conversation,
                close,
                latest=close is made.closes[-1],
                requests=made.requests,
                contact=contact,
                last_asked=last_asked,
                settings=self.settings,
                switches=self.switches,
                now=now,
            )
            if request is not None:
                request.app = self.app if request.app_id else None
                made.requests[kind] = request
                made_now.append(request)
                if contact is not None:
                    self.last_asked[contact.pk] = max(
                        request.created_at, self.last_asked.get(contact.pk, request.created_at)
                    )
            made.decisions.append(
                RatingDecision(
                    close=close,
                    conversation=conversation,
                    kind=kind,
                    outcome=RatingDecision.Outcome.SENT
                    if request
                    else RatingDecision.Outcome.SKIPPED,
                    rule=rule or "",
                    request=request,
                    decided_at=now,
                )
            )
        made.decided = len(made.closes)
        # D4: the conversation's request still waiting (none: each is delivered when made),
        # then those made now, each handed over once.
        for request in made_now:
            self.deliver(made, request, now)

    def deliver(self, made: Made, request: RatingRequest, now: datetime) -> None:
        request.delivery_attempts = 1
        request.last_attempt_at = request.delivered_at = now
        request.last_error = ""
        part = services.event_made(
            made.conversation,
            Part.Event.RATING_REQUESTED,
            at=now,
            body=survey_note(request, self.settings),
        )
        made.parts.append(part)
        if request.channel == "email":
            made.surveys.append((part, request))  # its Message-ID once the request has its id

    def delivered(self, conversation_id: int) -> tuple | None:
        made = self.made[conversation_id]
        sent = [r for r in made.requests.values() if r.delivered_at is not None]
        if not sent:
            return None
        request = max(sent, key=lambda r: r.created_at)
        key = self.request_keys.setdefault(id(request), next(_keys))
        self.requests[key] = (made, request)
        return (
            key,
            request.teammate_id,
            request.close.closed_at,
            made.conversation.workflow_id,
            request.kind,
        )

    def windows(self, workflow_id, request_id, kind="teammate"):
        if (workflow_id, kind) not in self._windows:
            workflow = self.requests[request_id][1].conversation.workflow
            self._windows[(workflow_id, kind)] = self.settings.windows(workflow, kind)
        return self._windows[(workflow_id, kind)]

    # the customer

    def first_name(self, teammate_id: int | None) -> str:
        """As `Customers.first_name`, every teammate's name read at once."""
        if not self._names:
            self._names = {
                pk: name.split(" ")[0] for pk, name in Teammate.objects.values_list("pk", "name")
            }
        return self._names.get(teammate_id, "the team")

    def rate(self, token: str, value: int) -> None:
        """`rating_submit` (A1, A2, A4–A6), as the demo calls it (no auto post: A10 never
        applies; the API's source)."""
        made, request = self.requests[rating_token_read(token).request_id]
        now = clock.now()
        rating = made.ratings.get(id(request))
        rule = answer_refusal(
            action="rate",
            closed_at=request.close.closed_at,
            now=now,
            windows=self.windows(
                made.conversation.workflow_id, self.request_keys[id(request)], request.kind
            ),
            has_rating=rating is not None,
            has_comment=rating is not None and rating.commented_at is not None,
        )
        if rule:
            raise RatingRefused(rule)
        if rating is not None and rating.value == value:
            return
        rating, kind, _figures = rating_made(  # the figures: figures_rebuild after the run
            request, rating, value=value, now=now, auto_at=None, source=Source.API
        )
        made.ratings[id(request)] = rating
        made.events.append(history_made(rating, kind, now))
        made.parts.append(
            services.event_made(
                made.conversation,
                Part.Event.RATED,
                at=now,
                body=rated_body(value),
                by=request.contact,
            )
        )

    def comment(self, token: str, comment: str, reasons: tuple[str, ...]) -> None:
        """`rating_comment` (A1 reasons, A3)."""
        made, request = self.requests[rating_token_read(token).request_id]
        comment = (comment or "").replace("\r\n", "\n").strip()
        reasons = _clean_reasons(reasons)
        rating = made.ratings[id(request)]
        if reasons and (
            rating.value > Rating.Value.BAD or any(r not in self.reasons for r in reasons)
        ):
            raise ValueError(f"Reasons {reasons} are not offered after a {rating.value}.")
        now = clock.now()
        rule = answer_refusal(
            action="comment",
            closed_at=request.close.closed_at,
            now=now,
            windows=self.windows(
                made.conversation.workflow_id, self.request_keys[id(request)], request.kind
            ),
            has_rating=True,
            has_comment=rating.commented_at is not None,
        )
        if rule:
            raise RatingRefused(rule)
        made.reasons += comment_made(rating, comment, reasons, now)
        made.events.append(history_made(rating, RatingEvent.Kind.COMMENTED, now))


def write(batch: list[Made]) -> list[int]:
    """The rows of `batch`: by COPY on PostgreSQL (`write_copy`), else by bulk_create
    (`write_inserts`). Either way each conversation's parts in time order, so their ids are
    too."""
    if connection.vendor == "postgresql":
        return write_copy(batch)
    return write_inserts(batch)


def _rows(batch: list[Made]) -> list[tuple[type, list]]:
    """The rows of `batch` by model, in the order the services write them."""
    return [
        (Conversation, [m.conversation for m in batch]),
        (
            Conversation.contacts.through,
            [
                Conversation.contacts.through(conversation=m.conversation, contact=p)
                for m in batch
                for p in m.people
            ],
        ),
        (ConversationClose, [c for m in batch for c in m.closes]),
        (RatingRequest, [r for m in batch for r in m.requests.values()]),
        (RatingDecision, [d for m in batch for d in m.decisions]),
        (Part, [p for m in batch for p in m.parts]),
        (Rating, [r for m in batch for r in m.ratings.values()]),
        (RatingEvent, [e for m in batch for e in m.events]),
        (RatingReason, [r for m in batch for r in m.reasons]),
    ]


def write_copy(batch: list[Made]) -> list[int]:
    """PostgreSQL: every row's id taken from its table's sequence first (one query a table),
    so the foreign keys, the survey emails' and the mailed parts' Message-IDs are known before
    anything is written; then one COPY a table (the foreign keys are checked at commit)."""
    tables = _rows(batch)
    with connection.cursor() as cursor:
        for model, objs in tables:
            _ids_taken(cursor, model, objs)
        for _model, objs in tables:
            for obj in objs:
                obj._prepare_related_fields_for_save(operation_name="bulk_create")
        for m in batch:
            for part, request in m.surveys:
                part.message_id = survey_message_id(request)
        emails = mailed.emails_of(mailed.mailed_of(tables[5][1]))
        _ids_taken(cursor, OutboundEmail, emails)
        for email in emails:
            email._prepare_related_fields_for_save(operation_name="bulk_create")
        for model, objs in [*tables, (OutboundEmail, emails)]:
            _copy(cursor, model, objs)
    return [m.conversation.pk for m in batch]


def _ids_taken(cursor, model, objs: list) -> None:
    if not objs:
        return
    meta = model._meta
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [meta.db_table, meta.pk.column, len(objs)],
    )
    for obj, (pk,) in zip(objs, sorted(cursor.fetchall()), strict=True):
        obj.pk = pk


def _copy(cursor, model, objs: list) -> None:
    """`objs` (their ids set) in one COPY: each column's value as its field prepares it for
    the database (JSON as text)."""
    if not objs:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    fields = meta.concrete_fields
    columns = ", ".join(quote(f.column) for f in fields)
    prepare = [(f.attname, _json if f.get_internal_type() == "JSONField" else None) for f in fields]
    with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
        for obj in objs:
            copy.write_row(
                [
                    (adapt(getattr(obj, name)) if adapt else getattr(obj, name))
                    for name, adapt in prepare
                ]
            )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _json(value) -> str:
    return json.dumps(value)


def write_inserts(batch: list[Made]) -> list[int]:
    """The rows of `batch`, in the order the services write them (each conversation's parts
    in time order, so their ids are too), a few INSERTs of up to INSERT_ROWS rows: the
    conversations (their ids come back), their contacts, closes, requests, decisions, parts,
    ratings, history and reasons; then the email threads' Message-IDs (`demo.mailed`)."""
    rows = INSERT_ROWS
    conversations = [m.conversation for m in batch]
    Conversation.objects.bulk_create(conversations, batch_size=rows)
    through = Conversation.contacts.through
    through.objects.bulk_create(
        [through(conversation=m.conversation, contact=p) for m in batch for p in m.people],
        batch_size=rows,
    )
    ConversationClose.objects.bulk_create([c for m in batch for c in m.closes], batch_size=rows)
    requests = [r for m in batch for r in m.requests.values()]
    RatingRequest.objects.bulk_create(requests, batch_size=rows)
    RatingDecision.objects.bulk_create([d for m in batch for d in m.decisions], batch_size=rows)
    for m in batch:
        for part, request in m.surveys:
            part.message_id = survey_message_id(request)
    parts = [p for m in batch for p in m.parts]
    Part.objects.bulk_create(parts, batch_size=rows)
    Rating.objects.bulk_create([r for m in batch for r in m.ratings.values()], batch_size=rows)
    RatingEvent.objects.bulk_create([e for m in batch for e in m.events], batch_size=rows)
    RatingReason.objects.bulk_create([r for m in batch for r in m.reasons], batch_size=rows)
    mailed.parts_mailed(parts)
    return [c.pk for c in conversations]


def play_batches(
    plans: list[Plan],
    *,
    after_close: Callable | None = None,
    before_play: Callable[[Plan], None] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> list[int]:
    """`demo.play.play_batches`' set-based twin: the same plans in the same order, each
    conversation made in memory (`run_step`, the rating side through `after_close`), then
    `batch` conversations written in one transaction (`write`); `progress(n)` told after each
    batch is committed. The processes write disjoint rows (no row is updated, the daily
    figures are recounted after the run), so they never wait for each other."""
    made: list[int] = []
    for chunk in chunks(plans, max(batch, 1)):
        conversations = []
        for plan in chunk:
            if before_play:
                before_play(plan)
            conversations.append(play(plan, after_close, run=run_step))
        with transaction.atomic():
            made += write(conversations)
        if progress:
            progress(len(chunk))
    return made
