"""E1–E8: each close that must not be surveyed is skipped with its rule."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from conversations import services
from conversations.models import Channel, Contact, ConversationClose, Origin, Part
from ratings.models import RatingDecision, RatingRequest, RatingSettings
from ratings.rules import RULE_WORDS
from ratings.selectors import rating_decision
from ratings.services import rating_decisions_sweep, rating_request_send
from tests.decisions.support import (
    LONG_REPLY,
    NOW,
    OPENING,
    _decisions,
    _lost_close,
    assert_skipped,
    eligible,
)
from tests.factories import ContactFactory, start_conversation


def test_eligible_close_sends_a_request_and_records_it(teammate, close):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    closed = close(conversation, teammate)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.close == closed
    assert request.teammate == teammate
    assert request.delivered_at is not None
    assert request.delivery_attempts == 1
    assert request.last_error == ""
    (row,) = _decisions(conversation)
    assert (row.outcome, row.rule, row.request, row.close) == ("sent", "", request, closed)
    decision = rating_decision(conversation=conversation)
    assert decision.status == "sent"
    assert decision.request == request
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [request.contact.email]


def test_decision_is_pending_until_the_task_runs(teammate):
    conversation = eligible(teammate=teammate)
    assert rating_decision(conversation=conversation).status == "none"
    _lost_close(conversation, teammate)
    assert rating_decision(conversation=conversation).status == "pending"
    rating_request_send(conversation_id=conversation.pk)
    assert rating_decision(conversation=conversation).status == "sent"


# --- each skip, with its rule -----------------------------------------------------------------


def test_E1_users_switch_off_skips_a_user(teammate, close):
    RatingSettings.objects.update_or_create(pk=1, defaults={"ask_users": False})
    conversation = eligible(teammate=teammate)
    close(conversation, teammate)
    assert_skipped(conversation, "E1")


def test_E1_settings_change_leads_off_skips_a_lead_but_not_a_user(teammate, close):
    settings = RatingSettings.load()
    settings.ask_leads = False
    settings.save()
    lead = eligible(teammate=teammate, contact=ContactFactory(role=Contact.Role.LEAD))
    user = eligible(teammate=teammate, contact=ContactFactory(role=Contact.Role.USER))
    close(lead, teammate)
    close(user, teammate)
    assert_skipped(lead, "E1")
    assert rating_decision(conversation=user).status == "sent"


def test_E2_customer_conversation_without_a_teammate_reply(teammate, contact, close):
    conversation = start_conversation(contacts=[contact], started_by=contact, body="y" * 300)
    services.conversation_note(conversation=conversation, author=teammate, body="n" * 300)
    close(conversation, teammate)
    assert_skipped(conversation, "E2")


def test_E2_workflow_conversation_with_the_switch_off(teammate, contact, close):
    conversation = start_conversation(
        origin=Origin.WORKFLOW, contacts=[contact], body="Welcome aboard!"
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    close(conversation, teammate)  # send_outbound_api_workflows is off by default
    assert_skipped(conversation, "E2")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("b" * 223, "E3"),  # 27 + 223 = 250
        ("b" * 224, "sent"),  # 251
        ("<p><strong>" + "b" * 222 + "</strong>&amp;</p>", "E3"),  # markup free, &amp; is 1
        ("<p>" + "b" * 223 + "&amp;</p>", "sent"),
        ("🤩" * 223, "E3"),  # a code point is a character
        ("🤩" * 224, "sent"),
    ],
    ids=["250", "251", "html-250", "html-251", "emoji-250", "emoji-251"],
)
def test_E3_more_than_250_visible_characters(teammate, contact, close, reply, expected):
    conversation = start_conversation(contacts=[contact], started_by=contact, body=OPENING)
    services.conversation_reply(conversation=conversation, author=teammate, body=reply)
    services.conversation_note(conversation=conversation, author=teammate, body="n" * 500)
    services.conversation_bot_message(conversation=conversation, body="b" * 500)
    close(conversation, teammate)
    if expected == "sent":
        assert rating_decision(conversation=conversation).status == "sent"
    else:
        assert_skipped(conversation, expected)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (timedelta(days=7) - timedelta(minutes=1), "sent"),
        (timedelta(days=7), "sent"),
        (timedelta(days=7) + timedelta(minutes=1), "E4"),
    ],
    ids=["7d-1min", "7d", "7d+1min"],
)
def test_E4_close_within_7_days_of_the_last_reply(teammate, contact, close, after, expected):
    with time_machine.travel(NOW, tick=False):
        conversation = eligible(teammate=teammate, contact=contact)
    with time_machine.travel(NOW + after - timedelta(hours=1), tick=False):
        # A note is not a reply: it does not move the last reply on.
        services.conversation_note(conversation=conversation, author=teammate, body="later")
    with time_machine.travel(NOW + after, tick=False):
        close(conversation, teammate)
    if expected == "sent":
        assert rating_decision(conversation=conversation).status == "sent"
    else:
        assert_skipped(conversation, expected)


def test_E5_group_conversation(teammate, close):
    first, second = ContactFactory(), ContactFactory(role=Contact.Role.LEAD)
    conversation = start_conversation(contacts=[first, second], started_by=first, body=OPENING)
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    close(conversation, teammate)
    assert_skipped(conversation, "E5")


def test_E6_closing_again_after_a_reopen_sends_nothing_new(teammate, close):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    first = close(conversation, teammate)
    services.conversation_reopen(conversation=conversation, by=teammate)
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    second = close(conversation, teammate)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.close == first
    decisions = _decisions(conversation)
    assert [(d.close, d.outcome, d.rule) for d in decisions] == [
        (first, "sent", ""),
        (second, "skipped", "E6"),
    ]
    decision = rating_decision(conversation=conversation)
    assert (decision.status, decision.rule, decision.words) == ("skipped", "E6", RULE_WORDS["E6"])
    assert len(mail.outbox) == 1
    assert conversation.parts.filter(event=Part.Event.RATING_REQUESTED).count() == 1


def test_E7_snoozing_never_creates_a_request_or_decision(
    teammate, django_capture_on_commit_callbacks
):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=NOW + timedelta(hours=1)
        )
    later = NOW + timedelta(hours=2)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert services.conversations_wake_due() == 1
        assert rating_decisions_sweep() == 0
    assert not RatingRequest.objects.filter(conversation=conversation).exists()
    assert not RatingDecision.objects.filter(conversation=conversation).exists()
    assert not ConversationClose.objects.filter(conversation=conversation).exists()
    assert rating_decision(conversation=conversation).status == "none"
    assert [m for m in mail.outbox if "How did we do" in m.subject] == []


def test_E8_quiet_close_sends_nothing(teammate, close):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    close(conversation, teammate, quiet=True)
    assert_skipped(conversation, "E8")
    assert mail.outbox == []


# --- D2 ----------------------------------------------------------------------------------------
