"""H7: an answer writes its daily figures last, so the figures' row that every answer for a
teammate and day shares stays locked only from that statement to the commit."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ratings.answers import rating_comment, rating_submit
from ratings.models import DailyFigures, DailyReasons, RatingSettings
from tests.rating_pages.support import CLOSED_AT, _requested, _url


def _token(request, value):
    return _url(request, value).rstrip("/").rsplit("/", 1)[1]


def _writes(queries):
    return [
        q["sql"]
        for q in queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "SELECT"))
    ]


@pytest.mark.parametrize("values", [(2,), (2, 5)], ids=["first rating", "changed"])
def test_H7_a_rating_writes_its_daily_figures_last(teammate, values):
    request = _requested(teammate)
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        for value in values:
            with CaptureQueriesContext(connection) as queries:
                rating_submit(token=_token(request, value), value=value)
    writes = _writes(queries.captured_queries)
    assert "ratings_dailyfigures" in writes[-1], writes
    assert all("ratings_dailyfigures" not in sql for sql in writes[:-1])
    assert sum(DailyFigures.objects.values_list(f"v{values[-1]}", flat=True)) == 1


def test_H7_a_comment_with_reasons_writes_its_daily_reasons_last(teammate):
    request = _requested(teammate)
    reason = RatingSettings.load().reasons[0]
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        rating_submit(token=_token(request, 1), value=1)
        with CaptureQueriesContext(connection) as queries:
            rating_comment(token=_token(request, 1), comment="Slow.", reasons=[reason])
    writes = _writes(queries.captured_queries)
    assert "ratings_dailyreasons" in writes[-1], writes
    assert DailyReasons.objects.get().count == 1
