"""Constants and helpers shared by the modules of this package."""

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from conversations.models import (
    Contact,
    Conversation,
    ConversationClose,
    Part,
    Teammate,
)

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def _row(conversation):
    return Conversation.objects.filter(pk=conversation.pk).values().get()


def _in_memory(conversation):
    return {f.attname: getattr(conversation, f.attname) for f in Conversation._meta.concrete_fields}


@contextmanager
def refused(conversation, match):
    """The service raises ValidationError and writes nothing: the row, its parts, its closes
    and its contacts are as before, and so is the caller's object."""
    conversation.refresh_from_db()
    before = (
        _row(conversation),
        Part.objects.filter(conversation=conversation).count(),
        ConversationClose.objects.filter(conversation=conversation).count(),
        sorted(conversation.contacts.values_list("pk", flat=True)),
    )
    object_before = _in_memory(conversation)
    with pytest.raises(ValidationError, match=match):
        yield
    after = (
        _row(conversation),
        Part.objects.filter(conversation=conversation).count(),
        ConversationClose.objects.filter(conversation=conversation).count(),
        sorted(conversation.contacts.values_list("pk", flat=True)),
    )
    assert after == before
    assert _in_memory(conversation) == object_before


@contextmanager
def nothing_created(match):
    counts = (
        Conversation.objects.count(),
        Part.objects.count(),
        Contact.objects.count(),
        Teammate.objects.count(),
        get_user_model().objects.count(),
    )
    with pytest.raises(ValidationError, match=match):
        yield
    assert (
        Conversation.objects.count(),
        Part.objects.count(),
        Contact.objects.count(),
        Teammate.objects.count(),
        get_user_model().objects.count(),
    ) == counts
