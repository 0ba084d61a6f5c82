"""Issue 16 item 9 (with K13–K15): the newer ways in get the hostile-input treatment of the rest:
the email provider's inbound webhook (mail.webhooks) and the intake behind it (mail.inbound),
the Messenger widget's endpoints (messenger.views), and the API's newer fields (a contact's
external id and language, the webhooks, the rating settings' question and reasons, the bot's
message). Markup and odd Unicode are kept as written and shown as text; NUL and over-long text
are a 4xx in words with nothing written; a huge body is a 4xx with nothing half-written."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from api.models import Webhook
from conversations import services
from conversations.models import Contact, Conversation, Part
from mail.inbound import mail_receive
from mail.models import InboundFailure
from ratings.models import RatingSettings
from tests.email_channel.support import eml
from tests.email_channel.test_webhooks import SECRET, _basic, sendgrid_post
from tests.hostile_input.support import (
    HOSTILE,
    IDS,
    NUL,
    TEXTS,
    _counts,
    _html,
    assert_shown_as_text,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
    # Webhook URLs under example.com resolve to a public address, as on the Internet (K6).
    pytest.mark.usefixtures("public_dns"),
]


# --- the inbound webhook and the intake (M16, M13) ----------------------------------------------


@pytest.fixture
def esp(db, settings):
    """SendGrid posting raw MIME behind basic auth, as a provider does (no session, no CSRF)."""
    settings.INBOUND_ESP = "sendgrid"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    client = Client(enforce_csrf_checks=True)
    client.raise_request_exception = False

    def post(raw: bytes):
        return client.post("/inbound/sendgrid/", sendgrid_post(raw), **_basic(SECRET))

    return post


@pytest.fixture
def admin_client_(client, api_admin):
    client.force_login(api_admin.user)
    return client


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_hostile_mail_through_the_webhook_is_kept_as_written_and_shown_as_text(
    esp, admin_client_, text
):
    response = esp(eml(subject=text, text=f"{text}\nSecond line"))
    assert response.status_code == 200
    part = Part.objects.get()
    assert part.body_format == "text"
    assert part.body == f"{text}\nSecond line"
    assert part.conversation.subject == text
    page = reverse("admin:conversations_conversation_change", args=[part.conversation_id])
    assert_shown_as_text(_html(admin_client_.get(page)), text, bodies=True)


def test_markup_in_an_html_mail_is_sanitised_before_it_is_kept(esp):
    html = '<p>Hi <b>there</b></p><script>alert(1)</script><img src=x onerror="alert(1)">'
    assert esp(eml(text=None, html=html)).status_code == 200
    body = Part.objects.get().body
    assert "<b>there</b>" in body
    assert "<script" not in body
    assert "onerror" not in body
    assert "alert(1)" not in body


def test_NUL_in_mail_is_dropped_never_a_500(esp):
    """Mail cannot be refused in words to whoever sent it: its NUL characters, which no text
    column holds on PostgreSQL, are left out and the rest is taken in."""
    assert esp(eml(subject=NUL, text=f"Body {NUL}")).status_code == 200
    part = Part.objects.get()
    assert "\x00" not in part.body
    assert "\x00" not in part.conversation.subject
    assert part.body == "Body AnnSmith"


def test_a_display_name_with_markup_is_the_contacts_name_as_written(esp, admin_client_):
    name = HOSTILE["script"]
    assert esp(eml(sender=f'"{name}" <ann@example.com>')).status_code == 200
    contact = Contact.objects.get()
    assert contact.name == name
    page = reverse("admin:conversations_contact_changelist")
    assert_shown_as_text(_html(admin_client_.get(page)), name)


def test_a_post_over_the_upload_limit_is_a_400_and_nothing_is_kept(esp, settings):
    """K15 elsewhere: Django's 400 (not a JSON address), nothing half-written: no part, no
    contact, no failure record."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = esp(eml(text="x" * 3000))
    assert response.status_code == 400
    assert (Part.objects.count(), Contact.objects.count(), InboundFailure.objects.count()) == (
        0,
        0,
        0,
    )


def test_a_message_over_INBOUND_MAX_BYTES_is_kept_as_a_failure_not_a_part(esp, settings):
    settings.INBOUND_MAX_BYTES = 2000
    assert esp(eml(text="x" * 3000)).status_code == 200
    assert not Part.objects.exists()
    assert not Contact.objects.exists()
    assert "INBOUND_MAX_BYTES" in InboundFailure.objects.get().reason


