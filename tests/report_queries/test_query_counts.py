"""Each selector and each page reads a fixed number of queries, small data or large."""

from datetime import timedelta
from functools import partial

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.urls import reverse

from conversations.selectors import teammate_of
from ratings.services import rating_follow_up, rating_submit
from reports import selectors
from tests.factories import TeammateFactory
from tests.report_helpers import (
    DAY,
    MARCH,
    bot_rate,
    rate,
    requested,
    token_for,
)
from tests.report_queries.support import MARCH_PERIOD, OTHER_REASON, REASON


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
    # B6: the bot's ratings cost the pages no query more (they are summed per kind).
    for i in range(4):
        bot_rate(capture, 1 + i, at=DAY + timedelta(hours=7 * i), comment="bot" if i else "")
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
            # The bot's ratings (B) have no teammate.
            _ = (rating.teammate and rating.teammate.name, rating.followed_up_by)
    return page.paginator.count


def selector_reads(teammate_id: int):
    """(name, exact number of queries, a call that reads everything the page shows)."""
    period, one = MARCH_PERIOD, {"teammate_id": teammate_id}
    summary, trend, table = selectors.csat_summary, selectors.csat_trend, selectors.teammates_table
    comments, achievements = selectors.comments, selectors.achievements
    low = {"values": (1, 2), "followed_up": False}
    given = {"standards": selectors.Standards(target=80, min_ratings=10)}
    narrow = {"reason": REASON, "with_comment": True, **one}
    return [
        # the rating counts, the requests with their ratings, the target, the reasons
        ("csat_summary", 3, partial(summary, period=period)),
        ("csat_summary(teammate)", 3, partial(summary, period=period, **one)),
        ("low_rating_reasons", 1, partial(selectors.low_rating_reasons, period=period)),
        ("csat_trend(day)", 1, partial(trend, period=period)),
        ("csat_trend(week)", 1, partial(trend, period=selectors.period_last(90, now=DAY))),
        # the daily figures by teammate, the teammates' names (the page reads the standards)
        ("teammates_table", 2, partial(table, period=period, sort="-csat", **given)),
        ("teammates_table(teammate)", 2, partial(table, period=period, **one, **given)),
        ("teammates_table(S4 low)", 2, partial(table, period=period, sort="-low", **given)),
        # … and the standards (target, S4a's threshold) when not given
        ("teammates_table(standards read)", 3, partial(table, period=period)),
        ("happiness_target", 1, selectors.happiness_target),
        ("report_standards", 1, selectors.report_standards),
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


# Every page as a manager: the session, the user, the user's permissions (one query, their
# own and their groups': csat_project.auth.ModelBackend) first.
AUTH = 3


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
        # R4 for the teammate themself: the session, the user, the permissions (1); the own
        # profile; count, page
        client.force_login(teammates[0].user)
        with django_assert_num_queries(AUTH + 3, info=f"own achievements on {size} data"):
            _read(client, reverse("reports:achievements"))


# --- the selectors' figures against hand-computed ones -----------------------------------------
