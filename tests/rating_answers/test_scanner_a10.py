"""A10: a mail scanner opening every link of the survey email in a browser with JavaScript on
leaves no rating. Auto posts (the page posting its link's reaction on load) of several
different reactions within a minute, with no person's post between, discard the rating they
left: its daily figures reversed exactly (equal to `manage.py figures_rebuild`), the history
saying why (A8), a `rating.discarded` webhook event, the thread's event, all in one
transaction. Auto posts within the minute after are refused; a person's post always counts."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from api.models import Webhook, WebhookDelivery
from conversations.models import Part
from ratings import answers
from ratings.models import Rating, RatingEvent
from ratings.rules import RULE_WORDS, SCANNER_WINDOW
from ratings.services import RatingRefused, rating_submit
from tests.rating_answers.support import CLOSED_AT, comment, snapshot, submit
from tests.test_daily_figures import snapshot as figures

T = CLOSED_AT + timedelta(hours=2)
SECOND = timedelta(seconds=1)


def auto(token, value, at):
    with time_machine.travel(at, tick=False):
        return rating_submit(token=token, value=value, auto=True)


def assert_figures_equal_a_recount():
    kept = figures()
    call_command("figures_rebuild", stdout=StringIO())
    assert figures() == kept


def history(request):
    return list(
        RatingEvent.objects.filter(request=request)
        .order_by("at", "id")
        .values_list("kind", "value", "rule")
    )


def thread_events(request):
    return list(
        request.conversation.parts.filter(kind=Part.Kind.EVENT)
        .exclude(event__in=[Part.Event.CLOSED, Part.Event.RATING_REQUESTED])
        .order_by("id")
        .values_list("event", flat=True)
    )


# --- the burst ----------------------------------------------------------------------------------


def test_A10_a_second_auto_post_of_another_reaction_within_a_minute_discards_the_rating(
    request_, token
):
    before = figures()
    rating = auto(token, 5, T)
    assert rating.auto_at == T
    assert figures() != before  # counted while it stood

    assert auto(token, 2, T + SCANNER_WINDOW - SECOND) is None

    assert not Rating.objects.exists()
    assert figures() == before  # answered −1, v5 −1: as if it had never been
    assert_figures_equal_a_recount()
    assert history(request_) == [("rated", 5, ""), ("discarded", 5, "A10")]
    discarded = RatingEvent.objects.get(kind=RatingEvent.Kind.DISCARDED)
    assert discarded.rating is None and discarded.request == request_
    assert discarded.at == T + SCANNER_WINDOW - SECOND
    assert discarded.rule_words == RULE_WORDS["A10"]
    request_.refresh_from_db()
    assert request_.discarded_at == T + SCANNER_WINDOW - SECOND
    assert thread_events(request_) == [Part.Event.RATED, Part.Event.RATING_DISCARDED]
    part = request_.conversation.parts.get(event=Part.Event.RATING_DISCARDED)
    assert "Amazing (5/5)" in part.body and "A10" in part.body


def test_A10_a_minute_and_a_second_later_an_auto_post_is_an_ordinary_change(request_, token):
    auto(token, 5, T)
    rating = auto(token, 2, T + SCANNER_WINDOW + SECOND)
    assert (rating.value, rating.auto_at) == (2, T + SCANNER_WINDOW + SECOND)
    assert history(request_) == [("rated", 5, ""), ("changed", 2, "")]
    assert_figures_equal_a_recount()


def test_A10_the_burst_is_measured_from_the_last_auto_post_that_left_the_rating(request_, token):
    """Auto posts a minute and more apart change the rating; the next one within a minute of
    the last change discards it."""
    auto(token, 5, T)
    auto(token, 4, T + timedelta(minutes=2))
    assert auto(token, 3, T + timedelta(minutes=2, seconds=30)) is None
    assert history(request_) == [("rated", 5, ""), ("changed", 4, ""), ("discarded", 4, "A10")]
    assert_figures_equal_a_recount()


def test_A10_the_same_reaction_again_is_no_burst(request_, token):
    auto(token, 5, T)
    assert auto(token, 5, T + SECOND).value == 5
    assert history(request_) == [("rated", 5, "")]


def test_A10_discarding_on_another_day_than_the_request_leaves_figures_a_recount_would_make(
    request_, token
):
    """The request counts on its day, the rating's value on the day it was given: both rows
    are taken back; a row left all zeros goes, as a recount would not make it."""
    next_day = CLOSED_AT + timedelta(days=1)
    before = figures()
    auto(token, 1, next_day)
    auto(token, 3, next_day + SECOND)
    assert figures() == before
    assert_figures_equal_a_recount()


# --- after the discard: the rest of the scanner's links, and the person -------------------------


def test_A10_auto_posts_within_the_minute_after_a_discard_are_refused_and_write_nothing(
    request_, token
):
    auto(token, 5, T)
    auto(token, 4, T + 5 * SECOND)
    discarded_at = T + 5 * SECOND
    kept = snapshot(request_)
    for value, at in ((3, discarded_at + SECOND), (1, discarded_at + SCANNER_WINDOW - SECOND)):
        with pytest.raises(RatingRefused) as refused:
            auto(token, value, at)
        assert (refused.value.rule, refused.value.status) == ("A10", 409)
        assert refused.value.message == RULE_WORDS["A10"]
    assert snapshot(request_) == kept
    assert_figures_equal_a_recount()

    # A minute and a second after the discard, an auto post (a person opening a link later)
    # records as any first rating.
    rating = auto(token, 2, discarded_at + SCANNER_WINDOW + SECOND)
    assert rating.value == 2
    assert_figures_equal_a_recount()


def test_A10_a_persons_press_right_after_a_discard_records(request_, token):
    auto(token, 5, T)
    auto(token, 1, T + SECOND)
    rating = submit(token, 4, T + 2 * SECOND)  # no marker: a press on a button
    assert (rating.value, rating.auto_at) == (4, None)
    assert history(request_) == [("rated", 5, ""), ("discarded", 5, "A10"), ("rated", 4, "")]
    assert rating.history.count() == 1  # the new rating's own history
    assert_figures_equal_a_recount()
    # A stale page of the scanner posting within the minute changes nothing.
    with pytest.raises(RatingRefused):
        auto(token, 1, T + 3 * SECOND)
    assert Rating.objects.get().value == 4


# --- a person's post is the interaction A10 looks for -------------------------------------------


def test_A10_a_persons_press_is_never_a_burst(request_, token):
    auto(token, 5, T)
    rating = submit(token, 2, T + SECOND)
    assert (rating.value, rating.auto_at) == (2, None)
    # After it, an auto post of another reaction (another link) is an ordinary change.
    assert auto(token, 3, T + 2 * SECOND).value == 3
    assert history(request_) == [("rated", 5, ""), ("changed", 2, ""), ("changed", 3, "")]


def test_A10_a_persons_press_of_the_same_reaction_counts_as_interaction(request_, token):
    auto(token, 5, T)
    rating = submit(token, 5, T + SECOND)
    assert rating.auto_at is None
    assert history(request_) == [("rated", 5, "")]  # nothing else recorded
    assert auto(token, 1, T + 2 * SECOND).value == 1  # a change, not a discard


def test_A10_a_comment_is_interaction_and_makes_the_rating_final(request_, token):
    auto(token, 5, T)
    rating = comment(token, "Thanks!", at=T + SECOND)
    assert rating.auto_at is None
    with pytest.raises(RatingRefused) as refused:
        auto(token, 1, T + 2 * SECOND)
    assert refused.value.rule == "A3"
    assert Rating.objects.get().value == 5


# --- integrations, and one transaction ----------------------------------------------------------


def test_A10_the_discard_is_a_webhook_event(request_, token, capture):
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/hook", secret="s" * 16)
    rating = auto(token, 5, T)
    rating_id = rating.pk
    with capture() as callbacks:
        auto(token, 2, T + SECOND)
    deliveries = list(WebhookDelivery.objects.order_by("id"))
    assert [(d.webhook_id, d.event_type) for d in deliveries] == [
        (webhook.pk, "rating.rated"),
        (webhook.pk, "rating.discarded"),
    ]
    payload = deliveries[-1].payload
    assert payload["type"] == "rating.discarded"
    assert payload["data"]["rating_id"] == rating_id
    assert payload["data"]["conversation_id"] == request_.conversation_id
    assert (payload["data"]["value"], payload["data"]["reaction"]) == (5, "amazing")
    assert (payload["data"]["rule"], payload["data"]["rule_words"]) == ("A10", RULE_WORDS["A10"])
    assert deliveries[-1].rating_event.kind == RatingEvent.Kind.DISCARDED
    assert len(callbacks) == 1  # its send queued on commit


def test_A10_the_discard_is_one_transaction(request_, token, monkeypatch):
    """A failure at its last step (the thread's event) leaves everything as it was."""
    Webhook.objects.create(url="http://127.0.0.1:9/hook", secret="s" * 16)
    auto(token, 5, T)
    kept = snapshot(request_), figures(), WebhookDelivery.objects.count()

    def broken(**kwargs):
        if kwargs["event"] == Part.Event.RATING_DISCARDED:
            raise RuntimeError("the database went away")
        raise AssertionError("only the discard's event is written")

    monkeypatch.setattr(answers, "conversation_event", broken)
    with pytest.raises(RuntimeError):
        auto(token, 2, T + SECOND)
    assert (snapshot(request_), figures(), WebhookDelivery.objects.count()) == kept
    request_.refresh_from_db()
    assert request_.discarded_at is None
    assert Rating.objects.get().value == 5


def test_A10_the_conversations_rating_panel_keeps_the_discarded_history(request_, token):
    """The admin's panel reads the request's history: a discarded rating's stays (A8)."""
    from django.template.loader import render_to_string

    from ratings.selectors import rating_panel

    auto(token, 5, T)
    auto(token, 2, T + SECOND)
    panel = rating_panel(conversation=request_.conversation)
    assert panel.rating is None
    assert [(row.event.kind, row.event.rule) for row in panel.history] == [
        ("rated", ""),
        ("discarded", "A10"),
    ]
    html = render_to_string(
        "admin/ratings/rating_panel.html",
        {"rating_panel": panel, "conversation": request_.conversation},
    )
    assert "No rating stands" in html and "A10" in html
    assert RULE_WORDS["A10"] in html