@pytest.mark.parametrize(
    "header",
    [
        "=?utf-8?q?broken",  # an encoded word left open
        "=?x-unknown?b?AAAA?=",  # a charset nobody knows
        "\u202eevil\u202c \u200b",  # right-to-left override, zero-width space
    ],
    ids=["open-encoded-word", "unknown-charset", "bidi"],
)
def test_the_intake_takes_odd_subjects_without_a_500(db, header):
    """mail.inbound directly (the IMAP poller's way in too): a subject no decoder reads cleanly
    is kept as text, and the message becomes a part."""
    raw = eml(subject="placeholder", text="Hello").replace(b"placeholder", header.encode())
    mail_receive(message=raw)
    part = Part.objects.get()
    assert part.body == "Hello"
    assert "\x00" not in part.conversation.subject


# --- the Messenger widget's endpoints (W1–W4) ---------------------------------------------------


@pytest.fixture
def widget(client, db):
    """post(name, data, contact=…, args=…): the widget's call with that contact's session."""
    client.raise_request_exception = False

    def post(name, data, *, contact=None, args=()):
        headers = {}
        if contact is not None:
            headers["HTTP_X_MESSENGER_SESSION"] = services.session_token(contact)
        body = data if isinstance(data, str) else json.dumps(data)
        return client.post(
            reverse(f"messenger:{name}", args=args),
            body,
            content_type="application/json",
            **headers,
        )

    return post


def _refused(response, status=400, code="invalid") -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    return body["message"]


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_hostile_text_typed_in_the_widget_is_kept_and_shown_as_text(widget, client, lead, text):
    started = widget("start", {"body": text}, contact=lead)
    assert started.status_code == 201, started.content
    conversation = started.json()["conversation"]
    replied = widget("reply", {"body": text}, contact=lead, args=[conversation])
    assert replied.status_code == 201, replied.content
    assert list(Part.objects.values_list("body", "body_format")) == [(text, "text")] * 2
    threads = client.get(
        reverse("messenger:threads"), HTTP_X_MESSENGER_SESSION=services.session_token(lead)
    )
    assert_shown_as_text(_html(threads), text, bodies=True)


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_a_leads_hostile_name_is_kept_as_written(widget, lead, text):
    response = widget("me", {"name": text, "email": "lee@example.com"}, contact=lead)
    assert response.status_code == 200, response.content
    assert response.json()["name"] == text
    lead.refresh_from_db()
    assert lead.name == text


@pytest.fixture
def open_conversation(lead):
    return services.conversation_start(
        channel="messenger", origin="customer", contacts=[lead], started_by=lead, body="Hi"
    )


def _bad_widget_calls(lead, conversation):
    reply = {"contact": lead, "args": [getattr(conversation, "pk", 0)]}
    return {
        "start NUL": ("start", {"body": NUL}, {"contact": lead}),
        "reply NUL": ("reply", {"body": NUL}, reply),
        "reply empty": ("reply", {"body": "  \n "}, reply),
        "reply not text": ("reply", {"body": ["x"]}, reply),
        "reply a number": ("reply", {"body": 5}, reply),
        "me NUL name": ("me", {"name": NUL, "email": "lee@example.com"}, {"contact": lead}),
        "me NUL email": ("me", {"email": "lee\x00@example.com"}, {"contact": lead}),
        "me long name": ("me", {"name": "n" * 201, "email": "lee@example.com"}, {"contact": lead}),
        "me long email": ("me", {"email": "e" * 250 + "@example.com"}, {"contact": lead}),
        "me markup email": ("me", {"email": HOSTILE["script"]}, {"contact": lead}),
        "session NUL language": ("session", {"language": NUL}, {}),
        "session a JSON string": ("session", '"visitor"', {}),
    }


BAD_WIDGET_CALLS = list(_bad_widget_calls(None, None))


@pytest.mark.parametrize("case", BAD_WIDGET_CALLS)
def test_bad_input_to_the_widget_is_a_400_in_words_and_nothing_is_written(
    widget, lead, open_conversation, case
):
    name, data, how = _bad_widget_calls(lead, open_conversation)[case]
    before = _counts()
    lead_before = Contact.objects.values().get(pk=lead.pk)
    assert _refused(widget(name, data, **how))
    assert _counts() == before
    assert Contact.objects.values().get(pk=lead.pk) == lead_before


# --- the API's newer fields ---------------------------------------------------------------------


