from django.apps import AppConfig
from django.db.models.signals import post_migrate

WAKE_SCHEDULE_NAME = "Wake snoozed conversations"


def ensure_wake_schedule(sender, using="default", **kwargs):
    """Z2: one schedule, every minute, however often migrate runs."""
    from django_q.models import Schedule

    Schedule.objects.using(using).update_or_create(
        name=WAKE_SCHEDULE_NAME,
        defaults={
            "func": "conversations.services.conversations_wake_due",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


class ConversationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "conversations"

    def ready(self):
        post_migrate.connect(ensure_wake_schedule, sender=self)
