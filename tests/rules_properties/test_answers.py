"""Properties of `answer_refusal` (A3–A5) and `effective_windows` (W1, W2)."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from ratings.rules import (
    Windows,
    answer_refusal,
    effective_windows,
)
from tests.rules_properties.support import PROPERTY, moments

ANSWER_RULES = {"A3", "A4", "A5"}

# --- strategies ---------------------------------------------------------------------------------


# Hour limits as the admin and the API accept them (at least 1), up to ~114 years here. Both
# accept far more (2,147,483,647), and beyond ~70 million hours answer_refusal overflows
# datetime: see test_A4_A5_a_huge_window_does_not_overflow below.
hours = st.one_of(st.none(), st.integers(min_value=1, max_value=1_000_000))


windows_st = st.builds(Windows, rating_hours=hours, change_hours=hours)


elapsed = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365 * 120)),
    st.integers(min_value=0, max_value=200).map(lambda h: timedelta(hours=h)),
)


@st.composite
def answers(draw) -> dict:
    """The arguments of one answer_refusal call; `now` is not before the close."""
    closed_at = draw(moments)
    has_rating = draw(st.booleans())
    return {
        "action": draw(st.sampled_from(["rate", "comment"])),
        "closed_at": closed_at,
        "now": closed_at + draw(elapsed),
        "windows": draw(windows_st),
        "has_rating": has_rating,
        "has_comment": has_rating and draw(st.booleans()),
    }


@PROPERTY
@given(call=answers())
def test_A3_A5_property_answer_refusal_is_a_total_function_of_its_arguments(call):
    """Never raises for valid arguments; answers None or A3/A4/A5; the same answer twice, on
    copies, and whatever the clock says (it reads `now` from its arguments only)."""
    answer = answer_refusal(**call)
    assert answer is None or answer in ANSWER_RULES
    assert answer_refusal(**call) == answer
    copy = {**call, "windows": Windows(**asdict(call["windows"]))}
    assert answer_refusal(**copy) == answer
    with time_machine.travel(call["now"] + timedelta(days=400), tick=False):
        assert answer_refusal(**call) == answer


@PROPERTY
@given(call=answers(), more=elapsed)
def test_A4_A5_property_monotone_in_time_since_the_close(call, more):
    """Refused at t ⇒ refused, by the same rule, at any t' > t; accepted at t' ⇒ accepted at t."""
    at_t = answer_refusal(**call)
    at_later = answer_refusal(**{**call, "now": call["now"] + more})
    if at_t is not None:
        assert at_later == at_t
    if at_later is None:
        assert at_t is None


@PROPERTY
@given(call=answers())
def test_A5_property_never_refuses_a_first_rating(call):
    """A first rating is refused by A4 (its own window) or not at all, whatever A5's window."""
    first = {**call, "action": "rate", "has_rating": False, "has_comment": False}
    answer = answer_refusal(**first)
    assert answer in (None, "A4")
    no_change_limit = {**first, "windows": replace(call["windows"], change_hours=None)}
    assert answer_refusal(**no_change_limit) == answer


@PROPERTY
@given(call=answers())
def test_A4_property_never_refuses_a_change_or_a_comment(call):
    """A4 is about first ratings: a change (a rating exists) or a comment never gets A4, and
    does not depend on the rating window."""
    for action, has_rating in (("rate", True), ("comment", True), ("comment", False)):
        args = {**call, "action": action, "has_rating": has_rating}
        args["has_comment"] = has_rating and call["has_comment"]
        answer = answer_refusal(**args)
        assert answer != "A4"
        other = {**args, "windows": replace(call["windows"], rating_hours=1)}
        assert answer_refusal(**other) == answer


@PROPERTY
@given(call=answers())
def test_A3_property_after_a_comment_a_change_and_a_second_comment_are_refused(call):
    """Once commented, the rating is final at any time and whatever the windows."""
    commented = {**call, "has_rating": True, "has_comment": True}
    assert answer_refusal(**{**commented, "action": "rate"}) == "A3"
    assert answer_refusal(**{**commented, "action": "comment"}) == "A3"


@PROPERTY
@given(
    closed_at=moments,
    window=st.integers(min_value=1, max_value=1_000_000),
    has_rating=st.booleans(),
)
def test_A4_A5_property_boundary_at_exactly_N_hours(closed_at, window, has_rating):
    """At exactly N hours after the close the answer is accepted; a microsecond later it is
    refused: A4 for a first rating, A5 for a change."""
    windows = Windows(rating_hours=window, change_hours=window)
    limit = closed_at + timedelta(hours=window)
    common = {
        "action": "rate",
        "closed_at": closed_at,
        "windows": windows,
        "has_rating": has_rating,
        "has_comment": False,
    }
    assert answer_refusal(now=limit, **common) is None
    late = answer_refusal(now=limit + timedelta(microseconds=1), **common)
    assert late == ("A5" if has_rating else "A4")


