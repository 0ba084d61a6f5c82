"""Replies, notes, bot messages and events: who may write what, and what each one counts."""

import pytest
import time_machine

from conversations import services
from conversations.models import (
    Conversation,
    Part,
    State,
)
from tests.factories import ContactFactory, UserFactory
from tests.services.support import NOW, _row, nothing_created, refused


def test_conversation_reply_by_a_teammate_assigns_an_unassigned_conversation(
    conversation, teammate
):
    assert conversation.assignee is None
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_reply(
            conversation=conversation, author=teammate, body="<b>On it</b>"
        )

    assert (part.kind, part.author, part.created_at) == (Part.Kind.REPLY, teammate, NOW)
    for seen in (conversation, Conversation.objects.get(pk=conversation.pk)):
        assert seen.assignee_id == teammate.pk
        assert seen.teammate_reply_count == 1
        assert seen.last_teammate_replier_id == teammate.pk
        assert seen.reply_characters == len("Hi there") + len("On it")
        assert seen.last_reply_at == NOW
        assert seen.updated_at == NOW


def test_conversation_reply_by_another_teammate_keeps_the_assignee(
    conversation, teammate, other_teammate
):
    services.conversation_reply(conversation=conversation, author=teammate, body="First")
    services.conversation_reply(conversation=conversation, author=other_teammate, body="Second")

    conversation.refresh_from_db()
    assert conversation.assignee == teammate
    assert conversation.last_teammate_replier == other_teammate
    assert conversation.teammate_reply_count == 2


def test_conversation_reply_by_a_contact_moves_only_the_shared_figures(conversation, contact):
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_reply(conversation=conversation, author=contact, body="More")

    assert part.author == contact
    conversation.refresh_from_db()
    assert conversation.reply_characters == len("Hi there") + len("More")
    assert conversation.last_reply_at == NOW
    assert conversation.teammate_reply_count == 0
    assert conversation.last_teammate_replier is None
    assert conversation.assignee is None


def test_conversation_reply_refuses_a_contact_not_in_the_conversation(conversation):
    stranger = ContactFactory()

    with refused(conversation, "not part of this conversation"):
        services.conversation_reply(conversation=conversation, author=stranger, body="Hi")


def test_conversation_reply_refuses_a_teammate_on_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "closed: reopen it"):
        services.conversation_reply(conversation=conversation, author=teammate, body="Hi")


@pytest.mark.parametrize("body", ["", "   ", None])
def test_conversation_reply_refuses_an_empty_body(conversation, teammate, body):
    with refused(conversation, "empty"):
        services.conversation_reply(conversation=conversation, author=teammate, body=body)


def test_conversation_reply_refuses_an_author_who_is_neither(conversation):
    with refused(conversation, "teammate or a contact"):
        services.conversation_reply(conversation=conversation, author=UserFactory(), body="Hi")
    with refused(conversation, "teammate or a contact"):
        services.conversation_reply(conversation=conversation, author=None, body="Hi")


def test_conversation_reply_refuses_an_unsaved_conversation(contact):
    unsaved = Conversation(channel="messenger", origin="customer")

    with nothing_created("not been saved"):
        services.conversation_reply(conversation=unsaved, author=contact, body="Hi")


def test_conversation_reply_by_a_contact_reopens_a_closed_conversation(
    conversation, contact, teammate
):
    services.conversation_close(conversation=conversation, by=teammate)

    part = services.conversation_reply(conversation=conversation, author=contact, body="Again")

    assert conversation.state == State.OPEN
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    kinds = list(conversation.parts.order_by("id").values_list("kind", "event", "author_contact"))
    assert kinds[-2:] == [
        (Part.Kind.EVENT, Part.Event.REOPENED, contact.pk),
        (Part.Kind.REPLY, "", contact.pk),
    ]
    assert part.kind == Part.Kind.REPLY


# --- conversation_note ------------------------------------------------------------------------


def test_conversation_note_is_kept_and_not_counted(conversation, teammate):
    before = _row(conversation)
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_note(
            conversation=conversation, author=teammate, body="Customer is a VIP"
        )

    assert (part.kind, part.author, part.body) == (Part.Kind.NOTE, teammate, "Customer is a VIP")
    assert conversation.updated_at == NOW
    after = _row(conversation)
    assert after["updated_at"] == NOW
    # E3: a note is not a reply; E2/D2: it is not a teammate reply either.
    for field in ("reply_characters", "last_reply_at", "teammate_reply_count", "assignee_id"):
        assert after[field] == before[field]


def test_conversation_note_refuses_a_contact(conversation, contact):
    with refused(conversation, "Only a teammate can write an internal note"):
        services.conversation_note(conversation=conversation, author=contact, body="Psst")


def test_conversation_note_refuses_an_empty_body(conversation, teammate):
    with refused(conversation, "empty"):
        services.conversation_note(conversation=conversation, author=teammate, body="  ")


# --- conversation_bot_message -----------------------------------------------------------------


def test_conversation_bot_message_is_not_a_reply(conversation):
    before = _row(conversation)
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_bot_message(conversation=conversation, body="Any news?")

    assert (part.kind, part.author) == (Part.Kind.BOT, None)
    assert conversation.updated_at == NOW
    after = _row(conversation)
    for field in ("reply_characters", "last_reply_at", "teammate_reply_count", "assignee_id"):
        assert after[field] == before[field]


def test_conversation_bot_message_refuses_an_empty_body(conversation):
    with refused(conversation, "empty"):
        services.conversation_bot_message(conversation=conversation, body="")


# --- conversation_event -----------------------------------------------------------------------


def test_conversation_event_is_recorded_without_changing_the_state(conversation, contact):
    before = _row(conversation)
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_event(
            conversation=conversation, event="rated", body="5", by=contact
        )

    assert (part.kind, part.event, part.author, part.body) == (
        Part.Kind.EVENT,
        "rated",
        contact,
        "5",
    )
    assert conversation.updated_at == NOW
    after = _row(conversation)
    # E3: an event is not a reply.
    for field in ("state", "reply_characters", "last_reply_at", "teammate_reply_count"):
        assert after[field] == before[field]


def test_conversation_event_refuses_an_unknown_event(conversation):
    with refused(conversation, "Unknown event"):
        services.conversation_event(conversation=conversation, event="exploded")


# --- conversation_snooze ----------------------------------------------------------------------
