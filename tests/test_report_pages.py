"""The report pages through the client, with ratings made by the real services.

R1 summary (S1 CSAT, S3 response rate, shares, reasons, target, trend chart), R2 teammates
(sorting, links to comments), R3 comments (every filter, follow-up, escaping, pagination),
R4 achievements; period edges; a changed rating counted once; "—" when there is nothing to
divide; invalid query strings never 500; a fixed number of queries whatever the data size."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from ratings.models import Rating, RatingSettings
from ratings.services import rating_follow_up, rating_submit
from tests.factories import ContactFactory, TeammateFactory
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

SUMMARY = reverse("reports:summary")
TEAMMATES = reverse("reports:teammates")
COMMENTS = reverse("reports:comments")
ACHIEVEMENTS = reverse("reports:achievements")
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


def test_S3_response_rate_is_of_the_requests_sent_in_the_period(client_, capture, teammate):
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


def test_summary_of_one_teammate(client_, capture, teammate, other_teammate):
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

    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert svgs  # a wide and a narrow frame; CSS shows the one that fits
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
    assert "Meets the 60 % target" in html


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
    client_, capture, teammate
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


def test_a_changed_rating_counts_once_with_its_new_value(client_, capture, teammate):
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


@pytest.fixture
def three_teammates(capture):
    """Ann 100 % (1 rating), Ben 50 % (4), Cy 0 % (2 ratings, 3 requests)."""
    ann, ben, cy = (TeammateFactory(name=n) for n in ("Ann", "Ben", "Cy"))
    rate_many(capture, ann, (5,))
    rate_many(capture, ben, (5, 4, 2, 1), at=DAY + timedelta(hours=1))
    rate_many(capture, cy, (3, 1), at=DAY + timedelta(hours=2))
    requested(capture, cy, at=DAY)
    return ann, ben, cy


def _names(html):
    return [row[0] for row in table_rows(html)]


def test_R2_one_row_per_teammate_with_requests_ratings_csat_and_counts(client_, three_teammates):
    html = client_.get(f"{TEAMMATES}?{MARCH}").content.decode()
    rows = {row[0]: row for row in table_rows(html)}

    # Teammate, requests, ratings, CSAT, 5, 4, 3, 2, 1, target
    assert rows["Ann"] == ["Ann", "1", "1", "100 %", "1", "0", "0", "0", "0", "Above"]
    assert rows["Ben"] == ["Ben", "4", "4", "50 %", "1", "1", "0", "1", "1", "Below"]
    assert rows["Cy"] == ["Cy", "3", "2", "0 %", "0", "0", "1", "0", "1", "Below"]


@pytest.mark.parametrize(
    "sort, order",
    [
        ("", ["Ann", "Ben", "Cy"]),
        ("name", ["Ann", "Ben", "Cy"]),
        ("-name", ["Cy", "Ben", "Ann"]),
        ("csat", ["Cy", "Ben", "Ann"]),
        ("-csat", ["Ann", "Ben", "Cy"]),
        ("-requests", ["Ben", "Cy", "Ann"]),
        ("ratings", ["Ann", "Cy", "Ben"]),
        ("-v1", ["Ben", "Cy", "Ann"]),  # a tie keeps the order by name
    ],
)
def test_R2_sorting(client_, three_teammates, sort, order):
    html = client_.get(f"{TEAMMATES}?{MARCH}&sort={sort}").content.decode()
    assert _names(html) == order


def test_R2_sort_headers_toggle_and_keep_the_other_parameters(client_, three_teammates):
    html = client_.get(f"{TEAMMATES}?{MARCH}&sort=csat").content.decode()
    assert 'aria-sort="ascending"' in html
    assert "?from=2025-03-01&amp;to=2025-03-31&amp;sort=-csat" in html
    assert "?from=2025-03-01&amp;to=2025-03-31&amp;sort=requests" in html
    html = client_.get(f"{TEAMMATES}?{MARCH}&sort=-csat").content.decode()
    assert 'aria-sort="descending"' in html
    assert "?from=2025-03-01&amp;to=2025-03-31&amp;sort=csat" in html


def test_R2_each_row_links_to_its_comments_for_the_period(client_, three_teammates):
    ann = three_teammates[0]
    html = client_.get(f"{TEAMMATES}?{MARCH}").content.decode()
    link = f"{COMMENTS}?from=2025-03-01&amp;to=2025-03-31&amp;teammate={ann.pk}"
    assert f'href="{link}"' in html


def test_R2_empty_period_says_what_to_do(client_):
    html = client_.get(f"{TEAMMATES}?{MARCH}").content.decode()
    assert "No teammate was rated in this period" in html
    assert "Ratings arrive when conversations are closed" in html


# --- R3 comments --------------------------------------------------------------------------------


@pytest.fixture
def mixed(capture, teammate, other_teammate):
    """One rating of each value by Tess (newest: 5), plus Otto's 2 with a reason."""
    by_value = {}
    for minutes, value in enumerate((1, 2, 3, 4, 5)):
        by_value[value] = rate(
            capture,
            teammate,
            value,
            at=DAY + timedelta(minutes=minutes),
            comment=f"comment {value}" if value != 3 else "",
            reasons=["Slow to answer"] if value == 1 else (),
        )
    otto = rate(
        capture,
        other_teammate,
        2,
        at=DAY - timedelta(days=2),
        comment="slow",
        reasons=["Problem not solved"],
    )
    return by_value, otto


