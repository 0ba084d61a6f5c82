"""R4 achievements, invalid query strings that never 500, and each page's fixed query count."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.factories import TeammateFactory
from tests.report_helpers import (
    DAY,
    MARCH,
    NOW,
    rate,
    rating_ids,
)
from tests.report_pages.support import COMMENTS, SUMMARY, TEAMMATES

ACHIEVEMENTS = reverse("reports:achievements")


def test_R4_a_teammate_sees_their_own_positive_comments_newest_first(
    client, capture, teammate, other_teammate
):
    older = rate(capture, teammate, 4, comment="Thanks, great help")
    newer = rate(capture, teammate, 5, comment="Amazing!", at=DAY + timedelta(hours=1))
    rate(capture, teammate, 5, at=DAY + timedelta(hours=2))  # no comment
    rate(capture, teammate, 3, comment="meh", at=DAY + timedelta(hours=3))
    rate(capture, other_teammate, 5, comment="Otto rocks", at=DAY + timedelta(hours=4))
    client.force_login(teammate.user)

    html = client.get(ACHIEVEMENTS).content.decode()

    assert rating_ids(html) == [newer.pk, older.pk]
    assert "Your achievements" in html
    assert "Otto rocks" not in html and "meh" not in html


def test_R4_a_manager_picks_a_teammate(client_, capture, teammate):
    praised = rate(capture, teammate, 5, comment="Great job")
    html = client_.get(f"{ACHIEVEMENTS}?teammate={teammate.pk}").content.decode()
    assert rating_ids(html) == [praised.pk]
    assert "<h1>Tess Mate's achievements</h1>" in html


def test_R4_empty_state(client, teammate):
    client.force_login(teammate.user)
    html = client.get(ACHIEVEMENTS).content.decode()
    assert "No positive comments yet" in html


def test_R4_within_a_period(client, capture, teammate):
    rate(capture, teammate, 5, comment="March")
    client.force_login(teammate.user)
    assert "March" in client.get(f"{ACHIEVEMENTS}?{MARCH}").content.decode()
    html = client.get(f"{ACHIEVEMENTS}?from=2025-04-01&to=2025-04-30").content.decode()
    assert "No positive comments in this period" in html


# --- invalid query strings ----------------------------------------------------------------------


BAD_PERIODS = [
    ("days=abc", "Choose the last 7, 30 or 90 days"),
    ("days=45", "Choose the last 7, 30 or 90 days"),
    ("days=%01&page=abc", "Choose the last 7, 30 or 90 days"),
    ("from=9999-12-30&to=9999-12-31", "Choose dates between 01 Jan 1970 and 31 Dec 9998"),
    ("from=0001-01-01&to=0001-01-02", "Choose dates between 01 Jan 1970 and 31 Dec 9998"),
    ("from=2025-13-01&to=2025-03-01", "Dates must be given as YYYY-MM-DD"),
    ("from=2025-03-01", "Dates must be given as YYYY-MM-DD"),
    ("from=2025-03-10&to=2025-03-01", "The period starts after it ends."),
    ("from=2000-01-01&to=2025-01-01", "A period covers at most three years."),
    ("teammate=abc", "There is no teammate abc"),
    ("teammate=999999", "There is no teammate 999999"),
]


BAD_FILTERS = [
    (COMMENTS, "reaction=9", "Reactions are 1 to 5"),
    (COMMENTS, "reaction=x&reaction=1", "Reactions are 1 to 5"),
    (COMMENTS, "followed=maybe", "Followed up is yes, no or any"),
    (COMMENTS, "reason=" + "x" * 200, "too long"),
    (COMMENTS, "page=-1", ""),
    (TEAMMATES, "sort=password", "Unknown sort password"),
    (TEAMMATES, "sort=-", "Unknown sort -"),
    (ACHIEVEMENTS, "page=99", ""),
]


@pytest.mark.parametrize("page", [SUMMARY, TEAMMATES, COMMENTS, ACHIEVEMENTS])
@pytest.mark.parametrize("query, message", BAD_PERIODS)
def test_invalid_period_or_teammate_shows_a_message_never_a_500(
    client_, mixed, page, query, message
):
    response = client_.get(f"{page}?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize("page, query, message", BAD_FILTERS)
def test_invalid_filters_show_a_message_never_a_500(client_, mixed, page, query, message):
    response = client_.get(f"{page}?{MARCH}&{query}")
    assert response.status_code == 200
    assert message in response.content.decode()


def test_parameters_of_other_pages_are_ignored(client_, mixed):
    html = client_.get(f"{SUMMARY}?{MARCH}&sort=password&reaction=9").content.decode()
    assert 'class="notice' not in html


def test_invalid_period_falls_back_to_the_last_30_days(client_):
    with time_machine.travel(NOW, tick=False):
        html = client_.get(f"{SUMMARY}?days=abc").content.decode()
    assert "Showing the last 30 days instead." in html
    assert "Last 30 days · 19 Feb 2025 – 20 Mar 2025" in html


# --- fixed query counts -------------------------------------------------------------------------


# session, user, the user's permissions (one query: csat_project.auth.ModelBackend), then
# each page's own reads.
PAGE_QUERIES = {
    SUMMARY: 3 + 1 + 3 + 1,  # teammates; daily figures, target, reasons; trend
    TEAMMATES: 3 + 1 + 2 + 1,  # teammates; daily figures per teammate, names; target
    COMMENTS: 3 + 1 + 2 + 2,  # teammates; reasons (settings, seen); count, page
    ACHIEVEMENTS: 3 + 1 + 1 + 2,  # own profile; teammates; count, page
}


def _data(capture, size: int):
    teammates = [TeammateFactory() for _ in range(3)]
    for i in range(size):
        rate(
            capture,
            teammates[i % 3],
            5 - i % 5,
            at=DAY + timedelta(hours=i),
            comment=f"comment {i}",
            reasons=["Slow to answer"] if 5 - i % 5 <= 2 else (),
        )
    return teammates


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize("page", list(PAGE_QUERIES))
def test_each_page_issues_a_fixed_number_of_queries(
    client_, capture, django_assert_num_queries, page, size
):
    teammates = _data(capture, size)
    url = f"{page}?{MARCH}&teammate={teammates[0].pk}" if page == ACHIEVEMENTS else page
    url = url if page == ACHIEVEMENTS else f"{page}?{MARCH}"
    with django_assert_num_queries(PAGE_QUERIES[page]):
        response = client_.get(url)
    assert response.status_code == 200
