"""What every part of the demo uses: time units, random pauses, batches, and a receiver
switched off while the demo plays its history."""

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


class ReceiverOff:
    """`with ReceiverOff(signal, receiver, uid):` the receiver connected under `uid` hears
    nothing inside the block (the demo's history mails and alerts no one), and is connected
    again after it if it was before."""

    def __init__(self, signal, receiver, dispatch_uid: str):
        self.signal, self.receiver, self.dispatch_uid = signal, receiver, dispatch_uid

    def __enter__(self):
        self.connected = self.signal.disconnect(dispatch_uid=self.dispatch_uid)
        return self

    def __exit__(self, *exc):
        if self.connected:
            self.signal.connect(self.receiver, dispatch_uid=self.dispatch_uid)
        return False
