"""Helpers of the bot ratings' tests (B)."""

from datetime import UTC, datetime, timedelta

import time_machine

from conversations import services
from conversations.models import Channel
from ratings.models import RatingSettings
from tests.factories import ContactFactory, start_conversation

CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
BOT_ANSWER = "Here is how to export your invoices: open Billing, pick the month, press Export. " * 4


def bot_on(**changes):
    settings = RatingSettings.load()
    settings.ask_bot = True
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def bot_conversation(*, contact=None, channel=Channel.MESSENGER, at=CLOSED_AT - timedelta(hours=1)):
    """A customer's conversation the bot answered (more than 250 characters), no teammate."""
    contact = contact or ContactFactory()
    with time_machine.travel(at, tick=False):
        conversation = start_conversation(
            contacts=[contact], started_by=contact, body="How do I export?", channel=channel
        )
        services.conversation_bot_message(conversation=conversation, body=BOT_ANSWER)
    return conversation


def bot_close(capture, conversation, *, at=CLOSED_AT, quiet=False):
    """The bot closes it; the decision task runs on commit."""
    with time_machine.travel(at, tick=False), capture(execute=True):
        return services.conversation_bot_close(conversation=conversation, quiet=quiet)


def teammate_close(capture, conversation, teammate, *, at=CLOSED_AT):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return services.conversation_close(conversation=conversation, by=teammate)
