"""Reads of the inbox (I1–I3): its tabs and their counts, who is waiting on whom, and search
in the messages. Plain reads; the admin's list is a face over them.

- I1 The list opens on the teammate's own open conversations (*Mine*; for someone who is not a
  teammate, *All open*), with the tabs Mine · Unassigned · All open · Snoozed · Closed and their
  counts, read in one query.
- I2 It is ordered by the last message of a contact or a teammate (a rating, a note, an event
  or a bot message does not move a conversation up), newest first.
- I3 Search looks in the message text (replies, notes, bot messages), the subject and the
  contacts' names and emails, across every state unless a tab is chosen; on PostgreSQL by
  full-text search on a GIN index, ranked (a contact or subject hit first, then by how well
  the messages match: the word in more messages, or more often); elsewhere by a substring
  match in the text (not in the markup), newest first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL, Window
from django.db.models.functions import Coalesce, RowNumber

from conversations.models import BodyFormat, Contact, Conversation, Part, State, Teammate

MAX_TERM = 200
# A search ranks this many of its hits, the newest; any more follow them, newest first.
RANKED = 200
# The indexed expression (migration 0007): the words of a part's body, an HTML body's markup
# left out; a text body is all words (`a<b c>d` is what the customer typed, E3a), its `<`, `>`
# and `&` made spaces, as PostgreSQL's parser would otherwise drop `<b c>` as a tag and
# `&amp;` as an entity.
VECTOR = (
    "to_tsvector('simple', CASE WHEN body_format = 'text' THEN translate(body, '<>&', '   ') "
    "ELSE regexp_replace(body, '<[^>]*>', ' ', 'g') END)"
)
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
    """I1: every tab's count, in one query. It counts `state` (never empty), which the index
    conv_assignee_message_idx holds with the assignee: PostgreSQL reads that index alone,
    where COUNT(id) would read every row of the table."""
    return Conversation.objects.aggregate(
        **{tab.key: Count("state", filter=tab_filter(tab.key, teammate)) for tab in TABS}
    )


def inbox_order() -> list:
    """I2: by the last message of a contact or a teammate, newest first."""
    # Descending as the indexes conv_state_message_idx and conv_assignee_message_idx are
    # (PostgreSQL: NULLS FIRST), so that a page is read from the index, not sorted from every
    # row of the tab; `last_message_at` is never empty (conversation_start, migration 0005).
    return [F("last_message_at").desc(), "-pk"]


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


def outside_markup(term: str) -> str:
    """A regular expression finding `term` in a stored body's text, not in its tags (SQLite:
    the substring search must not find "strong" in "<strong>hi</strong>"). An HTML body is
    sanitised, its text escaped as `html.escape` does: the term is escaped the same way. A
    text body is searched as it is (`icontains`)."""
    return r"(?:^|>)[^<]*?" + re.escape(html.escape(term, quote=False))


def search(queryset: QuerySet, term: str) -> QuerySet:
    """I3: the conversations of `queryset` that `term` finds, annotated `search_rank`.

    On PostgreSQL the hits are one list of conversation ids (the messages' words through
    the GIN index, the contacts, the subject), so that the planner sees how few there are.
    The rank is 1 for a contact or subject hit, plus the sum of `ts_rank` over the
    conversation's messages (several messages with the word, or the word more often, rank
    higher). `ts_rank` reads each message's words again, so only the RANKED newest hits get
    it (numbered by a window over the hits, so they are read once): a word so common that it
    finds more conversations lists the rest after them, newest first."""
    term = " ".join((term or "").split())[:MAX_TERM]
    if not term:
        return queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))
    people = Contact.objects.filter(Q(name__icontains=term) | Q(email__icontains=term))
    by_people = (
        Conversation.contacts.through.objects.filter(contact__in=people)
        .order_by()
        .values("conversation_id")
    )
    named = Q(subject__icontains=term) | Q(pk__in=by_people)
    if connection.vendor != "postgresql":
        texts = Part.objects.filter(
            Q(body_format=BodyFormat.TEXT, body__icontains=term)
            | Q(body_format=BodyFormat.HTML, body__iregex=outside_markup(term))
        ).values("conversation_id")
        return queryset.filter(named | Q(pk__in=texts)).annotate(
            search_rank=Value(0.0, output_field=FloatField())
        )
    matches = RawSQL(f"{VECTOR} @@ {QUERY}", [term], output_field=BooleanField())
    by_subject = Conversation.objects.filter(subject__icontains=term).order_by().values("pk")
    hits = Part.objects.filter(matches).order_by().values("conversation_id")
    hits = hits.union(by_people, by_subject)
    words = (
        Part.objects.filter(conversation_id=OuterRef("pk"))
        .order_by()
        .values("conversation_id")
        .annotate(rank=Sum(RawSQL(f"ts_rank({VECTOR}, {QUERY})", [term], FloatField())))
        .values("rank")
    )
    return (
        queryset.filter(pk__in=hits)
        .annotate(search_recency=Window(RowNumber(), order_by=inbox_order()))
        .annotate(
            search_rank=Case(
                When(named, then=Value(1.0)), default=Value(0.0), output_field=FloatField()
            )
            + Case(
                When(
                    search_recency__lte=RANKED,
                    then=Coalesce(Subquery(words, output_field=FloatField()), 0.0),
                ),
                default=Value(0.0),
                output_field=FloatField(),
            )
        )
    )
