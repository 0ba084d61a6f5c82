"""The report selectors and pages issue a fixed number of queries whatever the data size, and
the selectors' figures match hand-computed ones (S1, S3, R1–R4).

Fixed queries: every selector and every page is read on a small data set (1 teammate, 3
ratings) and on a larger one (6 teammates, 60 ratings over two weeks, with comments, reasons,
follow-ups, a changed rating and unanswered requests), with the same exact number of queries.
The data is made by the real services (tests/report_helpers.py): eligible closes decided by the
in-process queue, answers through `rating_submit` / `rating_comment` with the link's token.
"""

from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.urls import reverse

from conversations.selectors import teammate_of
from ratings.models import RatingSettings
from ratings.services import rating_follow_up, rating_submit
from reports import selectors
from reports.selectors import Period
from tests.factories import TeammateFactory
from tests.report_helpers import (
    DAY,
    MARCH,
    make_manager,
    rate,
    rate_many,
    requested,
    token_for,
)

MARCH_PERIOD = Period(first_day=date(2025, 3, 1), last_day=date(2025, 3, 31))
S1_VALUES = (5, 5, 4, 4, 3, 3, 2, 2, 1, 1)
REASON = "Slow to answer"
OTHER_REASON = "Problem not solved"


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def manager(db):
    return make_manager(name="Mona Manager", email="mona@example.com")


# --- data sets ----------------------------------------------------------------------------------


def small_data(capture, manager):
    """1 teammate: a 5 with a comment, a 2 with a reason, a 1 with a reason (followed up); one
    unanswered request."""
    teammate = TeammateFactory()
    rate(capture, teammate, 5, at=DAY, comment="Great, thanks")
    rate(capture, teammate, 2, at=DAY + timedelta(hours=1), comment="slow", reasons=[REASON])
    low = rate(capture, teammate, 1, at=DAY + timedelta(hours=2), reasons=[REASON])
    requested(capture, teammate, at=DAY)
    rating_follow_up(rating=low, by=manager.user)
    return [teammate]


def large_data(capture, manager):
    """6 teammates, 60 ratings over 15 days (every value, a third with comments, reasons after
    low ones, every fourth low one followed up, one changed), 12 unanswered requests."""
    teammates = [TeammateFactory() for _ in range(6)]
    low = []
    for i in range(60):
        value = 5 - i % 5
        reasons = [REASON, OTHER_REASON][: 1 + i % 2] if value <= 2 and i % 4 != 3 else []
        rating = rate(
            capture,
            teammates[i % 6],
            value,
            at=DAY + timedelta(hours=6 * i),
            comment=f"comment {i}" if i % 3 == 0 else "",
            reasons=reasons,
        )
        if value <= 2:
            low.append(rating)
    for rating in low[::4]:
        rating_follow_up(rating=rating, by=manager.user)
    changed = requested(capture, teammates[0], at=DAY + timedelta(days=3))
    with time_machine.travel(DAY + timedelta(days=3, minutes=5), tick=False):
        rating_submit(token=token_for(changed), value=1)
    with time_machine.travel(DAY + timedelta(days=3, minutes=9), tick=False):
        rating_submit(token=token_for(changed), value=4)
    for i in range(12):
        requested(capture, teammates[i % 6], at=DAY + timedelta(hours=13 * i))
    return teammates


DATA = {"small": small_data, "large": large_data}


# --- fixed number of queries: selectors -----------------------------------------------------------


def _page(queryset, *, teammate=True):
    """What R3 (and R4, `teammate=False`) do with a selector's queryset: a page of 50, every
    relation the page shows read."""
    page = Paginator(queryset, 50).get_page(1)
    for rating in page:
        _ = (rating.request.contact.email, rating.conversation.subject)
        if teammate:
            _ = (rating.teammate.name, rating.followed_up_by)
    return page.paginator.count


