"""K19: a Messenger link (`/messenger/<token>/`) ends: `MESSENGER_LINK_MAX_AGE_DAYS` after it
was made, or at once when the contact's links are revoked (admin → Contacts → "Revoke
Messenger links", and erasure). An ended link is a finished page (410) and changes nothing;
a new link works. A link made before K19 (no revoke number in it) works until its age runs
out or the contact's first revoke."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from conversations.identity import session_contact_id
from conversations.models import Contact, Part
from ratings.erasure import contact_erase
from ratings.tokens import (
    MESSENGER_LINK_ENDED,
    MESSENGER_SALT,
    messenger_link_token,
    messenger_token,
)
from tests.factories import ContactFactory

MADE_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _page(client, token):
    return client.get(reverse("messenger:link", args=[token]))


def _session(client, token):
    return client.post(
        reverse("messenger:session"), json.dumps({"link": token}), content_type="application/json"
    )


def _state():
    return (
        list(Contact.objects.order_by("pk").values_list("pk", "messenger_links_epoch", "name")),
        Part.objects.count(),
    )


def _assert_ended(response):
    assert response.status_code == 410
    html = response.content.decode()
    assert MESSENGER_LINK_ENDED in html
    assert '<link rel="stylesheet" href="/static/css/customer.css' in html  # the customer page
    assert "no-store" in response["Cache-Control"]


@pytest.fixture
def contact(db):
    return ContactFactory(name="Lena Link")


@pytest.mark.parametrize("days", [30, 2])
def test_K19_a_link_works_until_its_age_runs_out_then_is_a_finished_page(
    client, settings, contact, days
):
    settings.MESSENGER_LINK_MAX_AGE_DAYS = days
    with time_machine.travel(MADE_AT, tick=False):
        token = messenger_link_token(contact)
    with time_machine.travel(MADE_AT + timedelta(days=days) - MINUTE, tick=False):
        page = _page(client, token)
        assert page.status_code == 200 and "Lena Link" in page.content.decode()
        assert _session(client, token).status_code == 200
    before = _state()
    with time_machine.travel(MADE_AT + timedelta(days=days) + MINUTE, tick=False):
        _assert_ended(_page(client, token))
        refused = _session(client, token)
        assert refused.status_code == 403
        assert refused.json()["message"] == MESSENGER_LINK_ENDED
        # a new link, made now, works
        assert _page(client, messenger_link_token(contact)).status_code == 200
    assert _state() == before


def test_K19_the_default_age_is_30_days(client, contact):
    with time_machine.travel(MADE_AT, tick=False):
        token = messenger_link_token(contact)
    with time_machine.travel(MADE_AT + timedelta(days=30) - MINUTE, tick=False):
        assert _page(client, token).status_code == 200
    with time_machine.travel(MADE_AT + timedelta(days=30) + MINUTE, tick=False):
        assert _page(client, token).status_code == 410


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-0123456789")
    client.force_login(user)
    return client


def _revoke(client, *contacts):
    return client.post(
        reverse("admin:conversations_contact_changelist"),
        {"action": "messenger_links_revoke", "_selected_action": [c.pk for c in contacts]},
        follow=True,
    )


def test_K19_revoke_in_the_admin_ends_old_links_and_a_new_link_works(admin_client_, contact):
    other = ContactFactory(name="Otto Other")
    old, others = messenger_link_token(contact), messenger_link_token(other)
    assert _page(admin_client_, old).status_code == 200
    response = _revoke(admin_client_, contact)
    assert response.status_code == 200
    assert "Messenger links revoked for 1 contact(s)" in response.content.decode()
    contact.refresh_from_db()
    assert contact.messenger_links_epoch == 1
    before = _state()
    _assert_ended(_page(admin_client_, old))
    assert _session(admin_client_, old).json()["message"] == MESSENGER_LINK_ENDED
    assert _state() == before
    new = messenger_link_token(contact)
    assert _page(admin_client_, new).status_code == 200
    assert session_contact_id(_session(admin_client_, new).json()["session"]) == contact.pk
    assert _page(admin_client_, others).status_code == 200  # another contact's link: untouched
    # a second revoke ends the link made after the first
    _revoke(admin_client_, contact)
    assert _page(admin_client_, new).status_code == 410


def test_K19_a_user_without_change_contact_has_no_revoke_action(client, django_user_model, contact):
    """Teammates (change_contact) may revoke a customer's links; a user who may only view
    contacts gets no such action, and a post of it changes nothing."""
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename="view_contact", content_type__app_label="conversations")
    )
    client.force_login(viewer)
    token = messenger_link_token(contact)
    listing = client.get(reverse("admin:conversations_contact_changelist"))
    assert listing.status_code == 200
    assert "messenger_links_revoke" not in listing.content.decode()
    _revoke(client, contact)
    contact.refresh_from_db()
    assert contact.messenger_links_epoch == 0
    assert _page(client, token).status_code == 200


def test_K19_erasure_ends_the_contacts_links(client, contact, teammate):
    token = messenger_link_token(contact)
    contact_erase(contact=contact, by=teammate.user)
    _assert_ended(_page(client, token))
    assert _session(client, token).status_code == 403


def test_K19_a_link_made_before_k19_works_until_its_age_or_the_first_revoke(client, contact):
    """The decision for old links: accepted (as revoke number 0) until their age runs out
    or the contact's first revoke."""
    from conversations.services import messenger_links_revoke

    with time_machine.travel(MADE_AT, tick=False):
        old = signing.dumps({"k": contact.pk}, salt=MESSENGER_SALT, compress=True)
    with time_machine.travel(MADE_AT + timedelta(days=30) - MINUTE, tick=False):
        assert _page(client, old).status_code == 200
    with time_machine.travel(MADE_AT + timedelta(days=30) + MINUTE, tick=False):
        assert _page(client, old).status_code == 410
    with time_machine.travel(MADE_AT + timedelta(days=1), tick=False):
        assert _page(client, old).status_code == 200
        assert messenger_links_revoke(contact_ids=[contact.pk]) == 1
        assert _page(client, old).status_code == 410


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        messenger_token(contact_id=999_999),
        signing.dumps({"k": 1, "e": 0}, salt="another.salt", compress=True),
    ],
    ids=["forged", "no-such-contact", "another-salt"],
)
def test_K19_a_link_that_is_not_genuine_stays_a_404_not_an_ended_page(client, contact, token):
    response = _page(client, token)
    assert response.status_code == 404
    assert MESSENGER_LINK_ENDED not in response.content.decode()


