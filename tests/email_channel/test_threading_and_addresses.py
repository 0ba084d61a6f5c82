"""M3 threading and M4 addresses of what a conversation mails: every reply and the survey name
the messages before them, so every mail client shows one thread; each comes from the teammate
"via Support" and asks to be answered at the conversation's signed address, which nobody can
aim at another conversation.

Replies are read from the locmem outbox (Django's EmailMessage, which `reply_to` answers as a
mail client would); the From header also through the real SMTP server, where its encoding
matters.
"""

from email.headerregistry import Address
from email.utils import formataddr

import pytest

from conversations import services
from conversations.models import Channel
from mail.addresses import conversation_of_address, reply_address
from mail.inbound import mail_receive
from mail.threading import MAX_REFERENCES
from tests.email_channel.support import eml, reply_to
from tests.factories import TeammateFactory, start_conversation
from tests.outbox import replies, surveys

FIRST = "<first.4711@client.example.net>"
CORA = "Cora User <cora@example.com>"
SUPPORT = "support@example.com"
LONG_REPLY = "We found the cause and fixed it. " * 9  # > 250 visible characters (E3)


@pytest.fixture
def by_mail(contact):
    """A conversation the customer started by email: its first part has her Message-ID."""
    received = mail_receive(message=eml(sender=CORA, subject="Export is broken", message_id=FIRST))
    assert received.outcome == "created"
    conversation = received.part.conversation
    assert list(conversation.contacts.all()) == [contact]
    return conversation


def _reply(capture, conversation, author, body="Could you try again now?"):
    with capture(execute=True):
        services.conversation_reply(conversation=conversation, author=author, body=body)
    return replies()[-1]


def _threading(sent) -> tuple[str, list[str]]:
    message = sent.message()
    return message["In-Reply-To"], message["References"].split()


# --- M3: one thread ---------------------------------------------------------------------------


def test_M3_the_first_reply_answers_the_customers_first_email(by_mail, teammate, capture):
    sent = _reply(capture, by_mail, teammate)

    assert _threading(sent) == (FIRST, [FIRST])
    assert sent.subject == "Re: Export is broken"


def test_M3_a_conversation_not_started_by_mail_has_no_threading_headers(contact, teammate, capture):
    """The boundary: nothing came before, so nothing is named (and no "Re:")."""
    conversation = start_conversation(
        contacts=[contact], started_by=contact, channel=Channel.EMAIL, subject="Billing"
    )
    sent = _reply(capture, conversation, teammate)

    message = sent.message()
    assert message["In-Reply-To"] is None
    assert message["References"] is None
    assert sent.subject == "Billing"


def test_M3_references_chain_every_message_before_it(by_mail, teammate, capture):
    first_reply = _reply(capture, by_mail, teammate, body="Which browser do you use?")
    answer = reply_to(first_reply, text="Firefox, on Linux.", sender=CORA)
    answered = mail_receive(message=answer)
    assert answered.outcome == "joined"
    assert answered.part.conversation == by_mail
    second_reply = _reply(capture, by_mail, teammate, body="Thanks, fixed for Firefox.")

    chain = [FIRST, first_reply.extra_headers["Message-ID"], answered.part.message_id]
    assert _threading(second_reply) == (chain[-1], chain)
    assert second_reply.extra_headers["Message-ID"] not in _threading(second_reply)[1]
    # The customer's client answers the second reply: it joins the same conversation.
    again = mail_receive(message=reply_to(second_reply, text="It works now.", sender=CORA))
    assert (again.outcome, again.part.conversation) == ("joined", by_mail)


def test_M3_the_survey_email_threads_with_the_conversation(by_mail, teammate, capture):
    reply = _reply(capture, by_mail, teammate, body=LONG_REPLY)
    with capture(execute=True):
        services.conversation_close(conversation=by_mail, by=teammate)

    (survey,) = surveys()
    chain = [FIRST, reply.extra_headers["Message-ID"]]
    assert _threading(survey) == (chain[-1], chain)
    assert survey.subject == "Re: Export is broken"
    assert survey.reply_to == [reply_address(by_mail.pk)]
    # The survey's own Message-ID is on its event: what comes after names it too (M9).
    services.conversation_reopen(conversation=by_mail, by=teammate)
    after = _reply(capture, by_mail, teammate, body="One more thing.")
    survey_id = survey.extra_headers["Message-ID"]
    assert survey_id.startswith("<rating-request-")
    assert _threading(after) == (survey_id, [*chain, survey_id])