def selector_reads(teammate_id: int):
    """(name, exact number of queries, a call that reads everything the page shows)."""
    period, one = MARCH_PERIOD, {"teammate_id": teammate_id}
    summary, trend, table = selectors.csat_summary, selectors.csat_trend, selectors.teammates_table
    comments, achievements = selectors.comments, selectors.achievements
    low = {"values": (1, 2), "followed_up": False}
    narrow = {"reason": REASON, "with_comment": True, **one}
    return [
        # the rating counts, the requests with their ratings, the target, the reasons
        ("csat_summary", 3, partial(summary, period=period)),
        ("csat_summary(teammate)", 3, partial(summary, period=period, **one)),
        ("low_rating_reasons", 1, partial(selectors.low_rating_reasons, period=period)),
        ("csat_trend(day)", 1, partial(trend, period=period)),
        ("csat_trend(week)", 1, partial(trend, period=selectors.period_last(90, now=DAY))),
        # the ratings by teammate, the requests by teammate, the teammates' names
        ("teammates_table", 2, partial(table, period=period, sort="-csat")),
        ("teammates_table(teammate)", 2, partial(table, period=period, **one)),
        ("happiness_target", 1, selectors.happiness_target),
        ("teammates_for_filter", 1, selectors.teammates_for_filter),
        ("teammate_of", 1, lambda: teammate_of(get_user_model()(pk=1))),
        # the settings' reasons, the other reasons seen in the period
        ("reason_choices", 2, partial(selectors.reason_choices, period=period)),
        # the count, the page (its relations joined)
        ("comments", 2, lambda: _page(comments(period=period))),
        (
            "comments(terrible & bad, not followed up)",
            2,
            lambda: _page(comments(period=period, **low)),
        ),
        (
            "comments(reason, teammate, with comment)",
            2,
            lambda: _page(comments(period=period, **narrow)),
        ),
        ("achievements", 2, lambda: _page(achievements(**one), teammate=False)),
        (
            "achievements(period)",
            2,
            lambda: _page(achievements(period=period, **one), teammate=False),
        ),
    ]


@pytest.mark.parametrize("size", DATA)
def test_each_selector_issues_a_fixed_number_of_queries(
    capture, manager, django_assert_num_queries, size
):
    teammates = DATA[size](capture, manager)
    for name, queries, read in selector_reads(teammates[0].pk):
        with django_assert_num_queries(queries, info=f"{name} on {size} data"):
            read()


# --- fixed number of queries: pages -------------------------------------------------------------

# Every page as a manager: the session, the user, the user's permissions (2 queries) first.
AUTH = 4


def page_reads(teammate_id: int):
    """(name, exact number of queries, address); CSVs are read to their end."""
    summary, comments = reverse("reports:summary"), reverse("reports:comments")
    teammates, achievements = reverse("reports:teammates"), reverse("reports:achievements")
    return [
        # teammates for the filter; daily figures, target, reasons; trend
        ("summary", AUTH + 5, f"{summary}?{MARCH}"),
        ("summary(teammate)", AUTH + 5, f"{summary}?{MARCH}&teammate={teammate_id}"),
        ("summary(default period)", AUTH + 5, summary),
        # teammates for the filter; daily figures per teammate, names; target
        ("teammates", AUTH + 4, f"{teammates}?{MARCH}&sort=-csat"),
        ("teammates.csv", AUTH + 4, f"{reverse('reports:teammates_csv')}?{MARCH}"),
        # teammates for the filter; reasons (settings, seen in the period); count, page
        ("comments", AUTH + 5, f"{comments}?{MARCH}"),
        (
            "comments(terrible & bad)",
            AUTH + 5,
            f"{comments}?{MARCH}&reaction=1&reaction=2&followed=no",
        ),
        (
            "comments(reason, teammate)",
            AUTH + 5,
            f"{comments}?{MARCH}&reason={REASON}&teammate={teammate_id}&comment=1",
        ),
        # teammates for the filter; the ratings (one streamed query)
        ("comments.csv", AUTH + 2, f"{reverse('reports:comments_csv')}?{MARCH}"),
        # the manager's own profile; teammates; count, page
        ("achievements", AUTH + 4, f"{achievements}?teammate={teammate_id}"),
    ]


def _read(client, address):
    response = client.get(address)
    assert response.status_code == 200, address
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("size", DATA)
def test_each_page_issues_a_fixed_number_of_queries(
    client, capture, manager, django_assert_num_queries, size
):
    teammates = DATA[size](capture, manager)
    client.force_login(manager.user)
    with time_machine.travel(DAY + timedelta(days=10), tick=False):
        for name, queries, address in page_reads(teammates[0].pk):
            with django_assert_num_queries(queries, info=f"{name} on {size} data"):
                _read(client, address)
        # R4 for the teammate themself: the session, the user, the permissions (2); the own
        # profile; count, page
        client.force_login(teammates[0].user)
        with django_assert_num_queries(AUTH + 3, info=f"own achievements on {size} data"):
            _read(client, reverse("reports:achievements"))


# --- the selectors' figures against hand-computed ones -----------------------------------------


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
