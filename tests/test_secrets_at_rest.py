"""K3: secrets kept in the database (webhook secrets) are encrypted at rest with the Fernet
keys of FIELD_ENCRYPTION_KEY (the first encrypts, all decrypt), rotated by
`manage.py rotate_encryption_key`, and the rows kept in plain text before are encrypted by a
data migration. K4: a secret is never shown back once saved (admin and API), and a system
check fails without a valid key outside DEBUG."""

import secrets
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth.models import Group
from django.core import checks
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from api.models import Webhook
from conversations.encryption import SecretUnreadable
from tests.factories import TeammateFactory

SECRET = "a-shared-secret-of-some-length"
OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def raw_secrets() -> list[str]:
    """The column as a database dump holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM api_webhook ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def pieces(secret: str, size: int = 6) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def rotate() -> str:
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    return out.getvalue()


# --- K3: at rest --------------------------------------------------------------------------------


def test_K3_the_column_holds_a_token_not_the_secret(db, settings):
    webhook = Webhook.objects.create(url="https://example.com/hook", secret=SECRET)

    (stored,) = raw_secrets()
    assert stored != SECRET and not pieces(SECRET) & pieces(stored)
    # A Fernet token under the configured key; the model gives the plain secret back.
    assert Fernet(settings.FIELD_ENCRYPTION_KEY[0]).decrypt(stored.encode()) == SECRET.encode()
    assert Webhook.objects.get(pk=webhook.pk).secret == SECRET
    # Saved again, the token changes (no equal tokens give equal secrets away).
    webhook.save()
    assert raw_secrets() != [stored]
    assert Webhook.objects.get(pk=webhook.pk).secret == SECRET


def test_K3_every_write_path_encrypts(db):
    one = Webhook.objects.create(url="https://example.com/one", secret="s" * 16)
    two = Webhook.objects.create(url="https://example.com/two", secret="t" * 16)
    Webhook.objects.filter(pk=one.pk).update(secret=SECRET)
    two.secret = SECRET + "-two"
    Webhook.objects.bulk_update([two], ["secret"])

    assert all(SECRET not in value for value in raw_secrets())
    assert [w.secret for w in Webhook.objects.order_by("id")] == [SECRET, SECRET + "-two"]


def test_K3_the_encrypted_column_cannot_be_searched(db):
    """A Fernet token differs on every save: a lookup would silently match nothing, so it is
    refused; only isnull is allowed."""
    Webhook.objects.create(url="https://example.com/hook", secret=SECRET)

    for lookup in ("secret", "secret__startswith", "secret__icontains"):
        with pytest.raises(FieldError, match="encrypted"):
            Webhook.objects.filter(**{lookup: SECRET}).exists()
    assert Webhook.objects.filter(secret__isnull=False).count() == 1


def test_K3_a_token_no_key_decrypts_is_an_error_not_the_secret(db):
    with override_settings(FIELD_ENCRYPTION_KEY=[OLD]):
        Webhook.objects.create(url="https://example.com/hook", secret=SECRET)
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW]), pytest.raises(SecretUnreadable):
        Webhook.objects.get()


# --- K3: rotation -------------------------------------------------------------------------------


def test_K3_rotation_with_two_keys(db):
    with override_settings(FIELD_ENCRYPTION_KEY=[OLD]):
        webhook = Webhook.objects.create(url="https://example.com/hook", secret=SECRET)
        Webhook.objects.create(url="https://example.com/empty", secret="")

    with override_settings(FIELD_ENCRYPTION_KEY=[NEW, OLD]):
        # The old key still decrypts; new writes use the new key.
        assert Webhook.objects.get(pk=webhook.pk).secret == SECRET
        assert (
            "api.Webhook.secret: 1 re-encrypted, 0 already under the first key"
            in rotate().splitlines()
        )
        # Idempotent: run again, nothing left to do.
        assert (
            "api.Webhook.secret: 0 re-encrypted, 1 already under the first key"
            in rotate().splitlines()
        )

    (stored, empty) = raw_secrets()
    assert empty == ""
    assert Fernet(NEW).decrypt(stored.encode()) == SECRET.encode()
    with pytest.raises(InvalidToken):
        Fernet(OLD).decrypt(stored.encode())
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW]):  # the old key dropped
        assert Webhook.objects.get(pk=webhook.pk).secret == SECRET


def test_K3_rotation_reports_what_no_key_decrypts_and_rotates_the_rest(db):
    lost = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=[lost]):
        Webhook.objects.create(url="https://example.com/lost", secret=SECRET)
    with override_settings(FIELD_ENCRYPTION_KEY=[OLD]):
        Webhook.objects.create(url="https://example.com/kept", secret=SECRET)
    before = raw_secrets()

    out = StringIO()
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW, OLD]):
        with pytest.raises(CommandError, match="1 value"):
            call_command("rotate_encryption_key", stdout=out)
        assert "1 re-encrypted, 0 already under the first key, 1 that no key decrypts" in (
            out.getvalue()
        )
    after = raw_secrets()
    assert after[0] == before[0]  # left as it was
    assert Fernet(NEW).decrypt(after[1].encode()) == SECRET.encode()


def test_K3_rotation_without_a_key_fails_plainly(db):
    with override_settings(FIELD_ENCRYPTION_KEY=[]), pytest.raises(CommandError, match="not set"):
        call_command("rotate_encryption_key", stdout=StringIO())


def test_K3_the_command_prints_a_new_key():
    out = StringIO()
    call_command("rotate_encryption_key", "--generate-key", stdout=out)
    Fernet(out.getvalue().strip())  # a valid key


# --- K3: the data migration ----------------------------------------------------------------------


def test_K3_the_migration_encrypts_the_rows_kept_in_plain_text(transactional_db):
    before, after = [("api", "0003_hashed_tokens")], [("api", "0004_encrypted_secrets")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO api_webhook (url, secret, description, active, created_at) "
                "VALUES (%s, %s, '', %s, %s)",
                ["https://example.com/hook", SECRET, True, "2025-01-01 00:00:00"],
            )
        assert raw_secrets() == [SECRET]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)

    (stored,) = raw_secrets()
    assert SECRET not in stored
    assert Webhook.objects.get().secret == SECRET

    # And back: the secrets are decrypted again for the plain column.
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        assert raw_secrets() == [SECRET]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    assert Webhook.objects.get().secret == SECRET


# --- K4: the system check -----------------------------------------------------------------------


def key_errors():
    return [m for m in checks.run_checks(tags=[checks.Tags.security]) if m.id == "csat.E001"]


@pytest.mark.parametrize(
    "keys, words",
    [
        ([], "is not set"),
        (["not-a-fernet-key"], "key 1 of 1 is not a Fernet key"),
        ([Fernet.generate_key().decode(), "short"], "key 2 of 2 is not a Fernet key"),
    ],
)
def test_K4_without_a_valid_key_the_check_fails_in_production(keys, words):
    with override_settings(DEBUG=False, FIELD_ENCRYPTION_KEY=keys):
        (error,) = key_errors()
    assert error.level == checks.ERROR and words in error.msg
    assert "rotate_encryption_key --generate-key" in error.hint


def test_K4_with_valid_keys_the_check_is_silent():
    with override_settings(DEBUG=False, FIELD_ENCRYPTION_KEY=[NEW, OLD]):
        assert key_errors() == []
    # Under DEBUG the settings supply a development key; an empty value is not reported.
    with override_settings(DEBUG=True, FIELD_ENCRYPTION_KEY=[]):
        assert key_errors() == []


# --- K4: never shown back -----------------------------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    admin = TeammateFactory()
    admin.user.groups.add(Group.objects.get(name="Admins"))
    client.force_login(admin.user)
    return client


def form(webhook, **changes):
    data = {"url": webhook.url, "secret": "", "description": webhook.description}
    data.update({"active": "on"} if webhook.active else {})
    return {**data, **changes}


def test_K4_the_admin_page_never_shows_the_secret(admin_client):
    secret = secrets.token_hex(16)
    webhook = Webhook.objects.create(url="https://example.com/hook", secret=secret)

    page = admin_client.get(f"/admin/api/webhook/{webhook.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert not {piece for piece in pieces(secret) if piece in html}
    assert 'type="password" name="secret"' in html
    assert "A secret is set (never shown)" in html
    listing = admin_client.get("/admin/api/webhook/").content.decode()
    assert not {piece for piece in pieces(secret) if piece in listing}


def test_K4_an_empty_secret_in_the_admin_keeps_the_current_one(admin_client, public_dns):
    webhook = Webhook.objects.create(url="https://example.com/hook", secret=SECRET)
    stored = raw_secrets()

    response = admin_client.post(
        f"/admin/api/webhook/{webhook.pk}/change/", form(webhook, description="CRM")
    )

    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.secret, webhook.description) == (SECRET, "CRM")
    assert raw_secrets() != stored  # saved again, encrypted again
    assert SECRET not in raw_secrets()[0]


def test_K4_a_new_secret_in_the_admin_replaces_it_and_a_short_one_is_refused(
    admin_client, public_dns
):
    webhook = Webhook.objects.create(url="https://example.com/hook", secret=SECRET)
    stored = raw_secrets()

    refused = admin_client.post(
        f"/admin/api/webhook/{webhook.pk}/change/", form(webhook, secret="short")
    )
    assert refused.status_code == 200
    assert "at least 16 characters" in refused.content.decode()
    assert 'value="short"' not in refused.content.decode()  # not echoed either
    assert raw_secrets() == stored

    replaced = admin_client.post(
        f"/admin/api/webhook/{webhook.pk}/change/", form(webhook, secret="another-secret-16+")
    )
    assert replaced.status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret == "another-secret-16+"


def test_K4_a_new_webhook_in_the_admin_needs_a_secret(admin_client, public_dns):
    page = admin_client.get("/admin/api/webhook/add/").content.decode()
    assert "A secret is set" not in page

    refused = admin_client.post(
        "/admin/api/webhook/add/", {"url": "https://example.com/hook", "secret": "", "active": "on"}
    )

    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert not Webhook.objects.exists()


def test_K4_the_api_accepts_a_secret_and_never_returns_it(api_login, api_admin, public_dns):
    client = api_login(api_admin.user)
    created = client.post(
        "/api/v1/webhooks/", {"url": "https://example.com/hook", "secret": SECRET}, format="json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]

    answers = [
        created,
        client.get("/api/v1/webhooks/"),
        client.get(f"/api/v1/webhooks/{pk}/"),
        client.patch(f"/api/v1/webhooks/{pk}/", {"secret": SECRET + "-new"}, format="json"),
    ]

    for answer in answers:
        assert answer.status_code in (200, 201)
        assert b"secret" not in answer.content and SECRET.encode() not in answer.content
    assert Webhook.objects.get(pk=pk).secret == SECRET + "-new"
    assert SECRET not in raw_secrets()[0]
