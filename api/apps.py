from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate

from conversations.schedules import every_minute

WEBHOOK_SCHEDULE_NAME = "Send due webhook deliveries"


# Queue the deliveries that are due: retries after their pause, and any whose task was lost.
ensure_webhook_schedule = every_minute(
    name=WEBHOOK_SCHEDULE_NAME, func="api.webhooks.webhook_deliveries_sweep"
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
        # K4: no deploy (nor migrate) without a valid FIELD_ENCRYPTION_KEY.
        from conversations.encryption import key_check

        checks.register(key_check, checks.Tags.security)
