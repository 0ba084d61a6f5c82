"""The rating side of the demo data: workers deciding on closes, customers answering surveys.

`demo.play` plays each conversation's story; after each close it asks `Customers` (through
the `after_close` hook) what happens next, and plays that at its moment in the same timeline:

- a few seconds after the close a worker runs `rating_request_send`, as the queued task would
  (before any reopen, so each close is decided against the conversation as it was): the real
  rules decide who gets a survey, and the survey is delivered;
- about half of the customers who got one answer it through `rating_submit` with the link's
  token, minutes to two days after the close (inside the rating window when there is one, A4);
- some change their reaction later (A2, inside the change window, A5), before commenting;
- about a third leave a comment through `rating_comment`, with one or two of the admin's
  reasons after *terrible* or *bad* (A1).

Nothing is written here directly: every decision, request, rating, change and comment goes
through `ratings.services`, under `clock.at(moment)`. Nothing happens after `now`: a customer
whose answer would fall later has simply not answered yet.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db.models import Count

from conversations import clock
from conversations.models import Conversation, Teammate
from demo.common import DAY, HOUR, MINUTE, between, id_groups, pause
from demo.play import FollowUp
from demo.steps import Plan
from demo.text import sample_text
from ratings.models import Rating, RatingDecision, RatingEvent, RatingRequest, RatingSettings
from ratings.rules import BOT, TEAMMATE, Windows
from ratings.services import rating_comment, rating_request_send, rating_submit
from ratings.tokens import rating_token

# Pauses, in seconds (drawn log-uniformly between the two).
DECIDE_PACE = (2, 30)  # from the close to the worker's decision
ANSWER_PACE = (3 * MINUTE, 2 * DAY)  # from the close to the customer's reaction
CHANGE_PACE = (5 * MINUTE, 12 * HOUR)  # from the reaction to a change of mind
COMMENT_PACE = (10, 5 * MINUTE)  # from the (last) reaction to the comment: the page asks at once
# Nothing happens later than this before now: what a run made is all in the past when it
# is looked at, a moment later.
NOW_MARGIN = timedelta(minutes=1)
# Inside a window, stay this far from its end.
WINDOW_MARGIN = timedelta(minutes=5)

ANSWER_SHARE = 0.45
CHANGE_SHARE = 0.10
VALUE_WEIGHTS = {5: 35, 4: 25, 3: 15, 2: 12, 1: 13}
# Unhappy customers say why more often; together about 35 %.
COMMENT_SHARE = {5: 0.30, 4: 0.25, 3: 0.40, 2: 0.55, 1: 0.60}
# Among low ratings with a comment, some only tick reasons.
REASONS_ONLY_SHARE = 0.2
# The first surveys that can be answered are, whatever the chances, so that even a small run
# has every reaction, a change and comments (with reasons after a low one).
COVERAGE = (
    {"value": 5, "comment": True},
    {"value": 1, "comment": True},
    {"value": 3, "change": 4},
    {"value": 2, "comment": True},
    {"value": 4},
)
# B: the first answerable bot survey is answered so (the reports' bot line after any run).
BOT_COVERAGE = {"value": 4, "comment": True}
# How much a teammate's customers lean towards the top (×) or the bottom (÷) of the scale.
TEAMMATE_LEAN = (0.7, 1.4)


@dataclass(frozen=True)
class Answer:
    """What one customer does with their survey, planned when it is delivered."""

    token: str
    value: int
    rated_at: datetime
    new_value: int | None = None
    changed_at: datetime | None = None
    comment: str = ""
    reasons: tuple[str, ...] = ()
    commented_at: datetime | None = None


class Customers:
    """The rating side of one demo run. `after_close` is the hook `demo.play.seed` calls after
    each close, `before_play` the one before each conversation, `after_lead` the one after the
    first conversations. The same `seed` answers the same surveys the same way: each
    conversation's answers are drawn from a generator of its own (seeded by the run's seed and
    the conversation's place in the plans), and each teammate's lean from another, so the
    answers do not depend on the order the conversations are played in, nor on how many
    processes play them."""

    def __init__(self, *, seed: int | str, now: datetime):
        self.seed = seed
        self.rng = random.Random(f"ratings-{seed}")
        self.latest = now - NOW_MARGIN
        settings = RatingSettings.load()  # read once: the demo does not change them
        self.settings = settings
        self.reasons = settings.reasons
        self.surveyed: set[int] = set()  # conversations whose survey has been planned
        self.covered = 0  # how many of COVERAGE have been planned
        self.lean: dict[int | None, float] = {}
        self._windows: dict[tuple[int | None, str], Windows] = {}
        self.bot_answered = False  # B: whether a bot survey has been answered
        self._names: dict[int | None, str] = {}

    def before_play(self, plan: Plan) -> None:
        """The conversation's own generator, for its decision's follow-ups and its answers."""
        self.rng = random.Random(f"ratings-{self.seed}-{plan.index}")

    def after_lead(self) -> None:
        """Coverage is forced among the first conversations only (`demo.play.LEAD`, played by
        one process in time order): after them, chance alone decides."""
        self.covered = len(COVERAGE)
        self.bot_answered = True

    # the worker

    def after_close(self, conversation: Conversation, moment: datetime) -> list[FollowUp]:
        """A worker decides a few seconds after the close, as the queued task would."""
        decide_at = moment + pause(self.rng, DECIDE_PACE)
        return [FollowUp(decide_at, partial(self.decide, conversation.pk))]

    def send(self, conversation_id: int) -> None:
        """The queued task's body: decide the conversation's closes, deliver the survey."""
        rating_request_send(conversation_id=conversation_id)

    def delivered(self, conversation_id: int) -> tuple | None:
        """The conversation's newest delivered request: its id, teammate, close time,
        workflow and kind; None when there is none."""
        return (
            RatingRequest.objects.filter(
                conversation_id=conversation_id, delivered_at__isnull=False
            )
            .values_list(
                "pk", "teammate_id", "close__closed_at", "conversation__workflow_id", "kind"
            )
            .first()
        )

    def decide(self, conversation_id: int) -> list[FollowUp]:
        self.send(conversation_id)
        if conversation_id in self.surveyed:  # a later close: E6 or reopened, nothing new
            return []
        request = self.delivered(conversation_id)
        if request is None:  # skipped by a rule
            return []
        self.surveyed.add(conversation_id)
        *request, kind = request
        # B: the first bot survey that can be answered is, so that the reports show the
        # bot's line after any run.
        force = kind == BOT and not self.bot_answered
        answer = self.plan_answer(
            conversation_id, *request, delivered_at=clock.now(), kind=kind, force=force
        )
        if answer and kind == BOT:
            self.bot_answered = True
        return self.follow_ups(answer) if answer else []

    # the customer

    def plan_answer(
        self,
        conversation_id: int,
        request_id: int,
        teammate_id: int | None,
        closed_at: datetime,
        workflow_id: int | None,
        *,
        delivered_at: datetime,
        kind: str = TEAMMATE,
        force: bool = False,
    ) -> Answer | None:
        rng = self.rng
        forced = COVERAGE[self.covered] if self.covered < len(COVERAGE) else None
        if forced is None and force:
            forced = BOT_COVERAGE
        if forced is None and rng.random() >= ANSWER_SHARE:
            return None
        windows = self.windows(workflow_id, request_id, kind)
        latest = self.latest
        if windows.rating_hours is not None:  # A4
            latest = min(latest, closed_at + timedelta(hours=windows.rating_hours) - WINDOW_MARGIN)
        earliest = max(closed_at + timedelta(seconds=ANSWER_PACE[0]), delivered_at)
        if latest <= earliest:  # closed too recently: not answered yet
            return None
        rated_at = closed_at + pause(rng, ANSWER_PACE)
        if not earliest <= rated_at <= latest:
            rated_at = between(rng, earliest, latest)
        value = forced["value"] if forced else self.pick_value(teammate_id)

        new_value = changed_at = None
        changes = "change" in forced if forced else rng.random() < CHANGE_SHARE
        if changes:
            change_by = self.latest
            if windows.change_hours is not None:  # A5
                change_by = min(
                    change_by, closed_at + timedelta(hours=windows.change_hours) - WINDOW_MARGIN
                )
            when = rated_at + pause(rng, CHANGE_PACE)
            if when > change_by and change_by > rated_at:
                when = between(rng, rated_at, change_by)
            if when <= change_by:
                new_value = forced["change"] if forced else self.pick_change(value)
                changed_at = when

        final = new_value or value
        last = changed_at or rated_at
        comment, reasons, commented_at = "", (), None
        comments = forced.get("comment", False) if forced else rng.random() < COMMENT_SHARE[final]
        if comments:
            when = last + pause(rng, COMMENT_PACE)
            if when <= self.latest:
                comment, reasons = self.pick_comment(final, teammate_id)
                commented_at = when
        if forced and forced is not BOT_COVERAGE:
            self.covered += 1
        return Answer(
            token=rating_token(request_id=request_id, conversation_id=conversation_id),
            value=value,
            rated_at=rated_at,
            new_value=new_value,
            changed_at=changed_at,
            comment=comment,
            reasons=reasons,
            commented_at=commented_at,
        )

    def windows(self, workflow_id: int | None, request_id: int, kind: str = TEAMMATE) -> Windows:
        """A4–A6 with W1/W2 (and B4 for the bot's request) for a conversation of this workflow
        (or of none): worked out by `RatingSettings.windows` once per workflow and kind (the
        settings stay the same during a run)."""
        if (workflow_id, kind) not in self._windows:
            request = RatingRequest.objects.select_related("conversation__workflow").get(
                pk=request_id
            )
            self._windows[(workflow_id, kind)] = self.settings.windows(
                request.conversation.workflow, kind
            )
        return self._windows[(workflow_id, kind)]

    def pick_value(self, teammate_id: int | None) -> int:
        if teammate_id not in self.lean:
            lean_rng = random.Random(f"lean-{self.seed}-{teammate_id}")
            self.lean[teammate_id] = lean_rng.uniform(*TEAMMATE_LEAN)
        lean = self.lean[teammate_id]
        values = list(VALUE_WEIGHTS)
        weights = [
            VALUE_WEIGHTS[v] * (lean if v >= 4 else 1 / lean if v <= 2 else 1) for v in values
        ]
        return self.rng.choices(values, weights=weights)[0]

    def pick_change(self, value: int) -> int:
        """A change of mind: mostly one step, mostly upwards (the problem got solved after
        all), sometimes down (it came back)."""
        options = [v for v in range(1, 6) if v != value and abs(v - value) <= 2]
        weights = [(3 if v > value else 1) * (3 if abs(v - value) == 1 else 1) for v in options]
        return self.rng.choices(options, weights=weights)[0]

    def pick_comment(self, value: int, teammate_id: int | None) -> tuple[str, tuple[str, ...]]:
        rng = self.rng
        reasons: tuple[str, ...] = ()
        if value <= Rating.Value.BAD and self.reasons:
            count = min(rng.choice((1, 1, 2)), len(self.reasons))
            reasons = tuple(rng.sample(self.reasons, k=count))
            if rng.random() < REASONS_ONLY_SHARE:
                return "", reasons
            # Written for the default reasons (RatingSettings'); an admin's own have none.
            matching = sample_text()["reason_comments"].get(reasons[0])
            if matching and rng.random() < 0.6:
                return rng.choice(matching), reasons
        comments = sample_text()["comments"][value]
        return rng.choice(comments).format(agent=self.first_name(teammate_id)), reasons

    def first_name(self, teammate_id: int | None) -> str:
        if teammate_id not in self._names:
            teammate = Teammate.objects.filter(pk=teammate_id).first() if teammate_id else None
            self._names[teammate_id] = teammate.name.split(" ")[0] if teammate else "the team"
        return self._names[teammate_id]

    def follow_ups(self, answer: Answer) -> list[FollowUp]:
        steps = [FollowUp(answer.rated_at, partial(self.rate, answer.token, answer.value))]
        if answer.new_value is not None:
            steps.append(
                FollowUp(answer.changed_at, partial(self.rate, answer.token, answer.new_value))
            )
        if answer.commented_at is not None:
            steps.append(
                FollowUp(
                    answer.commented_at,
                    partial(self.comment, answer.token, answer.comment, answer.reasons),
                )
            )
        return steps

    @staticmethod
    def rate(token: str, value: int) -> None:
        rating_submit(token=token, value=value)

    @staticmethod
    def comment(token: str, comment: str, reasons: tuple[str, ...]) -> None:
        rating_comment(token=token, comment=comment, reasons=reasons)


def figures(conversation_ids: list[int]) -> dict:
    """What the rating side made for these conversations, for the summary."""
    decisions: Counter = Counter()
    values: Counter = Counter()
    events: Counter = Counter()
    requests = 0
    groups = zip(
        id_groups(conversation_ids),
        id_groups(conversation_ids, "rating__conversation_id"),
        strict=True,
    )
    for group, of_ratings in groups:
        for outcome, rule, n in (
            RatingDecision.objects.filter(group)
            .values_list("outcome", "rule")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            decisions[(outcome, rule)] += n
        requests += RatingRequest.objects.filter(group).count()
        for value, n in (
            Rating.objects.filter(group).values_list("value").annotate(n=Count("pk")).order_by()
        ):
            values[value] += n
        for kind, n in (
            RatingEvent.objects.filter(of_ratings)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            events[kind] += n
    sent = sum(n for (outcome, _), n in decisions.items() if outcome == "sent")
    skipped = Counter({rule: n for (outcome, rule), n in decisions.items() if outcome != "sent"})
    return {
        "decisions": sum(decisions.values()),
        "sent": sent,
        "skipped": skipped,
        "requests": requests,
        "ratings": values,
        "changes": events.get(RatingEvent.Kind.CHANGED, 0),
        "comments": events.get(RatingEvent.Kind.COMMENTED, 0),
    }
