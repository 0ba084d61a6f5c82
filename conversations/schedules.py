"""Schedules of the task queue that must exist exactly once, whatever runs migrate."""

from collections.abc import Callable


def every_minute(*, name: str, func: str) -> Callable:
    """A `post_migrate` receiver that keeps one schedule, named `name`, running the task
    `func` (a dotted path) every minute: made on the first migrate, brought up to date on
    every later one, never doubled."""

    def ensure(sender, using="default", **kwargs):
        from django_q.models import Schedule

        Schedule.objects.using(using).update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )

    return ensure


def daily(*, name: str, func: str) -> Callable:
    """As `every_minute`, a schedule running `func` once a day (G4's retention)."""

    def ensure(sender, using="default", **kwargs):
        from django_q.models import Schedule

        Schedule.objects.using(using).update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.DAILY, "repeats": -1},
        )

    return ensure
