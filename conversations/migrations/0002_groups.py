"""The Teammates group (the inbox) and the Admins group (configuration)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TEAMMATE_PERMISSIONS = [
    ("conversations", "view_conversation"),
    ("conversations", "add_conversation"),
    ("conversations", "change_conversation"),
    ("conversations", "view_part"),
    ("conversations", "view_conversationclose"),
    ("conversations", "view_contact"),
    ("conversations", "add_contact"),
    ("conversations", "change_contact"),
    ("conversations", "view_teammate"),
    ("conversations", "view_workflow"),
]
ADMIN_MODELS = [
    ("conversations", "conversation"),
    ("conversations", "contact"),
    ("conversations", "teammate"),
    ("conversations", "workflow"),
    ("conversations", "part"),
    ("conversations", "conversationclose"),
    ("auth", "user"),
]


def create_groups(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now to use them here.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permission(app_label, codename):
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)

    teammates, _ = Group.objects.get_or_create(name="Teammates")
    teammates.permissions.add(*(permission(a, c) for a, c in TEAMMATE_PERMISSIONS))
    admins, _ = Group.objects.get_or_create(name="Admins")
    admins.permissions.add(
        *(
            permission(app_label, f"{action}_{model}")
            for app_label, model in ADMIN_MODELS
            for action in ("view", "add", "change", "delete")
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
