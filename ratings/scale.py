"""The rating scale (S): five reactions, their names, emoji and sentiment."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Reaction:
    value: int
    name: str
    emoji: str
    sentiment: str  # positive | neutral | negative (S1)

    @property
    def label(self) -> str:
        return "OK" if self.name == "ok" else self.name.capitalize()


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
