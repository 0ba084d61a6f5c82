"""D4 under real concurrency (PostgreSQL: row locks): eight teammates closing the same
conversation at once close it once, and any number of concurrent runs of the send task make
one request, one decision per close and one email."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from conversations import services
from conversations.models import Channel, Conversation, ConversationClose, Part, State
from ratings.models import RatingDecision, RatingRequest
from ratings.services import rating_request_send
from tests.factories import start_conversation
from tests.outbox import surveys

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="select_for_update needs PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 8


def run_at_once(count, target):
    """Run `target(index)` in `count` threads released together; each thread closes its own
    database connection. Returns ("ok", result) or ("error", exception) per thread."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", target(index))
        except Exception as error:  # noqa: BLE001 - reported to the test
            results[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    unexpected = [
        value
        for status, value in results
        if status == "error" and not isinstance(value, ValidationError)
    ]
    if unexpected:
        raise unexpected[0]
    return results


@pytest.fixture
def eligible(contact, teammate):
    conversation = start_conversation(
        contacts=[contact],
        started_by=contact,
        body="My export keeps failing.",
        channel=Channel.EMAIL,
        subject="Export failing",
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="e" * 260)
    return conversation


def _assert_one_survey(conversation):
    assert RatingRequest.objects.filter(conversation=conversation).count() == 1
    request = RatingRequest.objects.get(conversation=conversation)
    assert request.delivered_at is not None
    assert request.delivery_attempts == 1
    (close,) = ConversationClose.objects.filter(conversation=conversation)
    (decision,) = RatingDecision.objects.filter(conversation=conversation)
    assert (decision.close_id, decision.outcome, decision.request_id) == (
        close.pk,
        "sent",
        request.pk,
    )
    (survey,) = surveys()  # the teammate's reply was mailed too (M1)
    assert survey.to == [request.contact.email]
    assert conversation.parts.filter(event=Part.Event.RATING_REQUESTED).count() == 1


def test_D4_eight_concurrent_closes_close_once_and_send_one_survey(eligible, teammate):
    def close(_index):
        own = Conversation.objects.get(pk=eligible.pk)
        return services.conversation_close(conversation=own, by=teammate)

    results = run_at_once(THREADS, close)

    succeeded = [value for status, value in results if status == "ok"]
    failed = [value for status, value in results if status == "error"]
    assert len(succeeded) == 1, results
    assert len(failed) == THREADS - 1
    for error in failed:
        assert isinstance(error, ValidationError), error
        assert "already closed" in error.messages[0]
    eligible.refresh_from_db()
    assert eligible.state == State.CLOSED
    assert eligible.parts.filter(event=Part.Event.CLOSED).count() == 1
    # The winner's commit ran the (synchronous) task in its thread.
    _assert_one_survey(eligible)

    # The task again: twice at once, then once more.
    results = run_at_once(2, lambda _index: rating_request_send(conversation_id=eligible.pk))
    assert [status for status, _ in results] == ["ok", "ok"], results
    assert rating_request_send(conversation_id=eligible.pk) == "nothing to deliver"
    _assert_one_survey(eligible)


def test_D4_eight_concurrent_send_tasks_send_one_survey(eligible, teammate, monkeypatch):
    # The close commits without enqueueing, so that only the eight threads run the task.
    monkeypatch.setattr("ratings.decisions.rating_request_enqueue", lambda **kwargs: None)
    services.conversation_close(conversation=eligible, by=teammate)
    assert not RatingDecision.objects.exists()

    results = run_at_once(THREADS, lambda _index: rating_request_send(conversation_id=eligible.pk))

    assert [status for status, _ in results] == ["ok"] * THREADS, results
    outcomes = sorted(value for _, value in results)
    assert outcomes.count("nothing to deliver") + outcomes.count("already delivered") == 7
    _assert_one_survey(eligible)


def test_D6_batches_racing_on_four_workers_decide_each_close_once(teammate, monkeypatch):
    """Four tasks at once, each deciding a batch (SKIP LOCKED): every close decided once, one
    request and one survey per conversation, whichever batch took it."""
    from django.test import override_settings

    from conversations.models import Contact
    from ratings.rules import TEAMMATE

    monkeypatch.setattr("ratings.decisions.rating_request_enqueue", lambda **kwargs: None)
    conversations = []
    for index in range(24):
        contact = Contact.objects.create(role="user", name=f"C{index}", email=f"c{index}@x.test")
        conversation = start_conversation(
            contacts=[contact], started_by=contact, body="Help.", channel=Channel.EMAIL
        )
        services.conversation_reply(conversation=conversation, author=teammate, body="r" * 260)
        services.conversation_close(conversation=conversation, by=teammate)
        conversations.append(conversation)
    assert not RatingDecision.objects.exists()

    with override_settings(RATING_DECISION_BATCH=5, RATING_DELIVERY_CHUNK=100):
        results = run_at_once(
            4, lambda index: rating_request_send(conversation_id=conversations[index * 6].pk)
        )
        assert [status for status, _ in results] == ["ok"] * 4, results
        # What the four batches left (each took at most 5), by the tasks of the others.
        for conversation in conversations:
            rating_request_send(conversation_id=conversation.pk)

    assert RatingDecision.objects.count() == 24
    assert ConversationClose.objects.filter(decision__isnull=True).count() == 0
    assert RatingRequest.objects.filter(kind=TEAMMATE).count() == 24
    assert RatingRequest.objects.filter(delivered_at__isnull=True).count() == 0
    assert RatingRequest.objects.filter(delivery_attempts__gt=1).count() == 0
    emailed = [email.to[0] for email in surveys()]
    assert sorted(emailed) == sorted(f"c{index}@x.test" for index in range(24))
