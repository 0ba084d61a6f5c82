"""Constants and helpers shared by the modules of this package."""

from datetime import UTC, datetime

from conversations import services
from conversations.models import Channel, Part
from ratings.models import RatingDecision, RatingRequest
from ratings.rules import RULE_WORDS
from ratings.selectors import rating_decision
from tests.factories import ContactFactory, start_conversation

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


OPENING = "Hello, my invoice is wrong."  # 27 visible characters


LONG_REPLY = "x" * 251


def _lost_close(conversation, by, **kwargs):
    """A close whose task never ran (the on-commit callbacks are not executed in a test's
    transaction): as if the worker died or the enqueue was lost."""
    return services.conversation_close(conversation=conversation, by=by, **kwargs)


def eligible(*, teammate, contact=None, channel=Channel.MESSENGER, subject="Invoice"):
    """An open customer conversation that passes E1–E6 when closed now."""
    contact = contact or ContactFactory()
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body=OPENING, channel=channel, subject=subject
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    return conversation


def _decisions(conversation):
    return list(
        RatingDecision.objects.filter(conversation=conversation).order_by("close__closed_at", "id")
    )


def assert_skipped(conversation, rule):
    decision = rating_decision(conversation=conversation)
    assert decision.status == "skipped"
    assert decision.rule == rule
    assert decision.words == RULE_WORDS[rule]
    assert rule in decision.summary
    assert not RatingRequest.objects.filter(conversation=conversation).exists()
    (row,) = _decisions(conversation)
    assert row.outcome == RatingDecision.Outcome.SKIPPED
    assert row.rule == rule
    assert row.request is None
    assert not conversation.parts.filter(event=Part.Event.RATING_REQUESTED).exists()


# --- sent ----------------------------------------------------------------------------------------
