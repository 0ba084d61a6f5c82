"""Planning: what each demo conversation will be (its people, channel, origin, topic, sample
thread and story) and when it starts, all drawn from one `random.Random` before anything is
made, so that the same seed plans the same conversations."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from conversations.models import Channel, Contact, Origin
from demo.people import Cast
from demo.steps import Plan
from demo.stories import ENDINGS, Script
from demo.text import sample_text

# Everything happens within this far back (a little under 90 days, so "the last 90 days" still
# holds when someone looks a moment later).
HISTORY = timedelta(days=89)
# The last step of a story is at least this long before now.
END_MARGIN = timedelta(minutes=5)

ORIGIN_WEIGHTS = {
    Origin.CUSTOMER: 70,
    Origin.DIRECT_OUTBOUND: 12,
    Origin.WORKFLOW: 10,
    Origin.API: 8,
}
EMAIL_SHARE = 0.4
GROUP_SHARE = 0.06
CONVERSATIONS_PER_CONTACT = (2.0, 3.0)


class Casting:
    """Who takes part, chosen in constant time per conversation however many contacts there
    are: each contact's first conversation comes before anyone's second (leads first for spam),
    then anyone comes back."""

    def __init__(self, contacts: list[Contact]):
        self.pool = contacts
        self.leads = [c for c in contacts if c.role == Contact.Role.LEAD] or contacts
        self.position = {c.pk: i for i, c in enumerate(contacts)}
        self.unused = set(self.position)
        self._cursor = {False: 0, True: 0}  # the first possibly unused one, in pool or leads

    def next_new(self, *, leads: bool = False) -> Contact | None:
        people = self.leads if leads else self.pool
        i = self._cursor[leads]
        while i < len(people) and people[i].pk not in self.unused:
            i += 1
        self._cursor[leads] = i
        return people[i] if i < len(people) else None

    def used(self, contact: Contact) -> None:
        self.unused.discard(contact.pk)

    def other_than(self, rng: random.Random, contact: Contact) -> Contact | None:
        """Anyone but `contact`, each as likely."""
        if len(self.pool) < 2:
            return None
        i = rng.randrange(len(self.pool) - 1)
        return self.pool[i + (i >= self.position[contact.pk])]


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def coverage() -> list[dict]:
    """Plans forced first, so that even a small run has every ending (hence every state), every
    origin, both channels and a group conversation."""
    specs = [{"origin": Origin.CUSTOMER, "ending": name} for name in ENDINGS]
    specs[0]["group"] = True
    for origin in (Origin.DIRECT_OUTBOUND, Origin.WORKFLOW, Origin.API):
        specs.append({"origin": origin})
    for spec in specs:
        if Origin.CUSTOMER not in ENDINGS[spec.get("ending", "closed")].origins:
            spec["origin"] = Origin.DIRECT_OUTBOUND
    for i, spec in enumerate(specs):
        spec["channel"] = Channel.EMAIL if i % 2 else Channel.MESSENGER
    return specs


def details(rng: random.Random, plan: Plan) -> dict:
    """What the templates of one conversation are filled with."""
    contact = plan.contacts[0]
    words = sample_text()["details"]
    return {
        "first": contact.name.split(" ")[0],
        "agent": plan.teammate.name.split(" ")[0],
        "helper": plan.helper.name.split(" ")[0],
        "plan": rng.choice(words["plan"]),
        "amount": rng.choice(words["amount"]),
        "card": f"{rng.randint(0, 9999):04d}",
        "order": f"#{rng.randint(10000, 99999)}",
        "invoice": f"INV-{rng.randint(2000, 9999)}",
        "ticket": f"BUG-{rng.randint(100, 2999)}",
        "version": f"4.{rng.randint(2, 19)}",
        "browser": rng.choice(words["browser"]),
        "os": rng.choice(words["os"]),
        "carrier": rng.choice(words["carrier"]),
        "country": rng.choice(words["country"]),
    }


def plan_one(rng: random.Random, index: int, spec: dict, cast: Cast, casting: Casting) -> Plan:
    text = sample_text()
    origin = spec.get("origin") or _weighted(rng, ORIGIN_WEIGHTS)
    allowed = {name: e.weight for name, e in ENDINGS.items() if origin in e.origins}
    ending_name = spec.get("ending") or _weighted(rng, allowed)
    ending = ENDINGS[ending_name]
    channel = spec.get("channel") or (
        Channel.EMAIL if rng.random() < EMAIL_SHARE else Channel.MESSENGER
    )

    # People: every contact gets a conversation, then they come back. Spam comes from leads.
    if ending_name == "closed_quietly_spam":
        contact = casting.next_new(leads=True) or rng.choice(casting.leads)
    else:
        contact = casting.next_new() or rng.choice(casting.pool)
    casting.used(contact)
    contacts = [contact]
    group = spec.get("group", rng.random() < GROUP_SHARE)
    if group and not ending.short and ending_name != "closed_quietly_spam":
        other = casting.other_than(rng, contact)
        if other is not None:
            contacts.append(other)
    teammate = rng.choices(cast.teammates, weights=cast.weights)[0]
    helpers = [t for t in cast.teammates if t.pk != teammate.pk] or [teammate]
    helper = rng.choice(helpers)

    # What it is about.
    workflow, bot_subject, bot_message = None, "", ""
    if origin == Origin.WORKFLOW:
        workflow, wf_spec = rng.choice(cast.workflows)
        topic = rng.choice(wf_spec["topics"])
        bot_subject, bot_message = wf_spec["subject"], rng.choice(wf_spec["messages"])
    elif origin == Origin.API:
        message = rng.choice(text["api_messages"])
        topic, bot_subject, bot_message = message["topic"], message["subject"], message["body"]
    else:
        topic = rng.choice(text["topics"])
    if ending_name == "closed_quietly_spam":
        thread = rng.choice(text["spam"])
    elif ending.short and origin == Origin.CUSTOMER:
        quick = rng.choice(text["quick"][topic])
        question = quick["question"]
        thread = {"subject": question, "question": question, "answer": quick["answer"]}
    elif ending.short and origin == Origin.DIRECT_OUTBOUND:
        thread = rng.choice(text["quick_outbound"][topic])  # a subject and an opener
    elif origin == Origin.DIRECT_OUTBOUND:
        thread = rng.choice(text["outbound"][topic])
    else:
        thread = rng.choice(text["threads"][topic])

    plan = Plan(
        index=index,
        ending=ending_name,
        channel=channel,
        origin=origin,
        topic=topic,
        thread=thread,
        contacts=contacts,
        teammate=teammate,
        helper=helper,
        workflow=workflow,
        bot_message=bot_message,
    )
    plan.details = details(rng, plan)
    if channel == Channel.EMAIL:
        subject = bot_subject or thread.get("subject") or ""
        plan.subject = subject.format_map(plan.details)
    ending.story(Script(plan, rng))
    return plan


def place(rng: random.Random, plan: Plan, now: datetime) -> None:
    """Choose when the story starts: its last step is before now, its first within the history;
    stories that end open or snoozed are recent."""
    length = sum((step.gap for step in plan.steps), timedelta(0))
    latest = now - END_MARGIN - length
    earliest = now - HISTORY
    recent = ENDINGS[plan.ending].recent
    if recent is not None:
        earliest = max(earliest, latest - recent)
    spread = max(latest - earliest, timedelta(0))
    start = earliest + spread * rng.random()
    plan.start = start.replace(microsecond=0)


def plans_make(rng: random.Random, count: int, cast: Cast, now: datetime) -> list[Plan]:
    specs = coverage()[:count]
    specs += [{} for _ in range(count - len(specs))]
    plans = []
    casting = Casting(cast.contacts)
    for index, spec in enumerate(specs):
        plan = plan_one(rng, index, spec, cast, casting)
        place(rng, plan, now)
        plans.append(plan)
    plans.sort(key=lambda p: (p.start, p.index))
    return plans
