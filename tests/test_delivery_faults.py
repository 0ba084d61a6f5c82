"""D4 and D5 through the faults bench/topology.py found on real processes: a broker that cannot
be reached when a close commits, and a database connection lost while the send task works —
in particular after the mail server took the survey and before it was recorded."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from conversations import services
from conversations.models import Channel, Part
from ratings import decisions
from ratings.models import RatingDecision, RatingRequest
from ratings.selectors import rating_decision
from ratings.services import rating_decisions_sweep, rating_request_send
from ratings.surveys import survey_message_id
from tests.factories import start_conversation
from tests.outbox import message_id, surveys

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def email_conversation(contact, teammate):
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body="Where is my refund?", channel=Channel.EMAIL
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="r" * 260)
    return conversation


def _close_without_queueing(monkeypatch, conversation, teammate):
    """Close it with the queue out of the way: the test runs the task itself."""
    with monkeypatch.context() as patch:
        patch.setattr(decisions, "outbox_enqueue", lambda *args, **kwargs: None)
        services.conversation_close(conversation=conversation, by=teammate)


def _requested_parts(conversation):
    return conversation.parts.filter(event=Part.Event.RATING_REQUESTED).count()


def test_D4_the_close_is_made_when_the_broker_cannot_be_reached_and_D5_sweeps_it(
    email_conversation, teammate, monkeypatch, django_capture_on_commit_callbacks, settings
):
    def broker_down(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch, time_machine.travel(NOW, tick=False):
        patch.setattr(decisions, "outbox_enqueue", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_close(conversation=email_conversation, by=teammate)

    email_conversation.refresh_from_db()
    assert email_conversation.state == "closed"
    assert rating_decision(conversation=email_conversation).status == "pending"
    assert mail.outbox == []

    later = NOW + timedelta(seconds=settings.RATING_SWEEP_GRACE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert rating_decisions_sweep() == 1
        assert rating_decisions_sweep() == 0
    assert rating_decision(conversation=email_conversation).status == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_D4_a_connection_lost_after_the_hand_over_records_the_survey_and_sends_it_once(
    email_conversation, teammate, monkeypatch
):
    _close_without_queueing(monkeypatch, email_conversation, teammate)
    save = RatingRequest.save
    lost = []

    def save_losing_the_connection_once(self, *args, **kwargs):
        if self.delivered_at is not None and not lost:
            lost.append(self.pk)  # the mail is out; the UPDATE that records it fails
            raise OperationalError("server closed the connection unexpectedly")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(RatingRequest, "save", save_losing_the_connection_once)
    assert "emailed" in rating_request_send(conversation_id=email_conversation.pk)
    assert lost

    request = RatingRequest.objects.get(conversation=email_conversation)
    assert request.delivered_at is not None
    assert request.delivery_attempts == 1
    assert request.last_error == ""
    assert _requested_parts(email_conversation) == 1
    assert len(surveys()) == 1
    assert message_id(surveys()[0]) == survey_message_id(request)

    assert rating_request_send(conversation_id=email_conversation.pk) == "nothing to deliver"
    assert len(surveys()) == 1
    assert _requested_parts(email_conversation) == 1


@pytest.mark.django_db(transaction=True)
def test_D5_the_task_reconnects_after_a_lost_connection_and_decides_once(
    email_conversation, teammate, monkeypatch
):
    _close_without_queueing(monkeypatch, email_conversation, teammate)
    decide = decisions._decide
    calls = []

    def decide_after_a_cut(conversation_id):
        calls.append(conversation_id)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return decide(conversation_id)

    monkeypatch.setattr(decisions, "_decide", decide_after_a_cut)
    assert "emailed" in rating_request_send(conversation_id=email_conversation.pk)
    assert len(calls) == 2
    assert RatingDecision.objects.filter(conversation=email_conversation).count() == 1
    assert len(surveys()) == 1


def test_D4_the_survey_keeps_one_message_id_per_request(email_conversation, teammate):
    services.conversation_close(conversation=email_conversation, by=teammate)
    rating_request_send(conversation_id=email_conversation.pk)
    request = RatingRequest.objects.get(conversation=email_conversation)
    assert mail.outbox[0].message()["Message-ID"] == (
        f"<rating-request-{request.pk}.{email_conversation.pk}@testserver>"
    )
