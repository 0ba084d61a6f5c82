"""Ratings and report figures through the API: the ratings list (period, reaction, teammate,
follow-up; cursor pages) and the summary (R1) and teammates (R2) figures, from the same
selectors as the report pages."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group

from ratings.services import rating_follow_up
from tests.factories import TeammateFactory
from tests.report_helpers import MARCH, NOW, rate, rate_many

S1_VALUES = (5, 5, 4, 4, 3, 3, 2, 2, 1, 1)


@pytest.fixture
def as_manager(api_login, manager):
    return api_login(manager.user)


@pytest.fixture
def as_teammate(api_login, teammate):
    return api_login(teammate.user)


def test_S1_summary_of_ten_ratings_is_40_percent(as_manager, capture, teammate):
    rate_many(capture, teammate, S1_VALUES, at=NOW - timedelta(days=3))
    with time_machine.travel(NOW, tick=False):
        response = as_manager.get("/api/v1/reports/summary/")
    assert response.status_code == 200
    data = response.json()
    assert (data["ratings"], data["csat"], data["target"], data["meets_target"]) == (
        10,
        40.0,
        80,
        False,
    )
    assert (data["positive"], data["neutral"], data["negative"]) == (4, 4, 2)
    # S4: 4 of 10 is 16.8–68.7 %, wholly below the 80 % target (S4b); 10 is enough (S4a).
    assert (data["csat_low"], data["csat_high"]) == (
        pytest.approx(16.8178, abs=1e-3),
        pytest.approx(68.7330, abs=1e-3),
    )
    assert (data["too_few"], data["standing"], data["min_ratings"]) == (False, "below", 10)
    assert [(r["name"], r["count"], r["share"]) for r in data["by_reaction"]] == [
        ("amazing", 2, 20.0),
        ("great", 2, 20.0),
        ("ok", 2, 20.0),
        ("bad", 2, 20.0),
        ("terrible", 2, 20.0),
    ]
    # S3: each rating answered one request sent in the period.
    assert (data["requests"], data["answered"], data["response_rate"]) == (10, 10, 100.0)
    assert data["period"]["days"] == 30 and data["period"]["preset"] == 30
    assert data["trend"]["bucket"] == "day" and len(data["trend"]["points"]) == 30


def test_summary_of_one_teammate_over_chosen_dates(as_manager, capture, teammate, other_teammate):
    rate(capture, teammate, 5)
    rate(capture, other_teammate, 1, comment="Slow", reasons=["Slow to answer"])
    everyone = as_manager.get(f"/api/v1/reports/summary/?{MARCH}").json()
    assert everyone["ratings"] == 2
    assert everyone["reasons"] == [{"reason": "Slow to answer", "count": 1}]
    assert everyone["period"]["from"] == "2025-03-01" and everyone["period"]["to"] == "2025-03-31"
    one = as_manager.get(f"/api/v1/reports/summary/?{MARCH}&teammate={other_teammate.pk}").json()
    assert (one["ratings"], one["csat"], one["teammate"]) == (1, 0.0, other_teammate.pk)


def test_summary_with_nothing_to_divide_is_null(as_manager):
    data = as_manager.get("/api/v1/reports/summary/").json()
    assert (data["csat"], data["response_rate"], data["meets_target"]) == (None, None, None)
    assert (data["csat_low"], data["csat_high"], data["standing"]) == (None, None, "none")
    assert data["too_few"] is True


@pytest.mark.parametrize(
    "query, field",
    [
        ("days=8", "days"),
        ("from=2025-03-10&to=2025-03-01", ""),
        ("from=2025-03-10", ""),
        ("from=0001-01-01&to=0001-01-02", "from"),
        ("from=9999-12-30&to=9999-12-31", "from"),
        ("teammate=abc", "teammate"),
        ("teammate=99999999999999999999999", "teammate"),
    ],
)
def test_a_bad_period_is_a_400_never_a_500(as_manager, query, field):
    response = as_manager.get(f"/api/v1/reports/summary/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["message"]
    if field:
        assert field in body["fields"]


def test_R2_teammates_figures_sorted(as_manager, capture, teammate, other_teammate):
    rate_many(capture, teammate, (5, 4, 1))
    rate_many(capture, other_teammate, (5, 5))
    response = as_manager.get(f"/api/v1/reports/teammates/?{MARCH}&sort=-csat")
    assert response.status_code == 200
    data = response.json()
    rows = [(r["name"], r["requests"], r["ratings"], r["standing"]) for r in data["rows"]]
    # S4a: 2 and 3 ratings are fewer than the 10 needed: nothing is claimed.
    assert rows == [("Otto Other", 2, 2, "too_few"), ("Tess Mate", 3, 3, "too_few")]
    assert [r["meets_target"] for r in data["rows"]] == [None, None]
    assert (data["target"], data["min_ratings"]) == (80, 10)
    assert data["rows"][1]["csat"] == pytest.approx(200 / 3)
    assert [r["count"] for r in data["rows"][1]["by_reaction"]] == [1, 1, 0, 0, 1]
    assert as_manager.get("/api/v1/reports/teammates/?sort=mood").status_code == 400


@pytest.mark.parametrize("url", ["/api/v1/reports/summary/", "/api/v1/reports/teammates/"])
def test_reports_need_view_reports(api_client, as_teammate, as_manager, api_login, url):
    assert api_client.get(url).status_code == 401
    assert as_teammate.get(url).status_code == 403
    assert as_manager.get(url).status_code == 200
    # A Managers-only account (no teammate profile needed) reads them too.
    reader = TeammateFactory()
    reader.user.groups.set([Group.objects.get(name="Managers")])
    assert api_login(reader.user).get(url).status_code == 200


# --- the ratings list -----------------------------------------------------------------------------


def test_ratings_list_filters(as_teammate, capture, teammate, other_teammate, manager):
    great = rate(capture, teammate, 4)
    bad = rate(capture, teammate, 2, at=NOW - timedelta(days=12))
    terrible = rate(capture, other_teammate, 1, at=NOW - timedelta(days=11))
    rating_follow_up(rating=terrible, by=manager.user)

    def ids(query):
        response = as_teammate.get(f"/api/v1/ratings/?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    # Newest first: great (10 March), terrible (9 March), bad (8 March).
    assert ids(MARCH) == [great.pk, terrible.pk, bad.pk]
    assert ids(f"{MARCH}&reaction=1&reaction=2") == [terrible.pk, bad.pk]
    assert ids(f"{MARCH}&teammate={teammate.pk}") == [great.pk, bad.pk]
    assert ids(f"{MARCH}&followed_up=true") == [terrible.pk]
    assert ids(f"{MARCH}&followed_up=false") == [great.pk, bad.pk]
    with time_machine.travel(NOW, tick=False):
        assert ids("days=7") == []
        assert ids("") == [great.pk, terrible.pk, bad.pk]
    row = as_teammate.get(f"/api/v1/ratings/?{MARCH}&reaction=1").json()["results"][0]
    assert row["followed_up_by"] == manager.user.pk and row["reaction"] == "terrible"
    assert as_teammate.get(f"/api/v1/ratings/?{MARCH}&reaction=6").status_code == 400


def test_ratings_list_is_cursor_paginated(as_teammate, capture, teammate):
    made = rate_many(capture, teammate, (5, 4, 3))
    first = as_teammate.get(f"/api/v1/ratings/?{MARCH}&page_size=2").json()
    assert [r["id"] for r in first["results"]] == [made[2].pk, made[1].pk]
    second = as_teammate.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == [made[0].pk]
    assert second["previous"] is not None and second["next"] is None


def test_ratings_need_view_rating(api_client, api_login, capture, teammate, api_admin):
    rating = rate(capture, teammate, 4)
    reader = TeammateFactory()
    reader.user.groups.set([Group.objects.get(name="Managers")])
    for url in (f"/api/v1/ratings/?{MARCH}", f"/api/v1/ratings/{rating.pk}/"):
        assert api_client.get(url).status_code == 401
        assert api_login(reader.user).get(url).status_code == 403
        for user in (teammate.user, api_admin.user):
            assert api_login(user).get(url).status_code == 200
    assert api_login(teammate.user).get("/api/v1/ratings/424242/").status_code == 404