def _listed(client, query):
    return rating_ids(client.get(f"{COMMENTS}?{MARCH}&{query}").content.decode())


def test_R3_newest_first(client_, mixed):
    by_value, otto = mixed
    assert _listed(client_, "") == [by_value[v].pk for v in (5, 4, 3, 2, 1)] + [otto.pk]


def test_R3_filter_by_reaction(client_, mixed):
    by_value, _ = mixed
    assert _listed(client_, "reaction=4") == [by_value[4].pk]
    assert _listed(client_, "reaction=5&reaction=3") == [by_value[5].pk, by_value[3].pk]


def test_S2_R3_terrible_and_bad_one_click(client_, mixed):
    by_value, otto = mixed
    html = client_.get(f"{COMMENTS}?{MARCH}").content.decode()
    link = re.search(r'class="quick" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert link.startswith(f"{COMMENTS}?") and "reaction=1&reaction=2" in link
    listed = rating_ids(client_.get(link).content.decode())
    assert listed == [by_value[2].pk, by_value[1].pk, otto.pk]


def test_R3_filter_by_reason(client_, mixed):
    by_value, otto = mixed
    assert _listed(client_, "reason=Slow+to+answer") == [by_value[1].pk]
    assert _listed(client_, "reason=Problem+not+solved") == [otto.pk]
    html = client_.get(f"{COMMENTS}?{MARCH}").content.decode()
    for reason in RatingSettings.load().reasons:  # the admin's list is offered
        assert f'<option value="{reason}"' in html


def test_R3_a_reason_no_longer_configured_is_still_offered(client_, capture, teammate):
    rate(capture, teammate, 1, reasons=["Unfriendly tone"])
    settings = RatingSettings.load()
    settings.low_rating_reasons = "Slow to answer"
    settings.save()
    html = client_.get(f"{COMMENTS}?{MARCH}").content.decode()
    assert '<option value="Slow to answer"' in html
    assert '<option value="Unfriendly tone"' in html


def test_R3_filter_by_teammate(client_, mixed, other_teammate):
    _, otto = mixed
    assert _listed(client_, f"teammate={other_teammate.pk}") == [otto.pk]


def test_R3_filter_with_a_comment_only(client_, mixed):
    by_value, otto = mixed
    listed = _listed(client_, "comment=1")
    assert by_value[3].pk not in listed
    assert len(listed) == 5


def test_R3_filter_by_period(client_, mixed):
    by_value, otto = mixed
    listed = _listed(client_, "from=2025-03-08&to=2025-03-08")
    assert listed == [otto.pk]
    assert _listed(client_, "from=2025-03-10&to=2025-03-10") == [
        by_value[v].pk for v in (5, 4, 3, 2, 1)
    ]


def test_R3_filters_combine(client_, mixed, teammate):
    by_value, _ = mixed
    query = f"reaction=1&reaction=2&teammate={teammate.pk}&comment=1&reason=Slow+to+answer"
    assert _listed(client_, query) == [by_value[1].pk]


def test_R3_follow_up_keeps_who_and_when_and_the_filter_sees_it(client_, manager, mixed):
    by_value, otto = mixed
    page = f"{COMMENTS}?{MARCH}&reaction=1&reaction=2"
    url = reverse("reports:follow_up", args=[by_value[1].pk])
    at = datetime(2025, 3, 11, 8, 30, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        response = client_.post(url, {"next": page})

    assert response.status_code == 303
    assert response["Location"] == f"{page}#rating-{by_value[1].pk}"
    rating = Rating.objects.get(pk=by_value[1].pk)
    assert (rating.followed_up_by, rating.followed_up_at) == (manager.user, at)
    html = client_.get(page).content.decode()
    assert f"conversation #{rating.conversation_id} marked as followed up" in html
    item = re.search(rf'id="rating-{rating.pk}".*?</li>', html, flags=re.S).group(0)
    assert "Followed up" in item and "by Mona Manager, 11 Mar, 08:30" in item
    assert ">Undo</button>" in item

    assert _listed(client_, "reaction=1&reaction=2&followed=yes") == [by_value[1].pk]
    assert _listed(client_, "reaction=1&reaction=2&followed=no") == [by_value[2].pk, otto.pk]

    client_.post(url, {"next": page, "undo": "1"})
    rating.refresh_from_db()
    assert rating.followed_up_at is None and rating.followed_up_by is None
    assert _listed(client_, "followed=yes") == []


def test_R3_following_up_twice_says_so(client_, manager, mixed):
    rating = mixed[0][1]
    rating_follow_up(rating=rating, by=manager.user)
    response = client_.post(reverse("reports:follow_up", args=[rating.pk]), follow=True)
    assert "already marked as followed up" in response.content.decode()


def test_R3_follow_up_of_an_unknown_rating_is_404(client_):
    assert client_.post(reverse("reports:follow_up", args=[999999])).status_code == 404


def test_R3_item_shows_reaction_comment_reasons_teammate_contact_time_and_admin_link(
    client_, capture, teammate
):
    contact = ContactFactory(name="Cora Customer", email="cora@example.com")
    rating = rate(
        capture,
        teammate,
        1,
        contact=contact,
        comment="Line one\nLine two",
        reasons=["Slow to answer"],
        subject="Lost parcel",
    )
    html = client_.get(f"{COMMENTS}?{MARCH}").content.decode()
    item = re.search(rf'id="rating-{rating.pk}".*?</li>', html, flags=re.S).group(0)
    admin = reverse("admin:conversations_conversation_change", args=[rating.conversation_id])

    assert "😠" in item and ">Terrible<" in item
    assert "<p>Line one<br>Line two</p>" in item
    assert "<li>Slow to answer</li>" in item
    assert "Tess Mate" in item and "Cora Customer" in item and "cora@example.com" in item
    assert "10 Mar 2025, 12:00" in item
    assert f'href="{admin}"' in item and "Lost parcel" in item
    assert "Mark followed up" in item


def test_R3_comments_are_escaped(client_, capture, teammate):
    rate(capture, teammate, 2, comment='<script>alert("x")</script> & <b>bold</b>')
    html = client_.get(f"{COMMENTS}?{MARCH}").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_R3_pages_of_50_keep_the_filters(client_, capture, teammate, monkeypatch):
    monkeypatch.setattr("reports.views.PAGE_SIZE", 2)
    ratings = rate_many(capture, teammate, (1, 2, 1, 5, 2))
    query = f"{MARCH}&reaction=1&reaction=2"
    first = client_.get(f"{COMMENTS}?{query}").content.decode()
    assert rating_ids(first) == [ratings[4].pk, ratings[2].pk]
    assert "Page 1 of 2" in first
    older = re.search(r'href="([^"]+)">Older', first).group(1).replace("&amp;", "&")
    assert "reaction=1&reaction=2" in older and "from=2025-03-01" in older
    second = client_.get(older).content.decode()
    assert rating_ids(second) == [ratings[1].pk, ratings[0].pk]


def test_R3_page_size_is_50():
    from reports import views

    assert views.PAGE_SIZE == 50


def test_R3_empty_states(client_, mixed):
    html = client_.get(f"{COMMENTS}?from=2024-01-01&to=2024-01-31").content.decode()
    assert "No ratings in this period" in html
    html = client_.get(f"{COMMENTS}?{MARCH}&reaction=5&reason=Unfriendly+tone").content.decode()
    assert "No ratings match these filters" in html


# --- R4 achievements ----------------------------------------------------------------------------


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

# session, user, the user's permissions (2), then each page's own reads.
PAGE_QUERIES = {
    SUMMARY: 4 + 1 + 3 + 1,  # teammates; daily figures, target, reasons; trend
    TEAMMATES: 4 + 1 + 2 + 1,  # teammates; daily figures per teammate, names; target
    COMMENTS: 4 + 1 + 2 + 2,  # teammates; reasons (settings, seen); count, page
    ACHIEVEMENTS: 4 + 1 + 1 + 2,  # own profile; teammates; count, page
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
