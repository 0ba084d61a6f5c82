"""D2 the rated teammate, D4 once only, D5 the sweep, and the send task's query count."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import services
from conversations.models import Channel, Part
from ratings.models import RatingDecision, RatingRequest, RatingSettings
from ratings.rules import RULE_WORDS
from ratings.selectors import rating_decision
from ratings.services import rating_decisions_sweep, rating_request_send
from tests.decisions.support import NOW, OPENING, _decisions, _lost_close, assert_skipped, eligible
from tests.factories import ContactFactory, TeammateFactory, start_conversation


def test_D2_the_last_teammate_replier_owns_the_rating(teammate, other_teammate, contact, close):
    closer = TeammateFactory(name="Cleo Closer")
    conversation = start_conversation(contacts=[contact], started_by=contact, body=OPENING)
    services.conversation_reply(conversation=conversation, author=other_teammate, body="a" * 120)
    services.conversation_reply(conversation=conversation, author=teammate, body="b" * 120)
    services.conversation_reply(conversation=conversation, author=contact, body="Thanks!")
    services.conversation_note(conversation=conversation, author=other_teammate, body="note")
    services.conversation_note(conversation=conversation, author=closer, body="closing")
    close(conversation, closer)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.teammate == teammate
    assert request.close.closed_by == closer


# --- D5: a close reopened before its task ran -------------------------------------------------


def test_D5_reopened_before_the_task_ran_sends_nothing(teammate):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    closed = _lost_close(conversation, teammate)
    services.conversation_reopen(conversation=conversation, by=teammate)
    rating_request_send(conversation_id=conversation.pk)

    (row,) = _decisions(conversation)
    assert (row.close, row.outcome, row.rule) == (closed, "skipped", "reopened")
    decision = rating_decision(conversation=conversation)
    assert (decision.status, decision.rule, decision.words) == (
        "skipped",
        "reopened",
        RULE_WORDS["reopened"],
    )
    assert not RatingRequest.objects.filter(conversation=conversation).exists()
    assert mail.outbox == []


def test_D5_reopened_by_the_customer_before_the_task_ran(teammate, contact):
    conversation = eligible(teammate=teammate, contact=contact)
    _lost_close(conversation, teammate)
    services.conversation_reply(conversation=conversation, author=contact, body="One more thing")
    rating_request_send(conversation_id=conversation.pk)
    assert rating_decision(conversation=conversation).rule == "reopened"
    assert not RatingRequest.objects.filter(conversation=conversation).exists()


def test_D5_reopened_and_closed_again_before_the_task_ran(teammate):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    with time_machine.travel(NOW, tick=False):
        first = _lost_close(conversation, teammate)
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        services.conversation_reopen(conversation=conversation, by=teammate)
        second = _lost_close(conversation, teammate)
    with time_machine.travel(NOW + timedelta(seconds=40), tick=False):
        rating_request_send(conversation_id=conversation.pk)

    assert [(d.close, d.outcome, d.rule) for d in _decisions(conversation)] == [
        (first, "skipped", "reopened"),
        (second, "sent", ""),
    ]
    assert RatingRequest.objects.get(conversation=conversation).close == second
    assert rating_decision(conversation=conversation).status == "sent"
    assert len(mail.outbox) == 1


# --- D4 ----------------------------------------------------------------------------------------


def test_D4_running_the_task_again_sends_nothing_more(teammate, close):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    close(conversation, teammate)
    assert rating_request_send(conversation_id=conversation.pk) == "nothing to deliver"
    assert rating_request_send(conversation_id=conversation.pk) == "nothing to deliver"

    assert RatingRequest.objects.filter(conversation=conversation).count() == 1
    assert len(_decisions(conversation)) == 1
    assert len(mail.outbox) == 1
    assert conversation.parts.filter(event=Part.Event.RATING_REQUESTED).count() == 1


def test_D4_two_runs_of_a_lost_close(teammate):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    _lost_close(conversation, teammate)
    rating_request_send(conversation_id=conversation.pk)
    rating_request_send(conversation_id=conversation.pk)
    assert RatingRequest.objects.filter(conversation=conversation).count() == 1
    assert len(_decisions(conversation)) == 1
    assert len(mail.outbox) == 1


def test_D4_task_for_a_missing_conversation_does_nothing(db):
    assert rating_request_send(conversation_id=987654) == "nothing to deliver"
    assert not RatingDecision.objects.exists()


# --- D5: the sweep -----------------------------------------------------------------------------


def test_D5_sweep_reenqueues_closes_undecided_for_more_than_2_minutes(teammate, settings):
    settings.RATING_DECISION_BATCH = 1  # each task its own close only (D6 is tested apart)
    old = eligible(teammate=teammate, channel=Channel.EMAIL)
    young = eligible(teammate=teammate, channel=Channel.EMAIL)
    with time_machine.travel(NOW, tick=False):
        _lost_close(old, teammate)
    with time_machine.travel(NOW + timedelta(seconds=2), tick=False):
        _lost_close(young, teammate)

    with time_machine.travel(NOW + timedelta(minutes=1, seconds=59), tick=False):
        assert rating_decisions_sweep() == 0
    assert rating_decision(conversation=old).status == "pending"

    with time_machine.travel(NOW + timedelta(minutes=2, seconds=1), tick=False):
        assert rating_decisions_sweep() == 1
    assert rating_decision(conversation=old).status == "sent"
    assert rating_decision(conversation=young).status == "pending"
    assert len(mail.outbox) == 1

    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        assert rating_decisions_sweep() == 1  # the young one, now old enough
        assert rating_decisions_sweep() == 0  # nothing left
    assert rating_decision(conversation=young).status == "sent"
    assert len(mail.outbox) == 2


def test_D5_sweep_decides_skips_too(teammate):
    conversation = eligible(teammate=teammate)
    with time_machine.travel(NOW, tick=False):
        _lost_close(conversation, teammate, quiet=True)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert rating_decisions_sweep() == 1
        assert rating_decisions_sweep() == 0
    assert_skipped(conversation, "E8")


# --- the task's queries do not grow with the thread ---------------------------------------------


def _conversation_with_parts(count, teammate, channel):
    contact = ContactFactory()
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body=OPENING, channel=channel, subject="Parts"
    )
    for number in range(1, count - 1):
        author = teammate if number % 2 else contact
        services.conversation_reply(conversation=conversation, author=author, body="r" * 30)
    services.conversation_note(conversation=conversation, author=teammate, body="a note")
    assert conversation.parts.count() == count
    return conversation


# Decide (10): savepoint, lock the conversation, its closes (each with whether it is decided),
# an existing request, the settings, the contact, the request, its day's figures (reports),
# the decision, release.
# Deliver (9): savepoint, lock the request (with its joins), savepoint, the settings, the event
# (the conversation's update, the part: no savepoint of its own), release, save the request,
# release. Sending mail is not a query, but an email survey reads its thread's Message-IDs for
# its threading headers (M3): one query more, whatever the thread's length.
# D6: one more than one-close-per-task for the batch (the other conversations with an
# undecided close, SKIP LOCKED); D7: one more after an email went out (surveys waiting after
# a refusal, read on a partial index).
SEND_QUERIES = {Channel.MESSENGER: 19, Channel.EMAIL: 21}


CLOSE_QUERIES = 6  # tests/test_close_queries.py


@pytest.mark.parametrize("channel", [Channel.MESSENGER, Channel.EMAIL])
def test_D4_send_task_queries_do_not_depend_on_the_thread_length(
    teammate, django_capture_on_commit_callbacks, django_assert_num_queries, channel
):
    RatingSettings.load()  # the settings row exists, as after the first request
    short = _conversation_with_parts(10, teammate, channel)
    long = _conversation_with_parts(200, teammate, channel)
    counts = {}
    for name, conversation in (("short", short), ("long", long)):
        with (
            django_capture_on_commit_callbacks(execute=False),
            CaptureQueriesContext(connection) as close_queries,
        ):
            services.conversation_close(conversation=conversation, by=teammate)
        with CaptureQueriesContext(connection) as send_queries:
            rating_request_send(conversation_id=conversation.pk)
        counts[name] = (len(close_queries), len(send_queries))
    print(
        f"\n{channel}: conversation_close + rating_request_send queries: "
        f"10 parts: {counts['short']}, 200 parts: {counts['long']}"
    )
    assert counts["short"] == counts["long"]
    assert counts["short"] == (CLOSE_QUERIES, SEND_QUERIES[channel])
    assert RatingRequest.objects.filter(delivered_at__isnull=False).count() == 2

    # The same, asserted with django_assert_num_queries on a third, long conversation.
    third = _conversation_with_parts(200, teammate, channel)
    services.conversation_close(conversation=third, by=teammate)
    with django_assert_num_queries(SEND_QUERIES[channel]):
        rating_request_send(conversation_id=third.pk)


@pytest.mark.django_db
def test_D5_the_sweep_schedule_exists_once_and_runs_every_minute():
    from django_q.models import Schedule

    from ratings.apps import SWEEP_SCHEDULE_NAME, ensure_sweep_schedule

    ensure_sweep_schedule(sender=None)
    (schedule,) = Schedule.objects.filter(name=SWEEP_SCHEDULE_NAME)
    assert schedule.func == "ratings.decisions.rating_decisions_sweep"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 1)
