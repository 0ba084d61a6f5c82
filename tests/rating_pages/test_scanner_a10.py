"""A10 through the rating page (Django's test client standing in for a scanner's browser that
runs the page's script): the five links of a real survey email opened one after another, each
page posting what its script would post (the link's reaction with `auto=1`), leave no rating;
the page then shows the five reactions with A10's words and posts nothing by itself; a
person's press records. Figures equal a recount after each scenario."""

import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from conversations import services
from conversations.models import Channel
from ratings.models import Rating, RatingEvent, RatingRequest
from ratings.rules import RULE_WORDS, SCANNER_WINDOW
from ratings.tokens import rating_token_read
from tests.factories import start_conversation
from tests.outbox import surveys
from tests.rating_pages.support import CLOSED_AT, _text, _url, _written
from tests.test_daily_figures import snapshot as figures

LINK = re.compile(r"^(\w+): http://testserver(/rate/\S+/)$", re.M)
T = CLOSED_AT + timedelta(hours=1)
SECOND = timedelta(seconds=1)
A10 = RULE_WORDS["A10"]


@pytest.fixture
def links(teammate, contact, django_capture_on_commit_callbacks):
    """The five links of the survey email, in the email's order, by reaction name."""
    with time_machine.travel(CLOSED_AT - timedelta(hours=1), tick=False):
        conversation = start_conversation(
            contacts=[contact],
            started_by=contact,
            body="My parcel never arrived.",
            channel=Channel.EMAIL,
            subject="Lost parcel",
        )
        services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    with (
        time_machine.travel(CLOSED_AT, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.conversation_close(conversation=conversation, by=teammate)
    (survey,) = surveys()
    found = dict(LINK.findall(survey.body))
    assert sorted(found) == ["Amazing", "Bad", "Great", "OK", "Terrible"]
    return found


def assert_figures_equal_a_recount():
    kept = figures()
    call_command("figures_rebuild", stdout=StringIO())
    assert figures() == kept


def open_like_a_browser(client, url, at):
    """GET the page; when it carries the autosubmit button, post what static/js/rate.js posts
    (the button's value and auto=1) and follow the redirect. Returns (html, posted)."""
    with time_machine.travel(at, tick=False):
        response = client.get(url)
        html = _text(response)
        button = re.search(r'name="value" value="(\d)"[^>]*data-autosubmit', html)
        if button is None:
            return html, False
        posted = client.post(url, {"value": button.group(1), "auto": "1"})
        assert posted.status_code == 303, _text(posted)
        return _text(client.get(posted["Location"])), posted["Location"]


def pressed(html):
    return re.findall(r'value="(\d)" class="reaction"\s+aria-pressed="true"', html)


def test_A10_a_scanner_opening_the_five_links_leaves_no_rating(client, links):
    before = figures()
    seen = []
    for second, url in enumerate(links.values()):
        html, posted = open_like_a_browser(client, url, T + second * 3 * SECOND)
        seen.append((posted.split("?")[-1] if posted else "", A10 in html))
    # The first link records, the second (an auto change within the minute) discards, the
    # other three show A10 and post nothing.
    assert seen == [
        ("done=rated", False),
        ("done=discarded", True),
        ("", True),
        ("", True),
        ("", True),
    ]
    assert not Rating.objects.exists()
    request = RatingRequest.objects.get()
    assert list(
        RatingEvent.objects.filter(request=request).values_list("kind", "rule").order_by("id")
    ) == [("rated", ""), ("discarded", "A10")]
    assert figures() == before
    assert_figures_equal_a_recount()


def test_A10_the_page_after_a_discard_shows_the_five_reactions_and_posts_nothing(client, links):
    amazing, great, ok = links["Amazing"], links["Great"], links["OK"]
    open_like_a_browser(client, amazing, T)
    html, posted = open_like_a_browser(client, great, T + SECOND)
    assert posted.endswith("?done=discarded")
    with time_machine.travel(T + 2 * SECOND, tick=False):
        again = _text(client.get(ok))
    for page in (html, again):
        assert f'<p class="notice warn" role="status">{A10}</p>' in page
        assert "data-autosubmit" not in page
        assert re.findall(r'name="value" value="(\d)" class="reaction"', page) == list("12345")
        assert pressed(page) == []  # none chosen: the customer presses the one they mean
        assert "Send my rating" not in page
        assert "Tell us more" not in page

    # After the minute a link opened (a person, later) records as usual.
    later = T + SECOND + SCANNER_WINDOW + SECOND
    html, posted = open_like_a_browser(client, ok, later)
    assert posted.endswith("?done=rated")
    assert Rating.objects.get().value == 3
    assert_figures_equal_a_recount()


def test_A10_the_discarded_page_stays_quiet_after_the_minute(client, links):
    """`?done=discarded` asked the customer to press: reloaded later it still posts nothing."""
    open_like_a_browser(client, links["Amazing"], T)
    _, posted = open_like_a_browser(client, links["Bad"], T + SECOND)
    with time_machine.travel(T + timedelta(minutes=10), tick=False):
        html = _text(client.get(posted))
    assert A10 in html
    assert "data-autosubmit" not in html
    assert not Rating.objects.exists()


def test_A10_an_auto_post_within_the_minute_after_a_discard_is_refused_plainly(client, links):
    open_like_a_browser(client, links["Amazing"], T)
    open_like_a_browser(client, links["Great"], T + SECOND)
    before = _written()
    with time_machine.travel(T + 2 * SECOND, tick=False):
        response = client.post(links["Terrible"], {"value": 1, "auto": "1"})
    assert response.status_code == 409
    html = _text(response)
    assert f"<strong>Not recorded.</strong> {A10}" in html
    assert html.count(A10) == 1  # said once
    assert _written() == before


def test_A10_a_persons_press_on_the_discarded_page_records(client, links):
    open_like_a_browser(client, links["Amazing"], T)
    html, posted = open_like_a_browser(client, links["Great"], T + SECOND)
    with time_machine.travel(T + 5 * SECOND, tick=False):
        response = client.post(posted.split("?")[0], {"value": 4})  # a press: no marker
        assert response.status_code == 303
        assert response["Location"].endswith("?done=rated")
        page = _text(client.get(response["Location"]))
    assert "Thanks — you rated Great" in page
    assert A10 not in page
    assert Rating.objects.get().value == 4
    assert_figures_equal_a_recount()


@pytest.mark.parametrize(
    ("elapsed", "autosubmits"), [(SCANNER_WINDOW - SECOND, True), (SCANNER_WINDOW + SECOND, False)]
)
def test_A10_the_page_keeps_posting_while_the_rating_is_a_recent_auto_post(
    client, links, elapsed, autosubmits
):
    """The email's next link within the minute posts its reaction too (the change step's one
    button, marked for the script); after the minute the change waits for a press."""
    open_like_a_browser(client, links["Amazing"], T)
    with time_machine.travel(T + elapsed, tick=False):
        html = _text(client.get(links["Great"]))
    assert "Change your rating to Great?" in html
    button = re.search(r'name="value" value="4" class="primary change-to"([^>]*)>', html)
    assert ("data-autosubmit" in button.group(1)) is autosubmits
    assert ("Changing your rating…" in html) is autosubmits


def test_A10_a_persons_press_stops_the_page_posting_by_itself(client, links):
    """A person who pressed a reaction is no scanner: their next link waits for a press."""
    open_like_a_browser(client, links["Amazing"], T)
    with time_machine.travel(T + SECOND, tick=False):
        client.post(links["Amazing"], {"value": 4})  # pressed Great on the page
    with time_machine.travel(T + 2 * SECOND, tick=False):
        html = _text(client.get(links["Bad"]))
    assert "Change your rating to Bad?" in html
    assert "data-autosubmit" not in html
    assert Rating.objects.get().value == 4
    assert_figures_equal_a_recount()


def test_A10_only_the_pages_script_marks_a_post(client, links):
    """The HTML carries no marker: a press on any button posts without `auto`; the script
    adds it for its one submission (static/js/rate.js)."""
    html = _text(client.get(links["Great"]))
    assert 'name="auto"' not in html
    assert rating_token_read(links["Great"].split("/")[2]).value == 4
    with time_machine.travel(T, tick=False):
        client.post(links["Great"], {"value": 4})
    assert Rating.objects.get().auto_at is None  # a press


def test_A10_the_links_of_another_request_are_not_a_burst(client, links, teammate):
    """A10 is per survey: two emails' links opened within the minute rate both."""
    from tests.rating_pages.support import _requested

    other = _requested(teammate)
    open_like_a_browser(client, links["Amazing"], T)
    open_like_a_browser(client, _url(other, 1), T + SECOND)
    assert sorted(Rating.objects.values_list("value", flat=True)) == [1, 5]
