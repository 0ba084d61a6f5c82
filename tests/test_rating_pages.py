"""The customer's rating page behind an email link, and its comment form (ratings.views).

A GET never writes (mail scanners open every link); a POST goes through rating_submit /
rating_comment. A1 one click records, A2 change, A3 final after a comment, A4/A5 hour limits,
A6 a workflow's own limits, A7 refusals said plainly with a 4xx and nothing written, A8 history,
A9 links that cannot be forged and never log anyone in, S1 CSAT."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail, signing
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from conversations import services
from conversations.models import Channel, Origin, Part
from ratings.models import Rating, RatingEvent, RatingRequest, RatingSettings
from ratings.rules import RULE_WORDS
from ratings.services import rating_request_send
from ratings.tokens import MESSENGER_SALT, rating_token
from tests.factories import ContactFactory, WorkflowFactory, start_conversation

CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SUBJECT = "Where is my parcel?"
LINK = re.compile(r"http://testserver(/rate/[^/\s\"<>]+/)")


# --- helpers ----------------------------------------------------------------------------------


def _settings(**changes):
    settings = RatingSettings.load()
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def _requested(teammate, *, contact=None, workflow=None, channel=Channel.EMAIL, at=CLOSED_AT):
    """An eligible conversation closed at `at`, its survey decided and delivered."""
    contact = contact or ContactFactory()
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        if workflow is None:
            conversation = start_conversation(
                contacts=[contact],
                started_by=contact,
                body="Help!",
                channel=channel,
                subject=SUBJECT,
            )
        else:
            conversation = start_conversation(
                origin=Origin.WORKFLOW,
                contacts=[contact],
                workflow=workflow,
                body="Welcome!",
                channel=channel,
                subject=SUBJECT,
            )
        services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    with time_machine.travel(at, tick=False):
        services.conversation_close(conversation=conversation, by=teammate)
        rating_request_send(conversation_id=conversation.pk)
    return RatingRequest.objects.get(conversation=conversation)


def _url(request, value=None, name="ratings:rate"):
    token = rating_token(
        request_id=request.pk, conversation_id=request.conversation_id, value=value
    )
    return reverse(name, args=[token])


def _comment_url(request, value=None):
    return _url(request, value, name="ratings:rate_comment")


def _written():
    """What a page could write: ratings, their history and the thread's parts."""
    return (
        list(Rating.objects.values_list("pk", "value", "comment", "reasons", "commented_at")),
        RatingEvent.objects.count(),
        Part.objects.count(),
    )


def _text(response) -> str:
    return response.content.decode()


@pytest.fixture
def rating_request(teammate):
    return _requested(teammate)


# --- GET never writes ------------------------------------------------------------------------


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
    assert html.count('<span class="emoji" aria-hidden="true">') == 5
    # The link's reaction is chosen, posted on load by a tiny script, and without JavaScript
    # a labelled button sends it.
    assert re.search(r'value="4" class="reaction"\s+aria-pressed="true" data-autosubmit', html)
    assert len(re.findall(r'class="reaction"\s+aria-pressed="true"', html)) == 1
    assert "requestSubmit" in html
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
    html = _text(page)
    assert "Thanks — you rated Great" in html
    assert "data-autosubmit" not in html  # the page does not post again
    assert "requestSubmit" not in html
    assert "Changed your mind?" in html
    assert f'action="{_comment_url(rating_request, 4)}"' in html
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
    assert "Thanks — you rated Amazing" in html
    assert "You opened the link for <strong>Terrible</strong>" in html
    assert "data-autosubmit" not in html


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


@pytest.mark.parametrize(("value", "offered"), [(1, True), (2, True), (3, False), (4, False)])
def test_A1_reasons_are_offered_only_after_terrible_or_bad(client, rating_request, value, offered):
    client.post(_url(rating_request, value), {"value": value})
    html = _text(client.get(_url(rating_request, value)))
    assert 'name="comment"' in html
    for reason in RatingSettings.load().reasons:
        assert (f'name="reasons" value="{reason}"' in html) is offered
    assert ("What went wrong?" in html) is offered


