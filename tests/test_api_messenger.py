"""The customer API for the Messenger: the rating card of a request, a reaction and a comment,
authenticated by the request's signed token only, with the rules of the rating pages (A1–A9:
the same services and selectors), refusals as 4xx naming the rule, and throttled per token."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import caches

from conversations import clock, services
from ratings.messenger import messenger_page
from ratings.models import Rating, RatingEvent, RatingSettings
from ratings.tokens import rating_token
from tests.factories import start_conversation

BASE = "/api/v1/messenger/ratings/"


@pytest.fixture(autouse=True)
def fresh_throttles(db):
    """Throttle counts live in the cache; each test starts with none."""
    caches["shared"].clear()
    yield
    caches["shared"].clear()


@pytest.fixture
def closed(contact, teammate, capture):
    """A Messenger conversation closed by `teammate`; its survey card was delivered."""
    conversation = start_conversation(contacts=[contact], started_by=contact, body="Help!")
    services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    with capture(execute=True):
        services.conversation_close(conversation=conversation, by=teammate)
    return conversation


@pytest.fixture
def token(closed, contact):
    """The card's token, as the Messenger page hands it out."""
    (thread,) = messenger_page(contact=contact).threads
    assert thread.card is not None
    return thread.card_token


def _card(api_client, token):
    response = api_client.get(f"{BASE}{token}/")
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_whole_flow_close_card_reaction_change_comment_lock(api_client, closed, token):
    card = _card(api_client, token)
    assert card["conversation"] == closed.pk
    assert card["question"] == RatingSettings().survey_question
    assert [r["name"] for r in card["reactions"]] == ["terrible", "bad", "ok", "great", "amazing"]
    assert (card["rating"], card["can_rate"], card["can_comment"]) == (None, True, False)
    assert card["reasons"] == []

    # A1: one reaction records the rating; after "bad" the reasons are offered.
    response = api_client.post(f"{BASE}{token}/reaction/", {"value": 2}, format="json")
    assert response.status_code == 200, response.json()
    card = response.json()
    assert card["rating"]["value"] == 2 and card["rating"]["reaction"] == "bad"
    assert card["can_comment"] is True and "Slow to answer" in card["reasons"]

    # A2: a change.
    card = api_client.post(f"{BASE}{token}/reaction/", {"value": 1}, format="json").json()
    assert card["rating"]["value"] == 1

    # A1: a comment with a reason; A3: then the rating is final.
    response = api_client.post(
        f"{BASE}{token}/comment/",
        {"comment": "It took days.", "reasons": ["Slow to answer"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    card = response.json()
    assert card["rating"]["comment"] == "It took days."
    assert card["rating"]["reasons"] == ["Slow to answer"]
    assert card["can_rate"] is False and card["can_comment"] is False
    assert card["rate_refusal"]["rule"] == "A3" and card["comment_refusal"]["rule"] == "A3"

    # A3, A7: a change and a second comment are refused, saying which rule refused them.
    response = api_client.post(f"{BASE}{token}/reaction/", {"value": 5}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "A3",
        "message": "A comment was left with this rating, so it can no longer be changed.",
        "fields": {},
    }
    response = api_client.post(f"{BASE}{token}/comment/", {"comment": "Again"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "A3")

    rating = Rating.objects.get(conversation=closed)
    assert (rating.value, rating.comment) == (1, "It took days.")
    assert list(rating.history.values_list("kind", "value")) == [
        (RatingEvent.Kind.RATED, 2),
        (RatingEvent.Kind.CHANGED, 1),
        (RatingEvent.Kind.COMMENTED, 1),
    ]


def test_A4_no_first_rating_after_the_window(api_client, token):
    settings = RatingSettings.load()
    settings.prevent_rating_after, settings.rating_window_hours = True, 1
    settings.save()
    with time_machine.travel(clock.now() + timedelta(hours=2)):
        assert _card(api_client, token)["rate_refusal"]["rule"] == "A4"
        response = api_client.post(f"{BASE}{token}/reaction/", {"value": 4}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "A4")
    assert not Rating.objects.exists()


def test_A5_no_change_after_the_window(api_client, token):
    settings = RatingSettings.load()
    settings.prevent_change_after, settings.change_window_hours = True, 1
    settings.save()
    api_client.post(f"{BASE}{token}/reaction/", {"value": 4}, format="json")
    with time_machine.travel(clock.now() + timedelta(hours=2)):
        response = api_client.post(f"{BASE}{token}/reaction/", {"value": 5}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "A5")
    assert response.json()["message"] == "The time to change this rating has passed."
    assert Rating.objects.get().value == 4


def test_A9_a_tampered_or_cross_conversation_token_is_a_404(api_client, token, closed):
    for bad in (token[:-2] + "xx", "not-a-token", rating_token(request_id=1, conversation_id=999)):
        for method, path, body in (
            ("get", "", None),
            ("post", "reaction/", {"value": 5}),
            ("post", "comment/", {"comment": "hi"}),
        ):
            response = getattr(api_client, method)(f"{BASE}{bad}/{path}", body, format="json")
            assert response.status_code == 404
            assert response.json()["code"] == "invalid_link"
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"value": 6}, "value"),
        ({"value": 0}, "value"),
        ({"value": "5"}, "value"),
        ({"value": 4.0}, "value"),
        ({}, "value"),
        ({"value": 5, "stars": 5}, "stars"),
    ],
)
def test_a_reaction_that_is_not_1_to_5_is_a_400(api_client, token, body, field):
    response = api_client.post(f"{BASE}{token}/reaction/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Rating.objects.exists()


def test_comment_refusals_from_the_service(api_client, token):
    response = api_client.post(f"{BASE}{token}/comment/", {"comment": "hi"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "no_rating")
    api_client.post(f"{BASE}{token}/reaction/", {"value": 5}, format="json")
    response = api_client.post(f"{BASE}{token}/comment/", {"comment": "  "}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "empty")
    response = api_client.post(
        f"{BASE}{token}/comment/", {"comment": "ok", "reasons": ["Slow to answer"]}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "reasons")


def test_the_token_is_the_only_credential_and_logs_nobody_in(api_client, token):
    api_client.credentials(HTTP_AUTHORIZATION="Token forged")
    response = api_client.post(f"{BASE}{token}/reaction/", {"value": 5}, format="json")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert api_client.get("/api/v1/ratings/").status_code == 401


def test_a_token_cannot_be_hammered(api_client, token):
    """DRF throttling per token (30 a minute): the 31st call within a minute is a 429."""
    for _ in range(30):
        assert api_client.get(f"{BASE}{token}/").status_code == 200
    response = api_client.post(f"{BASE}{token}/reaction/", {"value": 5}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert not Rating.objects.exists()
    # Another token is counted on its own.
    other = rating_token(request_id=1, conversation_id=999)
    assert api_client.get(f"{BASE}{other}/").status_code == 404
