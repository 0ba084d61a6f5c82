"""M11, M12, M13: mail no person wrote, our own mail fetched back, and mail that is broken — a
corpus built here, as bytes. Auto-replies and list mail never open, reopen or answer anything;
a bounce is recorded on the reply or the survey it reports on; our own messages are ignored;
whatever cannot be a part is kept raw with the reason, never an exception, and can be retried
from the admin once its cause is fixed.
"""

import pytest
from django.core import mail

from conversations import services
from conversations.models import Contact, Conversation
from mail.addresses import reply_address
from mail.inbound import mail_receive
from mail.models import InboundFailure, OutboundEmail
from ratings.models import RatingRequest
from tests.email_channel.support import eml
from tests.outbox import replies, surveys

CORA = "Cora User <cora@example.com>"
LONG_REPLY = "We found the cause and fixed it. " * 9  # > 250 visible characters (E3)


@pytest.fixture
def answered(contact, teammate, capture):
    """A conversation Cora started by mail, answered by mail, then closed (too short for a
    survey): what an out-of-office or a bounce would answer."""
    conversation = mail_receive(message=eml(sender=CORA)).part.conversation
    with capture(execute=True):
        services.conversation_reply(conversation=conversation, author=teammate, body="Fixed.")
        services.conversation_close(conversation=conversation, by=teammate)
    assert len(replies()) == 1 and surveys() == []
    return conversation


def _answering(conversation, **fields) -> bytes:
    """A message from Cora's side answering our reply, by its headers and its address."""
    ours = OutboundEmail.objects.get(conversation=conversation).part.message_id
    fields.setdefault("sender", CORA)
    return eml(
        to=reply_address(conversation.pk),
        subject="Re: My export is broken",
        in_reply_to=ours,
        references=ours,
        **fields,
    )


def _unchanged(conversation, parts: int):
    conversation.refresh_from_db()
    assert conversation.state == "closed"
    assert conversation.parts.count() == parts
    assert Conversation.objects.count() == 1
    assert OutboundEmail.objects.count() == 1
    assert len(mail.outbox) == 1


# --- M11: auto-replies and list mail ------------------------------------------------------------

AUTOMATIC = {
    "auto-replied": {"Auto-Submitted": "auto-replied"},
    "auto-generated": {"Auto-Submitted": "auto-generated"},
    "auto-replied with a parameter": {"Auto-Submitted": "Auto-Replied; owner-email=x@y.z"},
    "precedence bulk": {"Precedence": "bulk"},
    "precedence junk": {"Precedence": "junk"},
    "precedence list": {"Precedence": "list"},
    "X-Autoreply": {"X-Autoreply": "yes"},
    "X-Autorespond": {"X-Autorespond": "Out of office"},
    "List-Id": {"List-Id": "Customers <customers.lists.example.com>"},
    "List-Unsubscribe": {"List-Unsubscribe": "<mailto:leave@lists.example.com>"},
}


@pytest.mark.parametrize("headers", AUTOMATIC.values(), ids=AUTOMATIC.keys())
def test_M11_an_auto_reply_never_reopens_or_answers_anything(answered, headers, capture):
    parts = answered.parts.count()
    with capture(execute=True):
        received = mail_receive(
            message=_answering(answered, text="I am out of the office.", headers=headers)
        )

    assert (received.outcome, received.part) == ("ignored", None)
    assert "M11" in received.reason
    _unchanged(answered, parts)


@pytest.mark.parametrize("headers", AUTOMATIC.values(), ids=AUTOMATIC.keys())
def test_M11_an_auto_reply_never_starts_a_conversation(db, headers, capture):
    with capture(execute=True):
        received = mail_receive(message=eml(sender="robot@example.net", headers=headers))

    assert received.outcome == "ignored"
    assert not Conversation.objects.exists()
    assert not Contact.objects.exists()
    assert not InboundFailure.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "no"}, {"Auto-Submitted": "No; reason=human"}, {"Precedence": "normal"}],
    ids=["Auto-Submitted no", "no with a parameter", "precedence normal"],
)
def test_M11_the_boundary_a_message_a_person_wrote_reopens_it(answered, headers):
    received = mail_receive(message=_answering(answered, text="Still broken.", headers=headers))

    assert (received.outcome, received.part.conversation) == ("joined", answered)
    answered.refresh_from_db()
    assert answered.state == "open"


# --- M11: bounces -------------------------------------------------------------------------------

DSN_TEXT = "This is the mail system at host mx.example.net.\r\n\r\n<cora@example.com>: 550 5.1.1 "


def _original(message_id: str) -> str:
    return (
        "From: Tess Mate via Support <support@example.com>\r\nTo: cora@example.com\r\n"
        f"Subject: Re: My export is broken\r\nMessage-ID: {message_id}\r\n"
    )


