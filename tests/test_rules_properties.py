"""Property tests (Hypothesis) of ratings.rules: the decisions are pure functions of the facts.

`eligibility` (E1–E8), `answer_refusal` (A3–A5) and `effective_windows` (W1, W2) are checked
over generated facts, not chosen examples: the answer depends on the facts and nothing else (no
database, no clock, no call order, no object identity, no time zone of the same instant); E3 is
monotone in the number of visible characters and E4 in the time of the close; A4/A5 refusals
only grow with the time since the close; A3 is final; a workflow's hours win (W1), else the
settings (W2). The example-based boundaries are in test_rules.py.

No test here takes the `db` fixture: pytest-django refuses any database access, so a rule that
read the database would fail every example. Runs are bounded and derandomized (the same
examples every run) so the file takes a few seconds.
"""

from __future__ import annotations

import ast
import html
import inspect
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conversations.text import visible_characters
from ratings import rules
from ratings.rules import (
    MIN_REPLY_CHARACTERS,
    RECENCY,
    RULE_WORDS,
    CloseFacts,
    Switches,
    Windows,
    answer_refusal,
    effective_windows,
    eligibility,
)

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,  # nothing written to .hypothesis/
    suppress_health_check=[HealthCheck.too_slow],
)

ORIGINS = ["customer", "direct_outbound", "workflow", "api"]
ROLES = ["user", "lead", ""]
# The rules eligibility can answer, in its documented order (E7 is not a rule of a close).
ELIGIBILITY_ORDER = ["E8", "E6", "E1", "E2", "E3", "E4", "E5"]
BEFORE_E3 = {"E8", "E6", "E1", "E2"}
BEFORE_E4 = BEFORE_E3 | {"E3"}
ANSWER_RULES = {"A3", "A4", "A5"}

# --- strategies ---------------------------------------------------------------------------------

# Instants between 2000 and 2100, in UTC; windows below stay far from datetime's limits.
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
# A time since the last reply, dense around E4's 7-day boundary.
gaps = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    st.sampled_from(
        [
            timedelta(0),
            RECENCY - timedelta(microseconds=1),
            RECENCY,
            RECENCY + timedelta(microseconds=1),
        ]
    ),
)
characters = st.one_of(
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=MIN_REPLY_CHARACTERS - 2, max_value=MIN_REPLY_CHARACTERS + 2),
)


def mostly(value: bool) -> st.SearchStrategy[bool]:
    """`value` four times in five: most generated closes then get past the early rules, so the
    later ones (E3, E4, E5) are exercised too."""
    return st.integers(min_value=0, max_value=4).map(lambda n: value if n else not value)


switches_st = st.builds(
    Switches,
    for_users=mostly(True),
    for_leads=mostly(True),
    direct_outbound=mostly(True),
    outbound_api_workflows=mostly(True),
)


@st.composite
def close_facts(draw, *, replied: bool | None = None) -> CloseFacts:
    """A close as the services record it: the last reply (if any) is not after the close."""
    closed_at = draw(moments)
    # Mostly with a reply: without one, E4 refuses every close that gets that far.
    has_reply = draw(st.integers(0, 9)) > 0 if replied is None else replied
    last_reply_at = closed_at - draw(gaps) if has_reply else None
    return CloseFacts(
        origin=draw(st.sampled_from(ORIGINS)),
        contact_role=draw(st.sampled_from(ROLES)),
        contact_count=draw(st.one_of(st.just(1), st.integers(min_value=0, max_value=5))),
        teammate_replied=draw(mostly(True)),
        reply_characters=draw(characters),
        last_reply_at=last_reply_at,
        closed_at=closed_at,
        quiet=draw(mostly(False)),
        request_already_sent=draw(mostly(False)),
    )


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


def _copy(facts: CloseFacts) -> CloseFacts:
    """Equal facts in new objects (datetimes included)."""
    values = asdict(facts)
    for name in ("closed_at", "last_reply_at"):
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name].isoformat())
    return CloseFacts(**values)


def _elsewhere(moment: datetime | None, offset: timedelta) -> datetime | None:
    """The same instant written in another time zone."""
    return None if moment is None else moment.astimezone(timezone(offset))


# --- purity: the answer depends on the facts and nothing else -----------------------------------


def test_E_W_A_rules_module_imports_only_the_standard_library():
    """No Django, no models, no settings, no clock: ratings.rules can only read its arguments."""
    tree = ast.parse(inspect.getsource(rules))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


@PROPERTY
@given(facts=close_facts(), switches=switches_st)
def test_E1_E8_property_eligibility_is_a_total_function_of_the_facts(facts, switches):
    """Never raises for valid facts; answers None or one of its rules, with plain words."""
    answer = eligibility(facts, switches)
    assert answer is None or answer in ELIGIBILITY_ORDER
    assert answer is None or RULE_WORDS[answer]


@PROPERTY
@given(
    facts=close_facts(),
    switches=switches_st,
    offset=st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timedelta(minutes=m)),
    clock=moments,
)
def test_E1_E8_property_same_facts_same_answer(facts, switches, offset, clock):
    """Twice, on equal copies, with the instants in another time zone, and whatever the clock
    says: the same answer. No database access is possible here (no `db` fixture)."""
    first = eligibility(facts, switches)
    assert eligibility(facts, switches) == first
    assert eligibility(_copy(facts), Switches(**asdict(switches))) == first
    shifted = replace(
        facts,
        closed_at=_elsewhere(facts.closed_at, offset),
        last_reply_at=_elsewhere(facts.last_reply_at, offset),
    )
    assert eligibility(shifted, switches) == first
    with time_machine.travel(clock, tick=False):
        assert eligibility(facts, switches) == first


