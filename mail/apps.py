from django.apps import AppConfig
from django.db.models.signals import post_migrate

from conversations.schedules import every_minute

SWEEP_SCHEDULE_NAME = "Send emails left undelivered (M2)"
ensure_sweep_schedule = every_minute(name=SWEEP_SCHEDULE_NAME, func="mail.outbound.outbound_sweep")
IMAP_SCHEDULE_NAME = "Fetch customers' mail (IMAP, M15)"
# Returns at once, without a query, while INBOUND_IMAP_URL is not set.
ensure_imap_schedule = every_minute(name=IMAP_SCHEDULE_NAME, func="mail.imap.imap_poll")


class MailConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mail"
    verbose_name = "Email channel"

    def ready(self):
        from anymail.signals import inbound

        from conversations.signals import part_added
        from mail import checks  # noqa: F401 - registers the system check
        from mail.bounces import on_mail_bounced
        from mail.outbound import on_part_added
        from mail.signals import mail_bounced
        from mail.webhooks import on_inbound

        part_added.connect(on_part_added, dispatch_uid="mail.outbound")
        mail_bounced.connect(on_mail_bounced, dispatch_uid="mail.bounces")
        inbound.connect(on_inbound, dispatch_uid="mail.webhooks")
        post_migrate.connect(ensure_sweep_schedule, sender=self)
        post_migrate.connect(ensure_imap_schedule, sender=self)
