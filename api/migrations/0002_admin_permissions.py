"""Admins (the configuration group of conversations 0002) register webhooks and see their
deliveries; deliveries are records, so they are only viewed."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_PERMISSIONS = [
    ("api", "view_webhook"),
    ("api", "add_webhook"),
    ("api", "change_webhook"),
    ("api", "delete_webhook"),
    ("api", "view_webhookdelivery"),
]


def grant(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now to use them here.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admins, _ = Group.objects.get_or_create(name="Admins")
    admins.permissions.add(
        *(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in ADMIN_PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    granted = Permission.objects.filter(
        content_type__app_label="api", codename__in=[c for _, c in ADMIN_PERMISSIONS]
    )
    for group in Group.objects.filter(name="Admins"):
        group.permissions.remove(*granted)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("conversations", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
