"""The daily figures the reports add up (ratings/figures.py): kept by the services in the
transaction of each request and answer, equal to a recount from the requests and ratings,
on local days, exact under concurrent answers (PostgreSQL)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings
from django.urls import reverse

from ratings.figures import figures_add, figures_rebuild
from ratings.models import DailyFigures, DailyReasons, Rating
from ratings.services import RatingRefused, rating_comment, rating_submit
from tests.report_helpers import DAY, MARCH, rate, requested, table_rows, token_for

SUMMARY = reverse("reports:summary")
TEAMMATES = reverse("reports:teammates")


def snapshot():
    figures = {
        (row.day, row.teammate_key): (
            row.requests,
            row.answered,
            row.v1,
            row.v2,
            row.v3,
            row.v4,
            row.v5,
        )
        for row in DailyFigures.objects.all()
    }
    reasons = {
        (row.day, row.teammate_key, row.reason): row.count for row in DailyReasons.objects.all()
    }
    return figures, reasons


def test_the_services_keep_the_figures_equal_to_a_recount(capture, teammate, other_teammate):
    """Requests answered and not, ratings on two days, a change of value on a later day
    (counted on the day of the first rating), reasons; then a recount gives the same rows."""
    rate(capture, teammate, 5, at=DAY)
    rate(
        capture,
        teammate,
        1,
        at=DAY + timedelta(days=1),
        comment="slow",
        reasons=["Problem not solved"],
    )
    rate(capture, other_teammate, 2, at=DAY, reasons=["Problem not solved", "Slow to answer"])
    requested(capture, teammate, at=DAY)  # never answered
    changed = requested(capture, other_teammate, at=DAY - timedelta(hours=1))
    with time_machine.travel(DAY, tick=False):
        rating_submit(token=token_for(changed), value=3)
    with time_machine.travel(DAY + timedelta(days=2), tick=False):
        rating_submit(token=token_for(changed), value=4)

    kept = snapshot()
    day = DAY.date()
    assert kept[0][(day, teammate.pk)] == (2, 1, 0, 0, 0, 0, 1)
    assert kept[0][(day, other_teammate.pk)] == (2, 2, 0, 1, 0, 1, 0)
    assert kept[1][(day, other_teammate.pk, "Slow to answer")] == 1
    assert sum(row[6] for row in kept[0].values()) == 1  # one 5 in all
    assert figures_rebuild() == (len(kept[0]), len(kept[1]))
    assert snapshot() == kept


def test_a_refused_change_leaves_the_figures_as_they_were(capture, teammate):
    """A3: after the comment the rating is final; the refusal writes nothing, figures too."""
    rating = rate(capture, teammate, 2, at=DAY, comment="meh")
    before = snapshot()
    with time_machine.travel(DAY + timedelta(minutes=5), tick=False), pytest.raises(RatingRefused):
        rating_submit(token=token_for(rating.request), value=5)
    assert snapshot() == before


def test_the_same_reaction_again_counts_once(capture, teammate):
    rating = rate(capture, teammate, 4, at=DAY)
    with time_machine.travel(DAY + timedelta(minutes=1), tick=False):
        rating_submit(token=token_for(rating.request), value=4)
    assert DailyFigures.objects.get(day=DAY.date(), teammate_key=teammate.pk).v4 == 1


@override_settings(TIME_ZONE="America/New_York")
def test_days_are_local_days_of_the_time_zone(client_, capture, teammate):
    """21:30 in New York on 9 March is 02:30 UTC on 10 March: the rating counts on the 9th,
    in the page's 9 March period and not in its 10 March one."""
    at = datetime(2025, 3, 10, 1, 30, tzinfo=UTC)
    rate(capture, teammate, 5, at=at)
    assert DailyFigures.objects.filter(day="2025-03-09", v5=1).exists()
    ninth = client_.get(f"{SUMMARY}?from=2025-03-09&to=2025-03-09").content.decode()
    tenth = client_.get(f"{SUMMARY}?from=2025-03-10&to=2025-03-10").content.decode()
    assert 'id="ratings">1<' in ninth
    assert 'id="ratings">0<' in tenth
    kept = snapshot()
    figures_rebuild()
    assert snapshot() == kept


def test_rebuild_command_restores_lost_rows(client_, capture, teammate, csat_from_one_rating):
    rate(capture, teammate, 5, at=DAY)
    rate(capture, teammate, 1, at=DAY, reasons=["Problem not solved"])
    kept = snapshot()
    DailyFigures.objects.all().delete()
    DailyReasons.objects.all().delete()
    assert "No teammate was rated" in client_.get(f"{TEAMMATES}?{MARCH}").content.decode()
    call_command("figures_rebuild", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert snapshot() == kept
    (row,) = table_rows(client_.get(f"{TEAMMATES}?{MARCH}").content.decode())
    assert row[2:4] == ["2", "50 %"]


@pytest.mark.django_db
def test_figures_add_refuses_an_unknown_column():
    with pytest.raises(ValueError, match="Unknown figure"):
        figures_add([(DAY.date(), None, {"v6": 1})])
    assert not DailyFigures.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_answers_lose_no_count(capture, teammate):
    """Eight customers of one teammate answer at the same moment: the one row of that day
    and teammate counts all eight (upserts with increments, no lost update)."""
    requests = [requested(capture, teammate, at=DAY) for _ in range(8)]
    barrier = threading.Barrier(len(requests))
    errors = []

    def answer(request, value):
        try:
            barrier.wait()
            with time_machine.travel(DAY + timedelta(minutes=5), tick=False):
                rating_submit(token=token_for(request), value=value)
                rating_comment(token=token_for(request), comment="", reasons=["Problem not solved"])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=answer, args=(request, 1 + n % 2))
        for n, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    row = DailyFigures.objects.get(day=DAY.date(), teammate_key=teammate.pk)
    assert (row.requests, row.answered, row.v1, row.v2) == (8, 8, 4, 4)
    assert DailyReasons.objects.get(day=DAY.date(), teammate_key=teammate.pk).count == 8
    assert Rating.objects.count() == 8