def dsn(message_id: str, *, returned: str = "message/rfc822", sender: str = "") -> bytes:
    """A delivery status notification (RFC 3464): a multipart/report with the human-readable
    part, the machine-readable one, and the returned message (or only its headers)."""
    boundary = "dsn.0123.mx.example.net"
    original = _original(message_id)
    if returned == "message/rfc822":
        original += "\r\nFixed.\r\n"
    return (
        f"From: {sender or 'Mail Delivery System <MAILER-DAEMON@mx.example.net>'}\r\n"
        "To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn.1@mx.example.net>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"{DSN_TEXT}User unknown\r\n\r\n--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; cora@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"\r\n--{boundary}\r\nContent-Type: {returned}\r\n\r\n{original}\r\n--{boundary}--\r\n"
    ).encode()


def _bounces(message_id: str) -> dict[str, bytes]:
    return {
        "report with the message": dsn(message_id),
        "report with its headers": dsn(
            message_id, returned="text/rfc822-headers", sender="Delivery <mta@mx.example.net>"
        ),
        "null return path": eml(
            sender="Delivery <mta@mx.example.net>",
            headers={"Return-Path": "<>"},
            text=f"{DSN_TEXT}User unknown",
            references=message_id,
        ),
        "from the mailer daemon": eml(
            sender="MAILER-DAEMON@mx.example.net",
            text=f"{DSN_TEXT}User unknown",
            attachments=[("original.txt", "text/rfc822-headers", _original(message_id).encode())],
        ),
    }


BOUNCE_KINDS = list(_bounces("<x@y>"))


@pytest.mark.parametrize("kind", BOUNCE_KINDS)
def test_M11_a_bounce_of_a_reply_is_recorded_on_its_email(answered, kind):
    outbound = OutboundEmail.objects.get(conversation=answered)
    parts = answered.parts.count()

    received = mail_receive(message=_bounces(outbound.part.message_id)[kind])

    assert received.outcome == "ignored"
    outbound.refresh_from_db()
    assert outbound.bounced_at is not None
    assert "User unknown" in outbound.bounce
    assert outbound.delivered_at is not None  # it was delivered: to an address that bounced
    _unchanged(answered, parts)
    assert not Contact.objects.exclude(email="cora@example.com").exists()


def test_M11_a_bounce_of_a_survey_is_recorded_on_its_request(contact, teammate, capture):
    conversation = mail_receive(message=eml(sender=CORA)).part.conversation
    with capture(execute=True):
        services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
        services.conversation_close(conversation=conversation, by=teammate)
    (survey,) = surveys()
    request = RatingRequest.objects.get(conversation=conversation)
    assert survey.extra_headers["Message-ID"] == (
        f"<rating-request-{request.pk}.{conversation.pk}@testserver>"
    )

    assert mail_receive(message=dsn(survey.extra_headers["Message-ID"])).outcome == "ignored"

    request.refresh_from_db()
    assert request.bounced_at is not None
    assert "User unknown" in request.bounce
    # Only what the bounce names: the reply before the survey is not marked.
    assert OutboundEmail.objects.get(conversation=conversation).bounced_at is None


def test_M11_a_bounce_of_something_we_never_sent_marks_nothing(answered):
    received = mail_receive(message=dsn("<someone-else.1@mail.example.org>"))

    assert received.outcome == "ignored"
    assert not OutboundEmail.objects.filter(bounced_at__isnull=False).exists()
    assert not RatingRequest.objects.filter(bounced_at__isnull=False).exists()
    assert not InboundFailure.objects.exists()


# --- M12: our own messages, fetched back --------------------------------------------------------


def _own_messages(conversation) -> dict[str, bytes]:
    (sent,) = replies()
    return {
        "the reply we mailed": sent.message().as_bytes(),
        "a part's Message-ID": eml(
            sender=CORA, message_id=f"<part-999.{conversation.pk}@testserver>"
        ),
        "a survey's Message-ID": eml(sender=CORA, message_id="<rating-request-7.7@TESTSERVER>"),
        "from the support address": eml(sender="Support <support@example.com>"),
        "from a plus-address": eml(sender=f"Support <{reply_address(conversation.pk).upper()}>"),
        "our marker header": eml(sender=CORA, headers={"X-CSAT-Conversation": "1"}),
    }


OWN_KINDS = [
    "the reply we mailed",
    "a part's Message-ID",
    "a survey's Message-ID",
    "from the support address",
    "from a plus-address",
    "our marker header",
]


@pytest.mark.parametrize("kind", OWN_KINDS)
def test_M12_our_own_messages_fetched_back_are_ignored(answered, kind):
    parts = answered.parts.count()

    received = mail_receive(message=_own_messages(answered)[kind])

    assert (received.outcome, received.part, received.failure) == ("ignored", None, None)
    assert "M12" in received.reason
    _unchanged(answered, parts)


def test_M12_the_boundary_another_installations_part_id_is_a_customers_message(db):
    received = mail_receive(message=eml(message_id="<part-1.1@helpdesk.example.org>"))
    assert received.outcome == "created"
    assert received.part.message_id == "<part-1.1@helpdesk.example.org>"
