"""S4 on the report pages and the API: the 95 % range beside each CSAT, "too few ratings"
under the threshold (S4a: 9 vs 10 with the default), a claim against the target only when the
whole range is above or below it (S4b), and the teammates table ordered by the range's low
end."""

import re
from datetime import timedelta

import pytest

from ratings.configure import happiness_target_set, rating_settings_update
from tests.factories import TeammateFactory
from tests.report_helpers import DAY, MARCH, rate_many, requested, table_rows, text_of
from tests.report_pages.support import SUMMARY, TEAMMATES

NINE = (5, 5, 4, 4, 3, 3, 2, 2, 1)  # 4 positive of 9


def figure(html: str, name: str) -> str:
    return re.search(rf'id="{name}">([^<]*)<', html).group(1).strip()


def piece(html: str, name: str) -> str:
    """The visible text of the element with id `name` (a paragraph of the CSAT card)."""
    return text_of(re.search(rf'id="{name}">(.*?)</p>', html, flags=re.S).group(1))


def summary_html(client) -> str:
    return client.get(f"{SUMMARY}?{MARCH}").content.decode()


# --- S4a: too few ratings -----------------------------------------------------------------------


def test_s4a_9_ratings_are_too_few_and_10_show_the_csat_with_its_range(client_, capture, teammate):
    rate_many(capture, teammate, NINE)
    html = summary_html(client_)
    assert figure(html, "csat") == "Too few ratings"
    card = re.search(r'aria-labelledby="csat-label">(.*?)</section>', html, flags=re.S).group(1)
    assert "44.4" not in card  # 4 of 9: no bare percentage as the CSAT
    assert piece(html, "csat-range") == "9 of the 10 needed · 95 % range 18.9–73.3 %"
    assert piece(html, "csat-standing") == "Too few ratings to compare with the 80 % target"

    rate_many(capture, teammate, (1,), at=DAY + timedelta(hours=1))  # the 10th: 4 of 10
    html = summary_html(client_)
    assert figure(html, "csat") == "40 %"
    assert piece(html, "csat-range") == "95 % range 16.8–68.7 %"
    assert piece(html, "csat-standing") == "Below the 80 % target"  # 68.7 < 80


def test_s4a_the_threshold_is_the_setting(client_, capture, teammate):
    rate_many(capture, teammate, NINE)
    rating_settings_update(by=None, min_ratings_for_csat=9)
    html = summary_html(client_)
    assert figure(html, "csat") == "44.4 %"
    assert "fewer than 9 ratings" in text_of(html)  # the page's note names the threshold


def test_s4a_no_ratings_still_show_a_dash_not_too_few(client_):
    html = summary_html(client_)
    assert figure(html, "csat") == "—"
    assert 'id="csat-range"' not in html
    assert piece(html, "csat-standing") == "No ratings to compare"


# --- S4b: the target claim ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, words",
    [
        # 4 of 10: the range is 16.82–68.73 %.
        (16, "Above the 16 % target"),  # 16.82 > 16
        (17, "Can’t tell yet: the 17 % target is within the range"),  # 16.82 < 17
        (40, "Can’t tell yet: the 40 % target is within the range"),  # the CSAT itself
        (68, "Can’t tell yet: the 68 % target is within the range"),  # 68.73 > 68
        (69, "Below the 69 % target"),  # 68.73 < 69
    ],
)
def test_s4b_above_or_below_only_when_the_whole_range_is(client_, capture, teammate, target, words):
    rate_many(capture, teammate, (*NINE, 1))
    happiness_target_set(target=target)
    assert piece(summary_html(client_), "csat-standing") == words


# --- the teammates table ------------------------------------------------------------------------


@pytest.fixture
def by_low(capture):
    """Ann 100 % of 1 (range 20.7–100 %), Ben 80 % of 5 (37.6–96.4 %), Cy a request only."""
    ann, ben, cy = (TeammateFactory(name=n) for n in ("Ann", "Ben", "Cy"))
    rate_many(capture, ann, (5,))
    rate_many(capture, ben, (5, 5, 4, 4, 1), at=DAY + timedelta(hours=1))
    requested(capture, cy, at=DAY)
    return ann, ben, cy


@pytest.mark.parametrize(
    "sort, order",
    [
        ("-csat", ["Ann", "Ben", "Cy"]),  # 100 % of 1 first …
        ("-low", ["Ben", "Ann", "Cy"]),  # … but 4 of 5 supports more: 37.6 % > 20.7 %
        ("low", ["Cy", "Ann", "Ben"]),  # no range first, as with CSAT
    ],
)
def test_s4_teammates_sorted_by_the_ranges_low_end(client_, by_low, sort, order):
    html = client_.get(f"{TEAMMATES}?{MARCH}&sort={sort}").content.decode()
    rows = table_rows(html)
    assert [row[0] for row in rows] == order
    ranges = {row[0]: row[4] for row in rows}
    assert ranges == {"Ann": "20.7–100 %", "Ben": "37.6–96.4 %", "Cy": "—"}


def test_s4_the_range_header_sorts_by_its_low_end_and_back(client_, by_low):
    html = client_.get(f"{TEAMMATES}?{MARCH}").content.decode()
    link = re.search(r'<a href="([^"]*sort=low[^"]*)"[^>]*>95 % range', html)
    assert link, "the 95 % range header links to sort=low"
    sorted_html = client_.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert re.search(r'aria-sort="ascending">\s*<a href="[^"]*sort=-low', sorted_html)


def test_s4_api_teammates_sorted_by_low_with_the_range(api_login, manager, by_low):
    response = api_login(manager.user).get(f"/api/v1/reports/teammates/?{MARCH}&sort=-low")
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert [row["name"] for row in rows] == ["Ben", "Ann", "Cy"]
    ben = rows[0]
    assert (ben["csat_low"], ben["csat_high"]) == (
        pytest.approx(37.553, abs=1e-3),
        pytest.approx(96.378, abs=1e-3),
    )
    assert (ben["too_few"], ben["standing"], ben["meets_target"]) == (True, "too_few", None)
    assert (rows[2]["csat_low"], rows[2]["standing"]) == (None, "none")
