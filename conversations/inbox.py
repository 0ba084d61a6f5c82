"""Reads of the inbox (I1–I3): its tabs and their counts, who is waiting on whom, and search
in the messages. Plain reads; the admin's list is a face over them.

- I1 The list opens on the teammate's own open conversations (*Mine*; for someone who is not a
  teammate, *All open*), with the tabs Mine · Unassigned · All open · Snoozed · Closed and their
  counts, read in one query.
- I2 It is ordered by the last message of a contact or a teammate (a rating, a note, an event
  or a bot message does not move a conversation up), newest first.
- I3 Search looks in the message text (replies, notes, bot messages), the subject and the
  contacts' names and emails, across every state unless a tab is chosen; on PostgreSQL by
  full-text search on a GIN index, ranked (a contact or subject hit first, then the best
  matching message); elsewhere by a plain substring match, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from conversations.models import Contact, Conversation, Part, State, Teammate

MAX_TERM = 200
# The indexed expression (migration 0005): the words of a part's body, markup left out.
VECTOR = "to_tsvector('simple', regexp_replace(body, '<[^>]*>', ' ', 'g'))"
QUERY = "websearch_to_tsquery('simple', %s)"


@dataclass(frozen=True)
class Tab:
    key: str
    label: str


TABS = (
    Tab("mine", "Mine"),
    Tab("unassigned", "Unassigned"),
    Tab("open", "All open"),
    Tab("snoozed", "Snoozed"),
    Tab("closed", "Closed"),
)
ALL = Tab("all", "All")
TAB_KEYS = {tab.key for tab in (*TABS, ALL)}


def default_tab(teammate: Teammate | None, *, searching: bool = False) -> str:
    """I1: where the list opens; a search looks everywhere unless a tab is chosen (I3)."""
    if searching:
        return ALL.key
    return "mine" if teammate is not None else "open"


def tab_filter(key: str, teammate: Teammate | None) -> Q:
    if key == "mine":
        return Q(state=State.OPEN, assignee=teammate) if teammate else Q(pk__in=[])
    if key == "unassigned":
        return Q(state=State.OPEN, assignee__isnull=True)
    if key in (State.OPEN, State.SNOOZED, State.CLOSED):
        return Q(state=key)
    return Q()


def tab_counts(teammate: Teammate | None) -> dict[str, int]:
    """I1: every tab's count, in one query."""
    return Conversation.objects.aggregate(
        **{tab.key: Count("pk", filter=tab_filter(tab.key, teammate)) for tab in TABS}
    )


def inbox_order() -> list:
    """I2: by the last message of a contact or a teammate, newest first."""
    return [F("last_message_at").desc(nulls_last=True), "-pk"]


def waiting(conversation: Conversation, now: datetime) -> str:
    """Who waits on whom, and for how long: "Customer waiting 3 h" after a contact's
    message in an open conversation, "Replied 2 d ago" after a teammate's."""
    at = conversation.last_message_at
    if at is None or not conversation.last_message_from:
        return ""
    span = _span(now - at)
    if conversation.last_message_from == "contact":
        if conversation.state == State.CLOSED:
            return f"Customer wrote {span} ago"
        return f"Customer waiting {span}"
    return f"Replied {span} ago"


def _span(delta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


def search(queryset: QuerySet, term: str) -> QuerySet:
    """I3: the conversations of `queryset` that `term` finds, annotated `search_rank`."""
    term = " ".join((term or "").split())[:MAX_TERM]
    if not term:
        return queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))
    people = Contact.objects.filter(Q(name__icontains=term) | Q(email__icontains=term))
    by_people = Exists(people.filter(conversations=OuterRef("pk")))
    if connection.vendor != "postgresql":
        texts = Part.objects.filter(body__icontains=term).values("conversation_id")
        return queryset.filter(Q(subject__icontains=term) | Q(pk__in=texts) | by_people).annotate(
            search_rank=Value(0.0, output_field=FloatField())
        )
    matches = RawSQL(f"{VECTOR} @@ {QUERY}", [term], output_field=BooleanField())
    texts = Part.objects.filter(matches).values("conversation_id")
    best = (
        Part.objects.filter(matches, conversation_id=OuterRef("pk"))
        .annotate(rank=RawSQL(f"ts_rank({VECTOR}, {QUERY})", [term], output_field=FloatField()))
        .order_by("-rank")
        .values("rank")[:1]
    )
    return queryset.filter(Q(subject__icontains=term) | Q(pk__in=texts) | by_people).annotate(
        search_rank=Coalesce(Subquery(best, output_field=FloatField()), 0.0)
        + Case(
            When(Q(subject__icontains=term) | by_people, then=Value(1.0)),
            default=Value(0.0),
            output_field=FloatField(),
        )
    )
