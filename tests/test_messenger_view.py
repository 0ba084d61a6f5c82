"""The Messenger view behind a signed link (messenger.views.link): the contact's threads
without internal notes, the rating card where the survey was delivered in the Messenger (D1),
the rating app's card instead of it (D3), answers through the same services and rules (A1–A7),
a fixed number of queries."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations import services
from conversations.models import Channel, Origin
from ratings.models import MessengerApp, Rating, RatingEvent, RatingRequest, RatingSettings
from ratings.rules import RULE_WORDS
from ratings.services import rating_request_send
from ratings.tokens import messenger_token, rating_token
from tests.factories import ContactFactory, WorkflowFactory, start_conversation

CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
RATE_FORM = re.compile(r'<form method="post" action="(/rate/[^"]+/)" class="rate-form">')
NEXT = re.compile(r'<input type="hidden" name="next" value="([^"]+)">')


def _settings(**changes):
    settings = RatingSettings.load()
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def _closed(contact, teammate, *, channel=Channel.MESSENGER, subject="", at=CLOSED_AT):
    """An eligible conversation of `contact`, closed at `at`, its survey sent."""
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        conversation = start_conversation(
            contacts=[contact],
            started_by=contact,
            body="My order never arrived.",
            channel=channel,
            subject=subject,
        )
        services.conversation_reply(
            conversation=conversation, author=teammate, body="Sorry about that! " * 15
        )
        services.conversation_note(
            conversation=conversation, author=teammate, body="SECRET: refund approved by Bo"
        )
    with time_machine.travel(at, tick=False):
        services.conversation_close(conversation=conversation, by=teammate)
        rating_request_send(conversation_id=conversation.pk)
    return conversation


def _page_url(contact):
    return reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)])


def _html(response):
    return response.content.decode()


def _section(html, conversation):
    """The HTML of one conversation's section on the page."""
    start = html.index(f'id="conversation-{conversation.pk}"')
    end = html.find("</section>", start)
    return html[start:end]


@pytest.fixture
def thread(contact, teammate):
    return _closed(contact, teammate, subject="Parcel lost")


# --- the threads ----------------------------------------------------------------------------------


def test_the_page_lists_the_contacts_conversations_newest_first_without_notes(
    client, contact, teammate
):
    older = _closed(contact, teammate, subject="First question", at=CLOSED_AT)
    newer = _closed(contact, teammate, subject="Second question", at=CLOSED_AT + timedelta(days=1))
    workflow = WorkflowFactory()
    by_bot = start_conversation(
        origin=Origin.WORKFLOW, contacts=[contact], workflow=workflow, body="Welcome aboard!"
    )
    stranger = ContactFactory()
    theirs = _closed(stranger, teammate, subject="Someone else's problem")

    response = client.get(_page_url(contact))
    html = _html(response)
    assert response.status_code == 200
    positions = [html.index(f'id="conversation-{c.pk}"') for c in (by_bot, newer, older)]
    assert positions == sorted(positions)
    assert "Someone else" not in html
    assert f'id="conversation-{theirs.pk}"' not in html
    assert "SECRET" not in html  # internal notes never reach the customer
    first = _section(html, older)
    assert '<span class="who">You</span><div class="bubble">My order never arrived.</div>' in first
    assert '<span class="who">Tess Mate</span>' in first
    assert "Conversation closed" in first
    assert "Rating requested" in first
    assert "Rated" not in first
    bot_line = re.compile(r'<li class="msg bot"[^>]*><span class="who">Bot</span>')
    assert bot_line.search(_section(html, by_bot))


def test_the_page_is_private_and_escapes_what_people_wrote(client, teammate):
    contact = ContactFactory(name="<b>Eve</b>")
    conversation = start_conversation(
        contacts=[contact],
        started_by=contact,
        body="<script>alert(1)</script><p>Hello <b>there</b></p>",
        subject="<i>x</i>",
    )
    services.conversation_reply(
        conversation=conversation, author=teammate, body="<img src=x onerror=alert(2)> &lt;img&gt;"
    )
    response = client.get(_page_url(contact))
    html = _html(response)
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html  # names and subjects are text
    assert "&lt;i&gt;x&lt;/i&gt;" in html
    # M17: message bodies are sanitised HTML: formatting kept, nothing that runs or loads.
    assert "<p>Hello <b>there</b></p>" in html
    assert "alert(" not in html and "<img" not in html
    assert "&lt;img&gt;" in html


@pytest.mark.parametrize("kind", ["tampered", "rating token", "unknown contact", "garbage"])
def test_a_bad_messenger_link_is_404(client, contact, thread, kind):
    good = messenger_token(contact_id=contact.pk)
    token = {
        "tampered": good[:-1] + ("A" if good[-1] != "A" else "B"),
        "rating token": rating_token(request_id=1, conversation_id=thread.pk),
        "unknown contact": messenger_token(contact_id=999_999),
        "garbage": "nope",
    }[kind]
    response = client.get(reverse("messenger:link", args=[token]))
    assert response.status_code == 404
    assert "This Messenger link is not valid" in _html(response)
    assert "Parcel lost" not in _html(response)


def test_the_page_takes_no_posts(client, contact):
    assert client.post(_page_url(contact)).status_code == 405


# --- D1: the rating card ----------------------------------------------------------------------


