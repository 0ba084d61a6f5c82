"""K13, K14, K15, K16: hostile JSON bodies at every address that reads one (the API, the
customer's rating card API, the Messenger widget's endpoints) are a 4xx in the error shape
`{code, message, fields}`, never a 500, with nothing written; one message limit for every face.

- K13: a body nested 2,000 levels deep (12 kB) made Python's parser raise a RecursionError.
- K14: a lone surrogate (`"\\ud800"`) in a key or an echoed value made the 400's rendering raise
  a UnicodeEncodeError.
- K15: a body over DATA_UPLOAD_MAX_MEMORY_SIZE: a 413 in the error shape at the JSON addresses
  (the API's parser read such a body whole, past Django's limit), Django's HTML 400 elsewhere.
- K16: 50,000 characters is the longest message, in the API and in the admin's reply box.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from api.models import Webhook
from conversations.models import Conversation, Part
from conversations.services import MESSAGE_MAX_LENGTH
from conversations.text import JSON_MAX_DEPTH, JSON_SURROGATE, JSON_TOO_DEEP
from ratings.models import RatingSettings
from tests.hostile_input.support import _counts
from tests.report_helpers import DAY, make_manager, requested, token_for

DEEP_ARRAYS = "[" * 2000 + "]" * 2000
DEEP_OBJECTS = '{"a":' * 2000 + "1" + "}" * 2000
DEEP_IN_A_FIELD = '{"body": ' + "[" * 2000 + "]" * 2000 + "}"


@pytest.fixture
def api(api_login, api_admin):
    client = api_login(api_admin.user)
    client.raise_request_exception = False  # a 500 is an answer to assert, not an exception
    return client


@pytest.fixture
def ids(capture, teammate):
    """A request to rate (its token), the conversation, its contact and a webhook."""
    request = requested(capture, teammate, at=DAY)
    webhook = Webhook.objects.create(url="https://hooks.example.com/csat", secret="s" * 32)
    RatingSettings.load()
    return {
        "token": token_for(request),
        "conversation": request.conversation_id,
        "contact": request.contact_id,
        "webhook": webhook.pk,
    }


# Every write of the API that reads a body (POST, PATCH), the customer's card API included.
# (`contacts/<id>/erase/` takes no body: G1's tests.)
WRITES = [
    ("post", "/api/v1/contacts/"),
    ("patch", "/api/v1/contacts/{contact}/"),
    ("post", "/api/v1/conversations/"),
    ("post", "/api/v1/conversations/{conversation}/replies/"),
    ("post", "/api/v1/conversations/{conversation}/notes/"),
    ("post", "/api/v1/conversations/{conversation}/close/"),
    ("post", "/api/v1/conversations/{conversation}/bot-messages/"),
    ("post", "/api/v1/conversations/{conversation}/bot-close/"),
    ("post", "/api/v1/conversations/{conversation}/snooze/"),
    ("post", "/api/v1/conversations/{conversation}/reopen/"),
    ("patch", "/api/v1/settings/ratings/"),
    ("post", "/api/v1/webhooks/"),
    ("patch", "/api/v1/webhooks/{webhook}/"),
    ("post", "/api/v1/messenger/ratings/{token}/reaction/"),
    ("post", "/api/v1/messenger/ratings/{token}/comment/"),
]
WRITE_IDS = [f"{method}-{url.removeprefix('/api/v1/')}" for method, url in WRITES]


def _snapshot() -> dict:
    return {
        **_counts(),
        "webhooks": list(Webhook.objects.values_list("url", "description", "active")),
        "settings": list(RatingSettings.objects.values()),
        "states": list(Conversation.objects.values_list("state", "snoozed_until")),
    }


def _refused(response, status: int, code: str) -> str:
    """The error shape, as JSON, with `code`: its message."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code, body
    return body["message"]


# --- K13: nested too deep -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [DEEP_ARRAYS, DEEP_OBJECTS, DEEP_IN_A_FIELD])
@pytest.mark.parametrize(("method", "url"), WRITES, ids=WRITE_IDS)
def test_K13_a_body_nested_2000_deep_is_a_400_at_every_api_write(api, ids, method, url, raw):
    before = _snapshot()
    response = getattr(api, method)(url.format(**ids), raw, content_type="application/json")
    assert _refused(response, 400, "parse_error") == JSON_TOO_DEEP
    assert _snapshot() == before


def test_K13_the_customer_card_api_refuses_it_with_no_credentials(api_client, ids):
    """The unauthenticated face: the rating link's token is its only credential."""
    api_client.raise_request_exception = False
    url = f"/api/v1/messenger/ratings/{ids['token']}/reaction/"
    before = _snapshot()
    response = api_client.post(url, DEEP_OBJECTS, content_type="application/json")
    assert _refused(response, 400, "parse_error") == JSON_TOO_DEEP
    assert _snapshot() == before


