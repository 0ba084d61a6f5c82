"""ratings.rules for the bot's request (B) as pure functions: the kind a close decides (B3),
B1, B2 and E1, E3–E6, E8 applied to a bot close, and the bot's hours (B4), each at its
boundary against an eligible bot close."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ratings.rules import (
    BOT,
    MIN_REPLY_CHARACTERS,
    RECENCY,
    RULE_WORDS,
    TEAMMATE,
    CloseFacts,
    Switches,
    bot_eligibility,
    effective_windows,
    eligibility,
    request_kind,
)

CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

# A bot close: no teammate reply; the customer wrote 100 characters, the bot 151.
BOT_CLOSE = CloseFacts(
    origin="customer",
    contact_role="user",
    contact_count=1,
    teammate_replied=False,
    reply_characters=100,
    last_reply_at=CLOSED_AT - timedelta(hours=2),
    closed_at=CLOSED_AT,
    quiet=False,
    request_already_sent=False,
    by_bot=True,
    bot_characters=151,
    last_bot_message_at=CLOSED_AT - timedelta(hours=1),
)
BOT_ON = Switches(
    for_users=True,
    for_leads=True,
    direct_outbound=True,
    outbound_api_workflows=True,
    for_bot=True,
)


def test_b_baseline_bot_close_is_eligible():
    assert request_kind(BOT_CLOSE) == BOT
    assert eligibility(BOT_CLOSE, BOT_ON) is None
    assert bot_eligibility(BOT_CLOSE, BOT_ON) is None


def test_b1_the_bot_setting_off_sends_nothing():
    assert eligibility(BOT_CLOSE, replace(BOT_ON, for_bot=False)) == "B1"
    assert "bot" in RULE_WORDS["B1"]


def test_b1_is_off_by_default():
    assert Switches(True, True, True, True).for_bot is False


def test_b2_the_bot_wrote_nothing():
    silent = replace(BOT_CLOSE, bot_characters=0, last_bot_message_at=None, reply_characters=300)
    assert eligibility(silent, BOT_ON) == "B2"
    assert RULE_WORDS["B2"]


def test_b3_a_bot_close_after_a_teammate_replied_decides_the_teammate_request():
    after_teammate = replace(BOT_CLOSE, teammate_replied=True, reply_characters=251)
    assert request_kind(after_teammate) == TEAMMATE
    # The usual E rules then: it passes them as a teammate close would.
    assert eligibility(after_teammate, replace(BOT_ON, for_bot=False)) is None
    assert eligibility(replace(after_teammate, reply_characters=250), BOT_ON) == "E3"


def test_b3_a_teammate_close_is_the_teammate_request_even_with_no_teammate_reply():
    teammate_close = replace(BOT_CLOSE, by_bot=False)
    assert request_kind(teammate_close) == TEAMMATE
    assert eligibility(teammate_close, BOT_ON) == "E2"


def test_b_e3_counts_bot_messages_and_customer_replies_at_the_boundary():
    total = MIN_REPLY_CHARACTERS + 1
    assert (
        eligibility(replace(BOT_CLOSE, reply_characters=100, bot_characters=total - 100), BOT_ON)
        is None
    )
    assert (
        eligibility(replace(BOT_CLOSE, reply_characters=100, bot_characters=total - 101), BOT_ON)
        == "E3"
    )
    # The bot's messages alone can make the length.
    assert eligibility(replace(BOT_CLOSE, reply_characters=0, bot_characters=total), BOT_ON) is None


def test_b_e4_counts_from_the_last_bot_message_or_customer_reply():
    last = CLOSED_AT - RECENCY
    fresh_bot = replace(BOT_CLOSE, last_bot_message_at=last, last_reply_at=last - timedelta(days=1))
    assert eligibility(fresh_bot, BOT_ON) is None
    late = replace(fresh_bot, last_bot_message_at=last - timedelta(minutes=1))
    assert eligibility(late, BOT_ON) == "E4"
    # A customer reply after the bot's last message counts too.
    customer_last = replace(late, last_reply_at=last)
    assert eligibility(customer_last, BOT_ON) is None


def test_b_e1_e5_e6_e8_apply_to_the_bot_close():
    assert eligibility(replace(BOT_CLOSE, quiet=True), BOT_ON) == "E8"
    assert eligibility(replace(BOT_CLOSE, request_already_sent=True), BOT_ON) == "E6"
    assert eligibility(BOT_CLOSE, replace(BOT_ON, for_users=False)) == "E1"
    lead = replace(BOT_CLOSE, contact_role="lead")
    assert eligibility(lead, replace(BOT_ON, for_leads=False)) == "E1"
    assert eligibility(replace(BOT_CLOSE, contact_count=2, contact_role=""), BOT_ON) == "E5"


def test_b_order_quiet_then_setting_then_once():
    everything = replace(BOT_CLOSE, quiet=True, request_already_sent=True)
    assert eligibility(everything, replace(BOT_ON, for_bot=False)) == "E8"
    assert eligibility(replace(everything, quiet=False), replace(BOT_ON, for_bot=False)) == "B1"


def test_b4_bot_hours_replace_the_settings_hours_blank_falls_back():
    base = {"prevent_rating": True, "rating_hours": 72, "prevent_change": True, "change_hours": 24}
    assert effective_windows(**base, bot_rating_hours=5, bot_change_hours=2) == (
        effective_windows(**{**base, "rating_hours": 5, "change_hours": 2})
    )
    fallback = effective_windows(**base, bot_rating_hours=None, bot_change_hours=None)
    assert (fallback.rating_hours, fallback.change_hours) == (72, 24)
    # The toggles still apply: off, the bot's hours do not limit either.
    off = effective_windows(
        prevent_rating=False,
        rating_hours=72,
        prevent_change=False,
        change_hours=24,
        bot_rating_hours=5,
        bot_change_hours=2,
    )
    assert (off.rating_hours, off.change_hours) == (None, None)
    # A workflow's own limit still wins (W1).
    assert effective_windows(**base, workflow_rating_hours=9, bot_rating_hours=5).rating_hours == 9
