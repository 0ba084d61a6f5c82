from django.apps import AppConfig
from django.db.models.signals import post_migrate

WEBHOOK_SCHEDULE_NAME = "Send due webhook deliveries"


def ensure_webhook_schedule(sender, using="default", **kwargs):
    """One schedule, every minute, however often migrate runs: it queues the deliveries that
    are due (retries after their pause, and any whose task was lost)."""
    from django_q.models import Schedule

    Schedule.objects.using(using).update_or_create(
        name=WEBHOOK_SCHEDULE_NAME,
        defaults={
            "func": "api.webhooks.webhook_deliveries_sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self):
        from api.webhooks import on_rating_event_recorded
        from ratings.signals import rating_event_recorded

        rating_event_recorded.connect(on_rating_event_recorded, dispatch_uid="api.webhooks.outbox")
        post_migrate.connect(ensure_webhook_schedule, sender=self)
