"""K7: the Admins group lifts sign-in lock-outs: it sees the failed and successful sign-ins
(django-axes' records) and deletes a locked user name's or address's failed attempts. The
records are written by axes only, so no one adds or changes them. (The TOTP devices of K8 stay
the superusers': an admin removing a superuser's second factor would be a way around it.)
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_PERMISSIONS = [
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
    ("axes", "view_accesslog"),
    ("axes", "view_accessfailurelog"),
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
    codenames = [codename for _, codename in ADMIN_PERMISSIONS]
    granted = Permission.objects.filter(content_type__app_label="axes", codename__in=codenames)
    for group in Group.objects.filter(name="Admins"):
        group.permissions.remove(*granted)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0011_close_time_index"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
