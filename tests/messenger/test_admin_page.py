"""The admin's Messenger page (messenger/admin.py): who may open it (the people who may change
the rating settings), the snippets it gives (and that they compute the same user_hash as W1),
what it says of the identity secret (never the secret itself) and of the allowed origins (W7)."""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.urls import reverse

from conversations.identity import user_hash
from conversations.people import ADMINS_GROUP
from messenger.origins import origin_problem
from tests.factories import TeammateFactory

PAGE = "/admin/messenger/messengersettings/"
USER_IDS = ["42", "user-7f3a", "Zoë 9"]


@pytest.fixture
def superuser_client(client, db):
    person = TeammateFactory(name="Ada Admin", email="ada@example.com")
    person.user.is_superuser = True
    person.user.save(update_fields=["is_superuser"])
    client.force_login(person.user)
    return client


@pytest.fixture
def admins_client(client, db):
    """In the Admins group, not a superuser: the group's permissions let them in."""
    person = TeammateFactory(name="Abe Admins", email="abe@example.com")
    person.user.groups.add(Group.objects.get(name=ADMINS_GROUP))
    client.force_login(person.user)
    return client


@pytest.fixture
def teammate_client(client, teammate):
    client.force_login(teammate.user)
    return client


def page(client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


def words(text: str) -> str:
    """Runs of whitespace made one space: the template wraps its sentences."""
    return re.sub(r"\s+", " ", text)


def code_block(text: str, name: str) -> str:
    """The text of a snippet as shown (and copied): `<code id="snippet-<name>">`."""
    match = re.search(rf'<code id="snippet-{name}">(.*?)</code>', text, re.S)
    assert match, f"no {name} snippet"
    return html.unescape(match[1])


# --- who may open it -------------------------------------------------------------------------


def test_the_address_is_the_models_changelist():
    assert reverse("admin:messenger_messengersettings_changelist") == PAGE


def test_a_superuser_sees_the_page_and_its_entry_on_the_admin_index(superuser_client):
    text = page(superuser_client)
    assert "<h1>Messenger settings</h1>" in text
    index = superuser_client.get(reverse("admin:index")).content.decode()
    assert f'href="{PAGE}"' in index


def test_a_member_of_the_admins_group_sees_the_page(admins_client):
    assert "Install the widget" in page(admins_client)
    index = admins_client.get(reverse("admin:index")).content.decode()
    assert f'href="{PAGE}"' in index


def test_a_teammate_gets_a_403_and_no_entry_on_the_index(teammate_client):
    assert teammate_client.get(PAGE).status_code == 403
    index = teammate_client.get(reverse("admin:index")).content.decode()
    assert PAGE not in index
    assert teammate_client.get("/admin/messenger/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert response["Location"].endswith("?next=" + PAGE)


def test_there_is_nothing_to_add_change_or_delete(superuser_client):
    for suffix in ("add/", "1/change/", "1/delete/", "1/history/"):
        assert superuser_client.get(PAGE + suffix).status_code == 404, suffix


# --- the page ----------------------------------------------------------------------------------


def test_the_install_snippet_loads_the_widget_from_site_url(superuser_client, settings):
    text = page(superuser_client)
    install = code_block(text, "install")
    first, second = install.splitlines()
    assert first.startswith("<script>window.csatMessenger = {user_id: ")
    for field in ("user_id", "email", "name", "user_hash"):
        assert f"{field}: " in first
    assert first.endswith("};</script>")
    assert second == f'<script src="{settings.SITE_URL}/messenger/widget.js" async></script>'
    assert settings.SITE_URL + "/messenger/widget.js" in text
    # For leads: the same script, without the identity.
    assert code_block(text, "lead") == second
    assert "no <code>user_id</code> is a" in text


@override_settings(SITE_URL="https://csat.example.org")
def test_the_snippet_follows_site_url(superuser_client):
    install = code_block(page(superuser_client), "install")
    assert 'src="https://csat.example.org/messenger/widget.js"' in install


def test_the_copy_buttons_are_a_static_script_and_no_inline_one(superuser_client):
    text = page(superuser_client)
    assert '<script src="/static/messenger/admin-copy.js" defer></script>' in text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.S)
    inline = [body for attrs, body in scripts if "src=" not in attrs and body.strip()]
    assert inline == []
    assert "<style" not in text
    for name in ("install", "lead", "python", "node"):
        assert f'data-copy="snippet-{name}"' in text
    assert superuser_client.get("/static/messenger/admin-copy.js").status_code == 200


@override_settings(MESSENGER_IDENTITY_SECRET="s3cr3t-value")
def test_a_set_secret_is_said_to_be_set_and_never_shown(superuser_client):
    response = superuser_client.get(PAGE)
    assert response.status_code == 200
    assert b"s3cr3t-value" not in response.content
    assert b"s3cr3t" not in response.content
    assert b"s3cr3t-value" not in b"".join(f"{k}: {v}".encode() for k, v in response.items())
    text = words(response.content.decode())
    assert "<code>MESSENGER_IDENTITY_SECRET</code> is set" in text
    assert "is not set" not in text


def test_no_part_of_the_secret_is_in_the_page(superuser_client):
    secret = secrets.token_hex(16)
    with override_settings(MESSENGER_IDENTITY_SECRET=secret):
        text = page(superuser_client)
    pieces = {secret[i : i + 6] for i in range(len(secret) - 5)}
    assert [piece for piece in pieces if piece in text] == []


@override_settings(MESSENGER_IDENTITY_SECRET="")
def test_an_empty_secret_is_said_to_be_not_set(superuser_client):
    text = words(page(superuser_client))
    assert "<code>MESSENGER_IDENTITY_SECRET</code> is not set" in text
    assert "Secret not set" in text
    assert "only leads can write" in text


def test_the_server_snippets_are_three_lines_reading_the_environment(superuser_client):
    text = page(superuser_client)
    python, node = code_block(text, "python"), code_block(text, "node")
    assert len(python.splitlines()) == 3
    assert len(node.splitlines()) == 3
    assert 'os.environ["MESSENGER_IDENTITY_SECRET"]' in python
    assert "hmac" in python and "hashlib.sha256" in python
    assert "process.env.MESSENGER_IDENTITY_SECRET" in node
    assert 'crypto.createHmac("sha256"' in node


@pytest.mark.parametrize("user_id", USER_IDS)
def test_the_python_snippet_computes_the_same_hash_as_w1(superuser_client, user_id):
    snippet = code_block(page(superuser_client), "python")
    secret = "a-long-random-secret-for-this-test"
    program = f"user_id = {user_id!r}\n{snippet}\nprint(user_hash)\n"
    env = {**os.environ, "MESSENGER_IDENTITY_SECRET": secret, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == user_hash(user_id, secret)


@pytest.mark.parametrize("user_id", USER_IDS)
def test_the_node_snippet_computes_the_same_hash_as_w1(superuser_client, user_id):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    snippet = code_block(page(superuser_client), "node")
    secret = "a-long-random-secret-for-this-test"
    program = f"const userId = {json.dumps(user_id)};\n{snippet}\nconsole.log(userHash);\n"
    env = {**os.environ, "MESSENGER_IDENTITY_SECRET": secret}
    result = subprocess.run(
        [node, "-e", program], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == user_hash(user_id, secret)


def test_a_numeric_user_id_hashes_like_its_text(superuser_client):
    """Apps often have integer ids: str(42) and String(42) are both "42"."""
    snippet = code_block(page(superuser_client), "python")
    env = {**os.environ, "MESSENGER_IDENTITY_SECRET": "k"}
    result = subprocess.run(
        [sys.executable, "-c", f"user_id = 42\n{snippet}\nprint(user_hash)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.strip() == user_hash("42", "k")


@override_settings(
    MESSENGER_ALLOWED_ORIGINS=["https://app.example.com/path", "https://www.example.com"]
)
def test_each_origin_is_shown_with_its_problem(superuser_client, settings):
    text = page(superuser_client)
    problem = origin_problem("https://app.example.com/path")
    assert problem
    row = re.search(r"<tr class=\"msgr-problem\">(.*?)</tr>", text, re.S)
    assert row, "no row for the malformed origin"
    assert "https://app.example.com/path" in row[1]
    assert problem in row[1]
    assert "Ignored" in row[1]
    good = re.search(r"<tr>\s*<td><code>https://www.example.com</code></td>(.*?)</tr>", text, re.S)
    assert good and "Allowed" in good[1]
    assert "http://testserver" in text  # csat's own origin, always allowed
    assert "2 listed, 1 with a problem" in text


@override_settings(MESSENGER_ALLOWED_ORIGINS=["app.example.com"])
def test_an_origin_without_a_scheme_is_shown_with_its_problem(superuser_client):
    text = page(superuser_client)
    assert "app.example.com" in text
    assert origin_problem("app.example.com") in text


@override_settings(MESSENGER_ALLOWED_ORIGINS=[])
def test_an_empty_list_of_origins_is_said_in_a_sentence(superuser_client):
    text = words(page(superuser_client))
    assert "<code>MESSENGER_ALLOWED_ORIGINS</code> is empty" in text
    assert "can only be embedded by csat's own" in text
    assert "<code>http://testserver</code>" in text
    assert 'class="msgr-table msgr-origins"' not in text


def test_the_page_says_what_a_lead_is_and_where_to_set_the_variables(superuser_client):
    text = words(page(superuser_client))
    assert "is a lead" in text
    assert "visitor id" in text
    assert "email address" in text
    assert "<code>.env</code>" in text
    assert "environment" in text
    assert reverse("admin:ratings_ratingsettings_changelist") in text
