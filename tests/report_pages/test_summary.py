"""R1 summary page: S1 CSAT, S3 response rate, reasons, target form, trend chart, period edges."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from ratings.models import RatingSettings
from ratings.services import rating_submit
from tests.report_helpers import (
    DAY,
    MARCH,
    NOW,
    rate,
    rate_many,
    rating_ids,
    requested,
    table_rows,
    text_of,
    token_for,
)
from tests.report_pages.support import COMMENTS, SUMMARY, TEAMMATES

S1_VALUES = (5, 5, 4, 4, 3, 3, 2, 2, 1, 1)


def figure(html: str, name: str) -> str:
    """The text of the summary's big figure with id `name`."""
    return re.search(rf'id="{name}">([^<]*)<', html).group(1).strip()


# --- R1 summary ---------------------------------------------------------------------------------


def test_S1_ten_ratings_5_5_4_4_3_3_2_2_1_1_show_40_percent(client_, capture, teammate):
    rate_many(capture, teammate, S1_VALUES, at=NOW - timedelta(days=3))
    with time_machine.travel(NOW, tick=False):
        html = client_.get(SUMMARY).content.decode()

    assert figure(html, "csat") == "40 %"
    assert figure(html, "ratings") == "10"
    assert "Below the 80 % target" in html
    text = text_of(html)
    for label in ("Amazing", "Great", "OK", "Bad", "Terrible"):
        assert re.search(rf"{label} 2 20 %", text), label
    assert "🤩" in html and "😠" in html
    # S1: bad counts as neutral; only terrible is negative.
    assert re.search(r"Positive Amazing, great 4 40 %", text)
    assert re.search(r"Neutral OK, bad 4 40 %", text)
    assert re.search(r"Negative Terrible 2 20 %", text)


def test_S3_response_rate_is_of_the_requests_sent_in_the_period(
    client_, capture, teammate, csat_from_one_rating
):
    rate_many(capture, teammate, (5, 4, 1), at=DAY)
    requested(capture, teammate, at=DAY)  # sent, never answered
    html = client_.get(f"{SUMMARY}?{MARCH}").content.decode()

    assert figure(html, "response-rate") == "75 %"
    assert "3 rated of 4 requests sent in the period" in text_of(html)
    assert figure(html, "csat") == "66.7 %"


def test_division_by_zero_shows_a_dash_and_says_what_to_do(client_):
    html = client_.get(f"{SUMMARY}?{MARCH}").content.decode()

    assert figure(html, "csat") == "—"
    assert figure(html, "response-rate") == "—"
    assert "0 rated of 0 requests sent in the period" in text_of(html)
    assert "No ratings in this period" in html
    assert "ratings arrive when conversations are closed" in html.lower()


def test_requests_without_answers_still_show_a_dash_for_csat(client_, capture, teammate):
    requested(capture, teammate, at=DAY)
    html = client_.get(f"{SUMMARY}?{MARCH}").content.decode()
    assert figure(html, "csat") == "—"
    assert figure(html, "response-rate") == "0 %"


def test_summary_lists_low_rating_reasons_by_count_with_links(client_, capture, teammate):
    rate(capture, teammate, 1, reasons=["Slow to answer", "Problem not solved"])
    rate(capture, teammate, 2, reasons=["Slow to answer"], at=DAY + timedelta(hours=1))
    html = client_.get(f"{SUMMARY}?{MARCH}").content.decode()
    text = text_of(html)

    assert text.index("Slow to answer 2") < text.index("Problem not solved 1")
    assert "reason=Slow+to+answer" in html


def test_summary_of_one_teammate(client_, capture, teammate, other_teammate, csat_from_one_rating):
    rate_many(capture, teammate, (5, 5))
    rate_many(capture, other_teammate, (1, 1, 1), at=DAY + timedelta(hours=2))
    html = client_.get(f"{SUMMARY}?{MARCH}&teammate={teammate.pk}").content.decode()
    assert figure(html, "csat") == "100 %"
    assert figure(html, "ratings") == "2"
    assert "Tess Mate" in text_of(html)