def test_K19_a_link_whose_revoke_number_was_altered_is_refused(client, contact):
    """The number is inside the signature: a link cannot claim the current one."""
    token = messenger_token(contact_id=contact.pk, epoch=0)
    rest = token.partition(":")[2]
    forged = signing.dumps({"k": contact.pk, "e": 1}, salt=MESSENGER_SALT, compress=True)
    assert _page(client, forged.partition(":")[0] + ":" + rest).status_code == 404


def _threads(client, session, etag=None):
    headers = {"HTTP_X_MESSENGER_SESSION": session}
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return client.get(reverse("messenger:threads"), **headers)


def test_K19_a_revoke_ends_the_widget_sessions_made_before_it(client, contact):
    """A session the widget got (from a link, or any identity) names the revoke number too:
    after a revoke it is refused on every endpoint that reads the contact, and a new
    session works."""
    from conversations.identity import SESSION_ENDED, session_token
    from conversations.services import messenger_links_revoke

    session = _session(client, messenger_link_token(contact)).json()["session"]
    assert _threads(client, session).status_code == 200
    messenger_links_revoke(contact_ids=[contact.pk])
    before = _state()
    refused = _threads(client, session)
    assert refused.status_code == 403 and refused.json()["message"] == SESSION_ENDED
    me = client.post(
        reverse("messenger:me"),
        json.dumps({"email": "x@example.com"}),
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=session,
    )
    assert me.status_code == 403
    start = client.post(
        reverse("messenger:start"),
        json.dumps({"body": "Hello?"}),
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=session,
    )
    assert start.status_code == 403
    assert _state() == before
    contact.refresh_from_db()
    assert _threads(client, session_token(contact)).status_code == 200


def test_K19_a_session_made_before_k19_counts_as_number_0(client, contact):
    from conversations.identity import SESSION_SALT
    from conversations.services import messenger_links_revoke

    old = signing.dumps({"c": contact.pk}, salt=SESSION_SALT, compress=False)
    assert _threads(client, old).status_code == 200
    messenger_links_revoke(contact_ids=[contact.pk])
    assert _threads(client, old).status_code == 403


@pytest.mark.parametrize(
    ("header", "title", "words"),
    [
        ("fr", "Lien expiré", "Ce lien Messenger a expiré."),
        ("de", "Link abgelaufen", "Dieser Messenger-Link ist abgelaufen."),
    ],
)
def test_K19_L1_the_ended_page_speaks_the_customers_language(db, client, header, title, words):
    """The ended page is translated like every customer page (L1): the contact's language."""
    contact = ContactFactory(name="Lena Link", language=header)
    with time_machine.travel(MADE_AT, tick=False):
        token = messenger_link_token(contact)
    with time_machine.travel(MADE_AT + timedelta(days=30) + MINUTE, tick=False):
        page = _page(client, token)
    html = page.content.decode()
    assert page.status_code == 410
    assert title in html and words in html
    assert MESSENGER_LINK_ENDED not in html