@pytest.mark.parametrize("has_rating", [False, True], ids=["A4-first-rating", "A5-change"])
def test_A4_A5_a_huge_window_does_not_overflow(has_rating):
    closed_at = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    huge = 2_147_483_647  # the largest the API's settings accept (and PostgreSQL's integer)
    answer = answer_refusal(
        action="rate",
        closed_at=closed_at,
        now=closed_at + timedelta(days=3650),
        windows=Windows(rating_hours=huge, change_hours=huge),
        has_rating=has_rating,
        has_comment=False,
    )
    assert answer is None


def test_answer_refusal_unknown_action_still_raises_for_invalid_input():
    """Outside the valid inputs the function says so (the one exception it raises)."""
    with pytest.raises(ValueError, match="Unknown action"):
        answer_refusal(
            action="change",
            closed_at=datetime(2025, 1, 1, tzinfo=UTC),
            now=datetime(2025, 1, 1, tzinfo=UTC),
            windows=Windows(None, None),
            has_rating=True,
            has_comment=False,
        )


# --- W1, W2: a workflow's hours override the settings, which are the fallback ------------------


setting_hours = st.integers(min_value=1, max_value=1_000_000)


@PROPERTY
@given(
    prevent_rating=st.booleans(),
    rating_hours=setting_hours,
    prevent_change=st.booleans(),
    change_hours=setting_hours,
    workflow_rating_hours=st.one_of(st.none(), setting_hours),
    workflow_change_hours=st.one_of(st.none(), setting_hours),
)
def test_W1_W2_property_workflow_hours_override_the_settings(
    prevent_rating,
    rating_hours,
    prevent_change,
    change_hours,
    workflow_rating_hours,
    workflow_change_hours,
):
    """W1: a workflow's own limit replaces the settings' (even with the toggle off); W2: without
    one, the settings' limit applies when its toggle is on, else none. Each limit on its own."""
    windows = effective_windows(
        prevent_rating=prevent_rating,
        rating_hours=rating_hours,
        prevent_change=prevent_change,
        change_hours=change_hours,
        workflow_rating_hours=workflow_rating_hours,
        workflow_change_hours=workflow_change_hours,
    )
    if workflow_rating_hours is not None:
        assert windows.rating_hours == workflow_rating_hours
    else:
        assert windows.rating_hours == (rating_hours if prevent_rating else None)
    if workflow_change_hours is not None:
        assert windows.change_hours == workflow_change_hours
    else:
        assert windows.change_hours == (change_hours if prevent_change else None)


@PROPERTY
@given(
    prevent_rating=st.booleans(),
    rating_hours=setting_hours,
    prevent_change=st.booleans(),
    change_hours=setting_hours,
    other_prevent=st.booleans(),
    other_hours=setting_hours,
)
def test_W2_property_without_a_workflow_the_settings_decide(
    prevent_rating, rating_hours, prevent_change, change_hours, other_prevent, other_hours
):
    """W2: with no workflow hours, the answer is the settings'; each limit reads only its own
    toggle and hours (changing the other limit's settings changes nothing)."""
    windows = effective_windows(
        prevent_rating=prevent_rating,
        rating_hours=rating_hours,
        prevent_change=prevent_change,
        change_hours=change_hours,
    )
    assert windows == Windows(
        rating_hours if prevent_rating else None, change_hours if prevent_change else None
    )
    other_change = effective_windows(
        prevent_rating=prevent_rating,
        rating_hours=rating_hours,
        prevent_change=other_prevent,
        change_hours=other_hours,
    )
    assert other_change.rating_hours == windows.rating_hours


@PROPERTY
@given(
    call=answers(),
    workflow_rating_hours=setting_hours,
    workflow_change_hours=setting_hours,
    prevent_rating=st.booleans(),
    rating_hours=setting_hours,
    prevent_change=st.booleans(),
    change_hours=setting_hours,
)
def test_W1_property_a_workflows_hours_decide_the_answer_whatever_the_settings(
    call,
    workflow_rating_hours,
    workflow_change_hours,
    prevent_rating,
    rating_hours,
    prevent_change,
    change_hours,
):
    """A6 with W1: for a workflow's conversation the answer is the one its own hours give,
    whatever the settings say."""
    windows = effective_windows(
        prevent_rating=prevent_rating,
        rating_hours=rating_hours,
        prevent_change=prevent_change,
        change_hours=change_hours,
        workflow_rating_hours=workflow_rating_hours,
        workflow_change_hours=workflow_change_hours,
    )
    own = Windows(workflow_rating_hours, workflow_change_hours)
    assert answer_refusal(**{**call, "windows": windows}) == answer_refusal(
        **{**call, "windows": own}
    )
