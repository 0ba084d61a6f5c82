"""Creating conversations through the API, with Idempotency-Key."""

import threading

import pytest
from django.db import connection

from api.models import IdempotencyKey
from conversations.models import Conversation, Part
from tests.api_conversations.support import URL
from tests.factories import ContactFactory, TeammateFactory


def _create(api, contact, **extra):
    body = {"channel": "email", "contacts": [contact.pk], "body": "Your invoice is ready.", **extra}
    return api.post(URL, body, format="json", **extra.pop("headers", {}))


# --- create ---------------------------------------------------------------------------------------


def test_create_api_conversation_starts_with_a_bot_message(api, contact):
    response = api.post(
        URL,
        {"channel": "email", "contacts": [contact.pk], "body": "Your invoice.", "subject": "Inv"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    conversation = Conversation.objects.get(pk=data["id"])
    assert (conversation.origin, conversation.channel, conversation.subject) == (
        "api",
        "email",
        "Inv",
    )
    assert data["contacts"] == [contact.pk]
    assert [(p["kind"], p["body"]) for p in data["parts"]] == [("bot", "Your invoice.")]


def test_create_direct_outbound_is_started_by_the_calling_teammate(api, teammate, contact):
    response = api.post(
        URL,
        {
            "channel": "messenger",
            "origin": "direct_outbound",
            "contacts": [contact.pk],
            "body": "Hello from support",
        },
        format="json",
    )
    assert response.status_code == 201
    conversation = Conversation.objects.get(pk=response.json()["id"])
    assert conversation.started_by_teammate == teammate
    (part,) = conversation.parts.all()
    assert (part.kind, part.author_teammate) == (Part.Kind.REPLY, teammate)


def test_create_workflow_conversation_names_its_workflow(api, contact, workflow):
    response = api.post(
        URL,
        {
            "channel": "email",
            "origin": "workflow",
            "workflow": workflow.pk,
            "contacts": [contact.pk],
            "body": "Onboarding",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["workflow"] == workflow.pk


def test_create_refused_by_the_service_is_a_400_in_its_words(api, contact, workflow):
    response = api.post(
        URL,
        {"channel": "email", "workflow": workflow.pk, "contacts": [contact.pk], "body": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "Only a conversation started by a workflow names a workflow.",
        "fields": {},
    }
    assert not Conversation.objects.exists()


def test_create_names_unknown_contacts_and_unknown_fields(api, contact):
    response = api.post(
        URL,
        {"channel": "email", "contacts": [contact.pk, 999], "body": "x", "priority": "high"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"priority": ["Unknown field."]}
    response = api.post(URL, {"channel": "email", "contacts": [999], "body": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"contacts": ["There is no contact 999."]}


def test_create_refuses_a_customer_origin(api, contact):
    response = api.post(
        URL,
        {"channel": "email", "origin": "customer", "contacts": [contact.pk], "body": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["origin"]


def test_create_needs_a_teammate_profile(api_login, contact):
    admin = TeammateFactory()
    admin.user.is_superuser = True
    admin.user.save()
    admin.delete()  # a superuser without a teammate profile
    response = api_login(admin.user).post(
        URL, {"channel": "email", "contacts": [contact.pk], "body": "x"}, format="json"
    )
    assert response.status_code == 403
    assert "teammate profile" in response.json()["message"]


# --- Idempotency-Key ------------------------------------------------------------------------------


def test_same_idempotency_key_twice_creates_once(api, contact):
    body = {"channel": "email", "contacts": [contact.pk], "body": "Once only"}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    second = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Conversation.objects.count() == 1
    other = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-43")
    assert other.json()["id"] != first.json()["id"]
    assert api.post(URL, body, format="json").json()["id"] not in (
        first.json()["id"],
        other.json()["id"],
    )


def test_idempotency_key_with_another_body_is_refused(api, contact):
    body = {"channel": "email", "contacts": [contact.pk], "body": "First"}
    assert api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    response = api.post(URL, {**body, "body": "Second"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Conversation.objects.count() == 1


def test_idempotency_keys_belong_to_their_user(api, api_login, contact, other_teammate):
    body = {"channel": "email", "contacts": [contact.pk], "body": "Mine"}
    mine = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    theirs = api_login(other_teammate.user).post(
        URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_refused_create_keeps_no_key(api, contact):
    bad = {"channel": "email", "contacts": [contact.pk], "body": "   "}
    response = api.post(URL, bad, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert response.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = {**bad, "body": "Now with words"}
    assert api.post(URL, good, format="json", HTTP_IDEMPOTENCY_KEY="k2").status_code == 201


def test_an_unusable_idempotency_key_is_a_400(api, contact):
    body = {"channel": "email", "contacts": [contact.pk], "body": "x"}
    response = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["Idempotency-Key"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_once(api_login, migration_groups):
    """Retries racing with one key: one conversation, every answer is that conversation."""
    teammate = TeammateFactory()
    contact = ContactFactory()
    clients = [api_login(teammate.user) for _ in range(4)]
    body = {"channel": "email", "contacts": [contact.pk], "body": "Racing"}
    barrier = threading.Barrier(4)
    answers = []

    def post(token_client):
        try:
            barrier.wait(timeout=30)
            response = token_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="race")
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Conversation.objects.count() == 1
    (conversation_id,) = Conversation.objects.values_list("pk", flat=True)
    assert answers == [(201, conversation_id)] * 4


# --- read and list ------------------------------------------------------------------------------
