"""The conversation page's actions through the services: reply, note, snooze, reopen, close."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from conversations import services
from conversations.models import (
    ConversationClose,
    Part,
    State,
)
from conversations.text import visible_characters
from tests.admin_inbox.support import act_url, change_url, shown_messages


@contextmanager
def at_wednesday_afternoon(client, teammate):
    """Wednesday 2 January 2030, 15:30 UTC, signed in afresh (the session would have expired)."""
    with time_machine.travel(datetime(2030, 1, 2, 15, 30, tzinfo=UTC), tick=False):
        client.force_login(teammate.user)
        yield


# --- fixtures ---------------------------------------------------------------------------------


def test_reply_action_calls_the_service(inbox, conversation, teammate):
    response = inbox.post(
        act_url(conversation, "reply"), {"body": "Hi Ann,\r\nfixed now."}, follow=True
    )
    assert response.redirect_chain[-1][0] == change_url(conversation)
    assert shown_messages(response) == ["Reply sent."]
    part = conversation.parts.get(kind=Part.Kind.REPLY, author_teammate=teammate)
    # Typed text kept as typed (M17, E3a), shown with its line break; one character per
    # line break (E3).
    assert (part.body, part.body_format) == ("Hi Ann,\nfixed now.", "text")
    assert part.html == "Hi Ann,<br>\nfixed now."
    assert visible_characters(part.body, part.body_format) == len("Hi Ann,\nfixed now.")
    conversation.refresh_from_db()
    assert conversation.teammate_reply_count == 1
    assert conversation.assignee == teammate


def test_note_action_adds_an_internal_note(inbox, conversation, teammate):
    response = inbox.post(act_url(conversation, "note"), {"body": "Known bug"}, follow=True)
    assert shown_messages(response) == ["Internal note added."]
    note = conversation.parts.get(kind=Part.Kind.NOTE)
    assert (note.body, note.author_teammate) == ("Known bug", teammate)
    conversation.refresh_from_db()
    assert conversation.reply_characters == len("Hello, the export does nothing.")


def test_snooze_action_reads_the_time_in_the_current_time_zone(inbox, teammate, conversation):
    with at_wednesday_afternoon(inbox, teammate), timezone.override(ZoneInfo("Europe/Paris")):
        response = inbox.post(
            act_url(conversation, "snooze"), {"until": "2030-01-03T09:00"}, follow=True
        )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.state == State.SNOOZED
    assert conversation.snoozed_until == datetime(2030, 1, 3, 8, 0, tzinfo=UTC)  # 9:00 in Paris
    assert conversation.parts.filter(event=Part.Event.SNOOZED).count() == 1


@pytest.mark.parametrize(
    ("quick", "expected"),
    [
        ("1h", datetime(2030, 1, 2, 16, 30, tzinfo=UTC)),
        ("tomorrow", datetime(2030, 1, 3, 9, 0, tzinfo=UTC)),
        ("next_week", datetime(2030, 1, 7, 9, 0, tzinfo=UTC)),
    ],
)
def test_snooze_quick_buttons(inbox, teammate, conversation, quick, expected):
    with at_wednesday_afternoon(inbox, teammate):
        response = inbox.post(act_url(conversation, "snooze"), {"until": "", "quick": quick})
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.SNOOZED, expected)


def test_snooze_with_an_unparseable_date_writes_nothing(inbox, conversation):
    response = inbox.post(act_url(conversation, "snooze"), {"until": "next tuesday"}, follow=True)
    assert shown_messages(response) == ["Enter the snooze time as a date and a time."]
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    assert not conversation.parts.filter(kind=Part.Kind.EVENT).exists()


def test_snooze_in_the_past_is_refused_by_the_service(inbox, conversation):
    response = inbox.post(
        act_url(conversation, "snooze"), {"until": "2001-01-01T09:00"}, follow=True
    )
    assert shown_messages(response) == ["The snooze time is in the past: choose a time to come."]
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_reopen_action_wakes_a_snoozed_conversation(inbox, conversation, teammate):
    services.conversation_snooze(
        conversation=conversation, by=teammate, until=timezone.now() + timedelta(days=1)
    )
    response = inbox.post(act_url(conversation, "reopen"), follow=True)
    assert shown_messages(response) == ["Conversation reopened."]
    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.OPEN, None)


def test_close_action_closes(inbox, conversation, teammate):
    response = inbox.post(act_url(conversation, "close"), {"quiet": ""}, follow=True)
    assert shown_messages(response) == ["Conversation closed."]
    conversation.refresh_from_db()
    assert conversation.state == State.CLOSED
    close = conversation.closes.get()
    assert (close.closed_by, close.quiet) == (teammate, False)


def test_close_quietly_action_records_a_quiet_close_e8(inbox, conversation):
    response = inbox.post(act_url(conversation, "close"), {"quiet": "on"}, follow=True)
    assert shown_messages(response) == ["Closed quietly: the customer gets no survey."]
    assert conversation.closes.get().quiet is True
    assert conversation.parts.filter(event=Part.Event.CLOSED_QUIETLY).count() == 1


def test_closing_twice_shows_the_refusal_and_writes_nothing(inbox, conversation):
    inbox.post(act_url(conversation, "close"), follow=True)
    parts_before = Part.objects.count()
    conversation.refresh_from_db()
    updated_before = conversation.updated_at

    response = inbox.post(act_url(conversation, "close"), follow=True)

    assert response.status_code == 200
    assert shown_messages(response) == ["This conversation is already closed."]
    assert ConversationClose.objects.filter(conversation=conversation).count() == 1
    assert Part.objects.count() == parts_before
    conversation.refresh_from_db()
    assert conversation.updated_at == updated_before


def test_reply_on_a_closed_conversation_is_refused_by_the_service(inbox, conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)
    response = inbox.post(act_url(conversation, "reply"), {"body": "Hello?"}, follow=True)
    assert shown_messages(response) == ["This conversation is closed: reopen it before replying."]
    assert not conversation.parts.filter(author_teammate=teammate, kind=Part.Kind.REPLY).exists()


@pytest.mark.parametrize("body", ["", "   \r\n  "])
def test_empty_reply_is_refused_and_nothing_written(inbox, conversation, body):
    parts_before = conversation.parts.count()
    response = inbox.post(act_url(conversation, "reply"), {"body": body}, follow=True)
    assert shown_messages(response) == ["Write a message first: the message is empty."]
    assert conversation.parts.count() == parts_before
    conversation.refresh_from_db()
    assert conversation.teammate_reply_count == 0


def test_get_on_an_action_url_is_405(inbox, conversation):
    assert inbox.get(act_url(conversation, "close")).status_code == 405
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_unknown_action_is_404(inbox, conversation):
    assert inbox.post(act_url(conversation, "delete-everything")).status_code == 404


def test_actions_are_csrf_protected(teammate, conversation):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(teammate.user)
    assert strict.post(act_url(conversation, "close")).status_code == 403
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
