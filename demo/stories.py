"""Stories: the ways a demo conversation goes, each written as steps by a `Script`.

A story writes the whole thread of one conversation (who says what, after which pause), from
the plan's sample thread and one `random.Random`, before anything is made; `demo.play` then
plays the steps at their moments. To add a kind of conversation, write a story function
(`story_*` below, taking a `Script`) and give it a line in `ENDINGS`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from conversations.models import Channel, Contact, Origin, State, Teammate
from demo.common import DAY, HOUR, MINUTE, pause
from demo.steps import Bot, BotClose, Close, Note, Plan, Reopen, Reply, Snooze, Start
from demo.text import sample_text

# Pauses before a step, in seconds (drawn log-uniformly between the two).
CUSTOMER_PACE = (3 * MINUTE, 20 * HOUR)
TEAMMATE_PACE = (2 * MINUTE, 8 * HOUR)
NOTE_PACE = (1 * MINUTE, 2 * HOUR)
QUICK_PACE = (20, 5 * MINUTE)
CLOSE_PACE = (1 * MINUTE, 20 * HOUR)
# E4 skips a close more than 7 days after the last reply; a stale close waits longer.
STALE_PACE = (8 * DAY, 14 * DAY)


class Script:
    """Writes a plan's steps. Each method adds one step after a pause drawn from `pace`
    (seconds, log-uniform) unless `gap` is given."""

    def __init__(self, plan: Plan, rng: random.Random):
        self.plan = plan
        self.rng = rng
        self.closer = plan.teammate  # the teammate who answers (and closes) from now on
        self.asked = False  # whether the teammate has asked for details (the thread's clarify)

    # choices
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, name: str) -> str:
        """One of the sample text's lines called `name` ("thanks", "nudges", …)."""
        return self.rng.choice(sample_text()[name])

    def has(self, key: str) -> bool:
        return key in self.plan.thread

    def line(self, key: str) -> str:
        """The thread's own line for `key`, or a generic one when the thread has none."""
        if key in self.plan.thread:
            return self.plan.thread[key]
        return self.rng.choice(sample_text()["generic"][key])

    def fill(self, template: str) -> str:
        if not self.plan.details["first"]:  # an unnamed lead: "Thanks, {first}!" -> "Thanks!"
            template = template.replace(", {first}", "").replace(" {first}", "")
        return template.format_map(self.plan.details)

    def text(self, template: str) -> str:
        body = self.fill(template)
        if self.plan.channel == Channel.EMAIL and not body.startswith("<"):
            body = "".join(f"<p>{escape(par, quote=False)}</p>" for par in body.split("\n\n"))
        return body

    def pause(self, pace: tuple[float, float]) -> timedelta:
        return pause(self.rng, pace)

    def within(self, length: timedelta) -> timedelta:
        """A pause that ends before `length` has passed (before a snooze wakes)."""
        return length * self.rng.uniform(0.2, 0.8)

    def _add(self, step_type, pace, gap, **fields):
        if not self.plan.steps:
            gap = timedelta(0)
        elif gap is None:
            gap = self.pause(pace)
        self.plan.steps.append(step_type(gap=gap, **fields))

    # steps
    def start(self, body: str, *, by: Teammate | Contact | None = None):
        p = self.plan
        self._add(
            Start,
            None,
            None,
            channel=p.channel,
            origin=p.origin,
            contacts=p.contacts,
            body=self.text(body),
            started_by=by,
            workflow=p.workflow,
            subject=p.subject,
        )

    def customer(self, template, *, who=None, pace=CUSTOMER_PACE, gap=None):
        if who is None:
            contacts = self.plan.contacts
            who = contacts[1] if len(contacts) > 1 and self.chance(0.2) else contacts[0]
        self._add(Reply, pace, gap, author=who, body=self.text(template))

    def teammate(self, template, *, who=None, pace=TEAMMATE_PACE, gap=None):
        self._add(Reply, pace, gap, author=who or self.closer, body=self.text(template))

    def note(self, template, *, who=None, pace=NOTE_PACE, gap=None):
        self._add(Note, pace, gap, author=who or self.closer, body=self.fill(template))

    def bot(self, template, *, pace=QUICK_PACE, gap=None):
        self._add(Bot, pace, gap, body=self.text(template))

    def snooze(self, low, high, *, final=False, pace=QUICK_PACE) -> timedelta:
        length = self.pause((low, high))
        keep = self.pause((HOUR, 4 * DAY)) if final else None
        self._add(Snooze, pace, None, by=self.closer, length=length, keep=keep)
        return length

    def reopen(self, *, by=None, pace=QUICK_PACE, gap=None):
        self._add(Reopen, pace, gap, by=by or self.closer)

    def close(self, *, quiet=False, pace=CLOSE_PACE, gap=None):
        self._add(Close, pace, gap, by=self.closer, quiet=quiet)

    def bot_close(self, *, pace=CLOSE_PACE, gap=None):
        self._add(BotClose, pace, gap)


