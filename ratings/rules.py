"""The rating rules as pure functions over plain values: no database, no clock.

`eligibility` decides whether a close sends a rating request (DESIGN.md E1–E8, and E9:
`asked_too_recently`, the fatigue guard; the bot's request, B, by `bot_eligibility`, of the
kind `request_kind` says);
`answer_refusal` decides whether a customer's rating, change or comment is refused (A3–A6,
and K11: never from a browser signed in as staff);
`effective_windows` picks the hour limits that apply to a conversation (W1, W2);
`scanner_burst` and `scanner_quiet` tell a mail scanner's posts from a person's (A10).
Each returns None when nothing stands in the way, or the id of the rule that does;
`rule_words` says that rule in plain words, and `REFUSAL_STATUS` gives the HTTP status every
face answers a refused rating with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


def gettext_noop(words: str) -> str:
    """Marks the words a customer reads for the catalogues (`makemessages` finds this name);
    they are translated where they are shown (`ratings.scale.customer_words`, L2), so this
    module stays pure."""
    return words


# E3: the replies together must be longer than this many visible characters.
MIN_REPLY_CHARACTERS = 250
# E4: a close more than this long after the last reply sends nothing.
RECENCY = timedelta(days=7)
# A10: auto posts this close together (or this soon after a discard) are a mail scanner's.
SCANNER_WINDOW = timedelta(seconds=60)

# Why a close sent no survey, or why an answer was refused: the words the admin, the customer's
# pages, the API and the demo report all show for a rule id.
RULE_WORDS = {
    "E1": "The rating automation is off for this customer's role (users or leads).",
    "E2": "No teammate took part, or requests are off for conversations of this origin.",
    "E3": "The replies are too short: 250 visible characters or fewer in all.",
    "E4": "The conversation was closed more than 7 days after its last reply.",
    "E5": "It is a group conversation: more than one contact takes part.",
    "E6": "A rating request was already sent in this conversation.",
    "E8": "The teammate closed it quietly.",
    "E9": "The customer was sent a rating request more recently than the fatigue guard "
    "allows: a contact is asked at most once in the set number of days.",
    "B1": "Ratings of the bot's conversations are off.",
    "B2": "The bot wrote no message in this conversation, so there is nothing to rate it for.",
    "reopened": "It was reopened before the request went out; the next close decides.",
    # The customer reads these (A7) in their language (L2, `ratings.scale.customer_words`).
    "A3": gettext_noop("A comment was left with this rating, so it can no longer be changed."),
    "A4": gettext_noop("The time to rate this conversation has passed."),
    "A5": gettext_noop("The time to change this rating has passed."),
    "A10": gettext_noop(
        "Several different reactions arrived within a minute without a click, as a mail "
        "scanner opening every link does, so none was kept: press the one you mean."
    ),
    # K11: the one wording of a staff browser's refused rating or comment (pages, card, API).
    "K11": gettext_noop(
        "You are signed in as a member of the support team: only the customer can rate "
        "this conversation, so a rating or comment from this browser is not recorded."
    ),
}

# A7: the status of a refused rating, change or comment. A time limit forbids it (403); a
# comment already left conflicts with a change (409).
# A10: an auto post within the minute after a discard conflicts with it (409).
# K11: a browser signed in as staff is forbidden to rate or comment (403).
REFUSAL_STATUS = {"A3": 409, "A4": 403, "A5": 403, "A10": 409, "K11": 403}


def rule_words(rule: str) -> str:
    """The plain words of a rule id; an id this version does not know is shown as it is."""
    return RULE_WORDS.get(rule, rule)


@dataclass(frozen=True)
class Switches:
    """The admin's settings that E1 and E2 read."""

    for_users: bool
    for_leads: bool
    direct_outbound: bool
    outbound_api_workflows: bool
    # E9: ask the same contact at most once in this many days; None when the guard is off.
    fatigue_days: int | None = None
    for_bot: bool = False  # B1: ask for a rating of the bot's conversations


