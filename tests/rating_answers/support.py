"""Constants and helpers shared by the modules of this package."""

from datetime import UTC, datetime, timedelta

import time_machine

from conversations import services
from conversations.models import Channel, Origin
from ratings.models import Rating, RatingEvent, RatingRequest, RatingSettings
from ratings.services import rating_comment, rating_submit
from ratings.tokens import rating_token
from tests.factories import ContactFactory, start_conversation

CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


MINUTE = timedelta(minutes=1)


def _settings(**changes):
    settings = RatingSettings.load()
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def _requested(capture, teammate, *, contact=None, workflow=None, channel=Channel.MESSENGER):
    """A conversation closed at CLOSED_AT with its rating request delivered."""
    contact = contact or ContactFactory()
    with time_machine.travel(CLOSED_AT - timedelta(hours=1), tick=False):
        if workflow is None:
            conversation = start_conversation(
                contacts=[contact], started_by=contact, body="Help please", channel=channel
            )
        else:
            conversation = start_conversation(
                origin=Origin.WORKFLOW,
                contacts=[contact],
                workflow=workflow,
                body="Welcome!",
                channel=channel,
            )
        services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    with time_machine.travel(CLOSED_AT, tick=False), capture(execute=True):
        services.conversation_close(conversation=conversation, by=teammate)
    return RatingRequest.objects.get(conversation=conversation)


def token_for(request, value=None):
    return rating_token(request_id=request.pk, conversation_id=request.conversation_id, value=value)


def submit(token, value, at):
    with time_machine.travel(at, tick=False):
        return rating_submit(token=token, value=value)


def comment(token, text, at=CLOSED_AT + timedelta(hours=1), reasons=()):
    with time_machine.travel(at, tick=False):
        return rating_comment(token=token, comment=text, reasons=reasons)


def snapshot(request):
    """Everything an answer may write."""
    rating = Rating.objects.filter(request=request).values().first()
    return (
        rating,
        list(RatingEvent.objects.filter(request=request).values()),
        list(request.conversation.parts.values_list("id", "event")),
    )
