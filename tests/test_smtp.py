"""D1 and D4 through a real SMTP server (aiosmtpd on 127.0.0.1): one survey per close, and a
mail server that refuses or is down loses nothing and, once it is back, gets exactly one survey.

In the test settings django-q2 runs tasks synchronously (`Q_CLUSTER["sync"]`): its worker
re-raises the task's exception when the task is synchronous (django_q/worker.py), so the
failure comes out of `async_task`, and so out of the close's on-commit callback, and no Task
or Failure row is saved. On a real cluster the worker records a Failure instead and the close
is never affected. Either way the close, its decision and the undelivered request are
committed before the mail is tried (D4, D5)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_q.models import Task

from conversations import services
from conversations.models import Channel
from ratings.models import RatingDecision, RatingRequest
from ratings.selectors import rating_decision
from ratings.services import DeliveryFailed, rating_decisions_sweep, rating_request_send
from tests.factories import start_conversation

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
SUBJECT = "Password reset does not arrive"


@pytest.fixture
def email_conversation(contact, teammate):
    conversation = start_conversation(
        contacts=[contact],
        started_by=contact,
        body="The reset email never comes.",
        channel=Channel.EMAIL,
        subject=SUBJECT,
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="q" * 260)
    return conversation


def _close(capture, conversation, teammate):
    with capture(execute=True):
        return services.conversation_close(conversation=conversation, by=teammate)


def _assert_survey(received, contact):
    rcpt_tos, message = received
    assert rcpt_tos == [contact.email]
    assert message["To"] == contact.email
    assert SUBJECT in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in message.iter_parts()]
    assert types == ["text/plain", "text/html"]
    plain = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert plain.count("http://testserver/rate/") == 5
    assert html.count('href="http://testserver/rate/') == 5


def test_D1_close_sends_exactly_one_survey_through_smtp(
    smtp, email_conversation, contact, teammate, django_capture_on_commit_callbacks
):
    _close(django_capture_on_commit_callbacks, email_conversation, teammate)

    assert len(smtp.messages) == 1
    _assert_survey(smtp.messages[0], contact)
    request = RatingRequest.objects.get(conversation=email_conversation)
    assert request.delivered_at is not None
    assert request.delivery_attempts == 1
    assert request.last_error == ""

    assert rating_request_send(conversation_id=email_conversation.pk) == "nothing to deliver"
    assert len(smtp.messages) == 1


def _close_while_mail_fails(capture, conversation, teammate):
    """The close commits; the synchronous task raises DeliveryFailed out of the on-commit
    callback (see the module docstring), after recording the attempt."""
    with pytest.raises(DeliveryFailed):
        _close(capture, conversation, teammate)
    conversation.refresh_from_db()
    assert conversation.state == "closed"
    close = conversation.closes.get()
    decision = RatingDecision.objects.get(close=close)
    assert decision.outcome == RatingDecision.Outcome.SENT
    request = RatingRequest.objects.get(conversation=conversation)
    assert decision.request == request
    assert request.delivered_at is None
    assert request.delivery_attempts == 1
    assert request.last_attempt_at is not None
    assert request.last_error
    assert rating_decision(conversation=conversation).status == "sent"
    # Synchronous django-q2 re-raises before its monitor would save the task.
    assert not Task.objects.exists()
    return request


@pytest.mark.parametrize("refuse_at", ["RCPT", "DATA", "down"])
def test_D4_mail_down_then_up_delivers_exactly_once_on_a_rerun(
    smtp, email_conversation, contact, teammate, django_capture_on_commit_callbacks, refuse_at
):
    if refuse_at == "down":
        smtp.stop()  # connection refused
    else:
        smtp.handler.refuse_at = refuse_at
    request = _close_while_mail_fails(
        django_capture_on_commit_callbacks, email_conversation, teammate
    )
    if refuse_at == "down":
        assert "refused" in request.last_error.lower() or "errno" in request.last_error.lower()
    else:
        assert "451" in request.last_error
    assert smtp.messages == []

    # Still failing: a second attempt is recorded, nothing is sent.
    with pytest.raises(DeliveryFailed):
        rating_request_send(conversation_id=email_conversation.pk)
    request.refresh_from_db()
    assert request.delivery_attempts == 2
    assert request.delivered_at is None

    # The server is back.
    if refuse_at == "down":
        smtp.start()
    smtp.handler.refuse_at = None
    assert "emailed" in rating_request_send(conversation_id=email_conversation.pk)
    assert len(smtp.messages) == 1
    _assert_survey(smtp.messages[0], contact)
    request.refresh_from_db()
    assert request.delivered_at is not None
    assert request.delivery_attempts == 3
    assert request.last_error == ""

    assert rating_request_send(conversation_id=email_conversation.pk) == "nothing to deliver"
    assert len(smtp.messages) == 1
    assert RatingRequest.objects.count() == 1
    assert RatingDecision.objects.count() == 1


def test_D5_mail_down_then_up_the_sweep_delivers_exactly_once(
    smtp, email_conversation, contact, teammate, django_capture_on_commit_callbacks
):
    smtp.handler.refuse_at = "RCPT"
    with time_machine.travel(NOW, tick=False):
        _close_while_mail_fails(django_capture_on_commit_callbacks, email_conversation, teammate)

    smtp.handler.refuse_at = None
    with time_machine.travel(NOW + timedelta(minutes=1, seconds=59), tick=False):
        assert rating_decisions_sweep() == 0  # too early: the retry pause is 2 minutes
    assert smtp.messages == []

    with time_machine.travel(NOW + timedelta(minutes=2, seconds=1), tick=False):
        assert rating_decisions_sweep() == 1
        assert rating_decisions_sweep() == 0
    assert len(smtp.messages) == 1
    _assert_survey(smtp.messages[0], contact)

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert rating_decisions_sweep() == 0
    assert len(smtp.messages) == 1
    request = RatingRequest.objects.get()
    assert request.delivered_at == NOW + timedelta(minutes=2, seconds=1)
    assert request.delivery_attempts == 2
