"""K1, K2: the API's tokens are kept as a hash only, shown once, refused after their expiry,
and their last use written at most once a minute; keys made before K1 keep working."""

import hashlib
import hmac
import importlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import tokens
from api.models import ApiToken
from tests.factories import TeammateFactory

URL = "/api/v1/teammates/"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OLD_KEY = "0123456789abcdef0123456789abcdef01234567"  # DRF's shape: 40 hex characters
ADD = "/admin/api/apitoken/add/"
LIST = "/admin/api/apitoken/"

migration = importlib.import_module("api.migrations.0003_hashed_tokens")


def call(api_client, key):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client.get(URL)


def tables_holding(text):
    """Every table of the database, dumped: the ones where `text` appears in some column."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            if any(text in str(value) for row in cursor.fetchall() for value in row):
                found.append(table)
    return found


def token_writes(captured):
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("UPDATE") and "api_apitoken" in q["sql"]
    ]


@pytest.fixture
def admin_user(db):
    admin = TeammateFactory(name="Ada Admin", email="ada@example.com")
    admin.user.is_superuser = True
    admin.user.save(update_fields=["is_superuser"])
    return admin.user


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


# --- K1: hashed at rest, checked in constant time ----------------------------------------------


def test_K1_the_key_is_kept_as_its_sha512_digest_only(teammate, api_client):
    token, key = tokens.token_issue(user=teammate.user)
    assert re.fullmatch(r"csat_[0-9a-f]{64}", key)
    row = ApiToken.objects.values().get(pk=token.pk)
    assert key not in str(row)
    assert row["digest"] == hashlib.sha512(key.encode()).hexdigest()
    assert row["token_key"] == key[:15] and len(row["token_key"]) == 15
    assert tables_holding(key) == []
    assert call(api_client, key).status_code == 200


def test_K1_a_wrong_key_with_a_right_prefix_is_refused(teammate, api_client):
    _, key = tokens.token_issue(user=teammate.user)
    wrong = key[:-1] + ("0" if key[-1] != "0" else "1")
    response = call(api_client, wrong)
    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "message": "Invalid token.",
        "fields": {},
    }
    assert ApiToken.objects.get().last_used_at is None  # a refused key uses nothing
    assert call(api_client, key).status_code == 200


def test_K1_the_digest_is_compared_with_hmac_compare_digest(teammate, api_client, monkeypatch):
    _, key = tokens.token_issue(user=teammate.user)
    seen = []

    def spy(a, b):
        seen.append((a, b))
        return hmac.compare_digest(a, b)

    monkeypatch.setattr(tokens, "compare_digest", spy)
    assert call(api_client, key).status_code == 200
    digest = hashlib.sha512(key.encode()).hexdigest()
    assert seen == [(digest, ApiToken.objects.get().digest)]


def test_K1_a_key_whose_prefix_is_shared_is_found_among_its_neighbours(teammate, api_client):
    """Two rows with one prefix (possible for keys made before K1): each compared, the right
    one signs in, a third key with that prefix is refused."""
    first, second = OLD_KEY, OLD_KEY[:15] + "f" * 25
    for key in (first, second):
        ApiToken.objects.create(
            user=teammate.user, token_key=key[:15], digest=hashlib.sha512(key.encode()).hexdigest()
        )
    assert call(api_client, first).status_code == 200
    assert call(api_client, second).status_code == 200
    assert call(api_client, OLD_KEY[:15] + "e" * 25).status_code == 401


def test_K1_an_inactive_users_token_is_refused(teammate, api_client):
    _, key = tokens.token_issue(user=teammate.user)
    teammate.user.is_active = False
    teammate.user.save(update_fields=["is_active"])
    response = call(api_client, key)
    assert response.status_code == 401
    assert response.json()["message"] == "User inactive or deleted."


# --- K1: expiry ---------------------------------------------------------------------------------


def test_K1_a_token_is_refused_from_its_expiry_on(teammate, api_client):
    with time_machine.travel(T0, tick=False):
        token, key = tokens.token_issue(user=teammate.user, expires_days=1)
    assert token.expiry == T0 + timedelta(days=1)
    with time_machine.travel(token.expiry - timedelta(minutes=1), tick=False):
        assert call(api_client, key).status_code == 200
    for moment in (token.expiry, token.expiry + timedelta(minutes=1)):
        with time_machine.travel(moment, tick=False):
            response = call(api_client, key)
        assert response.status_code == 401
        assert response.json() == {
            "code": "token_expired",
            "message": "Token expired.",
            "fields": {},
        }
        assert response["WWW-Authenticate"] == "Token"
    assert ApiToken.objects.filter(pk=token.pk).exists()  # kept, for the admin to see


# --- K1: last used, written at most once a minute -----------------------------------------------


def test_K1_last_used_is_written_on_the_first_call_then_at_most_once_a_minute(teammate, api_client):
    token, key = tokens.token_issue(user=teammate.user)
    assert token.last_used_at is None

    def at(moment):
        with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as seen:
            assert call(api_client, key).status_code == 200
        return len(token_writes(seen)), ApiToken.objects.get(pk=token.pk).last_used_at

    assert at(T0) == (1, T0)
    assert at(T0 + timedelta(seconds=59)) == (0, T0)
    assert at(T0 + timedelta(seconds=60)) == (1, T0 + timedelta(seconds=60))
    assert at(T0 + timedelta(seconds=61)) == (0, T0 + timedelta(seconds=60))


def test_K1_a_call_reads_the_token_user_and_teammate_in_one_query(teammate, api_client):
    """H3's "every call": one read of the token (with its user and teammate), and its UPDATE
    only on the first call of a minute."""
    _, key = tokens.token_issue(user=teammate.user)

    def token_statements():
        with CaptureQueriesContext(connection) as seen:
            assert call(api_client, key).status_code == 200
        return [q["sql"].split()[0] for q in seen.captured_queries if "api_apitoken" in q["sql"]]

    first = token_statements()
    assert first == ["SELECT", "UPDATE"]
    assert token_statements() == ["SELECT"]
    with CaptureQueriesContext(connection) as seen:
        call(api_client, key)
    read = next(q["sql"] for q in seen.captured_queries if "api_apitoken" in q["sql"])
    assert '"auth_user"' in read and '"conversations_teammate"' in read


# --- K1: keys made before K1 ---------------------------------------------------------------------


@pytest.fixture
def plain_table(db):
    """DRF's `authtoken_token` as an installation before K1 has it (the app is gone now)."""
    created = connection.data_types["DateTimeField"]
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, '
            f'"created" {created} NOT NULL, "user_id" integer NOT NULL)'
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE authtoken_token")


