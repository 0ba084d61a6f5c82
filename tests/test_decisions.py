"""What each close decides, through real closes: the close commits, the receiver enqueues and the
(synchronous) queue runs `rating_request_send`. E1–E8 skips with their rule, D2 the rated
teammate, D4 idempotence, D5 the sweep and the "reopened" close, and the task's query count."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import services
from conversations.models import Channel, Contact, ConversationClose, Origin, Part
from ratings.models import RatingDecision, RatingRequest, RatingSettings
from ratings.rules import RULE_WORDS
from ratings.selectors import rating_decision
from ratings.services import rating_decisions_sweep, rating_request_send
from tests.factories import ContactFactory, TeammateFactory, start_conversation

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
OPENING = "Hello, my invoice is wrong."  # 27 visible characters
LONG_REPLY = "x" * 251


@pytest.fixture
def close(django_capture_on_commit_callbacks):
    """Close as a teammate does: commit, then run the on-commit receiver (and so the task)."""

    def _close(conversation, by, *, quiet=False):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = services.conversation_close(conversation=conversation, by=by, quiet=quiet)
        assert len(callbacks) == 1
        return result

    return _close


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


def test_eligible_close_sends_a_request_and_records_it(teammate, close):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    closed = close(conversation, teammate)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.close == closed
    assert request.teammate == teammate
    assert request.delivered_at is not None
    assert request.delivery_attempts == 1
    assert request.last_error == ""
    (row,) = _decisions(conversation)
    assert (row.outcome, row.rule, row.request, row.close) == ("sent", "", request, closed)
    decision = rating_decision(conversation=conversation)
    assert decision.status == "sent"
    assert decision.request == request
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [request.contact.email]


def test_decision_is_pending_until_the_task_runs(teammate):
    conversation = eligible(teammate=teammate)
    assert rating_decision(conversation=conversation).status == "none"
    _lost_close(conversation, teammate)
    assert rating_decision(conversation=conversation).status == "pending"
    rating_request_send(conversation_id=conversation.pk)
    assert rating_decision(conversation=conversation).status == "sent"


# --- each skip, with its rule -----------------------------------------------------------------


def test_E1_users_switch_off_skips_a_user(teammate, close):
    RatingSettings.objects.update_or_create(pk=1, defaults={"ask_users": False})
    conversation = eligible(teammate=teammate)
    close(conversation, teammate)
    assert_skipped(conversation, "E1")


def test_E1_settings_change_leads_off_skips_a_lead_but_not_a_user(teammate, close):
    settings = RatingSettings.load()
    settings.ask_leads = False
    settings.save()
    lead = eligible(teammate=teammate, contact=ContactFactory(role=Contact.Role.LEAD))
    user = eligible(teammate=teammate, contact=ContactFactory(role=Contact.Role.USER))
    close(lead, teammate)
    close(user, teammate)
    assert_skipped(lead, "E1")
    assert rating_decision(conversation=user).status == "sent"


def test_E2_customer_conversation_without_a_teammate_reply(teammate, contact, close):
    conversation = start_conversation(contacts=[contact], started_by=contact, body="y" * 300)
    services.conversation_note(conversation=conversation, author=teammate, body="n" * 300)
    close(conversation, teammate)
    assert_skipped(conversation, "E2")


def test_E2_workflow_conversation_with_the_switch_off(teammate, contact, close):
    conversation = start_conversation(
        origin=Origin.WORKFLOW, contacts=[contact], body="Welcome aboard!"
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    close(conversation, teammate)  # send_outbound_api_workflows is off by default
    assert_skipped(conversation, "E2")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("b" * 223, "E3"),  # 27 + 223 = 250
        ("b" * 224, "sent"),  # 251
        ("<p><strong>" + "b" * 222 + "</strong>&amp;</p>", "E3"),  # markup free, &amp; is 1
        ("<p>" + "b" * 223 + "&amp;</p>", "sent"),
        ("🤩" * 223, "E3"),  # a code point is a character
        ("🤩" * 224, "sent"),
    ],
    ids=["250", "251", "html-250", "html-251", "emoji-250", "emoji-251"],
)
def test_E3_more_than_250_visible_characters(teammate, contact, close, reply, expected):
    conversation = start_conversation(contacts=[contact], started_by=contact, body=OPENING)
    services.conversation_reply(conversation=conversation, author=teammate, body=reply)
    services.conversation_note(conversation=conversation, author=teammate, body="n" * 500)
    services.conversation_bot_message(conversation=conversation, body="b" * 500)
    close(conversation, teammate)
    if expected == "sent":
        assert rating_decision(conversation=conversation).status == "sent"
    else:
        assert_skipped(conversation, expected)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (timedelta(days=7) - timedelta(minutes=1), "sent"),
        (timedelta(days=7), "sent"),
        (timedelta(days=7) + timedelta(minutes=1), "E4"),
    ],
    ids=["7d-1min", "7d", "7d+1min"],
)
def test_E4_close_within_7_days_of_the_last_reply(teammate, contact, close, after, expected):
    with time_machine.travel(NOW, tick=False):
        conversation = eligible(teammate=teammate, contact=contact)
    with time_machine.travel(NOW + after - timedelta(hours=1), tick=False):
        # A note is not a reply: it does not move the last reply on.
        services.conversation_note(conversation=conversation, author=teammate, body="later")
    with time_machine.travel(NOW + after, tick=False):
        close(conversation, teammate)
    if expected == "sent":
        assert rating_decision(conversation=conversation).status == "sent"
    else:
        assert_skipped(conversation, expected)


def test_E5_group_conversation(teammate, close):
    first, second = ContactFactory(), ContactFactory(role=Contact.Role.LEAD)
    conversation = start_conversation(contacts=[first, second], started_by=first, body=OPENING)
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    close(conversation, teammate)
    assert_skipped(conversation, "E5")


def test_E6_closing_again_after_a_reopen_sends_nothing_new(teammate, close):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    first = close(conversation, teammate)
    services.conversation_reopen(conversation=conversation, by=teammate)
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    second = close(conversation, teammate)

    request = RatingRequest.objects.get(conversation=conversation)
    assert request.close == first
    decisions = _decisions(conversation)
    assert [(d.close, d.outcome, d.rule) for d in decisions] == [
        (first, "sent", ""),
        (second, "skipped", "E6"),
    ]
    decision = rating_decision(conversation=conversation)
    assert (decision.status, decision.rule, decision.words) == ("skipped", "E6", RULE_WORDS["E6"])
    assert len(mail.outbox) == 1
    assert conversation.parts.filter(event=Part.Event.RATING_REQUESTED).count() == 1


def test_E7_snoozing_never_creates_a_request_or_decision(
    teammate, django_capture_on_commit_callbacks
):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=NOW + timedelta(hours=1)
        )
    later = NOW + timedelta(hours=2)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert services.conversations_wake_due() == 1
        assert rating_decisions_sweep() == 0
    assert not RatingRequest.objects.filter(conversation=conversation).exists()
    assert not RatingDecision.objects.filter(conversation=conversation).exists()
    assert not ConversationClose.objects.filter(conversation=conversation).exists()
    assert rating_decision(conversation=conversation).status == "none"
    assert [m for m in mail.outbox if "How did we do" in m.subject] == []


def test_E8_quiet_close_sends_nothing(teammate, close):
    conversation = eligible(teammate=teammate, channel=Channel.EMAIL)
    close(conversation, teammate, quiet=True)
    assert_skipped(conversation, "E8")
    assert mail.outbox == []


# --- D2 ----------------------------------------------------------------------------------------


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


def test_D5_sweep_reenqueues_closes_undecided_for_more_than_2_minutes(teammate):
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
# Deliver (12): savepoint, lock the request (with its joins), savepoint, the settings, the event
# (savepoint, lock, part, update, release), release, save the request, release. The same on
# both channels: sending mail is not a query.
SEND_QUERIES = {Channel.MESSENGER: 22, Channel.EMAIL: 22}
CLOSE_QUERIES = 7


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
