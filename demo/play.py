"""Playing the plans: each conversation made step by step under `clock.at(moment)`, so that
the services stamp the past moments and apply their rules as they do for live work, with the
rating side's follow-ups (`demo.customers`) merged into each story's timeline.

The story player knows nothing of ratings: what happens after a close (a worker's decision,
a customer's answers) comes from the `after_close` hook as `FollowUp`s. Each side draws from
its own `random.Random`, so the rating side's choices never change what the conversations are.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import OperationalError, transaction
from django.db.models import Count
from django.utils import timezone

from conversations import clock
from conversations.models import Conversation, ConversationClose, Part
from demo.common import chunks, id_groups
from demo.people import Cast, contacts_make, managers_make, teammates_make, workflows_make
from demo.plans import CONVERSATIONS_PER_CONTACT, plans_make
from demo.steps import BotClose, Close, Plan

# Conversations committed together (one transaction; each service call is a savepoint in it).
BATCH = 200
# The first conversations in time order, always played by the first process, in order: the
# rating side forces its coverage (every reaction, a change, comments) among them.
LEAD = 100
# A batch that loses a deadlock to another seeding process is played again this many times.
RETRIES = 5
CONFLICT_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
SUMMARY_FIELDS = ("pk", "state", "channel", "origin", "contact_count", "reply_characters")


@dataclass(frozen=True)
class FollowUp:
    """Something that happens to a conversation at a moment of its own, outside its story:
    the rating side of the demo (a worker deciding on a close, a customer answering a
    survey). `action` runs under `clock.at(moment)`, merged in time order with the story's
    steps, and may return more follow-ups, none before its own moment. Moments after the
    story's end run after its last step; the caller keeps them before now."""

    moment: datetime
    action: Callable[[], Iterable[FollowUp] | None]


# Called after each close with the conversation and the close's moment; returns follow-ups.
AfterClose = Callable[[Conversation, datetime], Iterable[FollowUp] | None]


def run_step(step, conversation: Conversation | None, moment: datetime) -> Conversation:
    """A step through its service, at its moment."""
    with clock.at(moment):
        return step.run(conversation, moment)


def play(plan: Plan, after_close: AfterClose | None = None, run=run_step) -> Conversation:
    """Make the conversation: each step through its service, at its moment (`run`; the
    set-based path, `demo.bulk`, makes it in memory instead), with the follow-ups
    `after_close` asks for merged in at theirs. The caller holds the transaction (`seed`
    commits a batch of conversations at a time)."""
    moment = plan.start
    conversation = None
    due: list[tuple[datetime, int, FollowUp]] = []  # a heap, in time order then arrival order
    added = itertools.count()

    def add(follow_ups: Iterable[FollowUp] | None, reached: datetime) -> None:
        for follow_up in follow_ups or ():
            if follow_up.moment < reached:
                raise ValueError(f"A follow-up at {follow_up.moment} is before {reached}.")
            heapq.heappush(due, (follow_up.moment, next(added), follow_up))

    def run_due(until: datetime | None) -> None:
        while due and (until is None or due[0][0] < until):
            follow_up = heapq.heappop(due)[2]
            with clock.at(follow_up.moment):
                add(follow_up.action(), follow_up.moment)

    for step in plan.steps:
        moment += step.gap
        run_due(moment)
        conversation = run(step, conversation, moment)
        if after_close is not None and isinstance(step, Close | BotClose):
            add(after_close(conversation, moment), moment)
    run_due(None)
    return conversation


@dataclass
class SeedReport:
    seed: int
    cast: Cast
    conversations: list[Conversation]
    plans: list[Plan]
    seconds: float
    seconds_conversations: float
    figures: dict = field(default_factory=dict)

    def counts(self, attribute: str) -> Counter:
        return Counter(getattr(c, attribute) for c in self.conversations)


def figures(conversations: list[Conversation]) -> dict:
    """Totals over what was made, for the summary."""
    ids = [c.pk for c in conversations]
    parts: Counter = Counter()
    closes = quiet = late = 0
    for group in id_groups(ids):
        by_kind = Part.objects.filter(group).values_list("kind").annotate(n=Count("pk")).order_by()
        for kind, n in by_kind:
            parts[kind] += n
        for closed_at, last_reply_at, is_quiet in ConversationClose.objects.filter(
            group
        ).values_list("closed_at", "last_reply_at", "quiet"):
            closes += 1
            quiet += is_quiet
            late += bool(last_reply_at and closed_at - last_reply_at > timedelta(days=7))
    return {
        "parts": parts,
        "closes": closes,
        "quiet_closes": quiet,
        "late_closes": late,
        "groups": sum(1 for c in conversations if c.contact_count > 1),
        "short": sum(1 for c in conversations if 0 < c.reply_characters <= 250),
    }