@PROPERTY
@given(
    cases=st.lists(st.tuples(close_facts(), switches_st), min_size=2, max_size=8), data=st.data()
)
def test_E1_E8_property_answers_do_not_depend_on_the_order_of_evaluation(cases, data):
    """A worker decides closes in any order: each close's answer is its own (no hidden state)."""
    expected = [eligibility(facts, switches) for facts, switches in cases]
    order = data.draw(st.permutations(range(len(cases))))
    answers_in_order = {i: eligibility(*cases[i]) for i in order}
    assert [answers_in_order[i] for i in range(len(cases))] == expected


@PROPERTY
@given(facts=close_facts(), switches=switches_st)
def test_E1_E8_property_the_first_failing_rule_in_order_wins(facts, switches):
    """The answer is the first rule of E8, E6, E1, E2, E3, E4, E5 whose own condition fails,
    each condition read from the facts directly."""
    participated = {
        "customer": facts.teammate_replied,
        "direct_outbound": switches.direct_outbound,
        "workflow": switches.outbound_api_workflows and facts.teammate_replied,
        "api": switches.outbound_api_workflows and facts.teammate_replied,
    }[facts.origin]
    fails = {
        "E8": facts.quiet,
        "E6": facts.request_already_sent,
        "E1": (facts.contact_role == "user" and not switches.for_users)
        or (facts.contact_role == "lead" and not switches.for_leads),
        "E2": not participated,
        "E3": facts.reply_characters <= MIN_REPLY_CHARACTERS,
        "E4": facts.last_reply_at is None or facts.closed_at - facts.last_reply_at > RECENCY,
        "E5": facts.contact_count != 1,
    }
    expected = next((rule for rule in ELIGIBILITY_ORDER if fails[rule]), None)
    assert eligibility(facts, switches) == expected


# --- E3: more visible characters never hurt -----------------------------------------------------


@PROPERTY
@given(
    facts=close_facts(),
    switches=switches_st,
    more=st.integers(min_value=0, max_value=100_000),
)
@example(
    facts=CloseFacts(
        origin="customer",
        contact_role="user",
        contact_count=1,
        teammate_replied=True,
        reply_characters=251,
        last_reply_at=datetime(2025, 3, 10, tzinfo=UTC),
        closed_at=datetime(2025, 3, 10, tzinfo=UTC),
        quiet=False,
        request_already_sent=False,
    ),
    switches=Switches(True, True, True, True),
    more=1,
)
def test_E3_property_monotone_in_visible_characters(facts, switches, more):
    """If N characters are eligible, N + k are too; if N + k are refused by E3, so are N. The
    character count matters to E3 only: any other answer stays the same."""
    fewer = eligibility(facts, switches)
    longer = eligibility(replace(facts, reply_characters=facts.reply_characters + more), switches)
    if fewer is None:
        assert longer is None
    if longer == "E3":
        assert fewer == "E3"
    if fewer != "E3":
        assert longer == fewer


@PROPERTY
@given(facts=close_facts(), switches=switches_st)
def test_E3_property_250_is_refused_251_is_not(facts, switches):
    """At the boundary, for any other facts: 250 characters fail E3 and 251 do not, unless a
    rule before E3 already decided."""
    at_250 = eligibility(replace(facts, reply_characters=250), switches)
    at_251 = eligibility(replace(facts, reply_characters=251), switches)
    if at_251 in BEFORE_E3:
        assert at_250 == at_251
    else:
        assert at_250 == "E3"
        assert at_251 != "E3"


@PROPERTY
@given(text=st.text(max_size=300))
def test_E3_property_escaped_text_counts_as_its_characters(text):
    """E3 counts the visible text: a body holding `text` escaped as HTML (markup shown as text,
    entities standing for one character) counts exactly len(text) code points."""
    assert visible_characters(html.escape(text)) == len(text)


# --- E4: a later close is never more recent -----------------------------------------------------


@PROPERTY
@given(
    facts=close_facts(replied=True),
    switches=switches_st,
    later=st.one_of(
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
        st.integers(min_value=0, max_value=10).map(lambda us: timedelta(microseconds=us)),
    ),
)
def test_E4_property_monotone_in_the_time_of_the_close(facts, switches, later):
    """If a close at X is refused by E4, any later close is too; if a later close is eligible,
    so was the one at X. The time of the close matters to E4 only."""
    at_x = eligibility(facts, switches)
    after = eligibility(replace(facts, closed_at=facts.closed_at + later), switches)
    if at_x == "E4":
        assert after == "E4"
    if after is None:
        assert at_x is None
    if at_x in BEFORE_E4:
        assert after == at_x


@PROPERTY
@given(facts=close_facts(replied=True), switches=switches_st)
def test_E4_property_7_days_is_recent_7_days_and_1us_is_not(facts, switches):
    reply = facts.last_reply_at
    at_7d = eligibility(replace(facts, closed_at=reply + RECENCY), switches)
    past = eligibility(
        replace(facts, closed_at=reply + RECENCY + timedelta(microseconds=1)), switches
    )
    if at_7d in BEFORE_E4:
        assert past == at_7d
    else:
        assert at_7d != "E4"
        assert past == "E4"


@PROPERTY
@given(facts=close_facts(), switches=switches_st)
def test_E4_property_no_reply_at_all_is_never_recent(facts, switches):
    answer = eligibility(replace(facts, last_reply_at=None), switches)
    assert answer in BEFORE_E4 | {"E4"}


# --- A3, A4, A5: refusals only grow with time --------------------------------------------------


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
