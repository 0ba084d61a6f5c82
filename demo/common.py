"""What every part of the demo uses: time units, random pauses, batches, and a receiver
switched off while the demo plays its history."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from django.db.models import Q

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


def id_groups(ids: list[int], field: str = "conversation_id", ranges: int = 100):
    """Filters (`Q`) that together pick exactly `ids` in `field`, each a bounded query: the
    ids cut into runs of consecutive ids (a run's ids are usually one or a few: its rows are
    made together), up to `ranges` runs a filter, each run a range. What `chunks` is for a
    list of ids, in a few queries for a hundred thousand of them."""
    runs: list[tuple[int, int]] = []
    for pk in sorted(set(ids)):
        if runs and pk == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], pk)
        else:
            runs.append((pk, pk))
    for group in chunks(runs, ranges):
        q = Q()
        for low, high in group:
            q |= (
                Q(**{f"{field}__gte": low, f"{field}__lte": high})
                if low < high
                else Q(**{field: low})
            )
        yield q


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
