from django.apps import AppConfig
from django.db.models.signals import post_migrate

SWEEP_SCHEDULE_NAME = "Decide closes left undecided (D5)"


def ensure_sweep_schedule(sender, using="default", **kwargs):
    """D5: one schedule, every minute, however often migrate runs."""
    from django_q.models import Schedule

    Schedule.objects.using(using).update_or_create(
        name=SWEEP_SCHEDULE_NAME,
        defaults={
            "func": "ratings.services.rating_decisions_sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


class RatingsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ratings"

    def ready(self):
        from conversations.signals import conversation_closed
        from ratings.services import on_conversation_closed

        conversation_closed.connect(on_conversation_closed, dispatch_uid="ratings.enqueue")
        post_migrate.connect(ensure_sweep_schedule, sender=self)