@dataclass(frozen=True)
class CloseFacts:
    """A conversation as it was at one close."""

    origin: str  # customer | direct_outbound | workflow | api
    contact_role: str  # user | lead | "" for a group
    contact_count: int
    teammate_replied: bool
    reply_characters: int
    last_reply_at: datetime | None
    closed_at: datetime
    quiet: bool
    request_already_sent: bool
    # E9: when this close's contact was last sent a rating request (in any conversation);
    # None when never, or when the guard is off (then it is not looked up).
    contact_last_asked_at: datetime | None = None
    request_already_sent: bool  # E6: a request of this close's kind (request_kind) was sent
    # B: the bot closed it, and its messages' visible characters and last time then.
    by_bot: bool = False
    bot_characters: int = 0
    last_bot_message_at: datetime | None = None


# The two kinds of rating request (B): a teammate's (D2) and the bot's.
TEAMMATE, BOT = "teammate", "bot"
KINDS = (TEAMMATE, BOT)


def request_kind(facts: CloseFacts) -> str:
    """B3: a close by the bot with no teammate reply decides the bot's request; any other
    close (a teammate's, or the bot's after a teammate replied) decides the teammate's."""
    return BOT if facts.by_bot and not facts.teammate_replied else TEAMMATE


def eligibility(facts: CloseFacts, switches: Switches) -> str | None:
    """None when this close sends a rating request, else the first rule that fails.

    The order is E8, E6, E1, E2, E3, E4, E5, E9: a teammate's explicit quiet close and an
    earlier request are the reasons an admin most needs to see, before the settings and the
    conversation's content; the contact's other conversations (E9) come last.
    """
    if request_kind(facts) == BOT:
        return bot_eligibility(facts, switches)
    if facts.quiet:
        return "E8"
    if facts.request_already_sent:
        return "E6"
    if not _asks_role(facts, switches):
        return "E1"
    if not _teammate_participated(facts, switches):
        return "E2"
    if facts.reply_characters <= MIN_REPLY_CHARACTERS:
        return "E3"
    if facts.last_reply_at is None or facts.closed_at - facts.last_reply_at > RECENCY:
        return "E4"
    return _contact_rules(facts, switches)


def _asks_role(facts: CloseFacts, switches: Switches) -> bool:
    """E1: the automation is on for the contact's role (a group, role "", is E5's)."""
    if facts.contact_role == "user":
        return switches.for_users
    if facts.contact_role == "lead":
        return switches.for_leads
    return True


def _contact_rules(facts: CloseFacts, switches: Switches) -> str | None:
    """The last rules of both kinds of request: E5 (one contact), then E9 (the fatigue guard
    over the contact's other conversations)."""
    if facts.contact_count != 1:
        return "E5"
    if asked_too_recently(
        last_asked_at=facts.contact_last_asked_at,
        closed_at=facts.closed_at,
        days=switches.fatigue_days,
    ):
        return "E9"
    return None


def asked_too_recently(
    *, last_asked_at: datetime | None, closed_at: datetime, days: int | None
) -> bool:
    """E9, the fatigue guard: with the guard on (`days`), a contact sent a rating request
    less than `days` × 24 hours before this close is not asked again. Exactly `days` later
    they may be; a contact never asked, or the guard off, is never held back by it."""
    if days is None or last_asked_at is None:
        return False
    return closed_at - last_asked_at < timedelta(days=days)


def bot_eligibility(facts: CloseFacts, switches: Switches) -> str | None:
    """B: None when this bot close sends the bot's rating request, else the first rule that
    fails, in the order E8, B1, E6 (the bot's request only), E1, B2, E3, E4, E5, E9. B2 stands in
    for E2; E3 counts the bot's messages with the customer's replies (there is no teammate
    reply); E4 counts from the last of those."""
    if facts.quiet:
        return "E8"
    if not switches.for_bot:
        return "B1"
    if facts.request_already_sent:
        return "E6"
    if not _asks_role(facts, switches):
        return "E1"
    if facts.last_bot_message_at is None:
        return "B2"
    if facts.reply_characters + facts.bot_characters <= MIN_REPLY_CHARACTERS:
        return "E3"
    last = max(moment for moment in (facts.last_reply_at, facts.last_bot_message_at) if moment)
    if facts.closed_at - last > RECENCY:
        return "E4"
    return _contact_rules(facts, switches)


def _teammate_participated(facts: CloseFacts, switches: Switches) -> bool:
    """E2, by origin."""
    if facts.origin == "customer":
        return facts.teammate_replied
    if facts.origin == "direct_outbound":
        # The teammate who started it wrote its first message: they took part.
        return switches.direct_outbound
    return switches.outbound_api_workflows and facts.teammate_replied


