"""A10 as pure rules: `scanner_burst` (an auto post of another reaction within a minute of the
auto post that left the standing rating, no person's post since) and `scanner_quiet` (auto
posts within the minute after a discard), at their boundaries and as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ratings.rules import (
    REFUSAL_STATUS,
    RULE_WORDS,
    SCANNER_WINDOW,
    scanner_burst,
    scanner_quiet,
    scanner_window_open,
)
from tests.rules_properties.support import PROPERTY, moments

AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def burst(**changes) -> bool:
    facts = {
        "auto": True,
        "value": 2,
        "now": AT + timedelta(seconds=5),
        "auto_value": 5,
        "auto_at": AT,
        "interaction": False,
    }
    facts.update(changes)
    return scanner_burst(**facts)


def test_A10_the_window_is_a_minute():
    assert timedelta(seconds=60) == SCANNER_WINDOW


@pytest.mark.parametrize(
    ("elapsed", "is_burst"),
    [
        (timedelta(0), True),
        (SCANNER_WINDOW - SECOND, True),
        (SCANNER_WINDOW, True),  # "within a minute" includes the minute itself
        (SCANNER_WINDOW + SECOND, False),
    ],
)
def test_A10_a_burst_is_another_reaction_auto_posted_within_a_minute(elapsed, is_burst):
    assert burst(now=AT + elapsed) is is_burst


def test_A10_a_person_is_never_a_burst():
    assert burst() is True
    assert burst(auto=False) is False  # a press on a button, however soon
    assert burst(interaction=True) is False  # a person posted since the auto post


def test_A10_the_same_reaction_again_is_no_burst():
    assert burst(value=5) is False


def test_A10_no_burst_without_a_rating_left_by_an_auto_post():
    assert burst(auto_value=None, auto_at=None) is False
    assert burst(auto_at=None) is False  # the standing rating was a person's


def test_A10_a_clock_a_little_behind_counts_as_within():
    """Two web machines' clocks: the auto post seems to come after `now`."""
    assert burst(now=AT - SECOND) is True


@pytest.mark.parametrize(
    ("elapsed", "rule"),
    [(SCANNER_WINDOW - SECOND, "A10"), (SCANNER_WINDOW, "A10"), (SCANNER_WINDOW + SECOND, None)],
)
def test_A10_auto_posts_within_a_minute_of_a_discard_are_refused(elapsed, rule):
    assert scanner_quiet(auto=True, discarded_at=AT, now=AT + elapsed) == rule
    assert scanner_quiet(auto=False, discarded_at=AT, now=AT + elapsed) is None


def test_A10_nothing_is_quiet_without_a_discard():
    assert scanner_quiet(auto=True, discarded_at=None, now=AT) is None
    assert scanner_window_open(at=None, now=AT) is False


def test_A10_has_words_and_a_conflict_status():
    assert "within a minute" in RULE_WORDS["A10"]
    assert "press the one you mean" in RULE_WORDS["A10"]
    assert REFUSAL_STATUS["A10"] == 409


@PROPERTY
@given(
    auto=st.booleans(),
    value=st.integers(1, 5),
    auto_value=st.one_of(st.none(), st.integers(1, 5)),
    at=moments,
    elapsed=st.timedeltas(min_value=-SECOND, max_value=timedelta(hours=2)),
    interaction=st.booleans(),
)
def test_A10_a_burst_needs_every_one_of_its_facts(
    auto, value, auto_value, at, elapsed, interaction
):
    got = scanner_burst(
        auto=auto,
        value=value,
        now=at + elapsed,
        auto_value=auto_value,
        auto_at=at,
        interaction=interaction,
    )
    expected = (
        auto
        and not interaction
        and auto_value is not None
        and value != auto_value
        and elapsed <= SCANNER_WINDOW
    )
    assert got is expected
