"""B: the API posts bot messages and closes as the bot; requests, decisions, ratings and the
summary carry the kind; the settings take the bot's switch and hours (checked, refused
whole)."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from conversations.models import Part
from ratings.models import RatingRequest, RatingSettings
from tests.bot_ratings.support import BOT_ANSWER
from tests.factories import start_conversation
from tests.report_helpers import DAY, MARCH, NOW, bot_rate, make_manager, rate

pytestmark = pytest.mark.django_db


def test_b_api_posts_a_bot_message_and_closes_as_the_bot(
    api_login, api_admin, contact, django_capture_on_commit_callbacks
):
    settings = RatingSettings.load()
    settings.ask_bot = True
    settings.save()
    conversation = start_conversation(contacts=[contact], started_by=contact, body="Help?")
    client = api_login(api_admin.user)

    posted = client.post(
        reverse("api:bot-message", args=[conversation.pk]), {"body": BOT_ANSWER}, format="json"
    )
    assert posted.status_code == 201
    assert conversation.parts.filter(kind=Part.Kind.BOT).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        closed = client.post(
            reverse("api:bot-close", args=[conversation.pk]), {"quiet": False}, format="json"
        )
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"
    request = RatingRequest.objects.get(conversation=conversation)
    assert request.kind == "bot"
    decision = client.get(reverse("api:conversation-rating-request", args=[conversation.pk])).json()
    assert (decision["status"], decision["kind"], decision["request"]["kind"]) == (
        "sent",
        "bot",
        "bot",
    )


def test_b_e3a_api_bot_message_keeps_its_body_format(api_login, api_admin, contact):
    """E3a for the bot: a text bot message is stored as typed and counts every character
    (its `<` and `>` too) for the bot's request."""
    conversation = start_conversation(contacts=[contact], started_by=contact, body="Help?")
    client = api_login(api_admin.user)
    body = "If a < b and c > d, restart."
    posted = client.post(
        reverse("api:bot-message", args=[conversation.pk]),
        {"body": body, "body_format": "text"},
        format="json",
    )
    assert posted.status_code == 201
    part = conversation.parts.get(kind=Part.Kind.BOT)
    assert (part.body, part.body_format) == (body, "text")
    conversation.refresh_from_db()
    assert conversation.bot_characters == len(body)


def test_b_api_bot_close_refuses_a_closed_conversation_and_changes_nothing(
    api_login, api_admin, contact
):
    conversation = start_conversation(contacts=[contact], started_by=contact, body="Help?")
    client = api_login(api_admin.user)
    assert (
        client.post(reverse("api:bot-close", args=[conversation.pk]), {}, format="json").status_code
        == 200
    )
    again = client.post(reverse("api:bot-close", args=[conversation.pk]), {}, format="json")
    assert again.status_code == 400
    assert "already closed" in again.json()["message"]
    assert conversation.closes.count() == 1
    empty = client.post(reverse("api:bot-message", args=[conversation.pk]), {}, format="json")
    assert empty.status_code == 400
    assert conversation.parts.filter(kind=Part.Kind.BOT).count() == 0


def test_b6_api_summary_and_ratings_carry_the_kind(api_login, capture, teammate):
    rate(capture, teammate, 5, at=DAY)
    bot_rate(capture, 1, at=DAY + timedelta(hours=1))
    client = api_login(make_manager().user)
    with time_machine.travel(NOW, tick=False):
        summary = client.get(f"{reverse('api:report-summary')}?{MARCH}").json()
        bot = client.get(f"{reverse('api:report-summary')}?{MARCH}&kind=bot").json()
        wrong = client.get(f"{reverse('api:report-summary')}?{MARCH}&kind=robots")
    assert (summary["kind"], summary["ratings"], summary["csat"]) == ("teammates", 1, 100.0)
    bot_line = summary["bot"]
    assert {name: bot_line[name] for name in ("ratings", "csat", "requests", "answered")} == {
        "ratings": 1,
        "csat": 0.0,
        "requests": 1,
        "answered": 1,
    }
    assert bot_line["response_rate"] == 100.0
    # S4 on the bot's line too: 0 of 1 is 0–79.3 %, too few under the default threshold.
    assert (bot_line["csat_low"], round(bot_line["csat_high"], 1)) == (0.0, 79.3)
    assert (bot_line["too_few"], bot_line["standing"], bot_line["meets_target"]) == (
        True,
        "too_few",
        None,
    )
    assert (bot["kind"], bot["ratings"], bot["csat"]) == ("bot", 1, 0.0)
    assert wrong.status_code == 400


def test_b6_api_ratings_list_filters_the_kind(api_login, api_admin, capture, teammate):
    rate(capture, teammate, 5, at=DAY)
    bot_rate(capture, 1, at=DAY + timedelta(hours=1))
    client = api_login(api_admin.user)
    with time_machine.travel(NOW, tick=False):
        every = client.get(f"{reverse('api:ratings')}?{MARCH}").json()["results"]
        bot = client.get(f"{reverse('api:ratings')}?{MARCH}&kind=bot").json()["results"]
    assert sorted(r["kind"] for r in every) == ["bot", "teammate"]
    assert [r["kind"] for r in bot] == ["bot"]


def test_b_api_settings_take_the_bot_switch_and_hours(api_login, api_admin):
    client = api_login(api_admin.user)
    url = reverse("api:rating-settings")
    changed = client.patch(url, {"ask_bot": True, "bot_rating_window_hours": 5}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["ask_bot"], changed.json()["bot_rating_window_hours"]) == (True, 5)
    refused = client.patch(url, {"ask_bot": False, "bot_change_window_hours": 0}, format="json")
    assert refused.status_code == 400
    assert "bot_change_window_hours" in refused.json()["fields"]
    settings = RatingSettings.load()
    assert (settings.ask_bot, settings.bot_change_window_hours) == (True, None)
    cleared = client.patch(url, {"bot_rating_window_hours": None}, format="json")
    assert cleared.json()["bot_rating_window_hours"] is None


def test_b6_the_webhook_payload_carries_the_kind(capture):
    import uuid

    from api.webhooks import event_payload

    rating = bot_rate(capture, 3, at=DAY)
    payload = event_payload(event_id=uuid.uuid4(), event=rating.history.get(), rating=rating)
    assert (payload["data"]["kind"], payload["data"]["teammate_id"]) == ("bot", None)
