"""K3: secrets kept in the database, encrypted at rest with keys from the environment.

`FIELD_ENCRYPTION_KEY` holds one or more Fernet keys, comma-separated. The first encrypts;
every one of them decrypts (cryptography's `MultiFernet`), so a key is rotated in three steps:
put a new key first, run `manage.py rotate_encryption_key` (every value re-encrypted under
it), then drop the old key.

`EncryptedTextField` is a TextField whose column holds only the Fernet token (AES-128-CBC and
HMAC-SHA256; the token changes on every save). The model attribute is the plain value, so the
code that uses it (webhook signing) is unchanged. The column cannot be searched: any lookup
other than `isnull` is refused at once instead of silently matching nothing. A token no key
decrypts is an error (`SecretUnreadable`), never handed on as if it were the secret.

K4: `key_check` is the system check (registered by the api app): an Error when the keys are
missing (outside DEBUG) or one of them is not a Fernet key, so `manage.py check --deploy`
(and `migrate`) fail before anything is written with no key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models

SETTING = "FIELD_ENCRYPTION_KEY"
HINT = (
    "Set FIELD_ENCRYPTION_KEY to a Fernet key (several, comma-separated, while rotating: "
    "the first encrypts). `manage.py rotate_encryption_key --generate-key` prints a new one."
)


class SecretUnreadable(Exception):
    """A stored token that no key in FIELD_ENCRYPTION_KEY decrypts."""


def configured_keys() -> list[str]:
    """The keys as set: a list (or one comma-separated string), blanks dropped."""
    keys = getattr(settings, SETTING, None) or []
    if isinstance(keys, str):
        keys = keys.split(",")
    return [key.strip() for key in keys if key and key.strip()]


def key_problems(keys: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """What is wrong with FIELD_ENCRYPTION_KEY (or `keys`), in words (empty: nothing)."""
    keys = configured_keys() if keys is None else keys
    if not keys:
        return ["FIELD_ENCRYPTION_KEY is not set: secrets in the database cannot be encrypted."]
    problems = []
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                f"FIELD_ENCRYPTION_KEY's key {number} of {len(keys)} is not a Fernet key "
                "(32 bytes in url-safe base64, 44 characters)."
            )
    return problems


@lru_cache(maxsize=8)
def _crypter(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    """The keys checked and built once per set of keys (a refusal is not cached)."""
    problems = key_problems(keys)
    if problems:
        raise ImproperlyConfigured(" ".join(problems) + " " + HINT)
    fernets = [Fernet(key) for key in keys]
    return MultiFernet(fernets), fernets[0]


def crypter() -> tuple[MultiFernet, Fernet]:
    """(all keys, the first key), read from the settings at each use (a change of settings,
    as in a test, applies at once)."""
    return _crypter(tuple(configured_keys()))


def encrypt(value: str) -> str:
    return crypter()[0].encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plain value of a token; `InvalidToken` when no key decrypts it."""
    return crypter()[0].decrypt(token.encode("ascii", "replace")).decode()


def under_first_key(token: str) -> bool:
    """Whether the first key alone decrypts `token` (rotation has nothing left to do)."""
    try:
        crypter()[1].decrypt(token.encode("ascii", "replace"))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """`token` re-encrypted under the first key; `InvalidToken` when no key decrypts it."""
    return crypter()[0].rotate(token.encode("ascii", "replace")).decode("ascii")


class EncryptedTextField(models.TextField):
    """K3: a text kept encrypted in its column; the attribute is the plain text. An empty
    value stays empty (nothing is set), None stays NULL."""

    description = "Text encrypted at rest (Fernet, keys in FIELD_ENCRYPTION_KEY)"

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value)
        except InvalidToken:
            raise SecretUnreadable(
                f"A value of {self.model._meta.label}.{self.name} cannot be decrypted with "
                "any key in FIELD_ENCRYPTION_KEY (was a key removed before "
                "`manage.py rotate_encryption_key` ran?)."
            ) from None

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        if not value:
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self.model._meta.label}.{self.name} is encrypted: it cannot be searched or "
            f"compared in the database (lookup '{lookup_name}')."
        )

    def get_transform(self, lookup_name):
        return None


def encrypted_fields():
    """Every (model, field) of the installed apps kept encrypted."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def key_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """K4: no deploy without a valid key. Under DEBUG the settings supply a development key,
    so only a key given and invalid is reported there."""
    problems = key_problems()
    if not configured_keys() and settings.DEBUG:
        problems = []
    return [checks.Error(problem, hint=HINT, id="csat.E001") for problem in problems]
