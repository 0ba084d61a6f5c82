"""H3: what the API's create, reply and close cost the database, at the fewest statements
the rules need, whatever the length of the thread.

As in tests/rating_pages/test_queries.py: a service's transaction shows as a SAVEPOINT and its
RELEASE (BEGIN and COMMIT in production)."""

import pytest

from conversations import services
from conversations.models import Conversation, Part, State
from tests.api_conversations.support import URL

# Every call: the token with its user and the user's teammate profile (one query), the
# user's permissions, their own and their groups' (one query).
AUTH = 2
# K1: a token's first call of a minute also writes its last-used time (one UPDATE); the calls
# after it in that minute do not. Each test's first call is its token's first.
LAST_USED = 1
# Create (email, started through the API): the contacts named (one query); the conversation,
# its contact link, its first part (the bot's message), the part's Message-ID (M2, it names the
# part's id) and its outbound email (M1, M2); the idempotency key, last, with the conversation
# (a concurrent holder of the key makes it wait there); in a transaction; then the answer's
# contacts and thread. Without a key, the same but the key (the service's own transaction:
# BEGIN and COMMIT in production, nothing in a test's transaction).
CREATE = AUTH + 1 + 2 + 5 + 1 + 2
CREATE_WITHOUT_KEY = AUTH + 1 + 5 + 2
# Reply: the conversation locked, the part, the conversation's running figures, the part's
# Message-ID and its outbound email; in a transaction.
REPLY = AUTH + 2 + 5
# Close: the conversation locked with its contacts' roles (E1, E5), the close's facts, the
# conversation's state, the event; in a transaction; then the answer's contacts and thread.
CLOSE = AUTH + 2 + 4 + 2


def _create(api, contact, **headers):
    body = {
        "channel": "email",
        "origin": "api",
        "contacts": [contact.pk],
        "body": "Hello from the billing team: we saw a question about your invoice.",
        "subject": "Invoice charged twice",
    }
    return api.post(URL, body, format="json", **headers)


def test_H3_create_reply_close_cost_a_fixed_number_of_statements(
    api, contact, django_assert_num_queries
):
    with django_assert_num_queries(CREATE + LAST_USED):
        created = _create(api, contact, HTTP_IDEMPOTENCY_KEY="h3-1")
    assert created.status_code == 201, created.content
    conversation_id = created.json()["id"]
    assert [p["kind"] for p in created.json()["parts"]] == ["bot"]
    assert created.json()["parts"][0]["message_id"].startswith("<part-")

    with django_assert_num_queries(REPLY):
        replied = api.post(
            f"{URL}{conversation_id}/replies/", {"body": "Refunded: sorry!"}, format="json"
        )
    assert replied.status_code == 201, replied.content

    with django_assert_num_queries(CLOSE):
        closed = api.post(f"{URL}{conversation_id}/close/", {"quiet": False}, format="json")
    assert closed.status_code == 200, closed.content
    data = closed.json()
    assert data["state"] == "closed" and data["contacts"] == [contact.pk]
    assert [p["kind"] for p in data["parts"]] == ["bot", "reply", "event"]
    close = Conversation.objects.get(pk=conversation_id).closes.get()
    assert (close.contact_count, close.contact_role, close.teammate_replied) == (1, "user", True)


def test_H3_create_without_an_idempotency_key(api, contact, django_assert_num_queries):
    with django_assert_num_queries(CREATE_WITHOUT_KEY + LAST_USED):
        assert _create(api, contact).status_code == 201


def test_H3_a_replayed_create_costs_its_read_and_makes_nothing(
    api, contact, django_assert_num_queries
):
    first = _create(api, contact, HTTP_IDEMPOTENCY_KEY="h3-again").json()
    # The create made, its key refused (the first request's) and all of it rolled back
    # (savepoint, five writes, the key, rollback and release), then the key read with its
    # conversation, the answer's contacts and thread.
    with django_assert_num_queries(AUTH + 1 + (1 + 5 + 1 + 2) + 1 + 2):
        again = _create(api, contact, HTTP_IDEMPOTENCY_KEY="h3-again")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first
    assert Conversation.objects.count() == 1


def test_H3_a_close_costs_the_same_for_a_long_thread(
    api, conversation, teammate, contact, django_assert_num_queries
):
    for number in range(40):
        author = teammate if number % 2 else contact
        services.conversation_reply(conversation=conversation, author=author, body=f"#{number}")
    with django_assert_num_queries(CLOSE + LAST_USED):
        closed = api.post(f"{URL}{conversation.pk}/close/", {}, format="json")
    assert closed.status_code == 200
    assert len(closed.json()["parts"]) == Part.objects.filter(conversation=conversation).count()


@pytest.mark.parametrize(
    ("action", "body"),
    [("close", {}), ("replies", {"body": "Hello"}), ("reopen", {}), ("notes", {"body": "x"})],
)
def test_H3_an_action_on_an_unknown_conversation_is_a_404_and_writes_nothing(
    api, conversation, action, body
):
    before = (Part.objects.count(), Conversation.objects.get().state)
    response = api.post(f"{URL}999999/{action}/", body, format="json")
    assert response.status_code == 404, response.content
    assert response.json() == {
        "code": "not_found",
        "message": "There is no conversation 999999.",
        "fields": {},
    }
    assert (Part.objects.count(), Conversation.objects.get().state) == before == (1, State.OPEN)
