"""M17: a message's HTML is shown safely everywhere: sanitised and rendered as formatting in
the admin thread, the Messenger view and the API (`body` beside a plain `body_text`), typed
text shown exactly as typed, and the demo's sample text readable, never literal tags."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from django.urls import reverse

from conversations import services
from conversations.models import Channel
from conversations.text import has_markup, sanitize_html, visible_text
from demo.text import sample_text
from ratings.tokens import messenger_token
from tests.factories import ContactFactory, start_conversation

pytestmark = pytest.mark.django_db

FORMATTED = '<p>Open <b>Settings</b> &amp; <a href="https://example.com/help">help</a></p>'
DANGEROUS = '<script>steal()</script><img src=x onerror="steal()"><p style="x">Hi</p>'


@pytest.fixture
def thread(teammate):
    contact = ContactFactory(name="Ann")
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body=DANGEROUS, channel=Channel.MESSENGER
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=FORMATTED)
    return conversation, contact


def test_M17_bodies_are_stored_sanitised(thread):
    conversation, _contact = thread
    first, reply = conversation.parts.order_by("pk")
    assert first.body == "<p>Hi</p>"
    assert "<b>Settings</b>" in reply.body and 'rel="noopener noreferrer nofollow"' in reply.body


def test_M17_the_admin_thread_shows_formatting_never_literal_tags(admin_client, thread):
    conversation, _contact = thread
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    page = admin_client.get(url).text
    assert "<b>Settings</b>" in page
    assert "&lt;b&gt;" not in page and "&lt;p&gt;" not in page
    assert "steal()" not in page


def test_M17_the_messenger_view_shows_formatting_never_literal_tags(client, thread):
    _conversation, contact = thread
    page = client.get(reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)]))
    assert "<b>Settings</b>" in page.text
    assert "&lt;b&gt;" not in page.text and "steal()" not in page.text


def test_M17_the_api_gives_the_html_and_its_plain_text(api_client, api_admin, thread):
    conversation, _contact = thread
    api_client.force_authenticate(api_admin.user)
    parts = api_client.get(f"/api/v1/conversations/{conversation.pk}/").json()["parts"]
    reply = parts[-1]
    assert "<b>Settings</b>" in reply["body"]
    assert reply["body_text"] == "Open Settings & help"
    assert parts[0]["body_text"] == "Hi"


def test_M17_the_demo_sample_text_keeps_its_words_when_sanitised():
    """Every HTML body of the demo keeps its visible words through the sanitiser: no tag of
    the sample text is shown literally or dropped with its words."""
    bodies = []

    def collect(value):
        if isinstance(value, str):
            bodies.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, tuple | list):
            for item in value:
                collect(item)

    collect(sample_text())
    html = [body for body in bodies if has_markup(body) and "</" in body]
    assert len(html) >= 5  # the demo does show formatted messages
    for body in html:
        assert visible_text(sanitize_html(body)).split() == visible_text(body).split(), body
