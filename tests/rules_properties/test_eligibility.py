"""Properties of `eligibility` (E1–E8): total, deterministic, order-free, monotone (E3, E4)."""

from __future__ import annotations

import ast
import html
import inspect
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta, timezone

import time_machine
from hypothesis import example, given
from hypothesis import strategies as st

from conversations.text import visible_characters
from ratings import rules
from ratings.rules import (
    MIN_REPLY_CHARACTERS,
    RECENCY,
    RULE_WORDS,
    CloseFacts,
    Switches,
    eligibility,
)
from tests.rules_properties.support import PROPERTY, moments

ORIGINS = ["customer", "direct_outbound", "workflow", "api"]


ROLES = ["user", "lead", ""]


# The rules eligibility can answer, in its documented order (E7 is not a rule of a close).
ELIGIBILITY_ORDER = ["E8", "E6", "E1", "E2", "E3", "E4", "E5"]


BEFORE_E3 = {"E8", "E6", "E1", "E2"}


BEFORE_E4 = BEFORE_E3 | {"E3"}


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