@pytest.mark.parametrize("before", [MAX_REFERENCES - 1, MAX_REFERENCES, MAX_REFERENCES + 6])
def test_M3_a_long_threads_references_keep_the_first_and_the_latest(
    by_mail, teammate, capture, before
):
    """`before` messages precede the last reply: the customer's first and teammates' replies
    (their emails are not sent here: no commit)."""
    for number in range(before - 1):
        services.conversation_reply(conversation=by_mail, author=teammate, body=f"Reply {number}")
    ids = list(by_mail.parts.order_by("id").values_list("message_id", flat=True))
    assert len(ids) == before and ids[0] == FIRST

    in_reply_to, references = _threading(_reply(capture, by_mail, teammate))

    assert in_reply_to == ids[-1]
    assert len(references) == min(before, MAX_REFERENCES)
    assert references[0] == FIRST
    assert references[-1] == ids[-1]
    assert references == (ids if before <= MAX_REFERENCES else [FIRST, *ids[1 - MAX_REFERENCES :]])


# --- M4: who it comes from, where it is answered ------------------------------------------------


def test_M4_from_names_the_teammate_and_reply_to_is_the_signed_address(
    smtp, by_mail, teammate, capture
):
    with capture(execute=True):
        services.conversation_reply(conversation=by_mail, author=teammate, body="Hello")

    ((rcpt_tos, message),) = smtp.messages
    assert rcpt_tos == ["cora@example.com"]
    assert message["From"] == "Tess Mate via Support <support@example.com>"
    assert message["From"] == formataddr(("Tess Mate via Support", "support@example.com"))
    assert message["Reply-To"] == reply_address(by_mail.pk)
    assert conversation_of_address(message["Reply-To"]) == by_mail.pk


def test_M4_a_name_that_needs_quoting_and_encoding_stays_one_sender(smtp, by_mail, capture):
    author = TeammateFactory(name='Zoë "Z" O\'Neil, Jr.', email="zoe@example.com")
    with capture(execute=True):
        services.conversation_reply(conversation=by_mail, author=author, body="Hello")

    ((_rcpts, message),) = smtp.messages
    (sender,) = message["From"].addresses
    assert sender == Address(display_name='Zoë "Z" O\'Neil, Jr. via Support', addr_spec=SUPPORT)


def test_M4_a_name_typed_with_line_breaks_is_still_one_deliverable_sender(smtp, by_mail, capture):
    """A header value cannot hold a line break (Django refuses it, and the reply would be
    refused on every retry): the name's lines are joined."""
    author = TeammateFactory(name="Tess\nBcc: eve@example.com\u2028 Mate", email="t2@example.com")
    with capture(execute=True):
        services.conversation_reply(conversation=by_mail, author=author, body="Hello")

    ((rcpt_tos, message),) = smtp.messages
    assert rcpt_tos == ["cora@example.com"]
    (sender,) = message["From"].addresses
    assert sender == Address(
        display_name="Tess Bcc: eve@example.com Mate via Support", addr_spec=SUPPORT
    )
    assert message["Bcc"] is None


def test_M4_the_reply_address_names_its_conversation_whatever_the_case(by_mail):
    address = reply_address(by_mail.pk)
    local, domain = address.split("@")
    assert local.startswith(f"support+c{by_mail.pk}.")
    assert domain == "example.com"
    assert conversation_of_address(address) == by_mail.pk
    assert conversation_of_address(address.upper()) == by_mail.pk
    assert conversation_of_address(f"  {address.title()} ") == by_mail.pk


def _forgeries(conversation_id: int) -> dict[str, str]:
    genuine = reply_address(conversation_id)
    local, domain = genuine.split("@")
    signature = local.rsplit(".", 1)[1]
    other = conversation_id + 1
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    return {
        "another conversation's number": f"support+c{other}.{signature}@{domain}",
        "a changed signature": f"support+c{conversation_id}.{flipped}@{domain}",
        "a shortened signature": f"support+c{conversation_id}.{signature[:-1]}@{domain}",
        "no signature": f"support+c{conversation_id}@{domain}",
        "another domain": f"{local}@example.org",
        "another mailbox": f"sales+c{conversation_id}.{signature}@{domain}",
        "the support address itself": SUPPORT,
        "not an address": "support",
        "empty": "",
    }


def test_M4_a_forged_or_other_conversations_address_names_nothing(by_mail):
    for what, address in _forgeries(by_mail.pk).items():
        assert conversation_of_address(address) is None, what


def test_M4_mail_to_a_forged_address_does_not_join_the_conversation(by_mail):
    """Without threading headers only the signed address could join it: a forged one starts a
    new conversation instead, even from one of its contacts."""
    forged = _forgeries(by_mail.pk)["a changed signature"]
    received = mail_receive(message=eml(sender=CORA, to=forged, text="Let me in"))
    assert received.outcome == "created"
    assert received.part.conversation != by_mail

    genuine = mail_receive(message=eml(sender=CORA, to=reply_address(by_mail.pk).upper()))
    assert (genuine.outcome, genuine.part.conversation) == ("joined", by_mail)
