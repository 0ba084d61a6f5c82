import importlib
import os
import shutil
import socket

import pytest
from django.test import override_settings

from tests.factories import ContactFactory, TeammateFactory, WorkflowFactory, start_conversation


@pytest.fixture
def teammate(db):
    return TeammateFactory(name="Tess Mate", email="tess@example.com")


@pytest.fixture
def other_teammate(db):
    return TeammateFactory(name="Otto Other", email="otto@example.com")


@pytest.fixture
def contact(db):
    return ContactFactory(name="Cora User", email="cora@example.com")


@pytest.fixture
def lead(db):
    return ContactFactory(lead=True, name="", email="lee@example.com")


@pytest.fixture
def workflow(db):
    return WorkflowFactory()


@pytest.fixture
def conversation(contact):
    """An open customer conversation on the Messenger, started by `contact`."""
    return start_conversation(contacts=[contact], started_by=contact, body="Hi there")


@pytest.fixture(scope="module")
def allow_sync_orm():
    """Playwright's sync API runs an event loop in this thread; the ORM calls of the test stay
    synchronous. Set for this module only, then restored (the deploy check warns on it)."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser(allow_sync_orm):
    """Headless Debian chromium driven by Playwright, one per test module; skips the test when
    either is missing (`.ci/run` installs chromium)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    playwright = sync_api.sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
    yield browser
    browser.close()
    playwright.stop()


# --- report pages: a signed-in manager ---------------------------------------------------------


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def csat_from_one_rating(db):
    """S4a's threshold at 1, for tests of other figures (S1, S3, periods) made of a few
    ratings: their pages show a CSAT, not "too few ratings"."""
    from ratings.configure import rating_settings_update

    return rating_settings_update(by=None, min_ratings_for_csat=1)


@pytest.fixture
def manager(db):
    from tests.report_helpers import make_manager

    return make_manager(name="Mona Manager", email="mona@example.com")


@pytest.fixture
def client_(client, manager):
    client.force_login(manager.user)
    return client


# --- the REST API: clients signed in with a token ------------------------------------------------


@pytest.fixture
def api_client():
    """An API client with no credentials."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api_login(db):
    """A function: an API client that sends `user`'s token (`Authorization: Token …`)."""
    from rest_framework.test import APIClient

    from api.tokens import token_issue

    def login(user):
        client = APIClient()
        _, key = token_issue(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return login


@pytest.fixture
def api_admin(db):
    """A superuser with a teammate profile: acts on conversations and changes settings."""
    admin = TeammateFactory(name="Ada Admin", email="ada@example.com")
    admin.user.is_superuser = True
    admin.user.save(update_fields=["is_superuser"])
    return admin


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend pointed at it."""
    from tests.smtp_server import SMTPServer

    server = SMTPServer()
    server.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=server.port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=5,
    ):
        yield server
    server.stop()


@pytest.fixture
def migration_groups(transactional_db):
    """The Teammates and Admins groups with the permissions their migration gives them: a
    transactional test that ran before this one flushed them (pytest-django runs those last,
    in file order), so a transactional test that needs a teammate's rights asks for this.
    (The permissions themselves are made again after each flush, by post_migrate.)"""
    from django.contrib.auth.models import Group, Permission

    groups = importlib.import_module("conversations.migrations.0002_groups")

    def permissions(pairs):
        return [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in pairs
        ]

    teammates, _ = Group.objects.get_or_create(name="Teammates")
    teammates.permissions.add(*permissions(groups.TEAMMATE_PERMISSIONS))
    admins, _ = Group.objects.get_or_create(name="Admins")
    admins.permissions.add(
        *permissions(
            (app_label, f"{action}_{model}")
            for app_label, model in groups.ADMIN_MODELS
            for action in ("view", "add", "change", "delete")
        )
    )


@pytest.fixture
def allow_private(settings):
    """K5: these tests deliver to 127.0.0.1, which is refused by default: they opt in."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def public_dns(monkeypatch):
    """The resolver (the one part outside this machine): names under example.com answer a
    public address, as they would on the Internet (K6 resolves a host before saving it)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "example.com" or str(host).endswith(".example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
