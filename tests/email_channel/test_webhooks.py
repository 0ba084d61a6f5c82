"""M16: customers' mail posted by the email provider, through django-anymail's own inbound views
(`/inbound/<esp>/`), the posts shaped as each provider sends them: SendGrid's Inbound Parse
with "Send Raw" (a multipart form whose `email` field is the raw MIME) behind HTTP basic auth,
Mailgun's forward (`body-mime`, signed with HMAC-SHA256 of timestamp and token). Only the
provider INBOUND_ESP names answers; a post anymail refuses creates nothing; a message that
cannot be a part is still a 200 (kept in the Inbound failures, M13), so the provider does not
post it again and again; the same message posted twice is one part (M10).

anymail reads its settings when a view is made, and Django makes the view for each request
(`View.as_view`), so `settings` overrides here reach it without any cache to clear.
"""

import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client

from conversations.models import Contact, Conversation, Part
from mail.models import InboundFailure
from tests.email_channel.support import eml

SECRET = "anymail-user:s3cret-pass"
SIGNING_KEY = "key-0123456789abcdef0123456789abcdef"
MESSAGE_ID = "<webhook.1@client.example.net>"

pytestmark = pytest.mark.filterwarnings(
    # anymail 15 warns that it no longer supports SendGrid officially; its view still works.
    "ignore::anymail.exceptions.AnymailNotSupportedWarning"
)


@pytest.fixture
def esp(db):
    """A client as a provider is: no session, no CSRF token."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def sendgrid(settings):
    settings.INBOUND_ESP = "sendgrid"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


@pytest.fixture
def mailgun(settings):
    settings.INBOUND_ESP = "mailgun"
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def _basic(credentials: str) -> dict:
    token = base64.b64encode(credentials.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def _message(**fields) -> bytes:
    fields = {"message_id": MESSAGE_ID, **fields}
    return eml(sender="Ann Customer <ann@example.com>", **fields)


def sendgrid_post(raw: bytes) -> dict:
    """SendGrid Inbound Parse, "POST the raw, full MIME message" checked: its form fields."""
    return {
        "email": raw.decode("utf-8"),
        "to": "support@example.com",
        "from": "Ann Customer <ann@example.com>",
        "subject": "My export is broken",
        "sender_ip": "203.0.113.7",
        "envelope": json.dumps({"to": ["support@example.com"], "from": "ann@example.com"}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        "dkim": "{@example.com : pass}",
        "SPF": "pass",
        "spam_score": "0.1",
        "spam_report": "Spam detection software has NOT identified this as spam.",
    }


def mailgun_post(raw: bytes, *, key: str = SIGNING_KEY, token: str = "a" * 50) -> dict:
    """Mailgun's forward() to a URL ending in "mime": the raw message and the signature."""
    timestamp = "1741597200"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "recipient": "support@example.com",
        "sender": "ann@example.com",
        "from": "Ann Customer <ann@example.com>",
        "subject": "My export is broken",
        "body-mime": raw.decode("utf-8"),
        "timestamp": timestamp,
        "token": token,
        "signature": signature.hexdigest(),
    }


def _nothing_taken_in():
    assert not Conversation.objects.exists()
    assert not Part.objects.exists()
    assert not Contact.objects.exists()
    assert not InboundFailure.objects.exists()


# --- SendGrid: basic auth -----------------------------------------------------------------------


def test_M16_sendgrid_raw_mime_with_basic_auth_starts_a_conversation(esp, sendgrid):
    response = esp.post("/inbound/sendgrid/", sendgrid_post(_message()), **_basic(SECRET))

    assert response.status_code == 200
    part = Part.objects.get()
    assert part.message_id == MESSAGE_ID
    assert part.body == "Hello, the export button does nothing."
    conversation = part.conversation
    assert (conversation.channel, conversation.subject) == ("email", "My export is broken")
    assert [c.email for c in conversation.contacts.all()] == ["ann@example.com"]
    assert not InboundFailure.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _basic("anymail-user:wrong"),
        _basic("someone:s3cret-pass"),
        {"HTTP_AUTHORIZATION": f"Bearer {SECRET}"},
        {"HTTP_AUTHORIZATION": "Basic not-base64!"},
    ],
    ids=["none", "wrong password", "wrong user", "not basic", "garbled"],
)
def test_M16_sendgrid_without_the_right_credentials_is_refused_and_takes_nothing(
    esp, sendgrid, headers
):
    response = esp.post("/inbound/sendgrid/", sendgrid_post(_message()), **headers)

    assert response.status_code == 400  # anymail's AnymailWebhookValidationFailure
    _nothing_taken_in()


def test_M13_an_authenticated_post_anymail_cannot_read_is_a_200_and_kept(esp, sendgrid):
    """Neither `email` nor `headers`: anymail's parser raises (a KeyError). Answered 200, or
    the provider would post it again for days; the post is kept as it came."""
    post = {"to": "support@example.com", "subject": "Odd post"}
    response = esp.post("/inbound/sendgrid/", post, **_basic(SECRET))

    assert response.status_code == 200
    assert not Part.objects.exists()
    failure = InboundFailure.objects.get()
    assert failure.source == InboundFailure.Source.WEBHOOK
    assert failure.reason.startswith("The sendgrid post could not be read: KeyError")
    with failure.raw.open("rb") as kept:
        assert b'name="subject"\r\n\r\nOdd post' in kept.read()


def _nested(depth: int) -> bytes:
    raw = b"From: ann@example.com\r\nSubject: Deep\r\n"
    for level in range(depth):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    return raw + b"Content-Type: text/plain\r\n\r\ndeep\r\n"


