"""E9, the fatigue guard: with it on, a contact is sent at most one rating request in N days."""

from datetime import timedelta

import pytest
import time_machine

from conversations.models import Channel
from ratings.configure import rating_settings_update
from ratings.models import RatingRequest
from ratings.rules import CloseFacts, Switches, asked_too_recently, eligibility
from ratings.selectors import rating_decision
from tests.decisions.support import NOW, assert_skipped, eligible
from tests.factories import ContactFactory


def _asked_and_closed(*, teammate, contact, close, at, channel=Channel.MESSENGER):
    """A conversation of `contact`, replied to and closed at `at`."""
    with time_machine.travel(at, tick=False):
        conversation = eligible(teammate=teammate, contact=contact, channel=channel)
        close(conversation, teammate)
    return conversation


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (timedelta(days=30) - timedelta(minutes=1), "E9"),
        (timedelta(days=30), "sent"),
        (timedelta(days=30) + timedelta(minutes=1), "sent"),
    ],
    ids=["30d-1min", "30d", "30d+1min"],
)
def test_E9_a_contact_is_asked_at_most_once_in_the_days_set(
    teammate, contact, close, after, expected
):
    rating_settings_update(by=None, limit_asking_contact=True, fatigue_days=30)
    first = _asked_and_closed(teammate=teammate, contact=contact, close=close, at=NOW)
    assert rating_decision(conversation=first).status == "sent"

    second = _asked_and_closed(teammate=teammate, contact=contact, close=close, at=NOW + after)
    if expected == "sent":
        assert rating_decision(conversation=second).status == "sent"
        assert RatingRequest.objects.filter(contact=contact).count() == 2
    else:
        assert_skipped(second, "E9")
        assert RatingRequest.objects.filter(contact=contact).count() == 1


def test_E9_is_off_by_default(teammate, contact, close):
    first = _asked_and_closed(teammate=teammate, contact=contact, close=close, at=NOW)
    second = _asked_and_closed(
        teammate=teammate, contact=contact, close=close, at=NOW + timedelta(minutes=5)
    )
    assert rating_decision(conversation=first).status == "sent"
    assert rating_decision(conversation=second).status == "sent"


def test_E9_counts_requests_of_any_conversation_and_channel_but_only_the_contacts(
    teammate, contact, close
):
    rating_settings_update(by=None, limit_asking_contact=True, fatigue_days=7)
    _asked_and_closed(teammate=teammate, contact=contact, close=close, at=NOW, channel="email")
    later = NOW + timedelta(days=6)
    same = _asked_and_closed(teammate=teammate, contact=contact, close=close, at=later)
    other = _asked_and_closed(teammate=teammate, contact=ContactFactory(), close=close, at=later)
    assert_skipped(same, "E9")
    assert rating_decision(conversation=other).status == "sent"


def test_E9_a_skipped_close_does_not_restart_the_days(teammate, contact, close):
    """Only a request sent counts: a close held back by E9 does not push the next one on."""
    rating_settings_update(by=None, limit_asking_contact=True, fatigue_days=10)
    _asked_and_closed(teammate=teammate, contact=contact, close=close, at=NOW)
    held = _asked_and_closed(
        teammate=teammate, contact=contact, close=close, at=NOW + timedelta(days=9)
    )
    assert_skipped(held, "E9")
    free = _asked_and_closed(
        teammate=teammate, contact=contact, close=close, at=NOW + timedelta(days=10)
    )
    assert rating_decision(conversation=free).status == "sent"


def test_E9_turned_off_again_asks_at_once(teammate, contact, close):
    rating_settings_update(by=None, limit_asking_contact=True, fatigue_days=30)
    _asked_and_closed(teammate=teammate, contact=contact, close=close, at=NOW)
    rating_settings_update(by=None, limit_asking_contact=False)
    again = _asked_and_closed(
        teammate=teammate, contact=contact, close=close, at=NOW + timedelta(days=1)
    )
    assert rating_decision(conversation=again).status == "sent"


# --- the pure rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "days", "expected"),
    [
        (None, 30, False),  # never asked
        (NOW - timedelta(days=29, hours=23, minutes=59), 30, True),
        (NOW - timedelta(days=30), 30, False),
        (NOW - timedelta(days=1), None, False),  # the guard is off
        (NOW + timedelta(minutes=1), 1, True),  # asked after this close, by a decision first
    ],
)
def test_E9_asked_too_recently(last, days, expected):
    assert asked_too_recently(last_asked_at=last, closed_at=NOW, days=days) is expected


def _facts(**changes):
    base = dict(
        origin="customer",
        contact_role="user",
        contact_count=1,
        teammate_replied=True,
        reply_characters=300,
        last_reply_at=NOW - timedelta(hours=1),
        closed_at=NOW,
        quiet=False,
        request_already_sent=False,
        contact_last_asked_at=NOW - timedelta(days=1),
    )
    return CloseFacts(**{**base, **changes})


SWITCHES = Switches(
    for_users=True,
    for_leads=True,
    direct_outbound=True,
    outbound_api_workflows=True,
    fatigue_days=30,
)


def test_E9_comes_after_the_conversations_own_rules():
    assert eligibility(_facts(), SWITCHES) == "E9"
    assert eligibility(_facts(quiet=True), SWITCHES) == "E8"
    assert eligibility(_facts(reply_characters=250), SWITCHES) == "E3"
    assert eligibility(_facts(contact_count=2), SWITCHES) == "E5"
    assert eligibility(_facts(contact_last_asked_at=None), SWITCHES) is None
