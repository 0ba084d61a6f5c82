"""What every part of the demo uses: time units, random pauses and batches."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def pause(rng: random.Random, pace: tuple[float, float]) -> timedelta:
    """A pause between `pace`'s two bounds (seconds), drawn log-uniformly: short pauses are as
    common as long ones at their own scale, as between people's messages."""
    low, high = pace
    return timedelta(seconds=round(math.exp(rng.uniform(math.log(low), math.log(high)))))


def between(rng: random.Random, earliest: datetime, latest: datetime) -> datetime:
    return earliest + (latest - earliest) * rng.random()


def chunks(items: list, size: int = 500):
    """`items` `size` at a time: a bounded `IN (…)` per query, a bounded transaction."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
