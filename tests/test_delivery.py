"""How the survey reaches the customer: D1 an email with five signed reaction links (HTML and
plain text) or a Messenger rating card; D3 a rating app in place of the card, in the Messenger
only."""

import re

import pytest
from django.core import mail

from conversations import services
from conversations.models import Channel, Part
from ratings.models import MessengerApp, Rating, RatingEvent, RatingRequest, RatingSettings
from ratings.tokens import rating_token_read
from tests.factories import start_conversation

SUBJECT = "Refund for order 1234"
LINK = re.compile(r"http://testserver/rate/([^/\s\"<>]+)/")


@pytest.fixture
def close(django_capture_on_commit_callbacks):
    def _close(conversation, by):
        with django_capture_on_commit_callbacks(execute=True):
            return services.conversation_close(conversation=conversation, by=by)

    return _close


def eligible(*, contact, teammate, channel):
    conversation = start_conversation(
        contacts=[contact],
        started_by=contact,
        body="Hello, I was charged twice for my order.",
        channel=channel,
        subject=SUBJECT,
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="z" * 251)
    return conversation


@pytest.fixture
def rating_app(db):
    app = MessengerApp.objects.create(name="Pulse Survey", card_url="https://apps.example.com/card")
    settings = RatingSettings.load()
    settings.rating_app = app
    settings.save()
    return app


# --- D1: email ---------------------------------------------------------------------------------


@pytest.fixture
def emailed(contact, teammate, close):
    conversation = eligible(contact=contact, teammate=teammate, channel=Channel.EMAIL)
    close(conversation, teammate)
    assert len(mail.outbox) == 1
    return conversation, RatingRequest.objects.get(conversation=conversation), mail.outbox[0]


def test_D1_email_goes_to_the_contact_with_the_subject(emailed, contact):
    _, request, message = emailed
    assert message.to == [contact.email]
    assert SUBJECT in message.subject
    assert request.channel == Channel.EMAIL
    assert request.delivered_at is not None


def test_D1_email_has_plain_text_and_html_naming_the_teammate(emailed, teammate):
    _, _, message = emailed
    assert message.content_subtype == "plain"
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    for text in (message.body, html):
        assert teammate.name in text
        assert SUBJECT in text
        assert RatingSettings.load().survey_question in text


def test_D1_email_has_five_signed_links_one_per_reaction(emailed):
    conversation, request, message = emailed
    html = message.alternatives[0][0]
    html_tokens = LINK.findall(html)
    text_tokens = LINK.findall(message.body)
    assert len(html_tokens) == 5
    assert sorted(html_tokens) == sorted(text_tokens)
    links = [rating_token_read(token) for token in html_tokens]
    assert sorted(link.value for link in links) == [1, 2, 3, 4, 5]
    for link in links:
        assert link.request_id == request.pk
        assert link.conversation_id == conversation.pk


def test_D1_email_links_are_on_site_url(emailed, settings):
    _, _, message = emailed
    hrefs = re.findall(r'href="([^"]+)"', message.alternatives[0][0])
    assert len(hrefs) == 5
    assert all(href.startswith(settings.SITE_URL + "/rate/") for href in hrefs)


def test_D1_following_an_email_link_shows_the_page_and_writes_nothing(emailed, client):
    conversation, _, message = emailed
    parts_before = conversation.parts.count()
    for token in LINK.findall(message.body):
        response = client.get(f"/rate/{token}/")
        assert response.status_code == 200
    assert not Rating.objects.exists()
    assert not RatingEvent.objects.exists()
    assert conversation.parts.count() == parts_before
    assert "_auth_user_id" not in client.session  # A9: a link never logs anyone in


def test_D1_email_delivery_is_noted_in_the_thread(emailed, contact):
    conversation, _, _ = emailed
    (event,) = conversation.parts.filter(event=Part.Event.RATING_REQUESTED)
    assert event.kind == Part.Kind.EVENT
    assert contact.email in event.body


# --- D1: Messenger -----------------------------------------------------------------------------


def test_D1_messenger_gets_a_rating_card_event_and_no_email(contact, teammate, close):
    conversation = eligible(contact=contact, teammate=teammate, channel=Channel.MESSENGER)
    close(conversation, teammate)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.channel == Channel.MESSENGER
    assert request.app is None
    assert request.delivered_at is not None
    (event,) = conversation.parts.filter(event=Part.Event.RATING_REQUESTED)
    assert event.kind == Part.Kind.EVENT
    assert RatingSettings.load().survey_question in event.body
    assert mail.outbox == []


# --- D3: a rating app --------------------------------------------------------------------------


def test_D3_rating_app_replaces_the_card_in_the_messenger(contact, teammate, close, rating_app):
    conversation = eligible(contact=contact, teammate=teammate, channel=Channel.MESSENGER)
    close(conversation, teammate)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.app == rating_app
    (event,) = conversation.parts.filter(event=Part.Event.RATING_REQUESTED)
    assert rating_app.name in event.body
    assert RatingSettings.load().survey_question not in event.body  # only the app
    assert mail.outbox == []


def test_D3_email_conversation_still_gets_the_email_survey(contact, teammate, close, rating_app):
    conversation = eligible(contact=contact, teammate=teammate, channel=Channel.EMAIL)
    close(conversation, teammate)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.app is None
    assert len(mail.outbox) == 1
    assert len(LINK.findall(mail.outbox[0].body)) == 5
    (event,) = conversation.parts.filter(event=Part.Event.RATING_REQUESTED)
    assert rating_app.name not in event.body


@pytest.mark.parametrize("subject", ["Invoice\nquestion", "Invoice\r\nBcc: x@example.com"])
def test_D1_email_with_a_line_break_in_the_subject_is_still_delivered(
    contact, teammate, django_capture_on_commit_callbacks, subject
):
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body="Hi", channel=Channel.EMAIL, subject=subject
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="z" * 260)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_close(conversation=conversation, by=teammate)

    assert RatingRequest.objects.get(conversation=conversation).delivered_at is not None
    (message,) = mail.outbox
    assert "Invoice" in message.subject
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.message()["Bcc"] is None
