"""Reasons, escaping, bad input refused with a 400, forged links (A9), CSRF, the email links, S1."""

import re

import pytest
from django.core import mail, signing
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from conversations import services
from conversations.models import Channel
from ratings.models import Rating, RatingSettings
from ratings.tokens import MESSENGER_SALT, rating_token
from tests.factories import ContactFactory, start_conversation
from tests.rating_pages.support import (
    SUBJECT,
    _comment_url,
    _requested,
    _text,
    _url,
    _written,
)

LINK = re.compile(r"http://testserver(/rate/[^/\s\"<>]+/)")


# --- helpers ----------------------------------------------------------------------------------


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
