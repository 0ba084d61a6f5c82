"""The Messenger keeps no rows of its own: its configuration is the environment's
(MESSENGER_ALLOWED_ORIGINS, MESSENGER_IDENTITY_SECRET, SITE_URL). `MessengerSettings` is only a
name for the admin to hang the Messenger's page on (messenger/admin.py): unmanaged, with no
table and no permissions of its own."""

from django.db import models


class MessengerSettings(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "Messenger settings"
        verbose_name_plural = "Messenger settings"

    def __str__(self):
        return "Messenger settings"