def test_K1_a_plain_key_is_migrated_to_its_hash_and_keeps_working(
    teammate, api_client, plain_table
):
    made = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO authtoken_token ("key", "created", "user_id") VALUES (%s, %s, %s)',
            [OLD_KEY, connection.ops.adapt_datetimefield_value(made), teammate.user.pk],
        )
    assert call(api_client, OLD_KEY).status_code == 401

    assert migration.move_plain_keys(ApiToken, connection) == 1

    token = ApiToken.objects.get()
    assert (token.user, token.token_key, token.created) == (teammate.user, OLD_KEY[:15], made)
    assert token.digest == hashlib.sha512(OLD_KEY.encode()).hexdigest()
    assert tables_holding(OLD_KEY) == []  # the plain table emptied, no key anywhere
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
    assert call(api_client, OLD_KEY).status_code == 200


def test_K1_the_migration_does_nothing_without_the_plain_table(db):
    assert migration.move_plain_keys(ApiToken, connection) == 0
    assert not ApiToken.objects.exists()


# --- K2: manage.py api_token ---------------------------------------------------------------------


def test_K2_the_command_prints_the_key_once_and_keeps_only_its_hash(teammate, api_client, capsys):
    call_command("api_token", teammate.user.username)
    out = capsys.readouterr()
    key = out.out.strip()
    token = ApiToken.objects.get(user=teammate.user)
    assert key.startswith(token.token_key) and token.expiry is None
    assert "shown this once" in out.err and key not in out.err
    assert tables_holding(key) == []
    assert call(api_client, key).status_code == 200

    # Run again: the key is not shown again, nothing is made or changed.
    with pytest.raises(CommandError, match=r"already has an API token .*--rotate"):
        call_command("api_token", teammate.user.username)
    assert list(ApiToken.objects.values_list("pk", "digest")) == [(token.pk, token.digest)]
    assert capsys.readouterr().out == ""


def test_K2_rotate_replaces_the_users_tokens(teammate, api_client, capsys):
    _, old = tokens.token_issue(user=teammate.user)
    _, older = tokens.token_issue(user=teammate.user)
    call_command("api_token", teammate.user.username, "--rotate")
    new = capsys.readouterr().out.strip()
    assert new not in (old, older)
    assert ApiToken.objects.filter(user=teammate.user).count() == 1
    assert call(api_client, old).status_code == 401
    assert call(api_client, older).status_code == 401
    assert call(api_client, new).status_code == 200