def test_D1_the_card_shows_where_the_survey_was_delivered_in_the_messenger(
    client, contact, teammate, thread
):
    emailed = _closed(contact, teammate, channel=Channel.EMAIL, subject="By email")
    undelivered = _closed(contact, teammate, subject="Not delivered yet")
    RatingRequest.objects.filter(conversation=undelivered).update(delivered_at=None)
    request = RatingRequest.objects.get(conversation=thread)
    # Tokens are signed with the second they are made: the page's and the expected ones, in
    # one second (under load a second could pass between them).
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        page = _page_url(contact)
        html = _html(client.get(page))
        token = rating_token(request_id=request.pk, conversation_id=thread.pk)

    card = _section(html, thread)
    assert RatingSettings.load().survey_question in card
    forms = RATE_FORM.findall(card)
    assert forms == [reverse("ratings:rate", args=[token])]
    assert re.findall(r'name="value" value="(\d)"', card) == ["1", "2", "3", "4", "5"]
    assert NEXT.findall(card) == [f"{page}#conversation-{thread.pk}"]
    assert "data-autosubmit" not in html  # the Messenger never posts by itself
    for other in (emailed, undelivered):
        assert "rate-form" not in _section(html, other)


def test_A1_rating_through_the_card_then_commenting(client, contact, thread):
    page = _page_url(contact)
    card = _section(_html(client.get(page)), thread)
    action, back = RATE_FORM.search(card).group(1), NEXT.search(card).group(1)

    response = client.post(action, {"value": 1, "next": back})
    assert response.status_code == 303
    assert response["Location"] == back
    rating = Rating.objects.get(conversation=thread)
    assert rating.value == 1

    card = _section(_html(client.get(page)), thread)
    assert "Thanks — you rated Terrible" in card
    for reason in RatingSettings.load().reasons:
        assert f'name="reasons" value="{reason}"' in card  # A1: after terrible
    comment_action = re.search(r'action="(/rate/[^"]+/comment/)"', card).group(1)
    response = client.post(
        comment_action,
        {"comment": "Lost twice", "reasons": ["Problem not solved"], "next": back},
    )
    assert response.status_code == 303
    assert response["Location"] == back
    card = _section(_html(client.get(page)), thread)
    assert "Lost twice" in card
    assert "Problem not solved" in card
    assert "rate-form" not in card
    assert "Your rating is final" in card


def test_A3_a_change_through_the_card_after_a_comment_is_refused_plainly(client, contact, thread):
    card = _section(_html(client.get(_page_url(contact))), thread)
    action, back = RATE_FORM.search(card).group(1), NEXT.search(card).group(1)
    client.post(action, {"value": 4, "next": back})
    client.post(action + "comment/", {"comment": "Good"})
    events = RatingEvent.objects.count()

    response = client.post(action, {"value": 1, "next": back})
    assert response.status_code == 409
    html = _html(response)
    assert RULE_WORDS["A3"] in html
    assert f'<a href="{back}">Back to your conversation</a>' in html
    assert Rating.objects.get().value == 4
    assert RatingEvent.objects.count() == events


def test_A4_the_card_says_when_the_time_to_rate_has_passed(client, contact, thread):
    _settings(prevent_rating_after=True, rating_window_hours=24)
    with time_machine.travel(CLOSED_AT + timedelta(hours=25), tick=False):
        card = _section(_html(client.get(_page_url(contact))), thread)
        assert RULE_WORDS["A4"] in card
        assert "rate-form" not in card
        request = RatingRequest.objects.get(conversation=thread)
        token = rating_token(request_id=request.pk, conversation_id=thread.pk)
        response = client.post(reverse("ratings:rate", args=[token]), {"value": 5})
    assert response.status_code == 403
    assert RULE_WORDS["A4"] in _html(response)
    assert not Rating.objects.exists()


# --- D3: the rating app -------------------------------------------------------------------------


@pytest.fixture
def rating_app(db):
    app = MessengerApp.objects.create(
        name="Pulse Survey", card_url="https://apps.example.com/c?x=1"
    )
    _settings(rating_app=app)
    return app


def test_D3_the_rating_app_card_replaces_the_survey_and_email_still_gets_the_email(
    client, contact, teammate, rating_app, django_capture_on_commit_callbacks
):
    in_messenger = _closed(contact, teammate, subject="In the Messenger")
    by_email = start_conversation(
        contacts=[contact], started_by=contact, body="Help", channel=Channel.EMAIL, subject="Mail"
    )
    services.conversation_reply(conversation=by_email, author=teammate, body="x" * 300)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_close(conversation=by_email, by=teammate)
    assert len(mail.outbox) == 1  # D3: the email conversation still gets the email survey
    assert mail.outbox[0].to == [contact.email]
    assert RatingRequest.objects.get(conversation=by_email).app is None

    html = _html(client.get(_page_url(contact)))
    card = _section(html, in_messenger)
    assert "Pulse Survey" in card
    assert 'href="https://apps.example.com/c?x=1" rel="noopener noreferrer"' in card
    assert "rate-form" not in card
    assert RatingSettings.load().survey_question not in card
    assert "<iframe" not in html
    assert "rate-form" not in _section(html, by_email)


# --- queries ----------------------------------------------------------------------------------


def _queries_for(client, contact):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_page_url(contact)).status_code == 200
    return len(queries)


def test_the_page_reads_a_fixed_number_of_queries(client, teammate, django_assert_max_num_queries):
    RatingSettings.load()
    one, five = ContactFactory(), ContactFactory()
    _closed(one, teammate)
    for number in range(5):
        conversation = _closed(
            five, teammate, channel=(Channel.EMAIL if number == 4 else "messenger")
        )
        if number % 2:
            request = RatingRequest.objects.get(conversation=conversation)
            token = rating_token(request_id=request.pk, conversation_id=conversation.pk)
            client.post(reverse("ratings:rate", args=[token]), {"value": 2})
    assert Rating.objects.count() == 2
    count_one = _queries_for(client, one)
    count_five = _queries_for(client, five)
    assert count_one == count_five
    # B5: the requests (a teammate's and the bot's) are one prefetch query.
    with django_assert_max_num_queries(5):
        client.get(_page_url(five))
