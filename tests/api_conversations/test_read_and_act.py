"""Reading, listing and acting on conversations through the API, and their rating."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from conversations import services
from conversations.models import Conversation, ConversationClose, Origin, State
from ratings.models import RatingDecision
from ratings.services import rating_comment, rating_submit
from tests.api_conversations.support import URL
from tests.factories import TeammateFactory, start_conversation
from tests.report_helpers import requested, token_for


def test_read_a_conversation_with_its_parts(api, conversation, teammate):
    services.conversation_reply(conversation=conversation, author=teammate, body="Hello")
    services.conversation_note(conversation=conversation, author=teammate, body="Internal")
    response = api.get(f"{URL}{conversation.pk}/")
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "open" and data["assignee"] == teammate.pk
    assert [(p["kind"], p["body"]) for p in data["parts"]] == [
        ("reply", "Hi there"),
        ("reply", "Hello"),
        ("note", "Internal"),
    ]


def test_unknown_conversation_is_a_404(api):
    response = api.get(f"{URL}999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert api.get(f"{URL}99999999999999999999999/").status_code == 404


def test_list_filters_by_state_teammate_and_updated_since(api, teammate, other_teammate):
    with time_machine.travel(datetime(2025, 3, 1, 9, tzinfo=UTC), tick=False):
        old = start_conversation(body="old")
        services.conversation_reply(conversation=old, author=other_teammate, body="hi")
    with time_machine.travel(datetime(2025, 3, 2, 9, tzinfo=UTC), tick=False):
        mine = start_conversation(body="mine")
        services.conversation_reply(conversation=mine, author=teammate, body="hi")
        services.conversation_close(conversation=mine, by=teammate, quiet=True)
        unassigned = start_conversation(body="nobody yet")

    def ids(query=""):
        response = api.get(f"{URL}{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [unassigned.pk, mine.pk, old.pk]
    assert ids("?state=closed") == [mine.pk]
    assert ids(f"?teammate={other_teammate.pk}") == [old.pk]
    assert ids("?updated_since=2025-03-02T00:00:00Z") == [unassigned.pk, mine.pk]
    assert api.get(f"{URL}?state=asleep").json()["fields"] == {
        "state": ['"asleep" is not a valid choice.']
    }
    assert api.get(f"{URL}?updated_since=yesterday").status_code == 400


def test_list_is_cursor_paginated(api):
    made = [start_conversation(body=f"n{i}").pk for i in range(3)]
    first = api.get(f"{URL}?page_size=2").json()
    assert [row["id"] for row in first["results"]] == made[::-1][:2]
    second = api.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == made[:1]
    assert second["next"] is None
    assert api.get(f"{URL}?cursor=not-a-cursor").status_code == 404


# --- actions --------------------------------------------------------------------------------------


def test_reply_and_note(api, conversation, teammate):
    response = api.post(f"{URL}{conversation.pk}/replies/", {"body": "On it"}, format="json")
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["author_teammate"]) == ("reply", teammate.pk)
    response = api.post(f"{URL}{conversation.pk}/notes/", {"body": "VIP"}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "note"
    conversation.refresh_from_db()
    assert conversation.teammate_reply_count == 1


def test_close_sends_the_signal_and_the_decision_follows(api, conversation, teammate, capture):
    """Same service, same signal: the close's rating decision is taken by the queue."""
    api.post(f"{URL}{conversation.pk}/replies/", {"body": "w" * 260}, format="json")
    with capture(execute=True):
        response = api.post(f"{URL}{conversation.pk}/close/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "closed"
    close = ConversationClose.objects.get(conversation=conversation)
    assert close.closed_by == teammate and not close.quiet
    assert RatingDecision.objects.get(close=close).outcome == "sent"
    status = api.get(f"{URL}{conversation.pk}/rating-request/").json()
    assert status["status"] == "sent"
    assert status["request"]["channel"] == "messenger"


def test_quiet_close_is_skipped_with_its_rule(api, conversation, capture):
    with capture(execute=True):
        response = api.post(f"{URL}{conversation.pk}/close/", {"quiet": True}, format="json")
    assert response.status_code == 200
    status = api.get(f"{URL}{conversation.pk}/rating-request/").json()
    assert (status["status"], status["rule"], status["request"]) == ("skipped", "E8", None)
    assert status["reason"] == "The teammate closed it quietly."


def test_rating_request_status_before_any_close(api, conversation):
    status = api.get(f"{URL}{conversation.pk}/rating-request/").json()
    assert status["status"] == "none"


def test_close_twice_is_refused_by_the_service(api, conversation):
    assert api.post(f"{URL}{conversation.pk}/close/", {}, format="json").status_code == 200
    response = api.post(f"{URL}{conversation.pk}/close/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "This conversation is already closed."


def test_close_refuses_a_quiet_that_is_not_a_boolean(api, conversation):
    response = api.post(f"{URL}{conversation.pk}/close/", {"quiet": "yes"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"quiet": ["Must be a valid boolean."]}
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_snooze_then_reopen(api, conversation):
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    response = api.post(
        f"{URL}{conversation.pk}/snooze/", {"until": until.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "snoozed"
    conversation.refresh_from_db()
    assert conversation.snoozed_until == until
    response = api.post(f"{URL}{conversation.pk}/reopen/", format="json")
    assert response.status_code == 200 and response.json()["state"] == "open"


def test_snooze_in_the_past_is_refused(api, conversation):
    response = api.post(
        f"{URL}{conversation.pk}/snooze/", {"until": "2001-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert "past" in response.json()["message"]


def test_reopen_takes_no_fields(api, conversation):
    response = api.post(f"{URL}{conversation.pk}/reopen/", {"force": True}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"force": ["Unknown field."]}


# --- the conversation's rating --------------------------------------------------------------------


def test_rating_with_its_history(api, teammate, capture):
    request = requested(capture, teammate, at=datetime.now(UTC))
    token = token_for(request)
    rating_submit(token=token, value=2)
    rating_submit(token=token, value=1)
    rating_comment(token=token, comment="Slow", reasons=["Slow to answer"])
    response = api.get(f"{URL}{request.conversation_id}/rating/")
    assert response.status_code == 200
    data = response.json()
    assert (data["value"], data["reaction"], data["comment"]) == (1, "terrible", "Slow")
    assert data["reasons"] == ["Slow to answer"]
    assert [(e["kind"], e["value"]) for e in data["history"]] == [
        ("rated", 2),
        ("changed", 1),
        ("commented", 1),
    ]
    assert api.get(f"/api/v1/ratings/{data['id']}/").json() == data


def test_no_rating_yet_is_a_404(api, conversation):
    response = api.get(f"{URL}{conversation.pk}/rating/")
    assert response.status_code == 404
    assert response.json()["message"] == "This conversation has no rating."


# --- permissions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", ""),
        ("post", ""),
        ("get", "{id}/"),
        ("post", "{id}/replies/"),
        ("post", "{id}/notes/"),
        ("post", "{id}/close/"),
        ("post", "{id}/snooze/"),
        ("post", "{id}/reopen/"),
        ("get", "{id}/rating-request/"),
        ("get", "{id}/rating/"),
    ],
)
def test_anonymous_is_401_and_a_manager_only_is_403(
    api_client, api_login, conversation, method, path
):
    from django.contrib.auth.models import Group

    url = URL + path.format(id=conversation.pk)
    response = getattr(api_client, method)(url, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    # A manager account outside the Teammates group reads reports only.
    manager = TeammateFactory()
    manager.user.groups.set([Group.objects.get(name="Managers")])
    response = getattr(api_login(manager.user), method)(url, {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_manager_who_is_a_teammate_and_an_admin_work_on_conversations(
    api_login, manager, api_admin, contact
):
    for user in (manager.user, api_admin.user):
        response = api_login(user).post(
            URL, {"channel": "email", "contacts": [contact.pk], "body": "x"}, format="json"
        )
        assert response.status_code == 201
    assert Conversation.objects.filter(origin=Origin.API).count() == 2


def test_session_authentication_works_for_the_browsable_api(client, teammate, conversation):
    client.force_login(teammate.user)
    response = client.get(f"{URL}{conversation.pk}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Hi there" in response.content