@pytest.mark.parametrize("provider", ["sendgrid", "mailgun"])
def test_M13_a_message_the_parser_chokes_on_is_a_200_and_kept(esp, settings, provider):
    """3000 nested multiparts: Python's email parser runs out of recursion inside anymail's
    view, before any signal."""
    settings.INBOUND_ESP = provider
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    raw = _nested(3000)
    post = sendgrid_post(raw) if provider == "sendgrid" else mailgun_post(raw)

    response = esp.post(f"/inbound/{provider}/", post, **_basic(SECRET))

    assert response.status_code == 200
    failure = InboundFailure.objects.get()
    assert failure.reason.startswith(f"The {provider} post could not be read: RecursionError")
    with failure.raw.open("rb") as kept:
        content = kept.read()
    # SendGrid's view reads the body first, so it is kept whole; Mailgun's, its form fields.
    assert (raw if provider == "sendgrid" else b"body-mime=From%3A+ann%40example.com") in content
    assert not Part.objects.exists()


# --- only the chosen provider -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/inbound/mailgun/", "/inbound/mailgun/mime/", "/inbound/postmark/", "/inbound/nosuch/"],
)
def test_M16_another_provider_than_the_chosen_one_is_a_404(esp, sendgrid, path):
    response = esp.post(path, mailgun_post(_message()), **_basic(SECRET))

    assert response.status_code == 404
    _nothing_taken_in()


def test_M16_with_no_provider_chosen_every_inbound_address_is_a_404(esp, settings):
    settings.INBOUND_ESP = ""
    response = esp.post("/inbound/sendgrid/", sendgrid_post(_message()), **_basic(SECRET))
    assert response.status_code == 404
    _nothing_taken_in()


def test_M16_a_get_is_not_a_post(esp, sendgrid):
    assert esp.get("/inbound/sendgrid/", **_basic(SECRET)).status_code == 405
    _nothing_taken_in()


# --- Mailgun: the signature ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/inbound/mailgun/", "/inbound/mailgun/mime/"])
def test_M16_mailgun_signed_with_the_signing_key_is_taken_in(esp, mailgun, path):
    response = esp.post(path, mailgun_post(_message()))

    assert response.status_code == 200
    part = Part.objects.get()
    assert part.message_id == MESSAGE_ID
    assert part.conversation.contacts.get().email == "ann@example.com"


TAMPERED = {
    "signed with another key": {"signature": mailgun_post(b"", key="key-other")["signature"]},
    "another token": {"token": "b" * 50},
    "another timestamp": {"timestamp": "1741597201"},
}


@pytest.mark.parametrize("change", TAMPERED.values(), ids=TAMPERED.keys())
def test_M16_mailgun_with_a_wrong_signature_is_refused_and_takes_nothing(esp, mailgun, change):
    response = esp.post("/inbound/mailgun/mime/", {**mailgun_post(_message()), **change})

    assert response.status_code == 400
    _nothing_taken_in()


@pytest.mark.parametrize("field", ["signature", "token", "timestamp"])
def test_M16_mailgun_without_its_security_fields_is_refused(esp, mailgun, field):
    post = mailgun_post(_message())
    del post[field]
    response = esp.post("/inbound/mailgun/mime/", post)

    assert response.status_code == 400
    _nothing_taken_in()


def test_M16_mailgun_and_basic_auth_both_checked_when_both_are_set(esp, mailgun, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": SECRET}
    assert esp.post("/inbound/mailgun/mime/", mailgun_post(_message())).status_code == 400
    _nothing_taken_in()

    signed = mailgun_post(_message())
    assert esp.post("/inbound/mailgun/mime/", signed, **_basic(SECRET)).status_code == 200
    assert Part.objects.count() == 1


# --- what becomes of the message ----------------------------------------------------------------


def test_M10_the_same_message_posted_twice_is_one_part(esp, mailgun):
    """A provider that did not get its 200 in time posts the message again (Mailgun's retry
    comes with a new token)."""
    first = esp.post("/inbound/mailgun/mime/", mailgun_post(_message(), token="t" * 50))
    again = esp.post("/inbound/mailgun/mime/", mailgun_post(_message(), token="u" * 50))

    assert (first.status_code, again.status_code) == (200, 200)
    assert Part.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert not InboundFailure.objects.exists()


def test_M10_sendgrid_posting_twice_is_one_part(esp, sendgrid):
    for _ in range(2):
        response = esp.post("/inbound/sendgrid/", sendgrid_post(_message()), **_basic(SECRET))
        assert response.status_code == 200
    assert Part.objects.count() == 1


def test_M13_a_message_that_cannot_be_a_part_is_a_200_and_kept(esp, sendgrid):
    raw = _message(text="   ")  # nothing to say: no part can be made of it
    response = esp.post("/inbound/sendgrid/", sendgrid_post(raw), **_basic(SECRET))

    assert response.status_code == 200
    assert not Part.objects.exists()
    failure = InboundFailure.objects.get()
    assert failure.source == InboundFailure.Source.WEBHOOK
    assert failure.reason == "The message is empty."
    assert failure.sender == "Ann Customer <ann@example.com>"
    with failure.raw.open("rb") as kept:
        assert MESSAGE_ID.encode() in kept.read()


def test_M13_a_message_without_a_sender_is_a_200_and_kept(esp, mailgun):
    raw = b"To: support@example.com\r\nSubject: Who am I\r\n\r\nNo From header at all.\r\n"
    response = esp.post("/inbound/mailgun/mime/", mailgun_post(raw))

    assert response.status_code == 200
    failure = InboundFailure.objects.get()
    assert failure.source == InboundFailure.Source.WEBHOOK
    assert failure.reason.startswith("It has no valid sender address")
    assert failure.subject == "Who am I"
    assert not Part.objects.exists()