def test_K13_the_boundary_depth_32_is_read_33_is_refused(api, ids):
    """Nesting up to JSON_MAX_DEPTH reaches the serializer (which refuses the unknown field);
    one level more is the parser's refusal."""
    url = f"/api/v1/conversations/{ids['conversation']}/notes/"

    def nested(depth: int) -> str:  # the object itself is the first level
        return '{"x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    at_limit = api.post(url, nested(JSON_MAX_DEPTH), content_type="application/json")
    assert _refused(at_limit, 400, "invalid")
    assert list(at_limit.json()["fields"]) == ["x"]
    over = api.post(url, nested(JSON_MAX_DEPTH + 1), content_type="application/json")
    assert _refused(over, 400, "parse_error") == JSON_TOO_DEEP


WIDGET_WRITES = ["session", "start", "reply", "me"]


@pytest.fixture
def widget(client, contact, conversation):
    """The widget's session of the conversation's contact, and each endpoint's address."""
    from conversations import services

    token = services.session_token(contact)
    urls = {
        "session": reverse("messenger:session"),
        "start": reverse("messenger:start"),
        "reply": reverse("messenger:reply", args=[conversation.pk]),
        "me": reverse("messenger:me"),
    }
    client.raise_request_exception = False

    def post(name, raw):
        return client.post(
            urls[name], raw, content_type="application/json", HTTP_X_MESSENGER_SESSION=token
        )

    return post


@pytest.mark.parametrize("name", WIDGET_WRITES)
@pytest.mark.parametrize("raw", [DEEP_ARRAYS, DEEP_OBJECTS, DEEP_IN_A_FIELD])
def test_K13_the_widget_refuses_it_in_the_same_words(widget, name, raw):
    before = _snapshot()
    assert _refused(widget(name, raw), 400, "invalid") == JSON_TOO_DEEP
    assert _snapshot() == before


# --- K14: lone surrogates -----------------------------------------------------------------------

SURROGATE_BODIES = {
    "key": '{"\\ud800": 1}',
    "key-low": '{"body\\udfff": "Hi"}',
    "echoed-choice": '{"role": "\\ud800", "email": "s@example.com", "channel": "\\ud800"}',
    "echoed-value": '{"value": "\\ud800", "body": "\\ud800", "url": "https://\\ud800.example"}',
    "in-a-list": '{"contacts": ["\\ud800"], "reasons": ["\\udc00"], "events": ["\\ud800"]}',
}


@pytest.mark.parametrize("raw", SURROGATE_BODIES.values(), ids=SURROGATE_BODIES.keys())
@pytest.mark.parametrize(("method", "url"), WRITES, ids=WRITE_IDS)
def test_K14_a_lone_surrogate_is_a_400_at_every_api_write(api, ids, method, url, raw):
    before = _snapshot()
    response = getattr(api, method)(url.format(**ids), raw, content_type="application/json")
    assert _refused(response, 400, "parse_error") == JSON_SURROGATE
    assert _snapshot() == before