def test_K2_expires_days_sets_the_expiry(teammate, capsys):
    with time_machine.travel(T0, tick=False):
        call_command("api_token", teammate.user.username, "--expires-days", "30")
    assert ApiToken.objects.get().expiry == T0 + timedelta(days=30)
    assert "expires 2026-04-01 09:00 UTC" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nobody"], "There is no user 'nobody'"),
        (["tess", "--expires-days", "-1"], "whole number of days from 1 to 3650"),
        (["tess", "--expires-days", "0"], "whole number of days from 1 to 3650"),
        (["tess", "--expires-days", "3651"], "whole number of days from 1 to 3650"),
        (["tess", "--rotate", "--expires-days", "-5"], "whole number of days from 1 to 3650"),
        (["tess", "--expires-days", "soon"], "invalid int value"),
    ],
)
def test_K2_bad_input_is_a_clear_error_and_changes_nothing(teammate, capsys, arguments, message):
    teammate.user.username = "tess"
    teammate.user.save(update_fields=["username"])
    token, _ = tokens.token_issue(user=teammate.user)
    with pytest.raises(CommandError, match=message):
        call_command("api_token", *arguments)
    assert list(ApiToken.objects.values_list("pk", "digest", "expiry")) == [
        (token.pk, token.digest, None)
    ]
    assert capsys.readouterr().out == ""


def test_K2_an_inactive_user_gets_no_token(teammate):
    teammate.user.is_active = False
    teammate.user.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="not active"):
        call_command("api_token", teammate.user.username)
    assert not ApiToken.objects.exists()


# --- K2: the admin ---------------------------------------------------------------------------


def _shown_key(response):
    found = re.findall(r"csat_[0-9a-f]{64}", response.content.decode())
    assert len(found) <= 1
    return found[0] if found else None


def test_K2_the_admin_shows_a_new_key_once_and_lists_tokens_without_it(
    admin_browser, teammate, api_client
):
    with time_machine.travel(T0, tick=False):
        response = admin_browser.post(ADD, {"user": teammate.user.pk, "expires_days": 7})
    assert response.status_code == 302
    shown = admin_browser.get(LIST)
    key = _shown_key(shown)
    token = ApiToken.objects.get()
    assert key and key.startswith(token.token_key)
    assert "shown this once" in shown.content.decode()
    assert token.expiry == T0 + timedelta(days=7)
    assert tables_holding(key) == []  # neither in the token's row nor in the session
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert call(api_client, key).status_code == 200

    # The list again, and the token's page: the prefix, the user, never the key or its hash.
    for page in (admin_browser.get(LIST), admin_browser.get(f"{LIST}{token.pk}/change/")):
        html = page.content.decode()
        assert page.status_code == 200
        assert token.token_key in html and teammate.user.username in html
        assert _shown_key(page) is None and token.digest not in html


def test_K2_the_admin_refuses_a_bad_expiry_or_an_inactive_user_and_makes_nothing(
    admin_browser, teammate, other_teammate
):
    for days in ("-1", "0", "3651", "soon"):
        response = admin_browser.post(ADD, {"user": teammate.user.pk, "expires_days": days})
        assert response.status_code == 200
        assert list(response.context["adminform"].form.errors) == ["expires_days"]
    other_teammate.user.is_active = False
    other_teammate.user.save(update_fields=["is_active"])
    response = admin_browser.post(ADD, {"user": other_teammate.user.pk})
    assert list(response.context["adminform"].form.errors) == ["user"]
    assert not ApiToken.objects.exists()


def test_K2_rotating_in_the_admin_shows_the_new_key_once_and_refuses_the_old(
    admin_browser, teammate, api_client
):
    token, old = tokens.token_issue(user=teammate.user, expires_days=5)
    expiry = token.expiry
    response = admin_browser.post(
        LIST, {"action": "rotate", "_selected_action": [token.pk]}, follow=True
    )
    new = _shown_key(response)
    assert new and new != old
    token.refresh_from_db()
    assert (token.expiry, token.last_used_at) == (expiry, None)
    assert new.startswith(token.token_key)
    assert call(api_client, old).status_code == 401
    assert call(api_client, new).status_code == 200
    assert _shown_key(admin_browser.get(LIST)) is None


def test_K2_revoking_is_deleting(admin_browser, teammate, api_client):
    token, key = tokens.token_issue(user=teammate.user)
    response = admin_browser.post(f"{LIST}{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    assert call(api_client, key).status_code == 401


@pytest.mark.parametrize(
    "key", ["nul\x00key", "é" * 20, "a" * 129, "csat_" + "0" * 60 + "';--", "x" * 200_000]
)
def test_K1_a_key_of_no_possible_shape_is_refused_without_a_query(teammate, api_client, key):
    """A NUL (which PostgreSQL cannot compare), odd characters, a huge string: 401, unread."""
    with CaptureQueriesContext(connection) as seen:
        response = call(api_client, key)
    assert response.status_code == 401
    assert response.json()["message"] in (
        "Invalid token.",
        "Invalid token header. Token string should not contain invalid characters.",
    )
    assert not [q for q in seen.captured_queries if "api_apitoken" in q["sql"]]
