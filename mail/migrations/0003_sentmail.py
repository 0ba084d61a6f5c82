"""The development mail box's messages (mail.devbox), read by the Admins.

Only the Admins (and superusers) see them: the box holds every message sent, to anyone —
another teammate's notifications included — where a teammate sees a conversation's mail on
its thread.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models


def grant(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now to use them here.
    mail = apps.get_app_config("mail")
    mail.models_module = True
    create_permissions(mail, apps=apps, verbosity=0)
    mail.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admins, _ = Group.objects.get_or_create(name="Admins")
    admins.permissions.add(
        Permission.objects.get(content_type__app_label="mail", codename="view_sentmail")
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="mail", codename="view_sentmail").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0002_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="SentMail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sent_at", models.DateTimeField()),
                ("from_email", models.TextField(blank=True)),
                ("to", models.TextField(blank=True)),
                ("subject", models.TextField(blank=True)),
                ("text", models.TextField(blank=True)),
                ("html", models.TextField(blank=True)),
                ("headers", models.TextField(blank=True)),
                ("attachments", models.TextField(blank=True)),
            ],
            options={
                "verbose_name": "sent mail",
                "verbose_name_plural": "sent mail",
                "ordering": ["-sent_at", "-id"],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
