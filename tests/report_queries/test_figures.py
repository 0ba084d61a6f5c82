"""The selectors' figures against hand-computed ones (S1, S3, R1–R4)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ratings.models import RatingSettings
from ratings.services import rating_follow_up, rating_submit
from reports import selectors
from reports.selectors import Period
from tests.factories import TeammateFactory
from tests.report_helpers import (
    DAY,
    bot_rate,
    make_manager,
    rate,
    rate_many,
    requested,
    token_for,
)
from tests.report_queries.support import MARCH_PERIOD, OTHER_REASON, REASON

S1_VALUES = (5, 5, 4, 4, 3, 3, 2, 2, 1, 1)


def test_S1_csat_summary_of_5_5_4_4_3_3_2_2_1_1_is_40_percent(capture, teammate):
    rate_many(capture, teammate, S1_VALUES)
    summary = selectors.csat_summary(period=MARCH_PERIOD)
    counts = summary.counts

    assert counts.by_value == {1: 2, 2: 2, 3: 2, 4: 2, 5: 2}
    assert (counts.total, counts.positive, counts.neutral, counts.negative) == (10, 4, 4, 2)
    assert counts.low == 4  # S2: terrible and bad
    assert counts.csat == 40.0
    assert (summary.requests, summary.answered, summary.response_rate) == (10, 10, 100.0)
    assert (summary.target, summary.meets_target) == (80, False)


def test_S3_response_rate_is_of_the_requests_sent_in_the_period(capture, teammate):
    rate_many(capture, teammate, (5, 4, 1))
    requested(capture, teammate, at=DAY)  # sent in March, never answered
    # Sent on the last day of March, rated in April: a March request that got a rating.
    rate(capture, teammate, 5, at=datetime(2025, 4, 1, 0, 10, tzinfo=UTC))
    # Sent in February, rated in March: a March rating, not a March request.
    rate(capture, teammate, 2, at=datetime(2025, 3, 1, 0, 10, tzinfo=UTC))

    summary = selectors.csat_summary(period=MARCH_PERIOD)

    assert summary.counts.by_value == {1: 1, 2: 1, 3: 0, 4: 1, 5: 1}
    assert summary.counts.csat == 50.0
    assert (summary.requests, summary.answered) == (5, 4)
    assert summary.response_rate == 80.0


def test_empty_period_divides_by_nothing(db):
    summary = selectors.csat_summary(period=MARCH_PERIOD)
    assert summary.counts.total == 0
    assert summary.counts.csat is None
    assert summary.response_rate is None
    assert summary.meets_target is None
    assert summary.reasons == []


def test_period_edges_and_a_changed_rating_counted_once_with_its_new_value(capture, teammate):
    first_second = datetime(2025, 3, 1, 0, 0, 0, tzinfo=UTC)
    last_second = datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC)
    rate(capture, teammate, 5, at=first_second)
    rate(capture, teammate, 4, at=last_second)
    rate(capture, teammate, 1, at=first_second - timedelta(seconds=1))  # out
    rate(capture, teammate, 1, at=last_second + timedelta(seconds=1))  # out
    changed = requested(capture, teammate, at=DAY)
    with time_machine.travel(DAY + timedelta(minutes=1), tick=False):
        rating_submit(token=token_for(changed), value=1)
    with time_machine.travel(DAY + timedelta(minutes=2), tick=False):
        rating_submit(token=token_for(changed), value=4)

    counts = selectors.csat_summary(period=MARCH_PERIOD).counts

    assert counts.by_value == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}
    assert counts.csat == 100.0


def test_low_rating_reasons_by_count_then_name(capture, teammate, other_teammate):
    rate(capture, teammate, 1, reasons=[REASON, OTHER_REASON])
    rate(capture, teammate, 2, reasons=[REASON], at=DAY + timedelta(hours=1))
    rate(capture, other_teammate, 2, reasons=["Answer was unclear"], at=DAY + timedelta(hours=2))
    rate(capture, teammate, 1, reasons=["Unfriendly tone"], at=datetime(2025, 2, 3, tzinfo=UTC))

    assert selectors.low_rating_reasons(period=MARCH_PERIOD) == [
        (REASON, 2),
        ("Answer was unclear", 1),
        (OTHER_REASON, 1),
    ]
    assert selectors.low_rating_reasons(period=MARCH_PERIOD, teammate_id=teammate.pk) == [
        (REASON, 2),
        (OTHER_REASON, 1),
    ]
    assert selectors.csat_summary(period=MARCH_PERIOD).reasons[0] == (REASON, 2)


def test_csat_trend_per_day_with_empty_days(capture, teammate):
    rate(capture, teammate, 5, at=datetime(2025, 3, 3, 0, 0, tzinfo=UTC))
    rate(capture, teammate, 1, at=datetime(2025, 3, 3, 23, 59, 59, tzinfo=UTC))
    rate(capture, teammate, 4, at=datetime(2025, 3, 5, 10, tzinfo=UTC))
    rate(capture, teammate, 4, at=datetime(2025, 3, 8, 0, 0, tzinfo=UTC))  # after the period
    week = Period(first_day=date(2025, 3, 1), last_day=date(2025, 3, 7))

    bucket, points = selectors.csat_trend(period=week)

    assert bucket == "day"
    assert [(p.day.day, p.ratings, p.positive, p.csat) for p in points] == [
        (1, 0, 0, None),
        (2, 0, 0, None),
        (3, 2, 1, 50.0),
        (4, 0, 0, None),
        (5, 1, 1, 100.0),
        (6, 0, 0, None),
        (7, 0, 0, None),
    ]


def test_csat_trend_per_week_from_the_monday_of_the_first_day(capture, teammate):
    rate(capture, teammate, 5, at=datetime(2025, 3, 3, 9, tzinfo=UTC))  # a Monday
    rate(capture, teammate, 2, at=datetime(2025, 3, 9, 23, tzinfo=UTC))  # that Sunday
    rate(capture, teammate, 4, at=datetime(2025, 4, 30, 9, tzinfo=UTC))
    two_months = Period(first_day=date(2025, 3, 1), last_day=date(2025, 4, 30))

    bucket, points = selectors.csat_trend(period=two_months)

    assert bucket == "week"
    assert [p.day for p in points] == [date(2025, 2, 24) + timedelta(weeks=n) for n in range(10)]
    assert [(p.ratings, p.positive) for p in points] == [(0, 0), (2, 1)] + [(0, 0)] * 7 + [(1, 1)]


def test_teammates_table_rows_and_sorting(db, capture):
    ann = TeammateFactory(name="Ann")
    bob = TeammateFactory(name="bob")
    cid = TeammateFactory(name="Cid")
    TeammateFactory(name="Dee")  # nothing in the period: no row
    rate_many(capture, ann, (5, 4, 1))
    requested(capture, ann, at=DAY)
    rate_many(capture, bob, (5, 5), at=DAY + timedelta(hours=1))
    requested(capture, cid, at=DAY)

    rows = selectors.teammates_table(period=MARCH_PERIOD)

    assert [
        (r.name, r.requests, r.ratings, r.counts.by_value, r.csat and round(r.csat, 2))
        for r in rows
    ] == [
        ("Ann", 4, 3, {1: 1, 2: 0, 3: 0, 4: 1, 5: 1}, 66.67),
        ("bob", 2, 2, {1: 0, 2: 0, 3: 0, 4: 0, 5: 2}, 100.0),
        ("Cid", 1, 0, {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}, None),
    ]
    by = selectors.teammates_table
    assert [r.name for r in by(period=MARCH_PERIOD, sort="-csat")] == ["bob", "Ann", "Cid"]
    assert [r.name for r in by(period=MARCH_PERIOD, sort="csat")] == ["Cid", "Ann", "bob"]
    assert [r.name for r in by(period=MARCH_PERIOD, sort="-requests")] == ["Ann", "bob", "Cid"]
    assert [r.name for r in by(period=MARCH_PERIOD, sort="v5")] == ["Cid", "Ann", "bob"]
    assert [r.name for r in by(period=MARCH_PERIOD, teammate_id=bob.pk)] == ["bob"]
    with pytest.raises(ValidationError):
        by(period=MARCH_PERIOD, sort="password")


@pytest.fixture
def mixed(capture, manager, teammate, other_teammate):
    """Tess: one rating of each value a minute apart (the 5 newest; the 1 and 2 with reasons,
    the 1 followed up; the 3 without comment); Otto: a 2 with a reason two days earlier; Tess:
    a 1 in February."""
    by_value = {}
    for minutes, value in enumerate((1, 2, 3, 4, 5)):
        by_value[value] = rate(
            capture,
            teammate,
            value,
            at=DAY + timedelta(minutes=minutes),
            comment="" if value == 3 else f"comment {value}",
            reasons=[REASON] if value <= 2 else (),
        )
    rating_follow_up(rating=by_value[1], by=manager.user)
    otto = rate(
        capture,
        other_teammate,
        2,
        at=DAY - timedelta(days=2),
        comment="meh",
        reasons=[OTHER_REASON],
    )
    rate(capture, teammate, 1, at=datetime(2025, 2, 10, tzinfo=UTC), comment="old")
    return by_value, otto


def _ids(queryset):
    return list(queryset.values_list("pk", flat=True))


def test_comments_filters(mixed, teammate, other_teammate):
    by_value, otto = mixed
    tess = [by_value[v].pk for v in (5, 4, 3, 2, 1)]
    comments = selectors.comments

    assert _ids(comments(period=MARCH_PERIOD)) == tess + [otto.pk]  # newest first
    assert _ids(comments(period=MARCH_PERIOD, values=(1, 2))) == tess[3:] + [otto.pk]
    assert _ids(comments(period=MARCH_PERIOD, values=(1, 2), followed_up=False)) == [
        by_value[2].pk,
        otto.pk,
    ]
    assert _ids(comments(period=MARCH_PERIOD, followed_up=True)) == [by_value[1].pk]
    assert _ids(comments(period=MARCH_PERIOD, reason=REASON)) == tess[3:]
    assert _ids(comments(period=MARCH_PERIOD, reason=OTHER_REASON)) == [otto.pk]
    assert _ids(comments(period=MARCH_PERIOD, with_comment=True)) == tess[:2] + tess[3:] + [otto.pk]
    assert _ids(comments(period=MARCH_PERIOD, teammate_id=other_teammate.pk)) == [otto.pk]
    assert _ids(comments(period=MARCH_PERIOD, teammate_id=teammate.pk, values=(5,))) == tess[:1]
    feb = Period(first_day=date(2025, 2, 1), last_day=date(2025, 2, 28))
    assert [r.comment for r in comments(period=feb)] == ["old"]
    row = comments(period=MARCH_PERIOD, followed_up=True).get()
    assert (row.followed_up_by.username, row.reasons) == ("mona@example.com", [REASON])


def test_achievements_are_the_teammates_positive_comments_newest_first(
    mixed, capture, teammate, other_teammate
):
    by_value, _ = mixed
    rate(capture, teammate, 5, at=DAY + timedelta(hours=1))  # no comment
    rate(capture, other_teammate, 5, at=DAY, comment="Otto was great")
    april = rate(capture, teammate, 4, at=datetime(2025, 4, 2, tzinfo=UTC), comment="again")

    assert _ids(selectors.achievements(teammate_id=teammate.pk)) == [
        april.pk,
        by_value[5].pk,
        by_value[4].pk,
    ]
    assert _ids(selectors.achievements(teammate_id=teammate.pk, period=MARCH_PERIOD)) == [
        by_value[5].pk,
        by_value[4].pk,
    ]


def test_reason_choices_are_the_configured_ones_then_others_seen_in_the_period(capture, teammate):
    rate(capture, teammate, 1, reasons=[REASON, "Answer was unclear"])
    settings = RatingSettings.load()
    settings.low_rating_reasons = "Problem not solved\nSlow to answer"
    settings.save()  # "Answer was unclear" is no longer offered, but was given in March
    rate(capture, teammate, 2, reasons=[OTHER_REASON], at=DAY + timedelta(hours=1))

    assert selectors.reason_choices(period=MARCH_PERIOD) == [
        OTHER_REASON,
        REASON,
        "Answer was unclear",
    ]
    feb = Period(first_day=date(2025, 2, 1), last_day=date(2025, 2, 28))
    assert selectors.reason_choices(period=feb) == [OTHER_REASON, REASON]


def test_R3_count_from_the_daily_figures_is_the_number_of_ratings_listed(
    capture, teammate, other_teammate
):
    """R3's "N ratings" adds up the daily figures when only the period, the teammate, the
    reactions and the kind filter (`comments_count`): it must be the number the list holds,
    at the period's edges, after a change of value, a deleted teammate (G5) and with the
    bot's ratings (B6); the other filters count the ratings."""
    first_second = datetime(2025, 3, 1, 0, 0, 0, tzinfo=UTC)
    last_second = datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC)
    rate(capture, teammate, 5, at=first_second, comment="Great")
    rate(capture, teammate, 2, at=last_second, reasons=[REASON])
    rate(capture, teammate, 1, at=first_second - timedelta(seconds=1))  # out
    rate(capture, teammate, 1, at=last_second + timedelta(seconds=1))  # out
    rate(capture, other_teammate, 1, at=DAY, comment="Slow", reasons=[OTHER_REASON])
    rate(capture, other_teammate, 3, at=DAY + timedelta(hours=1))
    changed = requested(capture, teammate, at=DAY)
    with time_machine.travel(DAY + timedelta(minutes=1), tick=False):
        rating_submit(token=token_for(changed), value=1)
    with time_machine.travel(DAY + timedelta(minutes=2), tick=False):
        rating_submit(token=token_for(changed), value=4)
    bot_rate(capture, 2, at=DAY + timedelta(hours=2))
    rating_follow_up(
        rating=selectors.comments(period=MARCH_PERIOD, values=(1,)).get(),
        by=make_manager().user,
    )
    gone = other_teammate.pk
    other_teammate.user.delete()  # G5: their ratings stay theirs

    cases = [
        {},
        {"values": (1, 2)},
        {"values": (4,)},
        {"values": (3, 5)},
        {"teammate_id": teammate.pk},
        {"teammate_id": gone, "values": (1,)},
        {"kind": "bot"},
        {"kind": "teammate", "values": (2,)},
        {"values": (1, 2), "followed_up": False},
        {"followed_up": True},
        {"reason": REASON},
        {"with_comment": True, "teammate_id": teammate.pk},
        {"values": (5,), "kind": "bot"},
    ]
    counts = {}
    for filters in cases:
        listed = len(selectors.comments(period=MARCH_PERIOD, **filters))
        counted = selectors.comments_count(period=MARCH_PERIOD, **filters)
        assert counted == listed, filters
        counts[tuple(filters.items())] = counted
    assert counts[()] == 6  # 5, 2, other's 1 and 3, the changed 4, the bot's 2
    assert counts[(("values", (1, 2)),)] == 3
    assert counts[(("kind", "bot"),)] == 1
