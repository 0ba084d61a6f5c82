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
        from django.db.models.signals import post_delete, post_save, pre_delete

        from conversations import poll_versions
        from conversations.models import Contact, Conversation, Teammate
        from conversations.people import on_teammate_deleted

        post_migrate.connect(ensure_wake_schedule, sender=self)
        pre_delete.connect(on_teammate_deleted, sender=Teammate, dispatch_uid="g5.former")
        # H4: every write the Messenger's version query reads drops the cached versions.
        for signal in (post_save, post_delete):
            signal.connect(
                poll_versions.on_conversation_written, sender=Conversation, dispatch_uid="h4"
            )
        post_delete.connect(poll_versions.on_contact_deleted, sender=Contact, dispatch_uid="h4")
        post_migrate.connect(poll_versions.on_migrated, sender=self, dispatch_uid="h4")
        # (No m2m_changed receiver: with one, every `contacts.add()` reads the links first, a
        # query more; conversation_start, the only writer of the links, bumps itself.)
