"""One error shape for every 4xx of the API: {"code", "message", "fields"}; unknown fields and
wrong types are 400s naming the field, never 500s."""

import pytest

from conversations.models import Conversation

SHAPE = {"code", "message", "fields"}


@pytest.fixture
def api(api_login, teammate):
    return api_login(teammate.user)


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == SHAPE
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"channel": "email", "contacts": "1", "body": "x"}, ["contacts"]),
        ({"channel": "email", "contacts": ["1"], "body": "x"}, ["contacts.0"]),
        ({"channel": "email", "contacts": [True], "body": "x"}, ["contacts.0"]),
        ({"channel": "email", "contacts": [1.5], "body": "x"}, ["contacts.0"]),
        ({"channel": "email", "contacts": [2**70], "body": "x"}, ["contacts.0"]),
        ({"channel": 1, "contacts": [1], "body": "x"}, ["channel"]),
        ({"channel": "email", "contacts": [1], "body": 42}, ["body"]),
        ({"channel": "email", "contacts": [1], "body": None}, ["body"]),
        ({"channel": "email", "contacts": [1], "body": "x\x00y"}, ["body"]),
        (
            {"channel": "email", "contacts": [1], "body": "x", "extra": 1, "more": 2},
            ["extra", "more"],
        ),
        ({"channel": "email", "contacts": [], "body": "x"}, ["contacts"]),
        ({}, ["body", "channel", "contacts"]),
    ],
)
def test_wrong_types_and_unknown_fields_are_400_with_the_field_named(api, contact, body, fields):
    # [1] stands for the existing contact (its id differs on PostgreSQL).
    existing = [contact.pk]
    body = {k: existing if v == [1] and type(v[0]) is int else v for k, v in body.items()}
    result = _error(api.post("/api/v1/conversations/", body, format="json"), 400)
    assert result["code"] == "invalid"
    assert sorted(result["fields"]) == fields
    assert not Conversation.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(api):
    result = _error(api.post("/api/v1/contacts/", [1, 2], format="json"), 400)
    assert "Expected a dictionary" in result["message"]
    assert result["fields"] == {}


def test_malformed_json_is_a_400(api):
    response = api.post("/api/v1/contacts/", "{not json", content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"


def test_a_form_body_is_a_415(api):
    response = api.post("/api/v1/contacts/", {"role": "user"})  # multipart
    assert _error(response, 415)["code"] == "unsupported_media_type"


def test_a_method_not_allowed_is_in_the_shape(api):
    assert _error(api.delete("/api/v1/contacts/"), 405)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing/", "/api/v1/contacts", "/api/v2/contacts/", "/api/v1/contacts/abc/"],
)
def test_unknown_addresses_answer_in_the_shape(api, path):
    result = _error(api.get(path), 404)
    assert result["code"] == "not_found"
    if not path.endswith("/"):
        assert "end with a slash" in result["message"]


def test_a_service_refusal_keeps_its_words(api, conversation):
    api.post(f"/api/v1/conversations/{conversation.pk}/close/", {}, format="json")
    result = _error(
        api.post(
            f"/api/v1/conversations/{conversation.pk}/replies/", {"body": "hi"}, format="json"
        ),
        400,
    )
    assert result == {
        "code": "invalid",
        "message": "This conversation is closed: reopen it before replying.",
        "fields": {},
    }


def test_errors_are_json_even_for_a_browser(api_client, db):
    response = api_client.get("/api/v1/teammates/", HTTP_ACCEPT="application/json")
    assert _error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_an_address_with_a_newline_is_a_404_in_the_shape(api):
    assert _error(api.get("/api/v1/conversations/1%0A/close/"), 404)["code"] == "not_found"


def test_a_nul_in_the_query_string_is_a_400_in_the_shape(api):
    assert _error(api.get("/api/v1/contacts/?email=%00"), 400)["code"] == "invalid"
