"""`seed_demo`'s set-based path (`demo.bulk`, issue 15 item 6; rules X1–X4, see
/work/notes/seed.md): the same seed makes the same rows as the services make (X1), large runs
take it unless a webhook is active (X2), what it writes holds together: running figures and
inbox columns match the parts, one decision per close, no duplicate request, daily figures
equal to a recount (X3), in a number of queries that does not grow with the conversations
(X4)."""

import re
from collections import Counter
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from api.models import Webhook
from conversations.models import Conversation, ConversationClose, Part
from conversations.text import visible_characters
from mail.models import OutboundEmail
from ratings.models import (
    DailyFigures,
    DailyReasons,
    Rating,
    RatingDecision,
    RatingEvent,
    RatingReason,
    RatingRequest,
)

pytestmark = pytest.mark.django_db

FROZEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="several processes need PostgreSQL"
)


def seed_demo(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _fields(obj, *skip) -> tuple:
    return tuple(
        getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in {"id", *skip}
    )


def _mid(message_id: str) -> str:
    return re.sub(r"\d+", "N", message_id)


def dump(conversations) -> list:
    """Every row a run made, conversation by conversation in id order, without their ids
    (the people, teammates and workflows are the ones both runs share)."""
    out = []
    for c in sorted(conversations, key=lambda c: c.pk):
        closes = list(c.closes.order_by("closed_at", "pk"))
        requests = list(RatingRequest.objects.filter(conversation=c).order_by("kind"))
        ratings = list(Rating.objects.filter(conversation=c).order_by("kind"))
        out.append(
            (
                _fields(c),
                tuple(sorted(c.contacts.values_list("pk", flat=True))),
                tuple(
                    (*_fields(p, "conversation_id", "message_id"), _mid(p.message_id))
                    for p in c.parts.order_by("pk")
                ),
                tuple(_fields(close, "conversation_id") for close in closes),
                tuple(
                    (d.close.closed_at, *_fields(d, "close_id", "conversation_id", "request_id"))
                    for d in c.rating_decisions.order_by("decided_at", "pk")
                ),
                tuple(
                    (r.close.closed_at, *_fields(r, "conversation_id", "close_id"))
                    for r in requests
                ),
                tuple(_fields(r, "request_id", "conversation_id") for r in ratings),
                tuple(
                    _fields(e, "request_id", "rating_id")
                    for e in RatingEvent.objects.filter(request__conversation=c).order_by("pk")
                ),
                tuple(
                    sorted(
                        RatingReason.objects.filter(rating__conversation=c).values_list(
                            "reason", flat=True
                        )
                    )
                ),
                tuple(
                    OutboundEmail.objects.filter(conversation=c)
                    .order_by("pk")
                    .values_list("created_at", "delivered_at", "delivery_attempts")
                ),
            )
        )
    return out


def figures() -> Counter:
    rows: Counter = Counter()
    for row in DailyFigures.objects.values():
        key = (row["day"], row["kind"], row["teammate_key"])
        for column in ("requests", "answered", "v1", "v2", "v3", "v4", "v5"):
            rows[(*key, column)] += row[column]
    for row in DailyReasons.objects.values():
        rows[(row["day"], row["kind"], row["teammate_key"], row["reason"])] += row["count"]
    return rows


def kept_and_recounted() -> tuple:
    kept = figures()
    call_command("figures_rebuild", stdout=StringIO())
    return kept, figures()


def test_X1_the_set_based_path_makes_the_rows_the_services_make(monkeypatch):
    """X1: the same seed at the same moment, once through the services and once set-based:
    every conversation, part, close, decision, request, rating, history entry, reason and
    sent mail the same (ids aside), and the daily figures of the second run the same as the
    first's (so, both runs in one database, each figure twice the first run's)."""
    monkeypatch.setattr("demo.play.LEAD", 40)  # the lead and the rest both played
    with time_machine.travel(FROZEN, tick=False):
        out = seed_demo(conversations=120, seed=5, path="services")
        assert ", services" in out
        first = list(Conversation.objects.all())
        after_first = figures()
        out = seed_demo(conversations=120, seed=5, path="set-based")
        assert ", set-based" in out
    second = list(Conversation.objects.exclude(pk__in=[c.pk for c in first]))

    assert len(second) == 120
    assert dump(second) == dump(first)
    assert Rating.objects.count() > 10  # answered, changed, commented: something to compare
    assert figures() == Counter({key: 2 * n for key, n in after_first.items()})


def test_X2_auto_takes_the_set_based_path_for_large_runs_only(monkeypatch):
    monkeypatch.setattr("demo.bulk.SET_BASED_FROM", 20)
    assert ", services" in seed_demo(conversations=19, seed=3)
    assert ", set-based" in seed_demo(conversations=20, seed=3)


def test_X2_an_active_webhook_keeps_the_services(monkeypatch):
    """The set-based path sends no rating events to webhooks: with one active, `auto` stays
    with the services and `set-based` is refused before anything is written."""
    monkeypatch.setattr("demo.bulk.SET_BASED_FROM", 20)
    Webhook.objects.create(url="https://hooks.example.com/csat", secret="s" * 20, active=True)
    with pytest.raises(CommandError, match="webhooks"):
        seed_demo(conversations=20, seed=3, path="set-based")
    assert not Conversation.objects.exists()
    assert ", services" in seed_demo(conversations=20, seed=3)


class TestSetBasedRun:
    """One set-based run of 300 conversations: what it wrote holds together."""

    @pytest.fixture(autouse=True)
    def run(self):
        self.out = seed_demo(conversations=300, seed=21, path="set-based")

    def test_X3_running_figures_and_inbox_columns_match_the_parts(self):
        for c in Conversation.objects.prefetch_related("parts", "contacts"):
            parts = sorted(c.parts.all(), key=lambda p: p.pk)
            replies = [p for p in parts if p.kind == Part.Kind.REPLY]
            by_teammates = [p for p in replies if p.author_teammate_id]
            messages = [p for p in parts if p.kind == Part.Kind.BOT]
            assert c.reply_characters == sum(
                visible_characters(p.body, p.body_format) for p in replies
            )
            assert c.teammate_reply_count == len(by_teammates)
            assert c.last_teammate_replier_id == (
                by_teammates[-1].author_teammate_id if by_teammates else None
            )
            assert c.last_reply_at == (replies[-1].created_at if replies else None)
            assert c.bot_characters == sum(
                visible_characters(p.body, p.body_format) for p in messages
            )
            assert c.contact_count == len(c.contacts.all())
            assert c.created_at == parts[0].created_at
            assert c.updated_at == max(p.created_at for p in parts)
            assert c.closes.count() == sum(
                p.event in (Part.Event.CLOSED, Part.Event.CLOSED_QUIETLY) for p in parts
            )

    def test_X3_every_close_has_one_decision_and_no_request_is_twice(self):
        closes = ConversationClose.objects.annotate(n=Count("decision"))
        assert closes.exists() and set(closes.values_list("n", flat=True)) == {1}
        per_kind = Counter(RatingRequest.objects.values_list("conversation_id", "kind"))
        assert max(per_kind.values()) == 1
        sent = RatingDecision.objects.filter(outcome=RatingDecision.Outcome.SENT)
        assert sent.count() == RatingRequest.objects.count()
        assert not sent.filter(request__isnull=True).exists()
        assert not RatingRequest.objects.filter(delivered_at__isnull=True).exists()
        # D1: each survey sent noted once in its thread; each email survey with its Message-ID.
        noted = Part.objects.filter(event=Part.Event.RATING_REQUESTED)
        assert noted.count() == RatingRequest.objects.count()
        assert noted.filter(conversation__channel="email", message_id="").count() == 0

    def test_X3_answers_match_their_history_and_the_thread(self):
        for rating in Rating.objects.all():
            history = list(RatingEvent.objects.filter(rating=rating).order_by("at", "pk"))
            assert history[0].kind == RatingEvent.Kind.RATED
            assert history[-1].value == rating.value
            rated = Part.objects.filter(conversation_id=rating.conversation_id, event="rated")
            assert rated.count() == sum(e.kind != RatingEvent.Kind.COMMENTED for e in history)
            reasons = set(rating.reason_rows.values_list("reason", flat=True))
            assert reasons == set(rating.reasons)

    def test_X3_daily_figures_equal_a_recount_and_mail_matches_the_parts(self):
        kept, recounted = kept_and_recounted()
        assert kept and kept == recounted
        mailed = Part.objects.filter(
            conversation__channel="email", kind__in=["reply", "bot"], author_contact=None
        )
        assert OutboundEmail.objects.count() == mailed.count()
        assert not mailed.filter(message_id="").exists()


def test_X4_the_queries_do_not_grow_with_the_conversations(monkeypatch):
    """A batch is a few INSERTs whatever its size: 150 and 300 conversations (each one batch
    after the lead) take the same number of queries, teammates and settings existing."""
    monkeypatch.setattr("demo.play.LEAD", 10)
    monkeypatch.setattr("demo.bulk.BATCH", 1000)
    seed_demo(conversations=10, seed=1, path="set-based")  # the cast and the settings
    inserts, others = [], []
    for n in (150, 300):
        with CaptureQueriesContext(connection) as queries:
            seed_demo(conversations=n, seed=2, path="set-based")
        sql = [q["sql"] for q in queries.captured_queries]
        inserts.append(sum(s.startswith("INSERT") for s in sql))
        others.append(len(sql) - inserts[-1])
    assert others[0] == others[1]
    if connection.vendor == "postgresql":
        assert inserts[0] == inserts[1]
    else:  # SQLite's limit on an INSERT's variables splits the larger batch's INSERTs
        assert inserts[1] < 2 * inserts[0]
    assert inserts[1] + others[1] < 150  # far below one statement a conversation


@postgresql
@pytest.mark.django_db(transaction=True)
def test_X1_set_based_in_two_processes_makes_what_one_makes(monkeypatch):
    monkeypatch.setattr("demo.play.LEAD", 10)
    monkeypatch.setattr("demo.bulk.BATCH", 25)
    with time_machine.travel(FROZEN, tick=False):
        seed_demo(conversations=80, seed=9, path="set-based")
        first = list(Conversation.objects.all())
        seed_demo(conversations=80, seed=9, path="set-based", processes=2)
    second = list(Conversation.objects.exclude(pk__in=[c.pk for c in first]))
    assert len(second) == 80
    # The two processes take their ids from the sequences at once: the same rows, in
    # another order of ids.
    assert sorted(map(repr, dump(second))) == sorted(map(repr, dump(first)))
    kept, recounted = kept_and_recounted()
    assert kept == recounted


def test_progress_off_a_terminal_is_one_line_a_tenth(monkeypatch):
    """`--progress` in a log: a line as each tenth is committed (percentage, count, rate,
    time left), not one a batch; the set-based path moves it on batch by batch."""
    monkeypatch.setattr("demo.play.LEAD", 10)
    monkeypatch.setattr("demo.bulk.BATCH", 7)
    err = StringIO()
    call_command(
        "seed_demo",
        conversations=60,
        seed=4,
        path="set-based",
        progress=True,
        stdout=StringIO(),
        stderr=err,
    )
    lines = err.getvalue().splitlines()
    assert 2 <= len(lines) <= 10
    assert all(
        re.fullmatch(r"Seeding: \d+% \([\d,]+/60 conversations\), [\d,]+/s, \d+:\d\d left", line)
        for line in lines
    )
    assert lines[-1].startswith("Seeding: 100% (60/60 conversations)")
