"""K1: API tokens kept as a hash only. Each key of DRF's `authtoken` table (plain text) becomes
an `ApiToken` with the key's SHA-512 digest and prefix, so existing clients keep their key;
the plain table is then emptied (the `authtoken` app is no longer installed)."""

from datetime import UTC, datetime

import conversations.clock
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils.dateparse import parse_datetime
from knox.crypto import hash_token

PLAIN_TABLE = "authtoken_token"
PREFIX_LENGTH = 15  # knox's CONSTANTS.TOKEN_KEY_LENGTH, as api.tokens reads it


def move_plain_keys(token_model, connection):
    """Hash every plain key of DRF's table into `token_model`, then empty that table; nothing
    to do on a database that never had it. Returns how many keys were moved."""
    if PLAIN_TABLE not in connection.introspection.table_names():
        return 0
    table = connection.ops.quote_name(PLAIN_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name('key')}, user_id, created FROM {table}")
        rows = cursor.fetchall()
    token_model.objects.bulk_create(
        [
            token_model(
                digest=hash_token(key),
                token_key=key[:PREFIX_LENGTH],
                user_id=user_id,
                created=_aware(created),
            )
            for key, user_id, created in rows
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
    return len(rows)


def _aware(value):
    if value is None:
        return conversations.clock.now()
    if not isinstance(value, datetime):
        value = parse_datetime(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def hash_plain_keys(apps, schema_editor):
    move_plain_keys(apps.get_model("api", "ApiToken"), schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_admin_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "token_key",
                    models.CharField(db_index=True, max_length=25, verbose_name="prefix"),
                ),
                ("digest", models.CharField(max_length=128, unique=True)),
                ("created", models.DateTimeField(default=conversations.clock.now)),
                ("expiry", models.DateTimeField(blank=True, null=True, verbose_name="expires")),
                (
                    "last_used_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last used"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "ordering": ["-created", "-id"],
            },
        ),
        # The keys cannot be given back: undoing this leaves the hashed tokens in place.
        migrations.RunPython(hash_plain_keys, migrations.RunPython.noop),
    ]
