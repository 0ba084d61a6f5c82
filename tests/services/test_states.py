"""Snooze, reopen and close (E5, E7, E8), and the close's signal once it commits (D4)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from conversations import services
from conversations.models import (
    Conversation,
    ConversationClose,
    Part,
    State,
)
from conversations.signals import conversation_closed
from tests.factories import TeammateFactory, start_conversation
from tests.services.support import NOW, refused


def _last_part(conversation):
    return conversation.parts.order_by("id").last()


@pytest.fixture
def closed_signals():
    """The `conversation_closed` signals sent during the test, as their keyword arguments."""
    received = []

    def receiver(sender, **kwargs):
        received.append({"sender": sender, **kwargs})

    conversation_closed.connect(receiver, weak=False, dispatch_uid="tests.closed_signals")
    yield received
    conversation_closed.disconnect(dispatch_uid="tests.closed_signals")


# --- contact_create ---------------------------------------------------------------------------


def test_conversation_snooze_sets_it_aside_with_an_event(conversation, teammate):
    with time_machine.travel(NOW, tick=False):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=NOW + timedelta(hours=2)
        )

    assert conversation.state == State.SNOOZED
    assert conversation.snoozed_until == NOW + timedelta(hours=2)
    conversation.refresh_from_db()
    assert conversation.state == State.SNOOZED
    assert conversation.snoozed_until == NOW + timedelta(hours=2)
    event = _last_part(conversation)
    assert (event.kind, event.event, event.author) == (Part.Kind.EVENT, "snoozed", teammate)


@pytest.mark.parametrize(
    "until", [NOW - timedelta(minutes=1), NOW], ids=["in the past", "exactly now"]
)
def test_conversation_snooze_refuses_a_time_not_to_come(conversation, teammate, until):
    with time_machine.travel(NOW, tick=False), refused(conversation, "in the past"):
        services.conversation_snooze(conversation=conversation, by=teammate, until=until)


def test_conversation_snooze_refuses_a_naive_time(conversation, teammate):
    with refused(conversation, "time zone"):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=datetime(2099, 1, 1, 9, 0)
        )


def test_conversation_snooze_refuses_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "closed: reopen it before snoozing"):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
        )


def test_conversation_snooze_refuses_a_contact(conversation, contact):
    with refused(conversation, "Only a teammate can snooze"):
        services.conversation_snooze(
            conversation=conversation, by=contact, until=datetime(2099, 1, 1, tzinfo=UTC)
        )


def test_E7_snoozing_never_closes(
    conversation, teammate, closed_signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
        )

    conversation.refresh_from_db()
    assert conversation.closed_at is None
    assert not ConversationClose.objects.filter(conversation=conversation).exists()
    assert not conversation.parts.filter(event__in=["closed", "closed_quietly"]).exists()
    assert closed_signals == []


# --- conversation_reopen ----------------------------------------------------------------------


def test_conversation_reopen_refuses_an_open_conversation(conversation, teammate):
    with refused(conversation, "already open"):
        services.conversation_reopen(conversation=conversation, by=teammate)


def test_conversation_reopen_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with time_machine.travel(NOW, tick=False):
        services.conversation_reopen(conversation=conversation, by=teammate)

    assert conversation.state == State.OPEN
    assert conversation.updated_at == NOW
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    event = _last_part(conversation)
    assert (event.event, event.author, event.created_at) == ("reopened", teammate, NOW)


def test_conversation_reopen_a_snoozed_conversation_by_its_contact(conversation, teammate, contact):
    services.conversation_snooze(
        conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
    )

    services.conversation_reopen(conversation=conversation, by=contact)

    assert (conversation.state, conversation.snoozed_until) == (State.OPEN, None)
    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.OPEN, None)
    assert _last_part(conversation).author == contact


def test_conversation_reopen_refuses_no_one(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "reopened by a teammate or a contact"):
        services.conversation_reopen(conversation=conversation, by=None)


# --- conversation_close -----------------------------------------------------------------------


def test_conversation_close_keeps_the_facts_of_the_close(
    conversation, contact, teammate, other_teammate
):
    with time_machine.travel(NOW, tick=False):
        services.conversation_reply(conversation=conversation, author=teammate, body="One")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        services.conversation_reply(conversation=conversation, author=other_teammate, body="Two")
    with time_machine.travel(NOW + timedelta(minutes=9), tick=False):
        services.conversation_note(conversation=conversation, author=teammate, body="note")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        close = services.conversation_close(conversation=conversation, by=teammate)

    close.refresh_from_db()
    assert close.conversation == conversation
    assert close.closed_by == teammate
    assert close.closed_at == NOW + timedelta(hours=1)
    assert close.quiet is False
    assert close.reply_characters == len("Hi there") + len("One") + len("Two")
    assert close.last_reply_at == NOW + timedelta(minutes=5)
    assert close.teammate_replied is True
    assert close.last_teammate_replier == other_teammate
    assert close.contact_count == 1
    assert close.contact_role == "user"
    for seen in (conversation, Conversation.objects.get(pk=conversation.pk)):
        assert seen.state == State.CLOSED
        assert seen.closed_at == NOW + timedelta(hours=1)
        assert seen.updated_at == NOW + timedelta(hours=1)
    event = _last_part(conversation)
    assert (event.kind, event.event, event.author) == (Part.Kind.EVENT, "closed", teammate)


def test_conversation_close_without_a_teammate_reply(lead, teammate):
    conversation = start_conversation(contacts=[lead], started_by=lead)

    close = services.conversation_close(conversation=conversation, by=teammate)

    assert close.teammate_replied is False
    assert close.last_teammate_replier is None
    assert close.contact_role == "lead"


def test_E5_conversation_close_of_a_group_has_no_contact_role(contact, lead, teammate):
    conversation = start_conversation(contacts=[contact, lead], started_by=contact)

    close = services.conversation_close(conversation=conversation, by=teammate)

    close.refresh_from_db()
    assert close.contact_count == 2
    assert close.contact_role == ""


def test_E8_a_quiet_close_is_recorded_as_such(conversation, teammate):
    close = services.conversation_close(conversation=conversation, by=teammate, quiet=True)

    close.refresh_from_db()
    assert close.quiet is True
    event = _last_part(conversation)
    assert (event.kind, event.event) == (Part.Kind.EVENT, "closed_quietly")
    assert conversation.state == State.CLOSED


def test_conversation_close_of_a_snoozed_conversation_clears_the_wake_time(conversation, teammate):
    services.conversation_snooze(
        conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
    )

    services.conversation_close(conversation=conversation, by=teammate)

    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.CLOSED, None)


def test_conversation_close_refuses_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "already closed"):
        services.conversation_close(conversation=conversation, by=teammate)


def test_conversation_close_refuses_a_contact(conversation, contact):
    with refused(conversation, "Only a teammate can close"):
        services.conversation_close(conversation=conversation, by=contact)


def test_every_close_is_kept(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)
    services.conversation_reopen(conversation=conversation, by=teammate)
    services.conversation_close(conversation=conversation, by=teammate, quiet=True)

    assert list(
        ConversationClose.objects.filter(conversation=conversation)
        .order_by("id")
        .values_list("quiet", flat=True)
    ) == [False, True]


@pytest.mark.parametrize("quiet", [False, True])
def test_D4_conversation_closed_is_sent_once_the_close_commits(
    conversation, teammate, closed_signals, django_capture_on_commit_callbacks, quiet
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        close = services.conversation_close(conversation=conversation, by=teammate, quiet=quiet)
        assert closed_signals == [], "sent before the commit"

    assert len(callbacks) >= 1
    [sent] = closed_signals
    assert sent["sender"] is Conversation
    assert sent["conversation"].pk == conversation.pk
    assert sent["conversation"].state == State.CLOSED
    assert sent["close"].pk == close.pk
    assert sent["quiet"] is quiet


def test_D4_conversation_closed_is_not_sent_when_the_transaction_rolls_back(
    conversation, teammate, closed_signals, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.conversation_close(conversation=conversation, by=teammate)
        raise RuntimeError("the caller fails after the close")

    assert callbacks == []
    assert closed_signals == []
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    assert not ConversationClose.objects.filter(conversation=conversation).exists()


@pytest.mark.django_db
def test_teammate_factory_makes_teammates_through_the_service():
    teammate = TeammateFactory()

    assert teammate.pk is not None
    assert teammate.user.is_staff
    assert teammate.user.groups.filter(name=services.TEAMMATES_GROUP).exists()
