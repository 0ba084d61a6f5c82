from django.apps import AppConfig
from django.db.models.signals import post_migrate

from conversations.schedules import every_minute

WAKE_SCHEDULE_NAME = "Wake snoozed conversations"
# Z2: wake the snoozed conversations that are due.
ensure_wake_schedule = every_minute(
    name=WAKE_SCHEDULE_NAME, func="conversations.services.conversations_wake_due"
)


class ConversationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "conversations"

    def ready(self):
        from django.db.models.signals import pre_delete

        from conversations.models import Teammate
        from conversations.people import on_teammate_deleted

        post_migrate.connect(ensure_wake_schedule, sender=self)
        pre_delete.connect(on_teammate_deleted, sender=Teammate, dispatch_uid="g5.former")
