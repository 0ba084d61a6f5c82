"""A conversation played by mail alone (M1–M9, M16): the customer writes in through the email
provider's webhook, a teammate answers in the admin, the answer reaches a real SMTP server,
the customer's mail client replies with the history quoted, the teammate closes, the survey
arrives in the same thread, and one click on it records the rating."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from django.test import Client, override_settings

from conversations.models import Conversation, Part, State
from ratings.models import Rating
from tests.admin_inbox.support import act_url, change_url
from tests.email_channel.support import eml, reply_to

SIGNING_KEY = "key-for-the-tests-0123456789"
LINK = re.compile(r"http://testserver(/rate/[^/\s\"]+/)")


def _post_to_webhook(client, raw: bytes):
    """The message as Mailgun posts it to a "store and forward" route: the raw MIME, signed."""
    timestamp, token = "1741597200", "a" * 50
    signature = hmac.new(
        SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    data = {
        "body-mime": raw.decode(),
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        "recipient": "support@example.com",
        "sender": "ann@example.com",
    }
    response = client.post("/inbound/mailgun/mime/", data)
    assert response.status_code == 200, response.content


@pytest.mark.django_db(transaction=True)
@override_settings(INBOUND_ESP="mailgun", ANYMAIL={"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY})
def test_M1_to_M9_a_whole_conversation_by_mail(client, smtp, api_admin):
    # A superuser teammate: a transactional test flushes the groups the migrations made.
    teammate = api_admin
    # 1. The customer writes to the support address.
    _post_to_webhook(client, eml(message_id="<ann-1@client.example.net>"))
    conversation = Conversation.objects.get()
    assert conversation.channel == "email"

    # 2. A teammate answers in the admin; the answer goes out by SMTP, threaded (M1, M3, M4).
    staff = Client()
    staff.force_login(teammate.user)
    assert staff.get(change_url(conversation)).status_code == 200
    answer = "Thanks Ann. " + "We found the cause and fixed the export for you. " * 6
    response = staff.post(act_url(conversation, "reply"), {"body": answer})
    assert response.status_code == 302
    ((rcpts, first),) = smtp.messages
    assert rcpts == ["ann@example.com"]
    assert first["From"] == f"{teammate.name} via Support <support@example.com>"
    assert first["In-Reply-To"] == "<ann-1@client.example.net>"
    assert first["Subject"] == "Re: My export is broken"
    assert "Emailed" in staff.get(change_url(conversation)).text

    # 3. The customer's client replies, quoting; only the new text joins the thread (M6, M7).
    sent = _as_django_message(first)
    _post_to_webhook(client, reply_to(sent, text="It works now, thank you!"))
    latest = conversation.parts.order_by("pk").last()
    assert (latest.kind, latest.body) == (Part.Kind.REPLY, "It works now, thank you!")
    assert latest.author_contact.email == "ann@example.com"

    # 4. The teammate closes: the survey arrives in the same thread (D1, M3).
    staff.post(act_url(conversation, "close"))
    conversation.refresh_from_db()
    assert conversation.state == State.CLOSED
    assert len(smtp.messages) == 2
    _rcpts, survey = smtp.messages[-1]
    assert survey["In-Reply-To"] == latest.message_id
    references = survey["References"].split()
    assert references[0] == "<ann-1@client.example.net>"
    assert first["Message-ID"] in references

    # 5. One click on "Amazing" records the rating; the mail thread is unchanged by it.
    links = LINK.findall(survey.get_body(("plain",)).get_content())
    assert len(links) == 5
    customer = Client()
    assert customer.post(links[4], {"value": 5}).status_code == 303
    rating = Rating.objects.get()
    assert (rating.value, rating.conversation, rating.teammate) == (5, conversation, teammate)
    assert len(smtp.messages) == 2


def _as_django_message(parsed):
    """What `reply_to` needs of a sent message: its headers and its text."""

    class Sent:
        body = parsed.get_body(("plain",)).get_content()

        def message(self):
            return parsed

    return Sent()
