"""The demo host page (`make run`'s stand-in for a company's site, issue 12): off unless
MESSENGER_DEMO_HOST; it offers demo users signed as the company's server would sign them (W1)
and a lead (W2), and loads the widget from SITE_URL with one script tag."""

import json
import re

import pytest
from django.test import override_settings

from conversations import services
from conversations.identity import user_hash
from conversations.models import Channel, Contact
from tests.factories import start_conversation

pytestmark = pytest.mark.django_db


def _identity(html: str) -> dict:
    found = re.search(r'<script id="csat-identity" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


@pytest.fixture
def user():
    contact = services.contact_create(
        role=Contact.Role.USER, name="Uma User", email="uma@example.com", external_id="acme-42"
    )
    start_conversation(contacts=[contact], started_by=contact, channel=Channel.MESSENGER)
    return contact


def test_the_demo_host_page_is_off_without_its_setting(client, user):
    assert client.get("/demo/host/").status_code == 404


@override_settings(MESSENGER_DEMO_HOST=True, SITE_URL="http://127.0.0.1:8000")
def test_W1_the_demo_host_page_signs_its_user_as_the_company_server_would(client, user):
    html = client.get("/demo/host/").content.decode()
    identity = _identity(html)
    assert identity == {
        "user_id": "acme-42",
        "email": "uma@example.com",
        "name": "Uma User",
        "user_hash": user_hash("acme-42"),
    }
    assert (
        services.messenger_user(user_id=identity["user_id"], user_hash_given=identity["user_hash"])
        == user
    )
    assert '<script src="http://127.0.0.1:8000/messenger/widget.js" async></script>' in html


@override_settings(MESSENGER_DEMO_HOST=True)
def test_W2_the_demo_host_page_offers_a_lead_with_no_identity(client, user):
    html = client.get("/demo/host/?as=lead").content.decode()
    assert _identity(html) == {}
    assert "Welcome, visitor" in html