@dataclass(frozen=True)
class Windows:
    """Hours after the close during which a first rating (A4) or a change (A5) is accepted;
    None when that limit is off."""

    rating_hours: int | None
    change_hours: int | None


def effective_windows(
    *,
    prevent_rating: bool,
    rating_hours: int | None,
    prevent_change: bool,
    change_hours: int | None,
    workflow_rating_hours: int | None = None,
    workflow_change_hours: int | None = None,
    bot_rating_hours: int | None = None,
    bot_change_hours: int | None = None,
) -> Windows:
    """W1: a workflow's own limits replace the settings' for its conversations; W2: otherwise
    the settings apply (each limit only when its toggle is on). B4: for the bot's request the
    bot's hours, when set, replace the settings' hours (the toggles still apply); blank, the
    settings' hours are the fallback."""
    if bot_rating_hours is not None:
        rating_hours = bot_rating_hours
    if bot_change_hours is not None:
        change_hours = bot_change_hours
    return Windows(
        rating_hours=workflow_rating_hours
        if workflow_rating_hours is not None
        else (rating_hours if prevent_rating else None),
        change_hours=workflow_change_hours
        if workflow_change_hours is not None
        else (change_hours if prevent_change else None),
    )


def answer_refusal(
    *,
    action: str,
    closed_at: datetime,
    now: datetime,
    windows: Windows,
    has_rating: bool,
    has_comment: bool,
    staff: bool = False,
) -> str | None:
    """None when the customer's `action` ("rate" or "comment") is accepted, else the rule
    that refuses it. Windows are measured from the close that sent the request.

    - K11 first: `staff`, the answer comes from a browser signed in as staff (a teammate
      opening a customer's survey link to rate their own conversation;
      `ratings.selectors.staff_signed_in` says who counts).
    - rate, first time: A4 once `rating_hours` have passed.
    - rate again (a change, A2): A3 once a comment was left; A5 once `change_hours` have
      passed. A5 never blocks a first rating.
    - comment: A3 when a comment was already left (one comment closes the rating).
    """
    if staff:
        return "K11"
    if action == "rate":
        if not has_rating:
            # now - closed_at, not closed_at + hours: no date overflow for any hour limit.
            if windows.rating_hours is not None and now - closed_at > timedelta(
                hours=windows.rating_hours
            ):
                return "A4"
            return None
        if has_comment:
            return "A3"
        if windows.change_hours is not None and now - closed_at > timedelta(
            hours=windows.change_hours
        ):
            return "A5"
        return None
    if action == "comment":
        return "A3" if has_comment else None
    raise ValueError(f"Unknown action {action!r}: use 'rate' or 'comment'.")


# --- A10: a mail scanner's browser opening every link ------------------------------------------
#
# The rating page posts its link's reaction by itself on load (A1's one click), marking that
# post as an *auto* post; a person's press on a button is not marked. A scanner that opens
# every link of the email in a browser with JavaScript on makes auto posts of several different
# reactions within a minute, and never presses anything.


def scanner_window_open(*, at: datetime | None, now: datetime) -> bool:
    """A10: `at` (an auto post, or a discard) was at most SCANNER_WINDOW before `now`. A
    moment slightly ahead of `now` (clocks of two machines) counts as within."""
    return at is not None and now - at <= SCANNER_WINDOW


def scanner_burst(
    *,
    auto: bool,
    value: int,
    now: datetime,
    auto_value: int | None,
    auto_at: datetime | None,
    interaction: bool,
) -> bool:
    """A10: whether this post makes the standing rating a scanner's, to be discarded.

    True when the post is an auto post (`auto`) of another reaction (`value`) than the one
    standing (`auto_value`), which was itself recorded or changed by an auto post at `auto_at`,
    at most SCANNER_WINDOW before `now`, with no person's post (`interaction`: a press on a
    button, a comment) since. A person's post is never a burst.
    """
    return (
        auto
        and not interaction
        and auto_value is not None
        and value != auto_value
        and scanner_window_open(at=auto_at, now=now)
    )


def scanner_quiet(*, auto: bool, discarded_at: datetime | None, now: datetime) -> str | None:
    """A10: "A10" when an auto post arrives at most SCANNER_WINDOW after a discard (the rest of
    the scanner's links): it is refused and nothing is recorded. A person's post is never
    refused by A10."""
    if auto and scanner_window_open(at=discarded_at, now=now):
        return "A10"
    return None
