from django.apps import AppConfig
from django.db.models.signals import post_migrate

from conversations.schedules import daily, every_minute

SWEEP_SCHEDULE_NAME = "Decide closes left undecided (D5)"
# D5: queue again the closes left undecided and the surveys left undelivered.
ensure_sweep_schedule = every_minute(
    name=SWEEP_SCHEDULE_NAME, func="ratings.decisions.rating_decisions_sweep"
)

ALERTS_SCHEDULE_NAME = "Send rating alerts due or left unsent (N5)"
ensure_alerts_schedule = every_minute(
    name=ALERTS_SCHEDULE_NAME, func="ratings.alerts.rating_alerts_sweep"
)
DIGEST_SCHEDULE_NAME = "Daily digest of low ratings to managers (N4)"
ensure_digest_schedule = daily(
    name=DIGEST_SCHEDULE_NAME, func="ratings.alerts.rating_alert_digests_send", hour=7
)
RETENTION_SCHEDULE_NAME = "Erase message bodies after the retention period (G4)"
ensure_retention_schedule = daily(
    name=RETENTION_SCHEDULE_NAME, func="ratings.erasure.retention_erase", hour=3
)


class RatingsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ratings"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from conversations import poll_versions
        from conversations.signals import conversation_closed
        from mail.signals import mail_bounced
        from ratings.alerts import on_rating_event_recorded
        from ratings.decisions import on_conversation_closed
        from ratings.delivery import on_mail_bounced
        from ratings.signals import rating_event_recorded

        conversation_closed.connect(on_conversation_closed, dispatch_uid="ratings.enqueue")
        mail_bounced.connect(on_mail_bounced, dispatch_uid="ratings.bounces")
        post_migrate.connect(ensure_sweep_schedule, sender=self)
        rating_event_recorded.connect(on_rating_event_recorded, dispatch_uid="ratings.alerts")
        post_migrate.connect(ensure_alerts_schedule, sender=self)
        post_migrate.connect(ensure_digest_schedule, sender=self)
        post_migrate.connect(ensure_retention_schedule, sender=self)
        # H4: a rating recorded, changed, commented on or withdrawn drops the cached versions.
        from ratings.models import Rating

        for signal in (post_save, post_delete):
            signal.connect(poll_versions.on_rating_written, sender=Rating, dispatch_uid="h4")
