"""The time the services write down.

Normally now. Demo data moves it into the past with `clock.at(moment)`, so that old
conversations are made by the same services, under the same rules, as live ones.
"""

import contextvars
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_moment: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("moment", default=None)


def now() -> datetime:
    return _moment.get() or timezone.now()


@contextmanager
def at(moment: datetime):
    token = _moment.set(moment)
    try:
        yield moment
    finally:
        _moment.reset(token)