def play_batches(
    plans: list[Plan],
    *,
    after_close: AfterClose | None = None,
    before_play: Callable[[Plan], None] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> list[int]:
    """Play `plans` in order, `batch` conversations a transaction (each service call a
    savepoint in it); return the conversations' ids. `before_play(plan)` runs before each plan
    (the rating side draws each conversation's answers from its own generator, so a batch
    played again draws the same). A batch that loses a deadlock or a serialization conflict to
    another seeding process is rolled back and played again, a few times; any other failure
    rolls back the batch under way and stops the run. `progress(n)` is told each conversation
    made, and minus a batch's count when that batch is played again."""
    made: list[int] = []
    for chunk in chunks(plans, max(batch, 1)):
        for attempt in itertools.count(1):
            done = 0
            try:
                with transaction.atomic():
                    ids = []
                    for plan in chunk:
                        if before_play:
                            before_play(plan)
                        ids.append(play(plan, after_close).pk)
                        done += 1
                        if progress:
                            progress(1)
            except OperationalError as error:
                if progress and done:
                    progress(-done)
                if attempt >= RETRIES or not _conflict(error):
                    raise
                continue
            made += ids
            break
    return made


def _conflict(error: Exception) -> bool:
    """A deadlock or serialization failure: the other process goes on, this batch can be
    played again."""
    return getattr(error.__cause__, "sqlstate", None) in CONFLICT_SQLSTATES


def seed(
    *,
    conversations: int,
    seed: int,
    password: str,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
    after_close: AfterClose | None = None,
    before_play: Callable[[Plan], None] | None = None,
    after_lead: Callable[[], None] | None = None,
    processes: int = 1,
    batch: int = BATCH,
    batches: Callable[..., list[int]] | None = None,
) -> SeedReport:
    """Make the demo data: the teammates and the manager (missing ones get `password`), the
    workflows, about one contact per 2–3 conversations, and `conversations` conversations over
    the last 90 days. The same `seed` makes the same conversations. `after_close` adds
    follow-ups to each close (see `play`), `before_play` runs before each conversation.

    The first `LEAD` conversations (in time order) are played here, then `after_lead()` (the
    rating side stops forcing its coverage); the rest are played here too, or split between
    `processes` processes (`demo.parallel`), each its own slice of the timeline, through the
    same services: the same seed makes the same data with any number of processes."""
    began = time.monotonic()
    rng = random.Random(seed)
    now = now or timezone.now()
    with transaction.atomic():
        teammates, weights, new_teammates, skipped = teammates_make(password)
        managers, new_managers, skipped_managers = managers_make(password)
        workflows = workflows_make()
        contact_count = 0
        if conversations:
            contact_count = max(2, round(conversations / rng.uniform(*CONVERSATIONS_PER_CONTACT)))
        contacts, new_contacts = contacts_make(rng, contact_count)
    cast = Cast(
        teammates=teammates,
        weights=weights,
        new_teammates=new_teammates,
        skipped_usernames=skipped + skipped_managers,
        workflows=workflows,
        contacts=contacts,
        new_contacts=new_contacts,
        managers=managers,
        new_managers=new_managers,
    )

    plans = plans_make(rng, conversations, cast, now) if conversations else []
    began_conversations = time.monotonic()
    hooks = {"after_close": after_close, "before_play": before_play, "batch": batch}
    # `batches`: play_batches (each step through its service) or the set-based path's.
    batches = batches or play_batches
    lead, rest = plans[:LEAD], plans[LEAD:]
    made = batches(lead, progress=progress, **hooks)
    if after_lead:
        after_lead()
    if processes > 1 and rest:
        from demo import parallel  # noqa: PLC0415 - only for a run in several processes

        made += parallel.play(
            rest, processes=processes, progress=progress, batches=batches, **hooks
        )
    else:
        made += batches(rest, progress=progress, **hooks)
    finished = time.monotonic()
    made_conversations = conversations_of(made)
    return SeedReport(
        seed=seed,
        cast=cast,
        conversations=made_conversations,
        plans=plans,
        seconds=finished - began,
        seconds_conversations=finished - began_conversations,
        figures=figures(made_conversations),
    )


def conversations_of(ids: list[int]) -> list[Conversation]:
    """The conversations made, in the order made, with the columns the summary counts."""
    by_id = {}
    for group in id_groups(ids, "pk"):
        for conversation in Conversation.objects.filter(group).only(*SUMMARY_FIELDS):
            by_id[conversation.pk] = conversation
    return [by_id[pk] for pk in ids]