@pytest.fixture
def api(api_login, api_admin):
    client = api_login(api_admin.user)
    client.raise_request_exception = False
    return client


def _writes():
    """Snapshot of everything these calls could write."""
    return {
        **_counts(),
        "webhooks": list(Webhook.objects.values()),
        "settings": list(RatingSettings.objects.values()),
    }


CONTACT = {"role": "user", "email": "new@example.com"}
WEBHOOK = {"url": "https://hooks.example.com/csat", "secret": "s" * 32}
BAD_NEW_FIELDS = {
    "external_id NUL": ("post", "/api/v1/contacts/", {**CONTACT, "external_id": NUL}),
    "external_id long": ("post", "/api/v1/contacts/", {**CONTACT, "external_id": "x" * 256}),
    "external_id number": ("post", "/api/v1/contacts/", {**CONTACT, "external_id": 42}),
    "language NUL": ("post", "/api/v1/contacts/", {**CONTACT, "language": NUL}),
    "language markup": ("post", "/api/v1/contacts/", {**CONTACT, "language": "<b>en</b>"}),
    "webhook url NUL": ("post", "/api/v1/webhooks/", {**WEBHOOK, "url": "https://h.example/\x00"}),
    "webhook url javascript": ("post", "/api/v1/webhooks/", {**WEBHOOK, "url": "javascript:x"}),
    "webhook description NUL": ("post", "/api/v1/webhooks/", {**WEBHOOK, "description": NUL}),
    "webhook description long": (
        "post",
        "/api/v1/webhooks/",
        {**WEBHOOK, "description": "d" * 201},
    ),
    "survey_question NUL": ("patch", "/api/v1/settings/ratings/", {"survey_question": NUL}),
    "survey_question long": ("patch", "/api/v1/settings/ratings/", {"survey_question": "q" * 201}),
    "reason NUL": ("patch", "/api/v1/settings/ratings/", {"low_rating_reasons": ["ok", NUL]}),
    "reason long": ("patch", "/api/v1/settings/ratings/", {"low_rating_reasons": ["r" * 201]}),
    "reasons too many": (
        "patch",
        "/api/v1/settings/ratings/",
        {"low_rating_reasons": [f"r{i}" for i in range(51)]},
    ),
}
FIELD_OF = {
    "external_id": "external_id",
    "language": "language",
    "webhook url": "url",
    "webhook description": "description",
    "survey_question": "survey_question",
}


@pytest.mark.parametrize("case", list(BAD_NEW_FIELDS))
def test_bad_values_in_the_apis_newer_fields_are_400s_naming_the_field(api, case):
    RatingSettings.load()
    method, url, body = BAD_NEW_FIELDS[case]
    before = _writes()
    response = getattr(api, method)(url, body, format="json")
    message = _refused(response)
    fields = response.json()["fields"]
    prefix = case.rsplit(" ", 1)[0]
    expected = FIELD_OF.get(prefix)
    if case == "language markup":  # the service's refusal (L1), in its words
        assert message.startswith("Unknown language '<b>en</b>'")
    elif expected:
        assert list(fields) == [expected], fields
    else:
        assert all(name.startswith("low_rating_reasons") for name in fields) and fields
    assert _writes() == before


def test_bot_message_NUL_and_over_long_are_400s(api, conversation):
    url = f"/api/v1/conversations/{conversation.pk}/bot-messages/"
    before = _counts()
    for body in (NUL, "b" * 50_001):
        response = api.post(url, {"body": body, "body_format": "text"}, format="json")
        assert _refused(response)
        assert list(response.json()["fields"]) == ["body"]
    assert _counts() == before


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_hostile_text_in_the_newer_fields_round_trips(api, text):
    RatingSettings.load()
    made = api.post("/api/v1/contacts/", {**CONTACT, "external_id": text}, format="json")
    assert made.status_code == 201, made.content
    assert Contact.objects.get(pk=made.json()["id"]).external_id == text
    hook = api.post("/api/v1/webhooks/", {**WEBHOOK, "description": text}, format="json")
    assert hook.status_code == 201, hook.content
    assert api.get(f"/api/v1/webhooks/{hook.json()['id']}/").json()["description"] == text
    changed = api.patch(
        "/api/v1/settings/ratings/",
        {"survey_question": text, "low_rating_reasons": [text]},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    read = api.get("/api/v1/settings/ratings/").json()
    assert (read["survey_question"], read["low_rating_reasons"]) == (text, [text])
    assert Conversation.objects.count() == 0
