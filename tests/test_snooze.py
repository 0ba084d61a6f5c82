"""Snooze (Z1–Z3): set aside, woken by the schedule, reopened by the customer."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django_q.models import Schedule, Task

from conversations import services
from conversations.apps import WAKE_SCHEDULE_NAME, ensure_wake_schedule
from conversations.models import ConversationClose, Part, State
from tests.factories import start_conversation

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
WAKE_AT = NOW + timedelta(hours=3)


@pytest.fixture
def snoozed(conversation, teammate):
    """`conversation`, assigned to `teammate` by a reply, snoozed at NOW until WAKE_AT."""
    with time_machine.travel(NOW, tick=False):
        services.conversation_reply(conversation=conversation, author=teammate, body="Checking")
        services.conversation_snooze(conversation=conversation, by=teammate, until=WAKE_AT)
    return conversation


def test_Z1_snooze_sets_it_aside_without_closing_it(snoozed):
    snoozed.refresh_from_db()
    assert snoozed.state == State.SNOOZED
    assert snoozed.snoozed_until == WAKE_AT
    assert snoozed.closed_at is None
    assert not ConversationClose.objects.filter(conversation=snoozed).exists()


def test_Z2_nothing_wakes_one_minute_before_the_wake_time(snoozed):
    with time_machine.travel(WAKE_AT - timedelta(minutes=1), tick=False):
        assert services.conversations_wake_due() == 0

    snoozed.refresh_from_db()
    assert snoozed.state == State.SNOOZED
    assert not snoozed.parts.filter(event=Part.Event.WOKE).exists()


def test_Z2_wakes_one_minute_after_the_wake_time(snoozed):
    woke_at = WAKE_AT + timedelta(minutes=1)
    with time_machine.travel(woke_at, tick=False):
        assert services.conversations_wake_due() == 1

    snoozed.refresh_from_db()
    assert snoozed.state == State.OPEN
    assert snoozed.snoozed_until is None
    assert snoozed.updated_at == woke_at
    event = snoozed.parts.order_by("id").last()
    assert (event.kind, event.event, event.created_at) == (Part.Kind.EVENT, "woke", woke_at)
    # Woken once: the next run finds nothing.
    with time_machine.travel(woke_at + timedelta(minutes=1), tick=False):
        assert services.conversations_wake_due() == 0


def test_Z2_wake_due_takes_an_explicit_now_and_counts_every_conversation(
    snoozed, teammate, contact
):
    other = start_conversation(contacts=[contact], started_by=contact)
    later = start_conversation(contacts=[contact], started_by=contact)
    with time_machine.travel(NOW, tick=False):
        services.conversation_snooze(conversation=other, by=teammate, until=WAKE_AT)
        services.conversation_snooze(
            conversation=later, by=teammate, until=WAKE_AT + timedelta(days=1)
        )

    assert services.conversations_wake_due(now=WAKE_AT) == 2

    later.refresh_from_db()
    assert later.state == State.SNOOZED


def test_Z2_the_assignee_is_reminded(
    snoozed, teammate, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(WAKE_AT + timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.conversations_wake_due()

    task = Task.objects.get(func="conversations.tasks.snooze_reminder_send")
    assert task.success, task.result
    [message] = mailoutbox
    assert message.to == [teammate.email]
    assert message.subject == f"Back from snooze: {snoozed}"
    url = "http://testserver" + reverse(
        "admin:conversations_conversation_change", args=[snoozed.pk]
    )
    assert url in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f'href="{url}"' in html


def test_Z2_the_reminder_is_sent_only_when_the_wake_commits(
    snoozed, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(WAKE_AT + timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        services.conversations_wake_due()

    assert len(callbacks) == 1
    assert mailoutbox == []


def test_Z2_no_assignee_no_reminder(
    conversation, teammate, mailoutbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        services.conversation_snooze(conversation=conversation, by=teammate, until=WAKE_AT)
    conversation.refresh_from_db()
    assert conversation.assignee is None

    with (
        time_machine.travel(WAKE_AT + timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        assert services.conversations_wake_due() == 1

    assert callbacks == []
    assert mailoutbox == []
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_Z3_a_contact_reply_reopens_a_snoozed_conversation_at_once(snoozed, contact):
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        services.conversation_reply(conversation=snoozed, author=contact, body="Any news?")

    assert (snoozed.state, snoozed.snoozed_until) == (State.OPEN, None)
    snoozed.refresh_from_db()
    assert (snoozed.state, snoozed.snoozed_until) == (State.OPEN, None)
    events = list(
        snoozed.parts.filter(kind=Part.Kind.EVENT).order_by("id").values_list("event", flat=True)
    )
    assert events == ["snoozed", "reopened"]
    # Nothing left for the schedule to wake.
    assert services.conversations_wake_due(now=WAKE_AT + timedelta(minutes=1)) == 0


def test_Z3_a_teammate_reply_keeps_it_snoozed(snoozed, teammate):
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        services.conversation_reply(conversation=snoozed, author=teammate, body="Still on it")

    assert snoozed.state == State.SNOOZED
    snoozed.refresh_from_db()
    assert (snoozed.state, snoozed.snoozed_until) == (State.SNOOZED, WAKE_AT)


@pytest.mark.django_db
def test_Z2_the_wake_schedule_exists_once_after_migrations():
    [schedule] = Schedule.objects.filter(name=WAKE_SCHEDULE_NAME)
    assert schedule.func == "conversations.services.conversations_wake_due"
    assert schedule.schedule_type == Schedule.MINUTES
    assert schedule.minutes == 1
    assert schedule.repeats < 0  # forever


@pytest.mark.django_db
def test_Z2_ensuring_the_wake_schedule_again_makes_no_second_one():
    ensure_wake_schedule(sender=None)
    ensure_wake_schedule(sender=None, using="default")

    assert Schedule.objects.filter(name=WAKE_SCHEDULE_NAME).count() == 1
    assert (
        Schedule.objects.filter(func="conversations.services.conversations_wake_due").count() == 1
    )