# Story building blocks.


def open_question(s: Script) -> None:
    """The conversation starts and the customer has asked their question."""
    p = s.plan
    if p.origin == Origin.CUSTOMER:
        s.start(s.line("question"), by=p.contacts[0])
        if p.channel == Channel.MESSENGER and s.chance(0.3):
            s.bot(s.pick("auto_replies"), pace=(1, 5))
    elif p.origin == Origin.DIRECT_OUTBOUND:
        s.start(s.line("opener"), by=p.teammate)
        s.customer(s.line("question"), who=p.contacts[0])
    else:
        s.start(p.bot_message)
        s.customer(s.line("question"), who=p.contacts[0])
    if p.group and s.chance(0.6):
        s.customer(s.pick("group_joins"), who=p.contacts[1])


def ask_details(s: Script) -> None:
    """The teammate asks what the answer needs (when the thread has such a question), once."""
    if s.has("clarify") and not s.asked:
        s.asked = True
        s.teammate(s.line("clarify"))
        s.customer(s.line("detail"), who=s.plan.contacts[0])


def resolve(s: Script) -> None:
    """Teammates work on it until the answer is given."""
    if s.chance(0.3):
        s.note(s.line("note"))
    ask_details(s)
    if s.chance(0.15):  # a hand-off: the last teammate reply is not the assignee's (D2)
        s.note(s.pick("handoff_notes"))
        s.closer = s.plan.helper
    s.teammate(s.line("answer"))


def thank(s: Script, p: float = 0.65) -> None:
    if s.chance(p):
        s.customer(s.pick("thanks"))
        if s.chance(0.4):
            s.teammate(s.pick("wrapups"), pace=QUICK_PACE)


# Stories: one per way a conversation goes. Each writes the whole thread.


def story_closed(s: Script) -> None:
    """Asked, answered, thanked, closed."""
    open_question(s)
    resolve(s)
    thank(s)
    s.close()


# B: what the demo's bot (an AI agent) says around the thread's own answer.
BOT_ANSWER_INTRO = "I'm the support bot, and I think I can help with that right away."
BOT_ANSWER_OUTRO = (
    "If that does not solve it, just reply here and a teammate will pick the conversation up."
)


def story_closed_by_bot(s: Script) -> None:
    """The bot answers the customer's question alone and closes it (B: the bot's survey)."""
    p = s.plan
    s.start(s.line("question"), by=p.contacts[0])
    s.bot(f"{BOT_ANSWER_INTRO}\n\n{s.line('answer')}\n\n{BOT_ANSWER_OUTRO}", pace=(5, 60))
    if s.chance(0.7):
        s.customer(s.pick("thanks"), who=p.contacts[0], pace=(MINUTE, 2 * HOUR))
    s.bot_close(pace=(MINUTE, 2 * HOUR))


def story_closed_short(s: Script) -> None:
    """A quick question and answer: under 250 visible characters in all (E3 skips it)."""
    p = s.plan
    if p.origin == Origin.CUSTOMER:
        s.start(s.line("question"), by=p.contacts[0])
        s.teammate(s.line("answer"))
        if s.chance(0.7):
            s.customer(s.pick("short_thanks"))
    else:
        if p.origin == Origin.DIRECT_OUTBOUND:
            s.start(s.line("opener"), by=p.teammate)
        else:
            s.start(p.bot_message)
        s.customer(s.pick("short_thanks"))
    s.close()


def story_closed_stale(s: Script) -> None:
    """The teammate asks something, the customer never answers, the teammate closes more than
    7 days after the last reply (E4 skips it)."""
    open_question(s)
    s.teammate(s.line("clarify") if s.has("clarify") else s.line("answer"))
    s.note(s.pick("stale_notes"), pace=STALE_PACE)
    s.close(pace=QUICK_PACE)


def story_closed_quietly_after_thanks(s: Script) -> None:
    """Closed; the customer's late 'ok thanks' reopens it (Z3); closed again quietly (E8)."""
    open_question(s)
    resolve(s)
    s.close()
    s.customer(s.pick("thanks"), who=s.plan.contacts[0], pace=(10 * MINUTE, 2 * DAY))
    s.close(quiet=True, pace=(MINUTE, 6 * HOUR))


def story_closed_quietly_spam(s: Script) -> None:
    """Spam or supplier mail: no teammate reply, closed quietly (E8)."""
    s.start(s.line("question"), by=s.plan.contacts[0])
    if s.chance(0.5):
        s.note(s.pick("spam_notes"))
    s.close(quiet=True)


