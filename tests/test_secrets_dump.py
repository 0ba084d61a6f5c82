"""The issue's "done when" (K1, K3, K8): a dump of the whole database holds none of the secrets.

Every secret is made through the real faces and commands (a password through create_user and
the admin's sign-in page, an API token through `manage.py api_token`, a webhook secret through
the admin's form, a confirmed TOTP device through /accounts/two-factor/ with a real code, a
signed-in session); then every table is read back whole (SELECT * of each, every value as text,
bytes decoded loosely and in hex) and searched for each secret and every piece of 12 characters
of it, case-insensitively.
"""

import secrets
from base64 import b32decode
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_otp.oath import TOTP
from knox.settings import CONSTANTS

from api.models import ApiToken, Webhook

PIECE = 12  # the shortest piece of a secret that must not be found


def dump_database() -> str:
    """Every value of every table, one text (what `pg_dump` or `.dump` would hand out)."""
    lines = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {quote(table)}")
            for row in cursor.fetchall():
                values = []
                for value in row:
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes):
                        values += [value.decode("utf-8", "replace"), value.hex()]
                    else:
                        values.append(str(value))
                lines.append(f"{table}: " + " | ".join(values))
    return "\n".join(lines)


def pieces(secret: str, skip_prefix: int = 0) -> set[str]:
    """The secret and each piece of PIECE characters of it; with skip_prefix, the pieces that
    lie wholly inside the first skip_prefix characters are left out (an identifier kept by
    design, not the secret)."""
    found = {secret.lower()}
    for start in range(len(secret) - PIECE + 1):
        if start + PIECE > skip_prefix:
            found.add(secret[start : start + PIECE].lower())
    return found


def found_in(dump: str, secret: str, skip_prefix: int = 0) -> list[str]:
    text = dump.lower()
    return sorted(piece for piece in pieces(secret, skip_prefix) if piece in text)


def code_from(base32_secret: str) -> str:
    totp = TOTP(b32decode(base32_secret))
    return f"{totp.token():06d}"


@pytest.fixture
def made(db, public_dns):
    """Each kind of secret, made the way a user makes it."""
    password = "dump-" + secrets.token_urlsafe(18)
    get_user_model().objects.create_user(
        username="ada", password=password, is_staff=True, is_superuser=True
    )

    # K1: the API token, its key printed once by the command
    out = StringIO()
    call_command("api_token", "ada", stdout=out, stderr=StringIO())
    api_key = out.getvalue().strip()
    assert ApiToken.objects.count() == 1 and api_key.startswith("csat_")

    # a signed-in session, through the admin's sign-in page with the password
    browser = Client()
    signed_in = browser.post("/admin/login/", {"username": "ada", "password": password})
    assert signed_in.status_code == 302 and "_auth_user_id" in browser.session

    # K3: a webhook secret, through the admin's form
    webhook_secret = "whsec-" + secrets.token_urlsafe(24)
    added = browser.post(
        "/admin/api/webhook/add/",
        {"url": "https://hooks.example.com/csat", "secret": webhook_secret, "active": "on"},
    )
    assert added.status_code == 302 and Webhook.objects.get().secret == webhook_secret

    # K8: a confirmed TOTP device, through the two-factor page with a real code
    page = browser.get("/accounts/two-factor/")
    base32_secret = page.context["secret"].replace(" ", "")
    signed = page.context["form"]["secret"].value()
    done = browser.post(
        "/accounts/two-factor/", {"secret": signed, "otp_token": code_from(base32_secret)}
    )
    assert done.status_code == 302
    assert browser.get("/admin/").status_code == 200  # the session passed the second factor

    # a sign-in with the right password and a wrong code: a failure axes records
    wrong = "000000" if code_from(base32_secret) != "000000" else "111111"
    refused = Client().post(
        "/accounts/login/", {"username": "ada", "password": password, "otp_token": wrong}
    )
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session

    return {
        "password": password,
        "api_key": api_key,
        "webhook_secret": webhook_secret,
        "totp_base32": base32_secret,
        "totp_hex": b32decode(base32_secret).hex(),
    }


def test_K1_K3_K8_the_dump_is_searched_for_real(made):
    """The search can fail: a secret written in clear into a table is found by it."""
    dump = dump_database()
    assert "ada" in dump and "hooks.example.com" in dump
    with connection.cursor() as cursor:
        cursor.execute("UPDATE api_webhook SET description = %s", [made["webhook_secret"][3:20]])
    assert found_in(dump_database(), made["webhook_secret"])


def test_K1_the_dump_holds_no_api_key(made):
    """K1: only the key's digest and its first 15 characters (knox's token_key, the look-up
    prefix kept by design) are stored: no piece of the key beyond that prefix is."""
    assert found_in(dump_database(), made["api_key"], CONSTANTS.TOKEN_KEY_LENGTH) == []


def test_K3_the_dump_holds_no_webhook_secret(made):
    """K3: the webhook secret is kept encrypted."""
    assert found_in(dump_database(), made["webhook_secret"]) == []


def test_K8_the_dump_holds_no_totp_secret(made):
    """K8: the TOTP device's key is kept encrypted: neither its hex form (the device's key)
    nor its base32 form (what the authenticator app was given) is in the dump."""
    dump = dump_database()
    assert found_in(dump, made["totp_hex"]) == []
    assert found_in(dump, made["totp_base32"]) == []


def test_K1_K3_K8_the_dump_holds_no_password(made):
    """The password is kept as its hash only, and a failed sign-in's record (axes) holds none
    of it."""
    assert found_in(dump_database(), made["password"]) == []
