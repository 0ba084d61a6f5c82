"""M1, M2, M5 through a real SMTP server (aiosmtpd on 127.0.0.1, the `smtp` fixture): a
teammate's reply or a bot message on an email conversation reaches every contact exactly once,
queued after the commit, retried after a refusal, with a fixed Message-ID; nothing else is
ever mailed. The inbox page shows each mailed part's delivery.

In the test settings django-q2 runs tasks synchronously: the send task runs inside the reply's
on-commit callback, and a refusal (`DeliveryFailed`) comes out of it (see tests/test_smtp.py).
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from conversations import services
from conversations.models import Channel, Origin, Part
from conversations.outbox import DELIVERY_GIVE_UP, DeliveryFailed
from conversations.text import readable_text
from mail.inbound import mail_receive
from mail.models import OutboundEmail
from mail.outbound import outbound_email_send, outbound_sweep
from tests.email_channel.support import eml
from tests.factories import ContactFactory, start_conversation

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
SUBJECT = "Export is broken"


@pytest.fixture
def email_conversation(contact):
    return start_conversation(
        contacts=[contact],
        started_by=contact,
        channel=Channel.EMAIL,
        subject=SUBJECT,
        body="The export button does nothing.",
    )


def _reply(capture, conversation, author, body="Could you try again now?"):
    with capture(execute=True):
        return services.conversation_reply(conversation=conversation, author=author, body=body)


def _part_message_id(part) -> str:
    return f"<part-{part.pk}.{part.conversation_id}@testserver>"


# --- M1: replies and bot messages are mailed ----------------------------------------------------


def test_M1_a_teammate_reply_is_mailed_to_each_contact(smtp, teammate, contact, capture):
    other = ContactFactory(name="Olga Other", email="olga@example.com")
    conversation = start_conversation(
        contacts=[contact, other], started_by=contact, channel=Channel.EMAIL, subject=SUBJECT
    )
    part = _reply(capture, conversation, teammate)

    (received,) = smtp.messages
    rcpt_tos, message = received
    assert sorted(rcpt_tos) == ["cora@example.com", "olga@example.com"]
    assert sorted(a.addr_spec for a in message["To"].addresses) == sorted(rcpt_tos)
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] == _part_message_id(part)
    outbound = OutboundEmail.objects.get()
    assert (outbound.part, outbound.conversation) == (part, conversation)
    assert outbound.delivered_at is not None
    assert (outbound.delivery_attempts, outbound.last_error) == (1, "")


def test_M1_a_bot_message_is_mailed_from_the_support_address(
    smtp, email_conversation, contact, capture
):
    with capture(execute=True):
        part = services.conversation_bot_message(
            conversation=email_conversation, body="We are looking into it."
        )

    (received,) = smtp.messages
    rcpt_tos, message = received
    assert rcpt_tos == [contact.email]
    assert message["From"] == "Support <support@example.com>"
    assert message["Message-ID"] == _part_message_id(part)
    assert "We are looking into it." in message.get_body(("plain",)).get_content()
    assert OutboundEmail.objects.get().part == part


# --- M5: nothing else is mailed -----------------------------------------------------------------


def _messenger(contact):
    return start_conversation(contacts=[contact], started_by=contact, body="Hi")


NOT_MAILED = {
    "the contact's first email": lambda conversation, teammate, contact: None,
    "a note": lambda conversation, teammate, contact: services.conversation_note(
        conversation=conversation, author=teammate, body="Internal: check the logs."
    ),
    "an event": lambda conversation, teammate, contact: services.conversation_event(
        conversation=conversation, event=Part.Event.RATED, body="Rated 5"
    ),
    "a snooze": lambda conversation, teammate, contact: services.conversation_snooze(
        conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
    ),
    "the contact's own reply": lambda conversation, teammate, contact: services.conversation_reply(
        conversation=conversation, author=contact, body="Any news?"
    ),
    "a teammate reply on the Messenger": lambda conversation, teammate, contact: (
        services.conversation_reply(
            conversation=_messenger(contact), author=teammate, body="Hello from us"
        )
    ),
    "a bot message on the Messenger": lambda conversation, teammate, contact: (
        services.conversation_bot_message(conversation=_messenger(contact), body="Bot here")
    ),
    "a workflow's Messenger conversation": lambda conversation, teammate, contact: (
        start_conversation(origin=Origin.WORKFLOW, contacts=[contact], body="Did you know?")
    ),
}


@pytest.mark.parametrize("make", NOT_MAILED.values(), ids=NOT_MAILED.keys())
def test_M5_notes_events_contacts_and_messenger_parts_are_never_mailed(
    smtp, email_conversation, teammate, contact, capture, make
):
    with capture(execute=True) as callbacks:
        make(email_conversation, teammate, contact)

    assert not OutboundEmail.objects.exists()
    assert smtp.messages == []
    assert not Part.objects.filter(message_id__startswith="<part-").exists()
    assert callbacks == []  # nothing was even queued


def test_M5_the_boundary_a_workflows_email_conversation_mails_its_bot_message(smtp, contact):
    """The same start as the last case above, on the email channel: its bot part is mailed."""
    conversation = start_conversation(
        origin=Origin.WORKFLOW, channel=Channel.EMAIL, contacts=[contact], body="Did you know?"
    )
    assert OutboundEmail.objects.get().conversation == conversation


# --- M2: after the commit, exactly once ---------------------------------------------------------


def test_M2_the_email_is_queued_only_after_the_commit(smtp, email_conversation, teammate, capture):
    with capture(execute=False) as callbacks:
        part = services.conversation_reply(
            conversation=email_conversation, author=teammate, body="Queued after the commit."
        )
    outbound = OutboundEmail.objects.get()
    assert outbound.part == part
    assert outbound.delivered_at is None
    assert smtp.messages == []

    for callback in callbacks:  # the commit
        callback()
    assert len(smtp.messages) == 1
    outbound.refresh_from_db()
    assert outbound.delivered_at is not None


def test_M2_a_rolled_back_reply_leaves_no_row_and_sends_nothing(
    smtp, email_conversation, teammate, capture
):
    class Abandoned(Exception):
        pass

    with (
        capture(execute=True) as callbacks,
        pytest.raises(Abandoned),
        transaction.atomic(),
    ):
        services.conversation_reply(
            conversation=email_conversation, author=teammate, body="Never sent."
        )
        assert OutboundEmail.objects.count() == 1  # written with the reply…
        raise Abandoned

    assert not OutboundEmail.objects.exists()  # …and rolled back with it
    assert not email_conversation.parts.filter(kind=Part.Kind.REPLY, author_teammate=teammate)
    assert callbacks == []
    assert smtp.messages == []


def test_M2_it_is_delivered_exactly_once(smtp, email_conversation, teammate, capture):
    part = _reply(capture, email_conversation, teammate)
    outbound = OutboundEmail.objects.get(part=part)

    assert outbound_email_send(outbound_id=outbound.pk) == "already delivered"
    assert outbound_email_send(outbound_id=outbound.pk) == "already delivered"
    assert len(smtp.messages) == 1
    outbound.refresh_from_db()
    assert outbound.delivered_at is not None
    assert outbound.delivery_attempts == 1


def test_M2_a_refusal_is_recorded_and_the_sweep_delivers_it_once(
    smtp, email_conversation, teammate, capture, settings
):
    smtp.handler.refuse_at = "RCPT"
    with time_machine.travel(NOW, tick=False), pytest.raises(DeliveryFailed):
        _reply(capture, email_conversation, teammate)
    part = email_conversation.parts.get(author_teammate=teammate)  # committed: nothing lost
    outbound = OutboundEmail.objects.get(part=part)
    assert outbound.delivered_at is None
    assert outbound.delivery_attempts == 1
    assert outbound.last_attempt_at == NOW
    assert "451" in outbound.last_error
    assert smtp.messages == []

    smtp.handler.refuse_at = None
    grace = timedelta(seconds=settings.RATING_SWEEP_GRACE_SECONDS)
    pause = timedelta(seconds=2 * settings.RATING_DELIVERY_RETRY_SECONDS)  # after 1 attempt
    too_early = NOW + max(grace, pause) - timedelta(seconds=1)
    with time_machine.travel(too_early, tick=False):
        assert outbound_sweep(now=too_early) == 0
    assert smtp.messages == []

    due = NOW + max(grace, pause) + timedelta(seconds=1)
    with time_machine.travel(due, tick=False):
        assert outbound_sweep(now=due) == 1
        assert outbound_sweep(now=due) == 0
    (received,) = smtp.messages
    assert received[1]["Message-ID"] == _part_message_id(part)
    outbound.refresh_from_db()
    assert (outbound.delivered_at, outbound.delivery_attempts, outbound.last_error) == (
        due,
        2,
        "",
    )

    later = due + timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        assert outbound_sweep(now=later) == 0
    assert len(smtp.messages) == 1


def test_M2_the_sweep_gives_up_after_a_week(smtp, email_conversation, teammate, capture):
    with time_machine.travel(NOW, tick=False), capture(execute=False):
        services.conversation_reply(conversation=email_conversation, author=teammate, body="Hi")
    # The task was lost (never queued): the sweep is all that is left.

    last_chance = NOW + DELIVERY_GIVE_UP
    with time_machine.travel(last_chance, tick=False):
        assert outbound_sweep(now=last_chance) == 1
    assert len(smtp.messages) == 1

    OutboundEmail.objects.update(delivered_at=None, delivery_attempts=0, last_attempt_at=None)
    too_late = last_chance + timedelta(seconds=1)
    with time_machine.travel(too_late, tick=False):
        assert outbound_sweep(now=too_late) == 0
    assert len(smtp.messages) == 1


def test_M2_the_message_id_is_fixed_per_part_and_the_same_when_sent_again(
    smtp, email_conversation, teammate, capture
):
    smtp.handler.refuse_at = "DATA"
    with pytest.raises(DeliveryFailed):
        _reply(capture, email_conversation, teammate, body="First")
    first = email_conversation.parts.get(body="First")
    assert first.message_id == _part_message_id(first)  # fixed before any attempt
    smtp.handler.refuse_at = None
    outbound = OutboundEmail.objects.get(part=first)
    assert outbound_email_send(outbound_id=outbound.pk).startswith("emailed to")

    # A crash after the hand-over, before it was recorded: it goes out again, as itself.
    OutboundEmail.objects.filter(pk=outbound.pk).update(delivered_at=None)
    outbound_email_send(outbound_id=outbound.pk)
    second = _reply(capture, email_conversation, teammate, body="Second")

    ids = [message["Message-ID"] for _rcpts, message in smtp.messages]
    assert ids == [first.message_id, first.message_id, _part_message_id(second)]
    assert first.message_id != second.message_id


# --- what the email holds -----------------------------------------------------------------------

HOSTILE = (
    '<p>Hello <b>Cora</b>,</p><p>Try <a href="https://example.com/help">the help page</a>.</p>'
    '<script>alert("s")</script><img src="https://tracker.example/p.gif" onerror="alert(1)">'
    '<a href="javascript:alert(2)">more</a>'
)


def test_M1_the_email_has_the_sanitised_html_and_the_readable_text(
    smtp, email_conversation, teammate, capture
):
    part = _reply(capture, email_conversation, teammate, body=HOSTILE)

    ((_rcpts, message),) = smtp.messages
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "<p>Hello <b>Cora</b>,</p>" in html
    assert 'href="https://example.com/help"' in html
    assert readable_text(part.body) == "Hello Cora,\n\nTry the help page.\n\nmore"
    assert readable_text(part.body) in text
    assert "Tess Mate · Support" in text
    for hostile in ("<script", "alert", "onerror", "javascript:", "tracker.example", "<img"):
        assert hostile not in html
        assert hostile not in text
    assert "<b>" not in text


def test_M1_a_subject_typed_with_line_breaks_is_one_header_line(smtp, contact, teammate, capture):
    conversation = start_conversation(
        contacts=[contact], started_by=contact, channel=Channel.EMAIL, subject="Line\r\nBcc: x"
    )
    _reply(capture, conversation, teammate)
    ((rcpt_tos, message),) = smtp.messages
    assert message["Subject"] == "Line Bcc: x"
    assert message["Bcc"] is None
    assert rcpt_tos == [contact.email]


# --- the inbox page: each mailed part's delivery ------------------------------------------------


def _page(client, conversation) -> str:
    response = client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_M2_the_inbox_page_shows_queued_refused_then_emailed(
    smtp, email_conversation, teammate, client, capture
):
    client.force_login(teammate.user)
    assert "conv-mail" not in _page(client, email_conversation)  # nothing mailed yet

    with capture(execute=False):
        services.conversation_reply(conversation=email_conversation, author=teammate, body="Hi")
    assert "Email queued" in _page(client, email_conversation)

    smtp.handler.refuse_at = "RCPT"
    outbound = OutboundEmail.objects.get()
    with pytest.raises(DeliveryFailed):
        outbound_email_send(outbound_id=outbound.pk)
    page = _page(client, email_conversation)
    assert "Not emailed yet (1 attempts): SMTPRecipientsRefused" in page
    assert "451" in page
    assert "Emailed" not in page

    smtp.handler.refuse_at = None
    outbound_email_send(outbound_id=outbound.pk)
    page = _page(client, email_conversation)
    assert '<span class="conv-mail conv-mail-sent">Emailed ' in page
    assert "Not emailed yet" not in page


def test_M11_the_inbox_page_shows_a_bounce(smtp, email_conversation, teammate, client, capture):
    part = _reply(capture, email_conversation, teammate)
    bounce = eml(
        sender="Mail Delivery System <MAILER-DAEMON@mx.example.net>",
        subject="Undelivered Mail Returned to Sender",
        text="This is the mail system.\n\n<cora@example.com>: mailbox unavailable",
        references=part.message_id,
    )
    assert mail_receive(message=bounce).outcome == "ignored"

    client.force_login(teammate.user)
    page = _page(client, email_conversation)
    assert "Bounced " in page
    assert "mailbox unavailable" in page
    assert "Emailed" not in page