def test_summary_trend_chart_is_inline_svg_with_a_point_per_rated_day(client_, capture, teammate):
    rate_many(capture, teammate, (5, 1), at=datetime(2025, 3, 3, 10, tzinfo=UTC))
    rate(capture, teammate, 4, at=datetime(2025, 3, 5, 10, tzinfo=UTC))
    html = client_.get(f"{SUMMARY}?from=2025-03-01&to=2025-03-07").content.decode()

    # The chart's frames (the distribution's bars are small SVGs too, K10: no style attribute).
    svgs = re.findall(r"<svg viewBox=.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2  # a wide and a narrow frame; CSS shows the one that fits
    for svg in svgs:
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
        points = re.search(r'<g class="points".*?</g>', svg, flags=re.S).group(0)
        assert points.count("<circle") == 2  # 3 Mar (50 %) and 5 Mar (100 %)
        assert 'class="csat-line"' in svg
        bars = re.search(r'<g class="bars".*?</g>', svg, flags=re.S).group(0)
        assert bars.count("<rect") == 2
        for label in ("0 %", "50 %", "100 %", "1 Mar"):
            assert f">{label}</text>" in svg
        assert "Mon 3 Mar: 2 ratings, CSAT 50 %" in svg
        assert "<script" not in svg
    assert "per day" in html


def test_a_long_period_is_charted_per_week(client_, capture, teammate):
    rate(capture, teammate, 5)
    html = client_.get(f"{SUMMARY}?from=2025-01-01&to=2025-03-31").content.decode()
    assert "CSAT and ratings per week" in html
    assert "Week of 10 Mar: 1 rating, CSAT 100 %" in html


def test_target_form_sets_the_happiness_target(client_, capture, teammate):
    rate_many(capture, teammate, (5, 4, 1))
    page = f"{SUMMARY}?{MARCH}"
    response = client_.post(reverse("reports:target_set"), {"target": "60", "next": page})

    assert response.status_code == 303
    assert response["Location"] == page
    assert RatingSettings.load().happiness_target == 60
    html = client_.get(page).content.decode()
    assert "Happiness target set to 60 %." in html
    # S4b: 2 of 3 (66.7 %, range 20.8–93.9 %) neither above nor below 60 %; S4a: too few.
    assert "Too few ratings to compare with the 60 % target" in html


@pytest.mark.parametrize("target", ["abc", "101", "-1", ""])
def test_target_form_shows_the_error_and_keeps_the_target(client_, target):
    page = f"{SUMMARY}?days=7"
    response = client_.post(reverse("reports:target_set"), {"target": target, "next": page})

    assert response.status_code == 400
    html = response.content.decode()
    assert "The happiness target is a whole number from 0 to 100." in html
    assert 'aria-invalid="true"' in html
    assert "Last 7 days" in html  # the page the form was on, whose links lead back to it
    assert f'method="get" action="{SUMMARY}"' in html
    assert f'href="{SUMMARY}?days=30"' in html
    assert RatingSettings.load().happiness_target == 80


def test_target_form_refuses_a_post_without_csrf_token(manager):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager.user)
    response = strict.post(reverse("reports:target_set"), {"target": "50"})
    assert response.status_code == 403
    assert RatingSettings.load().happiness_target == 80


def test_target_form_does_not_redirect_to_another_site(client_):
    response = client_.post(
        reverse("reports:target_set"), {"target": "70", "next": "https://evil.example/"}
    )
    assert response["Location"] == SUMMARY


# --- periods ------------------------------------------------------------------------------------


def test_period_edges_first_and_last_second_are_in_one_second_outside_is_out(
    client_, capture, teammate, csat_from_one_rating
):
    first = datetime(2025, 3, 10, 0, 0, 0, tzinfo=UTC)
    last = datetime(2025, 3, 12, 23, 59, 59, tzinfo=UTC)
    inside = [rate(capture, teammate, 5, at=first), rate(capture, teammate, 1, at=last)]
    outside = [
        rate(capture, teammate, 4, at=first - timedelta(seconds=1)),
        rate(capture, teammate, 3, at=last + timedelta(seconds=1)),
    ]
    period = "from=2025-03-10&to=2025-03-12"

    summary = client_.get(f"{SUMMARY}?{period}").content.decode()
    assert figure(summary, "ratings") == "2"
    assert figure(summary, "csat") == "50 %"
    listed = rating_ids(client_.get(f"{COMMENTS}?{period}").content.decode())
    assert listed == [inside[1].pk, inside[0].pk]
    assert not set(listed) & {r.pk for r in outside}
    (row,) = table_rows(client_.get(f"{TEAMMATES}?{period}").content.decode())
    assert row[2] == "2"  # ratings


def test_last_n_days_ends_today_and_starts_n_minus_1_days_before(client_, capture, teammate):
    today_start = datetime(2025, 3, 20, 0, 0, tzinfo=UTC)
    first_day = today_start - timedelta(days=6)
    kept = rate(capture, teammate, 5, at=first_day)
    rate(capture, teammate, 1, at=first_day - timedelta(seconds=1))
    with time_machine.travel(NOW, tick=False):
        html = client_.get(f"{COMMENTS}?days=7").content.decode()
    assert rating_ids(html) == [kept.pk]
    assert "Last 7 days · 14 Mar 2025 – 20 Mar 2025" in html


def test_a_changed_rating_counts_once_with_its_new_value(
    client_, capture, teammate, csat_from_one_rating
):
    request = requested(capture, teammate, at=DAY)
    with time_machine.travel(DAY + timedelta(minutes=5), tick=False):
        rating_submit(token=token_for(request), value=1)
    with time_machine.travel(DAY + timedelta(minutes=50), tick=False):
        rating_submit(token=token_for(request), value=5)

    summary = client_.get(f"{SUMMARY}?{MARCH}").content.decode()
    assert figure(summary, "ratings") == "1"
    assert figure(summary, "csat") == "100 %"
    assert re.search(r"Terrible 0 0 %", text_of(summary))
    comments = client_.get(f"{COMMENTS}?{MARCH}").content.decode()
    assert len(rating_ids(comments)) == 1
    assert 'class="badge r5">Amazing' in comments
    (row,) = table_rows(client_.get(f"{TEAMMATES}?{MARCH}").content.decode())
    assert row[2:4] == ["1", "100 %"]


# --- R2 teammates -------------------------------------------------------------------------------
