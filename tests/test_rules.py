"""ratings.rules as pure functions (no database): eligibility E1–E8 and its order, the hour
limits W1/W2, and the answer refusals A3–A5. Each rule is flipped alone against an eligible
baseline, at its boundary."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ratings.rules import (
    CloseFacts,
    Switches,
    Windows,
    answer_refusal,
    effective_windows,
    eligibility,
)

CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

ELIGIBLE = CloseFacts(
    origin="customer",
    contact_role="user",
    contact_count=1,
    teammate_replied=True,
    reply_characters=251,
    last_reply_at=CLOSED_AT - timedelta(hours=1),
    closed_at=CLOSED_AT,
    quiet=False,
    request_already_sent=False,
)
ALL_ON = Switches(for_users=True, for_leads=True, direct_outbound=True, outbound_api_workflows=True)
ALL_OFF = Switches(
    for_users=False, for_leads=False, direct_outbound=False, outbound_api_workflows=False
)


def test_baseline_is_eligible():
    assert eligibility(ELIGIBLE, ALL_ON) is None


# --- E1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "switches", "expected"),
    [
        ("user", replace(ALL_ON, for_users=False), "E1"),
        ("lead", replace(ALL_ON, for_leads=False), "E1"),
        ("user", replace(ALL_ON, for_leads=False), None),
        ("lead", replace(ALL_ON, for_users=False), None),
        ("lead", ALL_ON, None),
    ],
)
def test_E1_automation_switch_per_role(role, switches, expected):
    assert eligibility(replace(ELIGIBLE, contact_role=role), switches) == expected


def test_E1_does_not_apply_to_a_group_role_E5_decides():
    group = replace(ELIGIBLE, contact_role="", contact_count=2)
    switches = replace(ALL_ON, for_users=False, for_leads=False)
    assert eligibility(group, switches) == "E5"


# --- E2 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("switches", [ALL_ON, ALL_OFF], ids=["switches-on", "switches-off"])
@pytest.mark.parametrize(("teammate_replied", "expected"), [(True, None), (False, "E2")])
def test_E2_customer_origin_needs_a_teammate_reply(switches, teammate_replied, expected):
    facts = replace(ELIGIBLE, origin="customer", teammate_replied=teammate_replied)
    # ALL_OFF would fail E1 for a user: keep the role switches on, flip only the E2 switches.
    switches = replace(switches, for_users=True, for_leads=True)
    assert eligibility(facts, switches) == expected


@pytest.mark.parametrize("teammate_replied", [True, False])
@pytest.mark.parametrize(("switch", "expected"), [(True, None), (False, "E2")])
def test_E2_direct_outbound_needs_the_switch_only(teammate_replied, switch, expected):
    facts = replace(ELIGIBLE, origin="direct_outbound", teammate_replied=teammate_replied)
    # The other outbound switch is the opposite, to show it does not matter here.
    switches = replace(ALL_ON, direct_outbound=switch, outbound_api_workflows=not switch)
    assert eligibility(facts, switches) == expected


@pytest.mark.parametrize("origin", ["workflow", "api"])
@pytest.mark.parametrize(
    ("switch", "teammate_replied", "expected"),
    [(True, True, None), (True, False, "E2"), (False, True, "E2"), (False, False, "E2")],
)
def test_E2_workflow_and_api_need_the_switch_and_a_teammate_reply(
    origin, switch, teammate_replied, expected
):
    facts = replace(ELIGIBLE, origin=origin, teammate_replied=teammate_replied)
    # The direct-outbound switch is the opposite, to show it does not matter here.
    switches = replace(ALL_ON, outbound_api_workflows=switch, direct_outbound=not switch)
    assert eligibility(facts, switches) == expected


# --- E3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("characters", "expected"), [(0, "E3"), (249, "E3"), (250, "E3"), (251, None), (5000, None)]
)
def test_E3_more_than_250_characters(characters, expected):
    assert eligibility(replace(ELIGIBLE, reply_characters=characters), ALL_ON) == expected


# --- E4 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since_last_reply", "expected"),
    [
        (timedelta(0), None),
        (timedelta(days=7) - timedelta(minutes=1), None),
        (timedelta(days=7), None),
        (timedelta(days=7) + timedelta(minutes=1), "E4"),
        (timedelta(days=7, microseconds=1), "E4"),
        (timedelta(days=30), "E4"),
    ],
    ids=["0", "7d-1min", "7d", "7d+1min", "7d+1us", "30d"],
)
def test_E4_close_within_7_days_of_the_last_reply(since_last_reply, expected):
    facts = replace(ELIGIBLE, last_reply_at=CLOSED_AT - since_last_reply)
    assert eligibility(facts, ALL_ON) == expected


def test_E4_no_reply_at_all():
    assert eligibility(replace(ELIGIBLE, last_reply_at=None), ALL_ON) == "E4"


# --- E5, E6, E8 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "expected"), [(0, "E5"), (1, None), (2, "E5"), (3, "E5")])
def test_E5_exactly_one_contact(count, expected):
    assert eligibility(replace(ELIGIBLE, contact_count=count), ALL_ON) == expected


def test_E6_request_already_sent():
    assert eligibility(replace(ELIGIBLE, request_already_sent=True), ALL_ON) == "E6"


def test_E8_quiet_close():
    assert eligibility(replace(ELIGIBLE, quiet=True), ALL_ON) == "E8"


# Every other failure, each on its own; E8 must win over each of them.
OTHER_FAILURES = {
    "E6": ({"request_already_sent": True}, ALL_ON),
    "E1": ({"contact_role": "user"}, replace(ALL_ON, for_users=False)),
    "E2": ({"teammate_replied": False}, ALL_ON),
    "E3": ({"reply_characters": 250}, ALL_ON),
    "E4": ({"last_reply_at": None}, ALL_ON),
    "E5": ({"contact_count": 2}, ALL_ON),
}


@pytest.mark.parametrize("rule", list(OTHER_FAILURES))
def test_E8_quiet_wins_over_every_other_failure(rule):
    changes, switches = OTHER_FAILURES[rule]
    facts = replace(ELIGIBLE, **changes)
    assert eligibility(facts, switches) == rule  # the failure alone
    assert eligibility(replace(facts, quiet=True), switches) == "E8"


def test_E8_quiet_wins_over_all_failures_at_once():
    facts = replace(
        ELIGIBLE,
        quiet=True,
        request_already_sent=True,
        teammate_replied=False,
        reply_characters=0,
        last_reply_at=None,
        contact_count=2,
    )
    assert eligibility(facts, ALL_OFF) == "E8"


# --- the documented order: E8, E6, E1, E2, E3, E4, E5 -------------------------------------------

ORDER = ["E8", "E6", "E1", "E2", "E3", "E4", "E5"]
FAILING = {
    "E8": {"quiet": True},
    "E6": {"request_already_sent": True},
    "E1": {},  # by the switches
    "E2": {"teammate_replied": False},
    "E3": {"reply_characters": 250},
    "E4": {"last_reply_at": CLOSED_AT - timedelta(days=8)},
    "E5": {"contact_count": 2},
}


@pytest.mark.parametrize("first", range(len(ORDER)), ids=ORDER)
def test_eligibility_order_E8_E6_E1_E2_E3_E4_E5(first):
    """With every rule from `first` on failing, the first of them is reported."""
    changes = {}
    for rule in ORDER[first:]:
        changes.update(FAILING[rule])
    switches = replace(ALL_ON, for_users="E1" not in ORDER[first:])
    assert eligibility(replace(ELIGIBLE, **changes), switches) == ORDER[first]


# --- W1, W2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # W2: the settings, each limit only when its toggle is on.
        ({"prevent_rating": False, "prevent_change": False}, Windows(None, None)),
        ({"prevent_rating": True, "prevent_change": False}, Windows(72, None)),
        ({"prevent_rating": False, "prevent_change": True}, Windows(None, 24)),
        ({"prevent_rating": True, "prevent_change": True}, Windows(72, 24)),
        # W1: a workflow's hours replace the settings', each limit independently.
        (
            {"prevent_rating": True, "prevent_change": True, "workflow_rating_hours": 5},
            Windows(5, 24),
        ),
        (
            {"prevent_rating": True, "prevent_change": True, "workflow_change_hours": 3},
            Windows(72, 3),
        ),
        (
            {
                "prevent_rating": True,
                "prevent_change": True,
                "workflow_rating_hours": 5,
                "workflow_change_hours": 3,
            },
            Windows(5, 3),
        ),
        # W1 applies even when the settings' toggles are off.
        (
            {"prevent_rating": False, "prevent_change": False, "workflow_rating_hours": 5},
            Windows(5, None),
        ),
        (
            {"prevent_rating": False, "prevent_change": False, "workflow_change_hours": 3},
            Windows(None, 3),
        ),
    ],
)
def test_W1_W2_effective_windows(kwargs, expected):
    assert effective_windows(rating_hours=72, change_hours=24, **kwargs) == expected


# --- A3, A4, A5 --------------------------------------------------------------------------------

N = 24


def _refusal(*, action="rate", after, windows, has_rating=False, has_comment=False):
    return answer_refusal(
        action=action,
        closed_at=CLOSED_AT,
        now=CLOSED_AT + after,
        windows=windows,
        has_rating=has_rating,
        has_comment=has_comment,
    )


BOUNDARY = [
    (timedelta(hours=N) - timedelta(minutes=1), None),
    (timedelta(hours=N), None),
    (timedelta(hours=N) + timedelta(minutes=1), "refused"),
]
BOUNDARY_IDS = ["N-1min", "N", "N+1min"]


@pytest.mark.parametrize(("after", "expected"), BOUNDARY, ids=BOUNDARY_IDS)
def test_A4_first_rating_within_N_hours(after, expected):
    windows = Windows(rating_hours=N, change_hours=None)
    assert _refusal(after=after, windows=windows) == (expected and "A4")


@pytest.mark.parametrize(("after", "expected"), BOUNDARY, ids=BOUNDARY_IDS)
def test_A5_change_within_N_hours(after, expected):
    windows = Windows(rating_hours=None, change_hours=N)
    assert _refusal(after=after, windows=windows, has_rating=True) == (expected and "A5")


@pytest.mark.parametrize("rating_hours", [None, 1000])
def test_A5_never_blocks_a_first_rating(rating_hours):
    windows = Windows(rating_hours=rating_hours, change_hours=1)
    assert _refusal(after=timedelta(hours=500), windows=windows) is None


def test_A4_does_not_limit_a_change():
    windows = Windows(rating_hours=1, change_hours=None)
    assert _refusal(after=timedelta(hours=500), windows=windows, has_rating=True) is None


def test_no_limits_accept_a_rating_and_a_change_years_later():
    windows = Windows(rating_hours=None, change_hours=None)
    assert _refusal(after=timedelta(days=3650), windows=windows) is None
    assert _refusal(after=timedelta(days=3650), windows=windows, has_rating=True) is None


@pytest.mark.parametrize(
    "windows", [Windows(None, None), Windows(N, N)], ids=["no-limits", "within-limits"]
)
def test_A3_no_change_after_a_comment_even_within_the_windows(windows):
    assert _refusal(after=timedelta(0), windows=windows, has_rating=True, has_comment=True) == "A3"


def test_A3_a_second_comment_is_refused():
    windows = Windows(N, N)
    assert (
        _refusal(
            action="comment",
            after=timedelta(minutes=1),
            windows=windows,
            has_rating=True,
            has_comment=True,
        )
        == "A3"
    )


def test_A3_a_first_comment_is_accepted():
    windows = Windows(N, N)
    assert (
        _refusal(action="comment", after=timedelta(minutes=1), windows=windows, has_rating=True)
        is None
    )


@pytest.mark.parametrize("action", ["", "change", "RATE", None])
def test_answer_refusal_unknown_action_raises(action):
    with pytest.raises(ValueError, match="Unknown action"):
        _refusal(action=action, after=timedelta(0), windows=Windows(None, None))
