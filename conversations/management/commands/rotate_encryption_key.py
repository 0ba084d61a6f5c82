"""K3: re-encrypt every encrypted value under the first key of FIELD_ENCRYPTION_KEY.

Rotation: put a new key first in FIELD_ENCRYPTION_KEY (keep the old ones after it), run this
command, then drop the old keys. Running it again changes nothing (a value already under the
first key is left as it is). Values are read and written as raw column values, in one
transaction; a value no key decrypts is counted and makes the command fail (nothing is lost:
the other values are still rotated)."""

from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, router, transaction

from conversations import encryption


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value under the first key of FIELD_ENCRYPTION_KEY."
    # The system checks refuse to run without a valid key (csat.E001), and this command is how
    # the first key is made: it checks the keys itself (`encryption.crypter()`) when it rotates.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate-key",
            action="store_true",
            help="print a new Fernet key (to put first in FIELD_ENCRYPTION_KEY) and stop",
        )

    def handle(self, *args, generate_key=False, **options):
        if generate_key:
            self.stdout.write(Fernet.generate_key().decode())
            return
        try:
            encryption.crypter()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        unreadable_total = 0
        for model, field in encryption.encrypted_fields():
            rotated, kept, unreadable = self._rotate(model, field)
            unreadable_total += unreadable
            line = (
                f"{model._meta.label}.{field.name}: {rotated} re-encrypted, "
                f"{kept} already under the first key"
            )
            if unreadable:
                line += f", {unreadable} that no key decrypts"
            self.stdout.write(line)
        if unreadable_total:
            raise CommandError(
                f"{unreadable_total} value(s) could not be decrypted with any key in "
                "FIELD_ENCRYPTION_KEY: put back the key they were encrypted with."
            )

    def _rotate(self, model, field):
        connection = connections[router.db_for_write(model)]
        quote = connection.ops.quote_name
        table, column = quote(model._meta.db_table), quote(field.column)
        pk = quote(model._meta.pk.column)
        update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s"
        rotated = kept = unreadable = 0
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")
            for key, token in cursor.fetchall():
                if encryption.under_first_key(token):
                    kept += 1
                    continue
                try:
                    new_token = encryption.rotate(token)
                except InvalidToken:
                    unreadable += 1
                    continue
                cursor.execute(update, [new_token, key])
                rotated += 1
        return rotated, kept, unreadable