def test_A1_a_comment_with_reasons_after_bad(client, rating_request):
    client.post(_url(rating_request, 2), {"value": 2})
    response = client.post(
        _comment_url(rating_request),
        {"comment": "Took three days", "reasons": ["Slow to answer", "Had to repeat myself"]},
    )
    assert response.status_code == 303
    rating = Rating.objects.get()
    assert rating.comment == "Took three days"
    assert rating.reasons == ["Slow to answer", "Had to repeat myself"]
    assert list(rating.history.values_list("kind", flat=True)) == ["rated", "commented"]
    html = _text(client.get(response["Location"]))
    assert "Slow to answer" in html
    assert "Your rating is final" in html


def test_a_comment_is_shown_escaped(client, rating_request):
    client.post(_url(rating_request, 3), {"value": 3})
    client.post(_comment_url(rating_request), {"comment": "<script>alert('x')</script> & <b>"})
    html = _text(client.get(_url(rating_request)))
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert "<script>alert(" not in html


def test_names_and_subjects_are_escaped(client, teammate):
    contact = ContactFactory(name="<i>Eve</i>")
    teammate.name = "<b>Tess</b>"
    teammate.save()
    request = _requested(teammate, contact=contact)
    request.conversation.subject = "<img src=x onerror=alert(1)>"
    request.conversation.save()
    html = _text(client.get(_url(request, 4)))
    assert "&lt;b&gt;Tess&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html


# --- bad input: 400 with the message, nothing written -----------------------------------------


@pytest.mark.parametrize(
    "data", [{}, {"value": ""}, {"value": "9"}, {"value": "0"}, {"value": "x"}]
)
def test_a_reaction_other_than_1_to_5_is_refused_with_400(client, rating_request, data):
    response = client.post(_url(rating_request, 4), data)
    assert response.status_code == 400
    assert "Choose one of the five reactions (1 to 5)." in _text(response)
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"comment": "   "}, "Write a comment or tick a reason."),
        ({"comment": "x" * 5001}, "The comment is longer than 5000 characters."),
        ({"comment": "", "reasons": ["Slow to answer"]}, "Reasons are offered only after"),
        ({"comment": "ok", "reasons": ["Made up"]}, "Reasons are offered only after"),
    ],
)
def test_a_bad_comment_is_refused_with_400(client, rating_request, data, message):
    client.post(_url(rating_request, 4), {"value": 4})
    before = _written()
    response = client.post(_comment_url(rating_request), data)
    assert response.status_code == 400
    assert message in _text(response)
    assert _written() == before


def test_an_unknown_reason_is_refused_with_400(client, rating_request):
    client.post(_url(rating_request, 1), {"value": 1})
    response = client.post(_comment_url(rating_request), {"comment": "", "reasons": ["Made up"]})
    assert response.status_code == 400
    assert "Unknown reason: Made up." in _text(response)
    assert Rating.objects.get().commented_at is None


def test_a_comment_before_any_rating_is_refused_with_400(client, rating_request):
    response = client.post(_comment_url(rating_request), {"comment": "Hello"})
    assert response.status_code == 400
    assert "Choose a reaction before leaving a comment." in _text(response)
    assert not Rating.objects.exists()


def test_a_too_long_comment_is_shown_again_to_fix(client, rating_request):
    client.post(_url(rating_request, 4), {"value": 4})
    response = client.post(_comment_url(rating_request), {"comment": "y" * 5001})
    assert "y" * 5001 in _text(response)


def test_the_comment_address_takes_posts_only(client, rating_request):
    assert client.get(_comment_url(rating_request)).status_code == 405
    assert not Rating.objects.exists()


# --- A9: links that cannot be forged ----------------------------------------------------------


