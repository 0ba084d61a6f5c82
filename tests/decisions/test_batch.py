"""D6 a task decides a batch of closes, D7 a survey that goes out retries the refused ones at
once, D8 the fast sweep (and `manage.py worker`, which runs it)."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import services
from conversations.management.commands.worker import fast_sweeps_run
from conversations.models import Channel
from ratings import decisions
from ratings.delivery import DeliveryFailed
from ratings.models import RatingDecision, RatingRequest, RatingSettings
from ratings.selectors import rating_decision
from ratings.services import rating_request_send
from tests.decisions.support import NOW, OPENING, _lost_close, eligible
from tests.factories import ContactFactory, start_conversation


def _lost(teammate, count, channel=Channel.MESSENGER):
    """`count` eligible closes whose tasks never ran."""
    conversations = [eligible(teammate=teammate, channel=channel) for _ in range(count)]
    for conversation in conversations:
        _lost_close(conversation, teammate)
    return conversations


def _decide_queries(conversation_id):
    with CaptureQueriesContext(connection) as queries:
        request_ids, _settings = decisions._decide(conversation_id)
    return len(queries), request_ids


def test_D6_one_task_decides_every_undecided_close_each_once(teammate):
    conversations = _lost(teammate, 5, Channel.EMAIL)
    quiet = eligible(teammate=teammate, channel=Channel.EMAIL)
    _lost_close(quiet, teammate, quiet=True)

    rating_request_send(conversation_id=conversations[0].pk)

    for conversation in conversations:
        assert rating_decision(conversation=conversation).status == "sent"
    assert rating_decision(conversation=quiet).rule == "E8"
    assert RatingDecision.objects.count() == 6
    assert RatingRequest.objects.filter(delivered_at__isnull=False).count() == 5
    assert len(mail.outbox) == 5
    # The other closes' tasks, run later, find nothing.
    for conversation in conversations[1:]:
        assert rating_request_send(conversation_id=conversation.pk) == "nothing to deliver"
    assert RatingDecision.objects.count() == 6
    assert len(mail.outbox) == 5


def test_D6_a_batch_costs_the_same_statements_for_2_closes_and_for_12(teammate):
    RatingSettings.load()  # the settings row exists, as after the first request
    two = _lost(teammate, 2)
    counts = {}
    counts[2], made = _decide_queries(two[0].pk)
    assert len(made) == 2
    twelve = _lost(teammate, 12)
    counts[12], made = _decide_queries(twelve[0].pk)
    assert len(made) == 12
    # Its own row, the candidates, their rows (SKIP LOCKED), closes, requests, settings,
    # contacts; requests, decisions, figures; the savepoint and its release.
    assert counts[2] == counts[12] == 12
    assert RatingDecision.objects.count() == 14


def test_D6_the_batch_takes_at_most_RATING_DECISION_BATCH_conversations(teammate, settings):
    settings.RATING_DECISION_BATCH = 3
    conversations = _lost(teammate, 5)
    _count, made = _decide_queries(conversations[4].pk)
    assert len(made) == 3
    # Its own conversation first, whatever its place.
    assert RatingDecision.objects.filter(conversation=conversations[4]).exists()
    assert RatingDecision.objects.count() == 3
    _decide_queries(conversations[4].pk)
    assert RatingDecision.objects.count() == 5


def test_D6_each_conversation_of_a_batch_is_decided_by_its_own_rules(teammate):
    sent, reopened = _lost(teammate, 2)
    services.conversation_reopen(conversation=reopened, by=teammate)
    contact = ContactFactory()
    short = start_conversation(contacts=[contact], started_by=contact, body=OPENING)
    services.conversation_reply(conversation=short, author=teammate, body="Done.")
    _lost_close(short, teammate)  # E3
    own = eligible(teammate=teammate)
    _lost_close(own, teammate)

    rating_request_send(conversation_id=own.pk)

    assert rating_decision(conversation=sent).status == "sent"
    assert rating_decision(conversation=own).status == "sent"
    assert rating_decision(conversation=reopened).rule == "reopened"
    assert rating_decision(conversation=short).rule == "E3"
    assert RatingRequest.objects.count() == 2


def test_D6_E9_two_conversations_of_one_contact_in_one_batch_ask_once(teammate, contact):
    from ratings.configure import rating_settings_update

    rating_settings_update(limit_asking_contact=True, fatigue_days=7, by=None)
    first = eligible(teammate=teammate, contact=contact)
    second = eligible(teammate=teammate, contact=contact)
    _lost_close(first, teammate)
    _lost_close(second, teammate)

    rating_request_send(conversation_id=first.pk)

    assert rating_decision(conversation=first).status == "sent"
    assert rating_decision(conversation=second).rule == "E9"
    assert RatingRequest.objects.filter(contact=contact).count() == 1


def test_D6_closes_older_than_an_hour_are_left_to_the_minute_sweep(teammate):
    with time_machine.travel(NOW, tick=False):
        old = _lost(teammate, 1)[0]
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        fresh = _lost(teammate, 1)[0]
        rating_request_send(conversation_id=fresh.pk)
        assert rating_decision(conversation=old).status == "pending"
        assert decisions.rating_decisions_recent_sweep() == 0
        assert decisions.rating_decisions_sweep() == 1
    assert rating_decision(conversation=old).status == "sent"


# --- D7 ---------------------------------------------------------------------------------------


def test_D7_a_survey_that_goes_out_retries_the_refused_ones_at_once(smtp, teammate):
    smtp.handler.refuse_at = "DATA"
    with time_machine.travel(NOW, tick=False), pytest.raises(DeliveryFailed) as failed:
        refused = _lost(teammate, 2, Channel.EMAIL)
        rating_request_send(conversation_id=refused[0].pk)
    assert str(failed.value).count("451") == 2  # both tried, both refused
    assert smtp.messages == []
    assert RatingRequest.objects.filter(delivery_attempts=1, delivered_at=None).count() == 2

    smtp.handler.refuse_at = None
    # Long before their pause is over (2 minutes): the new survey shows the server is back.
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        later = _lost(teammate, 1, Channel.EMAIL)[0]
        rating_request_send(conversation_id=later.pk)
    assert len(smtp.messages) == 3
    assert RatingRequest.objects.filter(delivered_at=None).count() == 0
    for request in RatingRequest.objects.filter(conversation__in=refused):
        assert request.delivery_attempts == 2

    # Nothing goes twice.
    for conversation in [*refused, later]:
        assert rating_request_send(conversation_id=conversation.pk) == "nothing to deliver"
    assert len(smtp.messages) == 3


def test_D7_while_the_server_refuses_nothing_is_retried_before_its_pause(smtp, teammate):
    smtp.handler.refuse_at = "RCPT"
    with time_machine.travel(NOW, tick=False), pytest.raises(DeliveryFailed):
        waiting = _lost(teammate, 1, Channel.EMAIL)[0]
        rating_request_send(conversation_id=waiting.pk)
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False), pytest.raises(DeliveryFailed):
        later = _lost(teammate, 1, Channel.EMAIL)[0]
        rating_request_send(conversation_id=later.pk)  # refused: the waiting one is not tried
    assert RatingRequest.objects.get(conversation=waiting).delivery_attempts == 1
    assert smtp.messages == []


# --- D8 ---------------------------------------------------------------------------------------


def test_D8_the_fast_sweep_queues_within_seconds_what_a_lost_task_left(teammate, settings):
    settings.RATING_SWEEP_GRACE_SECONDS = 10
    with time_machine.travel(NOW, tick=False):
        conversation = _lost(teammate, 1)[0]
    with time_machine.travel(NOW + timedelta(seconds=9), tick=False):
        assert decisions.rating_decisions_recent_sweep() == 0
    with time_machine.travel(NOW + timedelta(seconds=11), tick=False):
        assert decisions.rating_decisions_recent_sweep() == 1  # queued (run at once in tests)
    assert rating_decision(conversation=conversation).status == "sent"
    with time_machine.travel(NOW + timedelta(seconds=16), tick=False):
        assert decisions.rating_decisions_recent_sweep() == 0


def test_D8_the_idle_fast_sweep_costs_two_queries(teammate, django_assert_num_queries):
    # Decided closes and delivered surveys in the last hour: nothing to queue.
    conversation = _lost(teammate, 1)[0]
    rating_request_send(conversation_id=conversation.pk)
    with django_assert_num_queries(2):
        assert decisions.rating_decisions_recent_sweep() == 0


def test_D8_a_failing_fast_sweep_is_logged_and_the_next_runs(caplog, db):
    def broken():
        raise ConnectionError("broker away")

    with caplog.at_level(logging.WARNING):
        assert fast_sweeps_run([broken, lambda: 3]) == 3
    assert "Fast sweep" in caplog.text


def test_D8_the_worker_runs_the_ratings_fast_sweep():
    from django.conf import settings

    assert settings.FAST_SWEEPS == ["ratings.decisions.rating_decisions_recent_sweep"]
    assert 0 < settings.FAST_SWEEP_SECONDS <= 5


def test_D6_surveys_beyond_a_chunk_are_queued_in_chunks_each_delivered_once(
    teammate, settings, monkeypatch
):
    settings.RATING_DELIVERY_CHUNK = 5
    conversations = _lost(teammate, 12, Channel.EMAIL)
    queued = []
    enqueue = decisions._deliveries_enqueue
    monkeypatch.setattr(
        decisions, "_deliveries_enqueue", lambda ids: (queued.append(list(ids)), enqueue(ids))
    )

    rating_request_send(conversation_id=conversations[0].pk)

    assert [len(chunk) for chunk in queued] == [5, 2]  # the first 5 by the task itself
    assert len(mail.outbox) == 12
    assert RatingRequest.objects.filter(delivered_at=None).count() == 0
    assert decisions.rating_requests_deliver(request_ids=queued[0]) == "; ".join(
        ["already delivered"] * 5
    )
    assert len(mail.outbox) == 12
