"""The rating scale (S): five reactions, their names, emoji and sentiment."""

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


def customer_words(rule: str) -> str:
    """A7, L2: a rule's words as the customer reads them, in the active language (the
    contact's on their pages; `ratings.rules.rule_words` stays English for the staff)."""
    return gettext(rule_words(rule))
