"""The Managers group: it reads the reports (R1–R5) and follows up on ratings."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_managers(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    managers, _ = Group.objects.get_or_create(name="Managers")
    managers.permissions.add(
        Permission.objects.get(content_type__app_label="reports", codename="view_reports")
    )


def remove_managers(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Managers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_managers, remove_managers)]
