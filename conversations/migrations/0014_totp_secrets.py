"""K8: the TOTP devices' keys encrypted at rest. Each device of django-otp's `otp_totp` table
(its key in clear) is copied into conversations.TOTPDevice, the key encrypted by the field, with
its settings, counters and dates; the clear table is then emptied (`otp_totp` is no longer
installed). A session verified by an old device signs in again with the same app's code.
Reversing drops the new table (and the devices with it): they are not written back in clear."""

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

import conversations.encryption
import conversations.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CLEAR_TABLE = "otp_totp_totpdevice"
COPIED = [
    "user_id",
    "name",
    "confirmed",
    "key",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
]
DATES = {"throttling_failure_timestamp", "created_at", "last_used_at"}


def move_clear_devices(device_model, connection):
    """Copy every device of otp_totp's table into `device_model` (the key encrypted), then
    empty that table; nothing to do on a database that never had it. Returns how many."""
    if CLEAR_TABLE not in connection.introspection.table_names():
        return 0
    quote = connection.ops.quote_name
    table = quote(CLEAR_TABLE)
    with connection.cursor() as cursor:
        present = {
            column.name
            for column in connection.introspection.get_table_description(cursor, CLEAR_TABLE)
        }
        columns = [column for column in COPIED if column in present]
        cursor.execute(f"SELECT {', '.join(quote(c) for c in columns)} FROM {table} ORDER BY id")
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        dates = {name: _aware(row.pop(name)) for name in DATES & set(row)}
        device = device_model.objects.create(**row)
        # created_at is auto_now_add: set as it was after the copy.
        device_model.objects.filter(pk=device.pk).update(**dates)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
    return len(rows)


def _aware(value):
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = parse_datetime(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def encrypt_clear_devices(apps, schema_editor):
    move_clear_devices(apps.get_model("conversations", "TOTPDevice"), schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0013_messenger_links_epoch"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TOTPDevice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="The human-readable name of this device.", max_length=64
                    ),
                ),
                (
                    "confirmed",
                    models.BooleanField(default=True, help_text="Is this device ready for use?"),
                ),
                (
                    "throttling_failure_timestamp",
                    models.DateTimeField(
                        blank=True,
                        default=None,
                        help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                        null=True,
                    ),
                ),
                (
                    "throttling_failure_count",
                    models.PositiveIntegerField(
                        default=0, help_text="Number of successive failed attempts."
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True,
                        help_text="The date and time when this device was initially created in the system.",
                        null=True,
                    ),
                ),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="The most recent date and time this device was used.",
                        null=True,
                    ),
                ),
                (
                    "key",
                    conversations.encryption.EncryptedTextField(
                        default=conversations.models.default_totp_key,
                        help_text="The secret (hex), kept encrypted.",
                        validators=[conversations.models.totp_key_validator],
                    ),
                ),
                ("step", models.PositiveSmallIntegerField(default=30)),
                ("t0", models.BigIntegerField(default=0)),
                ("digits", models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                ("tolerance", models.PositiveSmallIntegerField(default=1)),
                ("drift", models.SmallIntegerField(default=0)),
                ("last_t", models.BigIntegerField(default=-1)),
                (
                    "user",
                    models.ForeignKey(
                        help_text="The user that this device belongs to.",
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "TOTP device",
                "abstract": False,
            },
        ),
        migrations.RunPython(encrypt_clear_devices, migrations.RunPython.noop),
    ]
