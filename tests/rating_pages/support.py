"""Constants and helpers shared by the modules of this package."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.urls import reverse

from conversations import services
from conversations.models import Channel, Origin, Part
from ratings.models import Rating, RatingEvent, RatingRequest
from ratings.services import rating_request_send
from ratings.tokens import rating_token
from tests.factories import ContactFactory, start_conversation

CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


SUBJECT = "Where is my parcel?"


def _requested(teammate, *, contact=None, workflow=None, channel=Channel.EMAIL, at=CLOSED_AT):
    """An eligible conversation closed at `at`, its survey decided and delivered."""
    contact = contact or ContactFactory()
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        if workflow is None:
            conversation = start_conversation(
                contacts=[contact],
                started_by=contact,
                body="Help!",
                channel=channel,
                subject=SUBJECT,
            )
        else:
            conversation = start_conversation(
                origin=Origin.WORKFLOW,
                contacts=[contact],
                workflow=workflow,
                body="Welcome!",
                channel=channel,
                subject=SUBJECT,
            )
        services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    with time_machine.travel(at, tick=False):
        services.conversation_close(conversation=conversation, by=teammate)
        rating_request_send(conversation_id=conversation.pk)
    return RatingRequest.objects.get(conversation=conversation)


def _url(request, value=None, name="ratings:rate"):
    token = rating_token(
        request_id=request.pk, conversation_id=request.conversation_id, value=value
    )
    return reverse(name, args=[token])


def _comment_url(request, value=None):
    return _url(request, value, name="ratings:rate_comment")


def _written():
    """What a page could write: ratings, their history and the thread's parts."""
    return (
        list(Rating.objects.values_list("pk", "value", "comment", "reasons", "commented_at")),
        RatingEvent.objects.count(),
        Part.objects.count(),
    )


def _text(response) -> str:
    return response.content.decode()
