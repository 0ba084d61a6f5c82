"""Who may see the email channel in the admin.

Teammates see each mailed reply's delivery and the attachments on the conversations they
work on; Admins also see the inbound failures and retry them (M13). The records are written
by the services only, so no one adds, changes or deletes them in the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TEAMMATE_PERMISSIONS = [
    ("mail", "view_outboundemail"),
    ("mail", "view_attachment"),
]
ADMIN_PERMISSIONS = [
    ("mail", "view_inboundfailure"),
    ("mail", "retry_inboundfailure"),
]


def grant(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now to use them here.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permissions(pairs):
        return [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in pairs
        ]

    admins, _ = Group.objects.get_or_create(name="Admins")
    admins.permissions.add(*permissions(TEAMMATE_PERMISSIONS + ADMIN_PERMISSIONS))
    teammates, _ = Group.objects.get_or_create(name="Teammates")
    teammates.permissions.add(*permissions(TEAMMATE_PERMISSIONS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [codename for _, codename in TEAMMATE_PERMISSIONS + ADMIN_PERMISSIONS]
    granted = Permission.objects.filter(content_type__app_label="mail", codename__in=codenames)
    for group in Group.objects.filter(name__in=["Admins", "Teammates"]):
        group.permissions.remove(*granted)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0001_initial"),
        ("conversations", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
