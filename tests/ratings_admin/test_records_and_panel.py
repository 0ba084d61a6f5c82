"""The view-only records and the conversation page's rating panel (E1–E8 in words)."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations import services
from conversations.admin import ConversationAdmin
from conversations.models import Conversation, Origin
from conversations.panels import conversation_panels
from ratings.admin import rating_panel_context
from ratings.models import (
    Rating,
    RatingDecision,
    RatingEvent,
    RatingRequest,
)
from ratings.rules import RULE_WORDS
from ratings.selectors import rating_decision, rating_panel
from ratings.services import rating_comment, rating_request_send, rating_submit
from ratings.tokens import rating_token

OPENING = "Hello, the export does nothing when I press the button."


LONG_REPLY = (
    "Thanks for writing in. The export failed because the date range was longer than a year. "
    "I split it into two exports and both are in your inbox now. If anything is still missing, "
    "reply here and I will have a look straight away."
)


assert len(OPENING) + len(LONG_REPLY) > 250


def conversation_url(conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def contact(db):
    return services.contact_create(role="user", name="Ann Archer", email="ann@customer.test")


def start(contact, *, subject="Export is broken", channel="email"):
    return services.conversation_start(
        channel=channel,
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        subject=subject,
        body=OPENING,
    )


def close_and_decide(conversation, teammate, *, quiet=False):
    """A close and its queued task, run here (the test's transaction never commits)."""
    services.conversation_close(conversation=conversation, by=teammate, quiet=quiet)
    rating_request_send(conversation_id=conversation.pk)


def token_for(conversation, value=None) -> str:
    request = RatingRequest.objects.get(conversation=conversation)
    return rating_token(request_id=request.pk, conversation_id=conversation.pk, value=value)


def eligible_closed(contact, teammate, *, closes=1, subject="Export is broken"):
    """A conversation that passed E1–E8 at its first close (request sent), then reopened and
    closed again `closes - 1` times (each of those skipped as E6)."""
    conversation = start(contact, subject=subject)
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    close_and_decide(conversation, teammate)
    for _ in range(closes - 1):
        services.conversation_reopen(conversation=conversation, by=teammate)
        close_and_decide(conversation, teammate)
    return conversation


@pytest.fixture
def rated(contact, teammate):
    """Sent, rated amazing, changed to bad, then commented with a reason (A1, A2, A3, A8)."""
    conversation = eligible_closed(contact, teammate)
    rating_submit(token=token_for(conversation, 5), value=5)
    rating_submit(token=token_for(conversation, 2), value=2)
    rating_comment(
        token=token_for(conversation),
        comment="Fixed, but it took three days.",
        reasons=["Slow to answer"],
    )
    return conversation


@pytest.mark.parametrize(
    "model", [RatingRequest, RatingDecision, Rating, RatingEvent], ids=lambda m: m.__name__
)
def test_no_one_adds_changes_or_deletes_rating_records(admin_teammate, model):
    request = type("Request", (), {"user": admin_teammate.user})()
    admin_teammate.user.is_superuser = True
    model_admin = admin.site._registry.get(model)
    if model is RatingEvent:
        assert model_admin is None  # only as the rating's read-only history
        model_admin = admin.site._registry[Rating].get_inline_instances(request)[0]
        assert model_admin.has_add_permission(request, None) is False
    else:
        assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False


def test_records_are_listed_and_shown_read_only(teammate_client, rated):
    rating = Rating.objects.get(conversation=rated)
    request = RatingRequest.objects.get(conversation=rated)

    requests = teammate_client.get(reverse("admin:ratings_ratingrequest_changelist"))
    assert requests.status_code == 200
    assert "Export is broken" in requests.text
    assert "ann@customer.test" in requests.text
    assert "Not delivered yet" in requests.text  # the delivered filter
    found = teammate_client.get(
        reverse("admin:ratings_ratingrequest_changelist"), {"q": "ann@customer"}
    )
    assert found.context["cl"].result_count == 1
    undelivered = teammate_client.get(
        reverse("admin:ratings_ratingrequest_changelist"), {"delivered": "no"}
    )
    assert undelivered.context["cl"].result_count == 0

    ratings = teammate_client.get(reverse("admin:ratings_rating_changelist"))
    assert "🙁 Bad (2/5)" in ratings.text
    assert "Fixed, but it took three days." in ratings.text

    page = teammate_client.get(reverse("admin:ratings_rating_change", args=[rating.pk]))
    assert page.status_code == 200
    assert "🤩 Amazing (5/5)" in page.text  # the history, oldest first
    assert page.text.index("Rated") < page.text.index("Changed") < page.text.index("Commented")
    assert "Slow to answer" in page.text
    assert 'type="submit"' not in page.text.split('id="content-main"')[1].split("</form>")[0]

    changed = teammate_client.post(
        reverse("admin:ratings_rating_change", args=[rating.pk]), {"value": "5"}
    )
    assert changed.status_code == 403
    assert teammate_client.get(reverse("admin:ratings_rating_add")).status_code == 403
    delete = reverse("admin:ratings_ratingrequest_delete", args=[request.pk])
    assert teammate_client.post(delete, {"post": "yes"}).status_code == 403
    rating.refresh_from_db()
    assert rating.value == 2
    assert rating.history.count() == 3


def test_decisions_list_says_why_in_plain_words(teammate_client, contact, teammate):
    short = start(contact, subject="Quick question")
    services.conversation_reply(conversation=short, author=teammate, body="Yes.")
    close_and_decide(short, teammate)

    page = teammate_client.get(reverse("admin:ratings_ratingdecision_changelist"))
    assert page.status_code == 200
    assert "Quick question" in page.text
    assert RULE_WORDS["E3"] in page.text
    by_rule = teammate_client.get(
        reverse("admin:ratings_ratingdecision_changelist"), {"rule": "E3"}
    )
    assert by_rule.context["cl"].result_count == 1
    by_other = teammate_client.get(
        reverse("admin:ratings_ratingdecision_changelist"), {"rule": "E8"}
    )
    assert by_other.context["cl"].result_count == 0


# --- the conversation page: the rating panel -------------------------------------------------


def test_the_inbox_page_is_the_conversations_admin_with_the_rating_panel_hooked_in():
    """The conversations app registers its admin once; ratings adds its panel through the hook
    `conversations.panels` offers, instead of swapping the admin at import."""
    assert type(admin.site._registry[Conversation]) is ConversationAdmin
    assert [panel.name for panel in conversation_panels()] == ["rating"]
    assert conversation_panels()[0].context is rating_panel_context


def test_panel_before_any_close(teammate_client, contact):
    conversation = start(contact)
    page = teammate_client.get(conversation_url(conversation))
    assert page.status_code == 200
    assert "Rating survey" in page.text
    assert "Not closed yet: a survey is decided when a teammate closes it." in page.text


def test_panel_while_the_decision_is_queued(teammate_client, contact, teammate):
    conversation = start(contact)
    services.conversation_close(conversation=conversation, by=teammate)  # task not run
    page = teammate_client.get(conversation_url(conversation))
    assert "Decision pending" in page.text
    assert "Closed: the decision is queued." in page.text


def test_panel_says_why_a_short_conversation_got_no_survey_E3(teammate_client, contact, teammate):
    conversation = start(contact, subject="Quick question")
    services.conversation_reply(conversation=conversation, author=teammate, body="Yes, it does.")
    close_and_decide(conversation, teammate)

    page = teammate_client.get(conversation_url(conversation))
    assert page.status_code == 200
    assert f"No survey (E3): {RULE_WORDS['E3']}" in page.text
    assert "No survey · " in page.text
    assert "A rating request was sent" not in page.text
    panel = page.context["rating_panel"]
    assert panel.request is None
    assert [(row.status, row.decision.rule) for row in panel.closes] == [("skipped", "E3")]


def test_panel_says_a_quiet_close_sent_nothing_E8(teammate_client, contact, teammate):
    conversation = start(contact)
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    close_and_decide(conversation, teammate, quiet=True)
    page = teammate_client.get(conversation_url(conversation))
    assert f"No survey (E8): {RULE_WORDS['E8']}" in page.text


def test_panel_shows_the_request_the_rating_and_its_history(teammate_client, rated):
    page = teammate_client.get(conversation_url(rated))
    assert page.status_code == 200
    text = page.text
    assert "A rating request was sent." in text
    assert "Request sent" in text
    request = RatingRequest.objects.get(conversation=rated)
    assert request.delivered_at is not None
    panel = page.context["rating_panel"]
    assert panel.request == request
    assert panel.reaction.emoji == "🙁"
    assert "Bad" in text and "(2/5)" in text
    assert "Fixed, but it took three days." in text
    assert "Slow to answer" in text
    # A8: every entry, oldest first.
    assert [row.event.kind for row in panel.history] == ["rated", "changed", "commented"]
    assert [row.reaction.value for row in panel.history] == [5, 2, 2]
    history = text.split('aria-label="Rating history"')[1]
    assert history.index("Amazing") < history.index("Bad")
    # The records are one click away for whoever may view them.
    assert reverse("admin:ratings_ratingrequest_change", args=[request.pk]) in text
    assert reverse("admin:ratings_rating_change", args=[rated.ratings.get().pk]) in text


def test_panel_lists_every_close_with_its_decision(teammate_client, contact, teammate):
    conversation = eligible_closed(contact, teammate, closes=2)
    page = teammate_client.get(conversation_url(conversation))
    panel = page.context["rating_panel"]
    # The latest close was skipped (E6), but the request of the first one is still shown.
    assert panel.decision.status == "skipped"
    assert f"No survey (E6): {RULE_WORDS['E6']}" in page.text
    assert panel.request is not None
    assert [(row.number, row.status) for row in panel.closes] == [(1, "sent"), (2, "skipped")]
    assert "A rating request was sent." in page.text
    assert "No answer yet." in page.text


def test_panel_escapes_the_customers_comment(teammate_client, contact, teammate):
    conversation = eligible_closed(contact, teammate)
    rating_submit(token=token_for(conversation, 4), value=4)
    rating_comment(token=token_for(conversation), comment="<script>alert(1)</script>")
    page = teammate_client.get(conversation_url(conversation))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_conversation_page_query_count_does_not_grow_with_closes(
    teammate_client, contact, teammate
):
    one = eligible_closed(contact, teammate, closes=1, subject="One close")
    three = eligible_closed(contact, teammate, closes=3, subject="Three closes")
    for conversation in (one, three):
        rating_submit(token=token_for(conversation, 5), value=5)
    assert three.closes.count() == 3
    teammate_client.get(conversation_url(one))  # warm the per-process caches

    with CaptureQueriesContext(connection) as with_one:
        assert teammate_client.get(conversation_url(one)).status_code == 200
    with CaptureQueriesContext(connection) as with_three:
        assert teammate_client.get(conversation_url(three)).status_code == 200
    assert len(with_three) == len(with_one)


def test_panel_decision_is_the_selectors_rating_decision_in_every_state(
    contact, teammate, settings
):
    """The panel reads the latest decision from the closes it loads; it must say exactly what
    `ratings.selectors.rating_decision` says: none, pending, sent, skipped (E3, E6)."""
    settings.RATING_DECISION_BATCH = 1  # the pending close stays pending (no batch takes it, D6)
    never = start(contact, subject="Never closed")
    pending = start(contact, subject="Pending")
    services.conversation_close(conversation=pending, by=teammate)
    short = start(contact, subject="Short")
    services.conversation_reply(conversation=short, author=teammate, body="Yes.")
    close_and_decide(short, teammate)
    sent = eligible_closed(contact, teammate, subject="Sent")
    again = eligible_closed(contact, teammate, closes=2, subject="Closed again")
    reopened = eligible_closed(contact, teammate, subject="Reopened since")
    services.conversation_reopen(conversation=reopened, by=teammate)

    statuses = []
    for conversation in (never, pending, short, sent, again, reopened):
        shown = rating_panel(conversation=conversation).decision
        assert shown == rating_decision(conversation=conversation)
        statuses.append((shown.status, shown.rule))
    assert statuses == [
        ("none", ""),
        ("pending", ""),
        ("skipped", "E3"),
        ("sent", ""),
        ("skipped", "E6"),
        ("sent", ""),
    ]


def test_conversation_page_query_count_is_the_same_before_and_after_a_close(
    teammate_client, contact, teammate
):
    conversation = start(contact)
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    teammate_client.get(conversation_url(conversation))  # warm the per-process caches

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert teammate_client.get(conversation_url(conversation)).status_code == 200
        return len(queries)

    open_count = count()
    services.conversation_close(conversation=conversation, by=teammate)
    assert count() == open_count  # pending
    rating_request_send(conversation_id=conversation.pk)
    assert count() == open_count  # sent: the request was read (as None) before too
    rating_submit(token=token_for(conversation, 4), value=4)
    assert count() == open_count + 1  # rated: its history, in one query