def story_reopened_and_closed(s: Script) -> None:
    """Closed, reopened days later (by the customer or the teammate), closed again (E6)."""
    open_question(s)
    resolve(s)
    thank(s, 0.5)
    s.close()
    if s.chance(0.6):
        s.customer(s.line("followup"), who=s.plan.contacts[0], pace=(DAY, 6 * DAY))
        s.teammate(s.line("followup_answer"))
        thank(s, 0.5)
    else:
        s.reopen(pace=(DAY, 6 * DAY))
        s.teammate(s.pick("teammate_followups"), pace=QUICK_PACE)
        if s.chance(0.5):
            s.customer(s.pick("thanks"))
    s.close()


def story_snoozed_then_customer(s: Script) -> None:
    """Snoozed; the customer writes before it wakes, which reopens it (Z3); answered, closed."""
    open_question(s)
    ask_details(s)
    s.teammate(s.line("pending"))
    length = s.snooze(4 * HOUR, 3 * DAY)
    s.customer(s.pick("nudges"), who=s.plan.contacts[0], gap=s.within(length))
    s.teammate(s.line("answer"), pace=QUICK_PACE)
    thank(s)
    s.close()


def story_snoozed_then_reopened(s: Script) -> None:
    """Snoozed; news arrives before it wakes, the teammate reopens it, answers, closes."""
    open_question(s)
    ask_details(s)
    s.teammate(s.line("pending"))
    length = s.snooze(DAY, 4 * DAY)
    s.note(s.pick("wake_notes"), who=s.plan.helper, gap=s.within(length))
    s.reopen()
    s.teammate(s.line("answer"), pace=QUICK_PACE)
    thank(s)
    s.close()


def story_closed_unanswered(s: Script) -> None:
    """An outbound message nobody answered, closed after a few days (no teammate reply from
    the customer's side, so E2 skips workflow/API ones)."""
    p = s.plan
    if p.origin == Origin.DIRECT_OUTBOUND:
        s.start(s.line("opener"), by=p.teammate)
    else:
        s.start(p.bot_message)
        if s.chance(0.5):
            s.bot(s.pick("bot_reminders"), pace=(DAY, 3 * DAY))
    s.close(quiet=s.chance(0.3), pace=(DAY, 5 * DAY))


def story_open_unanswered(s: Script) -> None:
    """The customer asked; no teammate has answered yet."""
    open_question(s)
    if s.chance(0.4):
        s.customer(s.pick("nudges"), who=s.plan.contacts[0], pace=(10 * MINUTE, 6 * HOUR))


def story_open_waiting(s: Script) -> None:
    """A conversation under way: the customer wrote last and waits for the teammate."""
    open_question(s)
    ask_details(s)
    if not s.has("clarify") or s.chance(0.5):
        s.teammate(s.line("answer"))
        s.customer(s.line("followup"), who=s.plan.contacts[0])


def story_snoozed(s: Script) -> None:
    """The teammate waits for news and snoozes it; it wakes in the future (Z1)."""
    open_question(s)
    if s.chance(0.5):
        ask_details(s)
    s.teammate(s.line("pending"))
    s.snooze(4 * HOUR, 4 * DAY, final=True)


@dataclass(frozen=True)
class Ending:
    story: Callable[[Script], None]
    weight: int
    state: str
    origins: tuple[str, ...] = tuple(Origin.values)
    # Stories that end open or snoozed happen lately: their last step is within this of now.
    recent: timedelta | None = None
    short: bool = False


ENDINGS = {
    "closed": Ending(story_closed, 30, State.CLOSED),
    "closed_short": Ending(story_closed_short, 10, State.CLOSED, short=True),
    "closed_by_bot": Ending(story_closed_by_bot, 5, State.CLOSED, (Origin.CUSTOMER,)),
    "closed_stale": Ending(story_closed_stale, 6, State.CLOSED),
    "closed_quietly_after_thanks": Ending(story_closed_quietly_after_thanks, 4, State.CLOSED),
    "closed_quietly_spam": Ending(story_closed_quietly_spam, 3, State.CLOSED, (Origin.CUSTOMER,)),
    "reopened_and_closed": Ending(story_reopened_and_closed, 5, State.CLOSED),
    "snoozed_then_customer": Ending(story_snoozed_then_customer, 4, State.CLOSED),
    "snoozed_then_reopened": Ending(story_snoozed_then_reopened, 3, State.CLOSED),
    "closed_unanswered": Ending(
        story_closed_unanswered,
        6,
        State.CLOSED,
        (Origin.DIRECT_OUTBOUND, Origin.WORKFLOW, Origin.API),
    ),
    "open_unanswered": Ending(story_open_unanswered, 8, State.OPEN, recent=timedelta(hours=18)),
    "open_waiting": Ending(story_open_waiting, 12, State.OPEN, recent=timedelta(days=4)),
    "snoozed": Ending(story_snoozed, 15, State.SNOOZED, recent=timedelta(days=5)),
}
