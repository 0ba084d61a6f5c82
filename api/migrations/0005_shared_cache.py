"""K9: the table of the database cache that the throttles share across processes
(`CACHES["shared"]` without Redis), made here so that `migrate` alone sets up a machine (and a
test database): Django's own `createcachetable`, for this one table whatever the settings
say today (a site may drop Redis later)."""

from django.core.management import call_command
from django.db import migrations

TABLE = "csat_shared_cache"


def create_table(apps, schema_editor):
    call_command("createcachetable", TABLE, database=schema_editor.connection.alias, verbosity=0)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("api", "0004_encrypted_secrets")]

    operations = [migrations.RunPython(create_table, drop_table, elidable=False)]
