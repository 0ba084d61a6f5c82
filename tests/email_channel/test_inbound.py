"""Customers' mail into conversations through `mail_receive` (M6–M10, M12): which
conversation a message joins, what it says, what it wakes, and what is never received twice.
The IMAP and webhook paths feed the same service (test_imap.py, test_webhooks.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from conversations import clock, services
from conversations.models import Channel, Contact, Conversation, Origin, Part, State
from conversations.text import visible_characters
from mail.inbound import mail_receive
from mail.models import InboundFailure
from ratings.models import Rating, RatingDecision, RatingRequest
from tests.email_channel.support import SUPPORT, eml, reply_to, to_conversation
from tests.factories import ContactFactory, start_conversation
from tests.outbox import replies, surveys

# Replies are mailed, and closes decided, once their transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)


def _received(raw: bytes):
    result = mail_receive(message=raw)
    assert result.outcome in ("created", "joined"), result
    return result


@pytest.fixture
def by_mail(teammate):
    """A conversation a customer started by mail, answered by a teammate (mailed back)."""
    first = _received(eml(message_id="<first@client.example.net>"))
    conversation = first.part.conversation
    services.conversation_reply(conversation=conversation, author=teammate, body="Try now.")
    (sent,) = replies()
    return conversation, sent


# --- M6: a new conversation, or the one it answers ----------------------------------------------


def test_M6_mail_from_an_unknown_address_starts_a_conversation_with_a_new_lead():
    result = _received(eml(sender="Bea Buyer <bea@example.org>", subject="Invoice  wrong"))
    conversation = result.part.conversation
    assert result.outcome == "created"
    assert (conversation.channel, conversation.origin) == (Channel.EMAIL, Origin.CUSTOMER)
    assert conversation.subject == "Invoice wrong"
    (contact,) = conversation.contacts.all()
    assert (contact.role, contact.name, contact.email) == (
        Contact.Role.LEAD,
        "Bea Buyer",
        "bea@example.org",
    )
    assert result.part.author_contact == contact
    assert result.part.message_id.endswith("@client.example.net>")


def test_M6_mail_from_a_known_address_is_that_contact_whatever_its_case():
    user = ContactFactory(role=Contact.Role.USER, email="ann@example.com")
    result = _received(eml(sender="Ann <ANN@Example.com>"))
    assert list(result.part.conversation.contacts.all()) == [user]
    assert Contact.objects.count() == 1


def test_M6_a_reply_joins_by_in_reply_to(by_mail):
    conversation, sent = by_mail
    result = _received(reply_to(sent, text="Still broken."))
    assert (result.outcome, result.conversation_id) == ("joined", conversation.pk)


def test_M6_a_reply_joins_by_references_when_in_reply_to_is_unknown(by_mail):
    conversation, sent = by_mail
    raw = eml(
        subject="Re: anything",
        in_reply_to="<unknown@elsewhere.example>",
        references=f"<first@client.example.net> {sent.message()['Message-ID']}",
    )
    result = _received(raw)
    assert (result.outcome, result.conversation_id) == ("joined", conversation.pk)


def test_M6_without_threading_headers_the_signed_reply_address_joins(by_mail):
    conversation, _sent = by_mail
    result = _received(to_conversation(conversation, subject="new subject", text="Hi again"))
    assert (result.outcome, result.conversation_id) == ("joined", conversation.pk)


def test_M6_a_forged_reply_address_starts_a_new_conversation(by_mail):
    conversation, _sent = by_mail
    forged = f"support+c{conversation.pk}.0000000000000000@example.com"
    result = _received(eml(to=forged, text="Let me in"))
    assert result.outcome == "created"
    assert result.conversation_id != conversation.pk


def test_M6_a_reply_from_someone_outside_the_conversation_starts_its_own(by_mail):
    conversation, sent = by_mail
    result = _received(reply_to(sent, text="I saw this", sender="Eve <eve@example.org>"))
    assert result.outcome == "created"
    assert result.conversation_id != conversation.pk
    assert conversation.parts.filter(author_contact__email="eve@example.org").count() == 0


def test_M6_a_messenger_conversation_is_never_joined_by_mail(teammate):
    contact = ContactFactory(email="ann@example.com")
    chat = start_conversation(contacts=[contact], started_by=contact, body="Hi in chat")
    result = _received(to_conversation(chat, text="Following up by mail"))
    assert result.outcome == "created"
    assert result.part.conversation.channel == Channel.EMAIL
    assert chat.parts.count() == 1


# --- M7: what the part says -----------------------------------------------------------------------


def test_M7_the_quoted_history_is_stripped(by_mail):
    _conversation, sent = by_mail
    result = _received(reply_to(sent, text="It works now, thanks!"))
    assert result.part.body == "It works now, thanks!"
    assert "Try now." not in result.part.body


def test_M7_html_is_sanitised_and_E3_counts_its_visible_text():
    html = (
        '<p onclick="x()">Hello <b>team</b> &amp; co</p><script>alert(1)</script>'
        '<a href="javascript:alert(2)">link</a><img src="https://tracker.example/p.gif">'
    )
    result = _received(eml(text=None, html=html))
    body = result.part.body
    assert "<b>team</b>" in body
    for gone in ("onclick", "script", "alert", "javascript:", "<img", "tracker"):
        assert gone not in body
    assert visible_characters(body) == len("Hello team & colink")


def test_M7_E3a_plain_text_is_kept_as_text_and_shown_escaped_with_its_lines():
    result = _received(eml(text="a <b> & c\nsecond line"))
    part = result.part
    assert (part.body, part.body_format) == ("a <b> & c\nsecond line", "text")
    assert part.html == "a &lt;b&gt; &amp; c<br>\nsecond line"
    assert visible_characters(part.body, part.body_format) == len("a <b> & c\nsecond line")


# --- M8, M9: reopen, wake; a reply to the survey is a reply ---------------------------------------


def test_M8_mail_to_a_closed_conversation_reopens_it_and_E6_sends_no_second_survey(
    by_mail, teammate
):
    conversation, _sent = by_mail
    services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    services.conversation_close(conversation=conversation, by=teammate)
    assert len(surveys()) == 1
    result = _received(to_conversation(conversation, text="One more question"))
    conversation.refresh_from_db()
    assert result.outcome == "joined"
    assert conversation.state == State.OPEN
    services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    services.conversation_close(conversation=conversation, by=teammate)
    assert len(surveys()) == 1
    assert RatingRequest.objects.filter(conversation=conversation).count() == 1
    rules = RatingDecision.objects.filter(conversation=conversation).order_by("pk")
    assert list(rules.values_list("rule", flat=True)) == ["", "E6"]


def test_M8_mail_to_a_snoozed_conversation_wakes_it_Z3(by_mail, teammate):
    conversation, _sent = by_mail
    services.conversation_snooze(
        conversation=conversation, by=teammate, until=clock.now() + timedelta(days=2)
    )
    _received(to_conversation(conversation, text="Any news?"))
    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.OPEN, None)


def test_M9_a_text_reply_to_the_survey_is_a_reply_never_a_rating(by_mail, teammate):
    conversation, _sent = by_mail
    services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    services.conversation_close(conversation=conversation, by=teammate)
    (survey,) = surveys()
    assert survey.message()["In-Reply-To"]  # the survey is in the thread (M3)
    result = _received(reply_to(survey, text="5 - great"))
    assert (result.outcome, result.conversation_id) == ("joined", conversation.pk)
    assert result.part.kind == Part.Kind.REPLY
    assert Rating.objects.count() == 0


# --- M10, M12: never twice, never our own -----------------------------------------------


def test_M10_the_same_message_twice_is_one_part(by_mail):
    conversation, sent = by_mail
    raw = reply_to(sent, text="Sent twice by a retrying provider")
    first, again = mail_receive(message=raw), mail_receive(message=raw)
    assert (first.outcome, again.outcome) == ("joined", "duplicate")
    assert again.part == first.part
    assert conversation.parts.filter(message_id=first.part.message_id).count() == 1


def test_M10_a_message_without_a_message_id_is_still_recognised():
    raw = eml().replace(b"Message-ID:", b"X-Old-Message-ID:")
    first, again = mail_receive(message=raw), mail_receive(message=raw)
    assert (first.outcome, again.outcome) == ("created", "duplicate")
    assert Conversation.objects.count() == 1


def test_M12_our_own_messages_fetched_back_are_ignored(by_mail):
    conversation, sent = by_mail
    count = Part.objects.count()
    ours = sent.message().as_bytes()
    result = mail_receive(message=ours)
    assert (result.outcome, "M12" in result.reason) == ("ignored", True)
    from_support = mail_receive(message=eml(sender=f"Support <{SUPPORT}>"))
    assert from_support.outcome == "ignored"
    assert Part.objects.count() == count
    assert len(mail.outbox) == 1  # nothing answered back


def test_M13_a_message_with_no_sender_is_kept_with_its_reason():
    result = mail_receive(message=eml(sender="not an address"))
    assert result.outcome == "failed"
    failure = InboundFailure.objects.get()
    assert "sender" in failure.reason
    with failure.raw.open("rb") as stored:
        assert b"not an address" in stored.read()
    assert Conversation.objects.count() == 0


# --- manage.py mail_receive ---------------------------------------------------------------


def test_the_mail_receive_command_takes_a_file_and_standard_input(tmp_path, monkeypatch, capsys):
    import io
    import sys

    from django.core.management import CommandError, call_command

    path = tmp_path / "message.eml"
    path.write_bytes(eml())
    call_command("mail_receive", str(path))
    assert "new conversation #" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    call_command("mail_receive")
    assert "already received" in capsys.readouterr().out
    with pytest.raises(CommandError, match="empty"):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
        call_command("mail_receive")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("mail_receive", str(tmp_path / "missing.eml"))
    assert Conversation.objects.count() == 1


def test_received_at_is_the_clock_of_the_intake():
    with time_machine.travel("2025-03-10 09:00Z", tick=False):
        result = _received(eml())
    assert result.part.created_at.isoformat().startswith("2025-03-10T09:00")