def test_K14_the_boundary_a_surrogate_pair_is_a_character_and_kept(api, ids):
    """`\\ud83d\\ude00` is one character (😀), not a lone surrogate: taken, and kept whole."""
    url = f"/api/v1/conversations/{ids['conversation']}/notes/"
    raw = '{"body": "Thanks \\ud83d\\ude00", "body_format": "text"}'
    response = api.post(url, raw, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Part.objects.filter(kind="note").get().body == "Thanks 😀"


@pytest.mark.parametrize("name", WIDGET_WRITES)
@pytest.mark.parametrize("raw", SURROGATE_BODIES.values(), ids=SURROGATE_BODIES.keys())
def test_K14_the_widget_refuses_a_lone_surrogate(widget, name, raw):
    before = _snapshot()
    assert _refused(widget(name, raw), 400, "invalid") == JSON_SURROGATE
    assert _snapshot() == before


# --- K15: bodies over the upload limit ----------------------------------------------------------

LIMIT = 1000
TOO_LARGE = f"The request body is larger than the {LIMIT:,} bytes this address takes."


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


def _large(**fields) -> str:
    return json.dumps({**fields, "body": "x" * (LIMIT + 10)})


@pytest.mark.parametrize(("method", "url"), WRITES, ids=WRITE_IDS)
def test_K15_a_body_over_the_limit_is_a_413_at_every_api_write(api, ids, small_limit, method, url):
    before = _snapshot()
    response = getattr(api, method)(url.format(**ids), _large(), content_type="application/json")
    assert _refused(response, 413, "too_large") == TOO_LARGE
    assert _snapshot() == before


def test_K15_a_form_post_over_the_limit_is_json_too(client, api_admin, ids, small_limit):
    """Signed in with the admin's session (the browsable API), a form-encoded post is read by
    the CSRF check before the view: Django's RequestDataTooBig, an HTML 400 page, on main."""
    client.force_login(api_admin.user)
    client.raise_request_exception = False
    before = _snapshot()
    response = client.post(
        f"/api/v1/conversations/{ids['conversation']}/notes/", {"body": "x" * (LIMIT + 10)}
    )
    assert _refused(response, 413, "too_large") == TOO_LARGE
    assert _snapshot() == before


@pytest.mark.parametrize("address", ["/api/v1/contacts/", "/api/nowhere/", "/api/schema/"])
def test_K15_every_api_address_answers_it_in_the_error_shape(api_client, small_limit, address):
    api_client.raise_request_exception = False
    response = api_client.post(address, _large(), content_type="application/json")
    assert _refused(response, 413, "too_large") == TOO_LARGE


@pytest.mark.parametrize("name", WIDGET_WRITES)
def test_K15_the_widget_answers_it_in_the_same_shape(widget, small_limit, name):
    before = _snapshot()
    assert _refused(widget(name, _large()), 413, "too_large") == TOO_LARGE
    assert _snapshot() == before


def test_K15_the_boundary_a_body_at_the_limit_is_read(api, ids, small_limit):
    url = f"/api/v1/conversations/{ids['conversation']}/notes/"
    raw = json.dumps({"body": "", "body_format": "text"})
    raw = raw.replace('""', '"' + "y" * (LIMIT - len(raw)) + '"')
    assert len(raw.encode()) == LIMIT
    response = api.post(url, raw, content_type="application/json")
    assert response.status_code == 201, response.content


def test_K15_elsewhere_django_s_page_stays(client, db, small_limit):
    """A page's form (a manager's target) over the limit: Django's 400 page, as HTML."""
    client.force_login(make_manager().user)
    client.raise_request_exception = False
    response = client.post("/reports/target/", {"target": "1" * (LIMIT + 10)})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# --- K16: one message limit ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["replies", "notes"])
def test_K16_the_api_takes_50000_characters_and_refuses_50001(api, conversation, path):
    url = f"/api/v1/conversations/{conversation.pk}/{path}/"
    before = _counts()
    over = api.post(url, {"body": "z" * (MESSAGE_MAX_LENGTH + 1)}, format="json")
    assert _refused(over, 400, "invalid")
    assert list(over.json()["fields"]) == ["body"]
    assert _counts() == before
    exact = api.post(url, {"body": "z" * MESSAGE_MAX_LENGTH, "body_format": "text"}, format="json")
    assert exact.status_code == 201, exact.content
    assert len(Part.objects.latest("pk").body) == MESSAGE_MAX_LENGTH


@pytest.mark.parametrize("action", ["reply", "note"])
def test_K16_the_admin_takes_50000_characters_and_refuses_50001(
    client, api_admin, conversation, action
):
    """The admin's reply and note boxes: 60,000 characters were taken on main."""
    client.force_login(api_admin.user)
    url = reverse("admin:conversations_conversation_act", args=[conversation.pk, action])
    before = _counts()
    over = client.post(url, {"body": "z" * (MESSAGE_MAX_LENGTH + 1)}, follow=True)
    assert "A message is at most 50,000 characters; this one has 50,001." in over.content.decode()
    over = client.post(url, {"body": "z" * 60_000}, follow=True)
    assert "this one has 60,000." in over.content.decode()
    assert _counts() == before
    exact = client.post(url, {"body": "z" * MESSAGE_MAX_LENGTH})
    assert exact.status_code == 302
    assert len(Part.objects.latest("pk").body) == MESSAGE_MAX_LENGTH


def test_K16_a_line_break_is_one_character_as_the_browser_counts_it(
    client, api_admin, conversation
):
    """A textarea's line breaks come as CRLF; `maxlength` counts each as one, and so do we."""
    client.force_login(api_admin.user)
    url = reverse("admin:conversations_conversation_act", args=[conversation.pk, "note"])
    # 55,000 characters as posted, 50,000 once each CRLF is the one \n the teammate saw
    body = ("z" * 9 + "\r\n") * (MESSAGE_MAX_LENGTH // 10 - 1) + "z" * 10
    assert client.post(url, {"body": body}).status_code == 302
    assert len(Part.objects.latest("pk").body) == MESSAGE_MAX_LENGTH


def test_K16_the_widget_takes_50000_characters_and_refuses_50001(widget):
    before = _counts()
    over = widget("reply", json.dumps({"body": "z" * (MESSAGE_MAX_LENGTH + 1)}))
    assert _refused(over, 400, "invalid") == (
        "A message is at most 50,000 characters; this one has 50,001."
    )
    assert _refused(widget("start", json.dumps({"body": "z" * 60_000})), 400, "invalid")
    assert _counts() == before
    assert widget("reply", json.dumps({"body": "z" * MESSAGE_MAX_LENGTH})).status_code == 201
