"""Schedules of the task queue that must exist exactly once, whatever runs migrate."""

from collections.abc import Callable
from datetime import datetime, time, timedelta


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


def daily(*, name: str, func: str, hour: int) -> Callable:
    """A `post_migrate` receiver that keeps one schedule, named `name`, running `func` once a
    day at `hour` o'clock local time (TIME_ZONE); its next run is set when it is made and kept
    by later migrates."""

    def ensure(sender, using="default", **kwargs):
        from django.utils import timezone
        from django_q.models import Schedule

        now = timezone.localtime()
        next_run = timezone.make_aware(datetime.combine(now.date(), time(hour)))
        if next_run <= now:
            next_run += timedelta(days=1)
        schedule, created = Schedule.objects.using(using).get_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.DAILY,
                "repeats": -1,
                "next_run": next_run,
            },
        )
        if not created and (schedule.func, schedule.schedule_type) != (func, Schedule.DAILY):
            schedule.func, schedule.schedule_type = func, Schedule.DAILY
            schedule.save(update_fields=["func", "schedule_type"])

    return ensure