def _bad_tokens(request, other):
    good = rating_token(request_id=request.pk, conversation_id=request.conversation_id, value=4)
    # A9: one character changed in the signature.
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    return {
        "tampered": tampered,
        "tampered payload": good.replace(good[2], "Z" if good[2] != "Z" else "Y", 1),
        "another salt": signing.dumps(
            {"r": request.pk, "c": request.conversation_id, "v": 4},
            salt=MESSENGER_SALT,
            compress=True,
        ),
        "no such request": rating_token(
            request_id=999_999, conversation_id=request.conversation_id
        ),
        "another conversation": rating_token(
            request_id=request.pk, conversation_id=other.conversation_id, value=4
        ),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "tampered",
        "tampered payload",
        "another salt",
        "no such request",
        "another conversation",
        "garbage",
    ],
)
def test_A9_a_forged_link_is_404_for_get_and_post_and_writes_nothing(
    client, teammate, rating_request, kind
):
    other = _requested(teammate)
    token = _bad_tokens(rating_request, other)[kind]
    before = _written()
    for response in (
        client.get(reverse("ratings:rate", args=[token])),
        client.post(reverse("ratings:rate", args=[token]), {"value": 4}),
        client.post(reverse("ratings:rate", args=[token]), {"value": 9}),
        client.post(reverse("ratings:rate_comment", args=[token]), {"comment": "hi"}),
    ):
        assert response.status_code == 404
        assert "This rating link is not valid" in _text(response)
        assert response["Referrer-Policy"] == "same-origin"
    assert _written() == before
    assert not Rating.objects.exists()


def test_csrf_is_enforced_and_works_with_the_pages_own_token(rating_request):
    client = Client(enforce_csrf_checks=True)
    url = _url(rating_request, 5)
    assert client.post(url, {"value": 5}).status_code == 403
    assert not Rating.objects.exists()
    html = _text(client.get(url))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(url, {"value": 5, "csrfmiddlewaretoken": token})
    assert response.status_code == 303
    assert Rating.objects.get().value == 5


def test_next_only_leads_back_to_this_site(client, rating_request):
    url = _url(rating_request, 4)
    response = client.post(url, {"value": 4, "next": "https://evil.example/phish"})
    assert response["Location"] == f"{url}?done=rated"
    response = client.post(url, {"value": 3, "next": "/messenger/abc/#conversation-1"})
    assert response["Location"] == "/messenger/abc/#conversation-1"


# --- D1 end to end: the email's links --------------------------------------------------------


def test_D1_the_emails_five_links_lead_to_the_page_and_one_post_rates(
    client, teammate, contact, django_capture_on_commit_callbacks
):
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body="Help!", channel=Channel.EMAIL, subject=SUBJECT
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_close(conversation=conversation, by=teammate)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    text_links = LINK.findall(message.body)
    html_links = LINK.findall(message.alternatives[0][0])
    assert len(text_links) == 5
    assert sorted(set(html_links)) == sorted(text_links)

    great = text_links[3]
    page = client.get(great)
    assert page.status_code == 200
    assert not Rating.objects.exists()
    assert re.search(r'value="4" class="reaction"\s+aria-pressed="true"', _text(page))
    response = client.post(great, {"value": 4}, follow=True)
    assert "Thanks — you rated Great" in _text(response)
    assert Rating.objects.get(conversation=conversation).value == 4


# --- S1 ----------------------------------------------------------------------------------------


def test_S1_ten_ratings_through_the_pages_give_a_csat_of_40_percent(client, teammate):
    for value in (5, 5, 4, 4, 3, 3, 2, 2, 1, 1):
        request = _requested(teammate)
        assert client.post(_url(request, value), {"value": value}).status_code == 303
    figures = Rating.objects.aggregate(
        positive=Count("pk", filter=Q(value__gte=4)), total=Count("pk")
    )
    assert figures == {"positive": 4, "total": 10}
    assert 100 * figures["positive"] / figures["total"] == 40
