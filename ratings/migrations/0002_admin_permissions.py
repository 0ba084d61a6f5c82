"""Who may see and change the rating spine in the admin.

Admins (the configuration group of conversations 0002) change the rating settings and manage the
installed Messenger apps; requests, decisions, ratings and their history are records, so both
groups only view them (no one adds, changes or deletes them in the admin: A8).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_PERMISSIONS = [
    ("ratings", "view_ratingsettings"),
    ("ratings", "change_ratingsettings"),
    ("ratings", "view_messengerapp"),
    ("ratings", "add_messengerapp"),
    ("ratings", "change_messengerapp"),
    ("ratings", "delete_messengerapp"),
]
RECORD_VIEW_PERMISSIONS = [
    ("ratings", "view_ratingrequest"),
    ("ratings", "view_ratingdecision"),
    ("ratings", "view_rating"),
    ("ratings", "view_ratingevent"),
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
    admins.permissions.add(*permissions(ADMIN_PERMISSIONS + RECORD_VIEW_PERMISSIONS))
    teammates, _ = Group.objects.get_or_create(name="Teammates")
    teammates.permissions.add(*permissions(RECORD_VIEW_PERMISSIONS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [codename for _, codename in ADMIN_PERMISSIONS + RECORD_VIEW_PERMISSIONS]
    granted = Permission.objects.filter(content_type__app_label="ratings", codename__in=codenames)
    for group in Group.objects.filter(name__in=["Admins", "Teammates"]):
        group.permissions.remove(*granted)


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0001_initial"),
        ("conversations", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
