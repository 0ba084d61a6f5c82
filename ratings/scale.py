"""The rating scale (S): five reactions, their names, emoji and sentiment; and how far a CSAT
of few ratings can be trusted (S4: the Wilson interval, the threshold, the target claim)."""

import math
from dataclasses import dataclass

from django.utils.translation import gettext, pgettext_lazy

from ratings.rules import rule_words

# L2: the reactions' names a customer reads, in their language (the `name` stays English: it
# is the API's and the reports' key).
LABELS = {
    "terrible": pgettext_lazy("reaction", "Terrible"),
    "bad": pgettext_lazy("reaction", "Bad"),
    "ok": pgettext_lazy("reaction", "OK"),
    "great": pgettext_lazy("reaction", "Great"),
    "amazing": pgettext_lazy("reaction", "Amazing"),
}


@dataclass(frozen=True)
class Reaction:
    value: int
    name: str
    emoji: str
    sentiment: str  # positive | neutral | negative (S1)

    @property
    def label(self) -> str:
        """The name shown, in the active language (L2)."""
        return str(LABELS[self.name])


# In the order a survey shows them, from worst to best.
REACTIONS = (
    Reaction(1, "terrible", "😠", "negative"),
    Reaction(2, "bad", "🙁", "neutral"),
    Reaction(3, "ok", "😐", "neutral"),
    Reaction(4, "great", "😀", "positive"),
    Reaction(5, "amazing", "🤩", "positive"),
)
BY_VALUE = {reaction.value: reaction for reaction in REACTIONS}
POSITIVE_VALUES = (4, 5)  # S1: CSAT counts these
LOW_VALUES = (1, 2)  # S2: follow-up lists, and the reasons offered after them (A1)


def reaction(value: int) -> Reaction:
    return BY_VALUE[int(value)]


# --- S4: honest small numbers -------------------------------------------------------------------

WILSON_Z = 1.96  # the normal quantile of a two-sided 95 % interval
DEFAULT_MIN_RATINGS = 10  # S4a: fewer ratings than this show "too few ratings", not a CSAT

# S4b: where a CSAT stands against the happiness target.
ABOVE, BELOW, WITHIN, TOO_FEW, NO_RATINGS = "above", "below", "within", "too_few", "none"


def wilson_interval(positive: int, total: int, z: float = WILSON_Z) -> tuple[float, float] | None:
    """S4: the Wilson score interval of the share `positive` ÷ `total` (fractions from 0 to 1;
    95 % with the default `z`); None when there are no ratings. 4 of 10 → (0.168, 0.687).

    Unlike "p ± z·√(p(1−p)/n)" it never leaves [0, 1] and is not zero-wide at 0 % or 100 %:
    1 of 1 is (0.207, 1.0), not (1.0, 1.0)."""
    if total <= 0:
        return None
    if not 0 <= positive <= total:
        raise ValueError(f"{positive} positive ratings of {total} is not a share.")
    p = positive / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z / (1 + z2 / total) * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    # Exact at the ends: 0 of n starts at 0, n of n ends at 1 (no rounding just past them).
    low = 0.0 if positive == 0 else max(0.0, centre - half)
    high = 1.0 if positive == total else min(1.0, centre + half)
    return low, high


def too_few_ratings(total: int, min_ratings: int) -> bool:
    """S4a: fewer ratings than the threshold: the pages say "too few ratings" instead of a
    CSAT (none at all counts as too few)."""
    return total < min_ratings


def target_standing(
    interval: tuple[float, float] | None, target: float, *, too_few: bool = False
) -> str:
    """S4b: ABOVE only when the whole interval is above the target (low > target), BELOW only
    when it is wholly below (high < target), otherwise WITHIN ("can't tell yet"); TOO_FEW under
    the threshold and NO_RATINGS without ratings, where nothing is claimed. `interval` and
    `target` in the same unit (both fractions, or both percentages)."""
    if interval is None:
        return NO_RATINGS
    if too_few:
        return TOO_FEW
    low, high = interval
    if low > target:
        return ABOVE
    if high < target:
        return BELOW
    return WITHIN


def customer_words(rule: str) -> str:
    """A7, L2: a rule's words as the customer reads them, in the active language (the
    contact's on their pages; `ratings.rules.rule_words` stays English for the staff)."""
    return gettext(rule_words(rule))
