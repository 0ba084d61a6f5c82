"""The rating page's answers: A1 one click, A2 change, A3 final, A4–A6 hour limits, A9 GETs."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session

from ratings.models import Rating, RatingEvent, RatingSettings
from ratings.rules import RULE_WORDS
from tests.factories import WorkflowFactory
from tests.rating_pages.support import (
    CLOSED_AT,
    SUBJECT,
    _comment_url,
    _requested,
    _text,
    _url,
    _written,
)

MINUTE = timedelta(minutes=1)


def _settings(**changes):
    settings = RatingSettings.load()
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def test_A9_a_get_never_writes(client, rating_request):
    before = _written()
    for url in (
        _url(rating_request, 4),
        _url(rating_request),
        _url(rating_request, 1) + "?done=rated",
        _url(rating_request, 2) + "?done=commented",
    ):
        assert client.get(url).status_code == 200
        assert client.head(url).status_code == 200
    assert _written() == before
    assert not Rating.objects.exists()
    assert not RatingEvent.objects.exists()


def test_A1_the_page_shows_the_subject_the_teammate_and_the_five_reactions(client, rating_request):
    response = client.get(_url(rating_request, 4))
    html = _text(response)
    assert response.status_code == 200
    assert SUBJECT in html
    assert "Tess Mate" in html
    assert RatingSettings.load().survey_question in html
    buttons = re.findall(r'<button type="submit" name="value" value="(\d)"', html)
    assert buttons == ["1", "2", "3", "4", "5"]
    for label in ("Terrible", "Bad", "OK", "Great", "Amazing"):
        assert f'<span class="name">{label}</span>' in html
    assert html.count('<svg class="face"') == 5  # drawn faces, the same on every machine
    # The link's reaction is chosen, posted on load by the page's static script (no inline
    # script), and without JavaScript a labelled button sends it.
    assert re.search(r'value="4" class="reaction"\s+aria-pressed="true" data-autosubmit', html)
    assert len(re.findall(r'class="reaction"\s+aria-pressed="true"', html)) == 1
    assert '<script src="/static/js/rate.js"></script>' in html
    assert "<script>" not in html
    assert re.search(r'<noscript>.*name="value" value="4">Send my rating</button>', html, re.S)
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_page_is_private_small_and_self_contained(client, rating_request):
    response = client.get(_url(rating_request, 5))
    html = _text(response)
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<html lang="en">' in html
    assert "/admin/" not in html
    # No external assets: no stylesheet, script or image from anywhere else; the one
    # stylesheet is this site's (tests/test_static.py: served, and the same on every page).
    assert not re.search(r'<(link|script|img)[^>]+(href|src)="(https?:)?//', html)
    assert re.findall(r'<link rel="stylesheet" href="([^"]*)"', html) == [
        "/static/css/customer.css"
    ]
    assert "<style" not in html


def test_A9_a_link_never_logs_anyone_in(client, rating_request):
    response = client.get(_url(rating_request, 4))
    assert "sessionid" not in response.cookies
    assert response.wsgi_request.user.is_anonymous
    response = client.post(_url(rating_request, 4), {"value": 4})
    assert "sessionid" not in response.cookies
    assert response.wsgi_request.user.is_anonymous
    assert not Session.objects.exists()


# --- A1, A2, A8: rating and changing ----------------------------------------------------------


def test_A1_one_post_records_the_rating_and_redirects(client, rating_request):
    url = _url(rating_request, 4)
    with time_machine.travel(CLOSED_AT + timedelta(hours=1), tick=False):
        response = client.post(url, {"value": 4})
    assert response.status_code == 303
    assert response["Location"] == f"{url}?done=rated"
    rating = Rating.objects.get()
    assert (rating.value, rating.request, rating.teammate) == (
        4,
        rating_request,
        rating_request.teammate,
    )
    assert list(rating.history.values_list("kind", "value")) == [("rated", 4)]

    page = client.get(response["Location"])
    # The comment form posts to the same signed token (re-signing could tick a second).
    comment_url = f"{url}comment/"
    html = _text(page)
    assert "Thanks — you rated Great" in html
    assert "data-autosubmit" not in html  # the page does not post again
    assert "Changed your mind?" in html
    assert f'action="{comment_url}"' in html
    assert re.search(r'value="4" class="reaction"\s+aria-pressed="true"', html)


def test_A2_a_change_is_recorded_in_the_history_A8(client, rating_request):
    client.post(_url(rating_request, 4), {"value": 4})
    response = client.post(_url(rating_request, 4), {"value": 2})
    assert response.status_code == 303
    rating = Rating.objects.get()
    assert rating.value == 2
    assert list(rating.history.values_list("kind", "value")) == [("rated", 4), ("changed", 2)]
    # The same reaction again changes nothing.
    client.post(_url(rating_request, 2), {"value": 2})
    assert RatingEvent.objects.count() == 2
    assert "Thanks — you rated Bad" in _text(client.get(_url(rating_request, 2)))


def test_A2_a_link_for_another_reaction_offers_the_change_without_making_it(client, rating_request):
    client.post(_url(rating_request, 5), {"value": 5})
    before = _written()
    html = _text(client.get(_url(rating_request, 1)))
    assert _written() == before
    assert "Your rating: Amazing" in html
    assert "Change your rating to Terrible?" in html
    assert "data-autosubmit" not in html  # a person's rating: the page posts nothing itself


# --- A3: a comment makes the rating final -----------------------------------------------------


def test_A3_after_a_comment_a_change_is_refused_with_409_and_nothing_written(
    client, rating_request
):
    client.post(_url(rating_request, 4), {"value": 4})
    response = client.post(_comment_url(rating_request), {"comment": "Quick and kind, thanks"})
    assert response.status_code == 303
    assert response["Location"] == f"{_url(rating_request)}?done=commented"
    thanks = _text(client.get(response["Location"]))
    assert "Thank you for your feedback" in thanks
    assert "Quick and kind, thanks" in thanks
    assert "Changed your mind?" not in thanks
    before = _written()

    response = client.post(_url(rating_request, 4), {"value": 1})
    assert response.status_code == 409
    html = _text(response)
    assert RULE_WORDS["A3"] in html
    assert "Your rating: Great" in html  # the recorded rating is shown
    assert _written() == before

    response = client.post(_comment_url(rating_request), {"comment": "One more thing"})
    assert response.status_code == 409
    assert RULE_WORDS["A3"] in _text(response)
    assert _written() == before


def test_A3_an_email_link_for_another_reaction_after_a_comment_says_why(client, rating_request):
    client.post(_url(rating_request, 4), {"value": 4})
    client.post(_comment_url(rating_request), {"comment": "Fine"})
    html = _text(client.get(_url(rating_request, 1)))
    assert f"Not changed to Terrible: {RULE_WORDS['A3']}" in html


# --- A4, A5, A6: hour limits ------------------------------------------------------------------


HOURS = 48


@pytest.mark.parametrize(("offset", "accepted"), [(-MINUTE, True), (MINUTE, False)])
def test_A4_a_first_rating_within_n_hours_of_the_close(client, rating_request, offset, accepted):
    _settings(prevent_rating_after=True, rating_window_hours=HOURS)
    url = _url(rating_request, 3)
    with time_machine.travel(CLOSED_AT + timedelta(hours=HOURS) + offset, tick=False):
        page = _text(client.get(url))
        before = _written()
        response = client.post(url, {"value": 3})
    if accepted:
        assert "data-autosubmit" in page
        assert response.status_code == 303
        assert Rating.objects.get().value == 3
    else:
        # The page says so instead of posting by itself; a post is refused and writes nothing.
        assert RULE_WORDS["A4"] in page
        assert "data-autosubmit" not in page
        assert "Send my rating" not in page
        assert response.status_code == 403
        assert RULE_WORDS["A4"] in _text(response)
        assert _written() == before
        assert not Rating.objects.exists()


@pytest.mark.parametrize(("offset", "accepted"), [(-MINUTE, True), (MINUTE, False)])
def test_A5_a_change_within_n_hours_of_the_close(client, rating_request, offset, accepted):
    _settings(prevent_change_after=True, change_window_hours=HOURS)
    with time_machine.travel(CLOSED_AT + timedelta(hours=1), tick=False):
        client.post(_url(rating_request, 5), {"value": 5})
    with time_machine.travel(CLOSED_AT + timedelta(hours=HOURS) + offset, tick=False):
        page = _text(client.get(_url(rating_request, 5)))
        before = _written()
        response = client.post(_url(rating_request, 5), {"value": 2})
    if accepted:
        assert "Changed your mind?" in page
        assert response.status_code == 303
        assert Rating.objects.get().value == 2
    else:
        assert RULE_WORDS["A5"] in page
        assert "Changed your mind?" not in page
        assert response.status_code == 403
        assert RULE_WORDS["A5"] in _text(response)
        assert _written() == before
        assert Rating.objects.get().value == 5


def test_A5_alone_never_blocks_a_first_rating(client, rating_request):
    _settings(prevent_change_after=True, change_window_hours=1)
    with time_machine.travel(CLOSED_AT + timedelta(days=30), tick=False):
        assert "data-autosubmit" in _text(client.get(_url(rating_request, 4)))
        response = client.post(_url(rating_request, 4), {"value": 4})
    assert response.status_code == 303
    assert Rating.objects.get().value == 4


@pytest.fixture
def workflow_request(teammate):
    _settings(
        send_outbound_api_workflows=True,
        prevent_rating_after=True,
        rating_window_hours=72,
        prevent_change_after=True,
        change_window_hours=72,
    )
    workflow = WorkflowFactory(rating_window_hours=2, change_window_hours=3)
    return _requested(teammate, workflow=workflow)


@pytest.mark.parametrize(("offset", "accepted"), [(-MINUTE, True), (MINUTE, False)])
def test_A6_a_workflows_rating_hours_replace_the_settings(
    client, workflow_request, offset, accepted
):
    with time_machine.travel(CLOSED_AT + timedelta(hours=2) + offset, tick=False):
        response = client.post(_url(workflow_request, 4), {"value": 4})
    if accepted:
        assert response.status_code == 303
        assert Rating.objects.get().value == 4
    else:
        assert response.status_code == 403
        assert RULE_WORDS["A4"] in _text(response)
        assert not Rating.objects.exists()


@pytest.mark.parametrize(("offset", "accepted"), [(-MINUTE, True), (MINUTE, False)])
def test_A6_a_workflows_change_hours_replace_the_settings(
    client, workflow_request, offset, accepted
):
    with time_machine.travel(CLOSED_AT + MINUTE, tick=False):
        client.post(_url(workflow_request, 4), {"value": 4})
    with time_machine.travel(CLOSED_AT + timedelta(hours=3) + offset, tick=False):
        response = client.post(_url(workflow_request, 4), {"value": 1})
    assert response.status_code == (303 if accepted else 403)
    assert Rating.objects.get().value == (1 if accepted else 4)


# --- A1: the comment and the reasons ----------------------------------------------------------
