"""`seed_demo --processes N` and `--progress`: the demo seeded by several processes at once
(PostgreSQL) makes what one process makes, and its progress bar is drawn only when asked for
or on a terminal."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count

from conversations.models import Contact, Conversation, ConversationClose, Part
from ratings.models import DailyFigures, DailyReasons, RatingDecision, RatingRequest
from tests.test_seed_demo import answers, shape

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="several processes need PostgreSQL"
)


def seed_demo(**options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def daily_figures() -> set:
    return {
        *DailyFigures.objects.values_list(
            "day", "kind", "teammate_key", "requests", "answered", "v1", "v2", "v3", "v4", "v5"
        ),
        *DailyReasons.objects.values_list("day", "kind", "teammate_key", "reason", "count"),
    }


@postgresql
@pytest.mark.django_db(transaction=True)
def test_several_processes_make_what_one_process_makes(monkeypatch):
    """The same seed in three processes: the same conversations (shape), the same decisions
    and answers, the same people reused, no key twice (one decision per close, one teammate
    request per conversation at most), and daily figures equal to a recount."""
    monkeypatch.setattr("demo.play.LEAD", 10)  # most of the 60 go to the child processes
    seed_demo(conversations=60, seed=11)
    one = list(Conversation.objects.all())
    last_pk = max(c.pk for c in one)
    contacts = Contact.objects.count()

    out, _ = seed_demo(conversations=60, seed=11, processes=3)

    several = list(Conversation.objects.filter(pk__gt=last_pk))
    assert len(several) == 60
    assert shape(several) == shape(one)
    assert answers(several) == answers(one)
    assert Contact.objects.count() == contacts
    assert "Demo data: 60 conversations" in out
    closes = ConversationClose.objects.annotate(n=Count("decision")).values_list("n", flat=True)
    assert set(closes) == {1}
    per_kind = Counter(RatingRequest.objects.values_list("conversation_id", "kind"))
    assert max(per_kind.values()) == 1
    assert Part.objects.filter(conversation__in=several).count() == sum(
        c.parts.count() for c in one
    )
    assert RatingDecision.objects.count() == ConversationClose.objects.count()
    kept = daily_figures()
    call_command("figures_rebuild", stdout=StringIO())
    assert daily_figures() == kept


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's refusal")
@pytest.mark.django_db
def test_more_processes_than_one_are_refused_on_sqlite_and_change_nothing():
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        seed_demo(conversations=5, seed=1, processes=2)
    assert not Conversation.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db
def test_processes_below_one_are_refused():
    with pytest.raises(CommandError, match="--processes must be 1 or more"):
        seed_demo(conversations=5, seed=1, processes=0)
    assert not Conversation.objects.exists()


@postgresql
@pytest.mark.django_db
def test_several_processes_are_refused_inside_a_transaction():
    """The children have their own connections: they could not see uncommitted data."""
    with transaction.atomic(), pytest.raises(CommandError, match="inside a transaction"):
        seed_demo(conversations=5, seed=1, processes=2)
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_progress_bar_is_drawn_when_asked_for():
    _, err = seed_demo(conversations=8, seed=2, progress=True)

    assert "Seeding" in err
    assert "8/8 conversations" in err


@pytest.mark.django_db
def test_no_progress_bar_off_a_terminal_unless_asked_for():
    _, err = seed_demo(conversations=8, seed=2)

    assert err == ""
