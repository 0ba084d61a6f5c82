"""The bot's rating request decided on a close (B1–B5 with E1, E3–E6, E8), delivered on the
conversation's channel with the bot's question, and its hours (B4) at their boundaries."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from conversations import services
from conversations.models import Channel, Part
from ratings.models import BOT_QUESTION, RatingDecision, RatingRequest
from ratings.rules import RULE_WORDS
from ratings.selectors import rating_decision, rating_panel
from ratings.services import RatingRefused, rating_submit
from ratings.tokens import rating_token
from tests.bot_ratings.support import (
    CLOSED_AT,
    MINUTE,
    bot_close,
    bot_conversation,
    bot_on,
    teammate_close,
)

pytestmark = pytest.mark.django_db


def _token(request):
    return rating_token(request_id=request.pk, conversation_id=request.conversation_id)


def test_b3_a_bot_close_with_no_teammate_reply_sends_the_bot_request(capture):
    bot_on()
    conversation = bot_conversation()
    close = bot_close(capture, conversation)

    assert close.by_bot and close.closed_by is None
    request = RatingRequest.objects.get(conversation=conversation)
    assert (request.kind, request.teammate, request.channel) == ("bot", None, "messenger")
    assert request.delivered_at is not None
    (event,) = conversation.parts.filter(event=Part.Event.RATING_REQUESTED)
    assert BOT_QUESTION in event.body
    decision = rating_decision(conversation=conversation)
    assert (decision.status, decision.kind, decision.request) == ("sent", "bot", request)
    assert "bot" in decision.summary


def test_b3_the_bot_survey_by_email_asks_about_the_bot(capture):
    bot_on()
    conversation = bot_conversation(channel=Channel.EMAIL)
    bot_close(capture, conversation)

    (message,) = mail.outbox
    assert BOT_QUESTION in message.body
    assert RatingRequest.objects.get(conversation=conversation).kind == "bot"


def test_b1_off_by_default_a_bot_close_sends_nothing(capture):
    conversation = bot_conversation()
    bot_close(capture, conversation)

    decision = rating_decision(conversation=conversation)
    assert (decision.status, decision.rule, decision.words) == ("skipped", "B1", RULE_WORDS["B1"])
    assert not RatingRequest.objects.filter(conversation=conversation).exists()
    assert RatingDecision.objects.get(conversation=conversation).kind == "bot"


def test_b2_a_bot_close_with_no_bot_message_sends_nothing(capture, contact):
    bot_on()
    with time_machine.travel(CLOSED_AT - timedelta(hours=1), tick=False):
        conversation = services.conversation_start(
            channel="messenger",
            origin="customer",
            contacts=[contact],
            started_by=contact,
            body="x" * 300,
        )
    bot_close(capture, conversation)
    assert rating_decision(conversation=conversation).rule == "B2"


def test_b_e8_a_quiet_bot_close_sends_nothing(capture):
    bot_on()
    conversation = bot_conversation()
    bot_close(capture, conversation, quiet=True)
    assert rating_decision(conversation=conversation).rule == "E8"


def test_b3_a_bot_close_after_one_teammate_reply_follows_the_teammate_rules(capture, teammate):
    bot_on()
    conversation = bot_conversation()
    with time_machine.travel(CLOSED_AT - timedelta(minutes=30), tick=False):
        services.conversation_reply(conversation=conversation, author=teammate, body="t" * 251)
    bot_close(capture, conversation)

    request = RatingRequest.objects.get(conversation=conversation)
    assert (request.kind, request.teammate) == ("teammate", teammate)
    assert RatingDecision.objects.get(conversation=conversation).kind == "teammate"


def test_b3_bot_close_after_a_teammate_reply_with_the_bot_setting_off_still_asks(capture, teammate):
    conversation = bot_conversation()
    with time_machine.travel(CLOSED_AT - timedelta(minutes=30), tick=False):
        services.conversation_reply(conversation=conversation, author=teammate, body="t" * 251)
    bot_close(capture, conversation)
    assert RatingRequest.objects.get(conversation=conversation).kind == "teammate"


def test_b5_a_second_bot_close_after_a_reopen_sends_nothing_new(capture, contact):
    bot_on()
    conversation = bot_conversation(contact=contact)
    bot_close(capture, conversation)
    with time_machine.travel(CLOSED_AT + timedelta(hours=1), tick=False):
        services.conversation_reply(conversation=conversation, author=contact, body="And PDF?")
        services.conversation_bot_message(conversation=conversation, body="Yes, PDF too.")
    bot_close(capture, conversation, at=CLOSED_AT + timedelta(hours=2))

    assert RatingRequest.objects.filter(conversation=conversation).count() == 1
    assert rating_decision(conversation=conversation).rule == "E6"


def test_b5_a_teammate_close_after_the_bot_request_still_gets_the_teammate_request(
    capture, contact, teammate
):
    bot_on()
    conversation = bot_conversation(contact=contact)
    bot_close(capture, conversation)
    later = CLOSED_AT + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        services.conversation_reply(conversation=conversation, author=contact, body="Not solved.")
        services.conversation_reply(conversation=conversation, author=teammate, body="t" * 251)
    teammate_close(capture, conversation, teammate, at=later + timedelta(minutes=5))

    kinds = dict(
        RatingRequest.objects.filter(conversation=conversation).values_list("kind", "teammate")
    )
    assert kinds == {"bot": None, "teammate": teammate.pk}
    # And never a third: the teammate's once too (E6 per kind).
    with time_machine.travel(later + timedelta(minutes=10), tick=False):
        services.conversation_reopen(conversation=conversation, by=teammate)
    teammate_close(capture, conversation, teammate, at=later + timedelta(minutes=15))
    assert RatingRequest.objects.filter(conversation=conversation).count() == 2
    assert rating_decision(conversation=conversation).rule == "E6"
    # The admin's panel shows both requests, the teammate's first.
    panel = rating_panel(conversation=conversation)
    assert [block.request.kind for block in panel.blocks] == ["teammate", "bot"]


def test_b5_the_bot_and_the_teammate_ratings_are_kept_apart(capture, contact, teammate):
    bot_on()
    conversation = bot_conversation(contact=contact)
    bot_close(capture, conversation)
    bot_request = RatingRequest.objects.get(conversation=conversation)
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        rating = rating_submit(token=_token(bot_request), value=2)
    assert (rating.kind, rating.teammate) == ("bot", None)


@pytest.mark.parametrize(
    ("setting", "hours", "offset", "refused"),
    [
        ("bot_rating_window_hours", 3, -MINUTE, False),
        ("bot_rating_window_hours", 3, MINUTE, True),
        (None, 72, -MINUTE, False),  # blank: the settings' 72 hours
        (None, 72, MINUTE, True),
    ],
)
def test_b4_bot_rating_hours_fall_back_to_the_settings_hours(
    capture, setting, hours, offset, refused
):
    changes = {"prevent_rating_after": True, "rating_window_hours": 72}
    if setting:
        changes[setting] = hours
    bot_on(**changes)
    conversation = bot_conversation()
    bot_close(capture, conversation)
    request = RatingRequest.objects.get(conversation=conversation)
    with time_machine.travel(CLOSED_AT + timedelta(hours=hours) + offset, tick=False):
        if refused:
            with pytest.raises(RatingRefused) as refusal:
                rating_submit(token=_token(request), value=5)
            assert refusal.value.rule == "A4"
        else:
            assert rating_submit(token=_token(request), value=5).value == 5


@pytest.mark.parametrize(("offset", "refused"), [(-MINUTE, False), (MINUTE, True)])
def test_b4_bot_change_hours_replace_the_settings_hours(capture, offset, refused):
    bot_on(prevent_change_after=True, change_window_hours=24, bot_change_window_hours=2)
    conversation = bot_conversation()
    bot_close(capture, conversation)
    request = RatingRequest.objects.get(conversation=conversation)
    with time_machine.travel(CLOSED_AT + timedelta(minutes=1), tick=False):
        rating_submit(token=_token(request), value=5)
    with time_machine.travel(CLOSED_AT + timedelta(hours=2) + offset, tick=False):
        if refused:
            with pytest.raises(RatingRefused) as refusal:
                rating_submit(token=_token(request), value=3)
            assert refusal.value.rule == "A5"
        else:
            assert rating_submit(token=_token(request), value=3).value == 3


def test_b4_the_teammate_request_ignores_the_bot_hours(capture, teammate, contact):
    bot_on(prevent_rating_after=True, rating_window_hours=72, bot_rating_window_hours=1)
    conversation = bot_conversation(contact=contact)
    with time_machine.travel(CLOSED_AT - timedelta(minutes=30), tick=False):
        services.conversation_reply(conversation=conversation, author=teammate, body="t" * 251)
    teammate_close(capture, conversation, teammate)
    request = RatingRequest.objects.get(conversation=conversation)
    with time_machine.travel(CLOSED_AT + timedelta(hours=2), tick=False):
        assert rating_submit(token=_token(request), value=4).kind == "teammate"


def test_b5_the_admin_rating_panel_draws_both_requests(
    client, capture, contact, teammate, admin_user
):
    from django.urls import reverse

    bot_on()
    conversation = bot_conversation(contact=contact)
    bot_close(capture, conversation)
    later = CLOSED_AT + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        services.conversation_reply(conversation=conversation, author=contact, body="Still stuck")
        services.conversation_reply(conversation=conversation, author=teammate, body="t" * 251)
    teammate_close(capture, conversation, teammate, at=later + timedelta(minutes=5))
    client.force_login(admin_user)
    url = reverse("admin:conversations_conversation_panel", args=[conversation.pk, "rating"])
    html = client.get(url).content.decode()
    assert "Bot request" in html and "Request" in html
    assert "The bot" in html and teammate.name in html
    assert "closed by the bot" in html
    assert "Bot · Request sent" in html
