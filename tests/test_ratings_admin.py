"""The ratings admin: the one row of settings (Settings table, W1/W2), the view-only records
(requests, decisions, ratings and their A8 history) and the conversation page's rating panel
("why did this customer get no survey?", E1–E8). Data is made with the services."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations import services
from conversations.admin import ConversationAdmin
from conversations.models import Conversation, Origin, Workflow
from conversations.panels import conversation_panels
from ratings.admin import rating_panel_context
from ratings.configure import MAX_REASON_LENGTH, MAX_REASONS
from ratings.models import (
    MessengerApp,
    Rating,
    RatingDecision,
    RatingEvent,
    RatingRequest,
    RatingSettings,
)
from ratings.rules import RULE_WORDS
from ratings.selectors import rating_decision, rating_panel
from ratings.services import rating_comment, rating_request_send, rating_submit
from ratings.tokens import rating_token

PASSWORD = "a-long-test-password-42"
SETTINGS_LIST = reverse("admin:ratings_ratingsettings_changelist")
OPENING = "Hello, the export does nothing when I press the button."
LONG_REPLY = (
    "Thanks for writing in. The export failed because the date range was longer than a year. "
    "I split it into two exports and both are in your inbox now. If anything is still missing, "
    "reply here and I will have a look straight away."
)
assert len(OPENING) + len(LONG_REPLY) > 250


def settings_url(settings=None) -> str:
    settings = settings or RatingSettings.load()
    return reverse("admin:ratings_ratingsettings_change", args=[settings.pk])


def conversation_url(conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def teammate(db):
    """A teammate as an admin makes one: staff, in the Teammates group (conversations 0002)."""
    return services.teammate_create(name="Tess Mate", email="tess@example.com", password=PASSWORD)


@pytest.fixture
def admin_teammate(db):
    """A teammate who is also in the Admins group: not a superuser, so the group's
    permissions (ratings 0002) are what let them in."""
    person = services.teammate_create(name="Ada Admin", email="ada@example.com", password=PASSWORD)
    person.user.groups.add(Group.objects.get(name="Admins"))
    return person


@pytest.fixture
def admin_client(client, admin_teammate):
    client.force_login(admin_teammate.user)
    return client


@pytest.fixture
def teammate_client(client, teammate):
    client.force_login(teammate.user)
    return client


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


def settings_post(**overrides) -> dict:
    """The settings form as the page posts it: every field, checkboxes only when ticked."""
    data = {
        "ask_users": "on",
        "ask_leads": "on",
        "rating_app": "",
        "send_direct_outbound": "on",
        "rating_window_hours": "72",
        "change_window_hours": "24",
        "survey_question": "How did we do?",
        "low_rating_reasons": "Slow to answer\nProblem not solved",
        "happiness_target": "85",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def stored_settings() -> dict:
    RatingSettings.load()
    row = RatingSettings.objects.values().get(pk=1)
    row.pop("updated_at")
    return row


# --- settings: the one row -------------------------------------------------------------------


def test_settings_list_redirects_to_the_one_row(admin_client):
    response = admin_client.get(SETTINGS_LIST)
    assert response.status_code == 302
    assert response["Location"] == settings_url()
    assert RatingSettings.objects.count() == 1

    again = admin_client.get(SETTINGS_LIST)
    assert again["Location"] == settings_url()
    assert RatingSettings.objects.count() == 1


def test_settings_page_shows_the_article_sections_and_names(admin_client):
    Workflow.objects.create(name="Trial follow-up", rating_window_hours=48)
    response = admin_client.get(settings_url())
    assert response.status_code == 200
    text = response.text
    for heading in (
        "Ask for conversation rating",
        "Outbound conversations",
        "Rating and changing windows",
        "Survey",
        "Reports",
    ):
        assert f">{heading}<" in text
    for label in (
        "For users",
        "For leads",
        "Rating app",
        "Sending for direct outbound conversations",
        "Sending rating requests for outbound conversations started via the API or Workflows",
        "Prevent customers from rating after a given period of time",
        "Prevent customers from changing their rating after a given period of time",
        "Reasons for a low rating",
        "Happiness target (%)",
    ):
        assert label in text
    # W1 / W2, with the way to each workflow's own hours.
    assert "(W1)" in text and "(W2)" in text
    assert "1 workflow has its own hours" in text
    assert reverse("admin:conversations_workflow_changelist") in text
    # Only "Save": no add, no delete, no "save and add another".
    assert 'name="_save"' in text
    assert "_addanother" not in text
    assert "deletelink" not in text


def test_admin_saves_valid_settings(admin_client):
    app = MessengerApp.objects.create(name="NPS card", card_url="https://apps.example.com/nps")
    response = admin_client.post(
        settings_url(),
        settings_post(
            ask_leads=None,
            rating_app=str(app.pk),
            send_outbound_api_workflows="on",
            prevent_rating_after="on",
            rating_window_hours="48",
            prevent_change_after="on",
            change_window_hours="12",
            survey_question="  How was   our help?  ",
            low_rating_reasons="Slow to answer\n\n  Problem not solved  \nRude",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == settings_url()
    settings = RatingSettings.load()
    assert settings.ask_users is True
    assert settings.ask_leads is False
    assert settings.rating_app == app
    assert settings.send_direct_outbound is True
    assert settings.send_outbound_api_workflows is True
    assert settings.prevent_rating_after is True
    assert settings.rating_window_hours == 48
    assert settings.prevent_change_after is True
    assert settings.change_window_hours == 12
    assert settings.survey_question == "How was our help?"
    assert settings.reasons == ["Slow to answer", "Problem not solved", "Rude"]
    assert settings.low_rating_reasons == "Slow to answer\nProblem not solved\nRude"
    assert settings.happiness_target == 85

    page = admin_client.get(response["Location"])
    assert "Rating settings saved." in page.text


def test_a_limit_turned_off_may_leave_its_hours_empty_and_keeps_them(admin_client):
    settings = RatingSettings.load()
    settings.rating_window_hours = 36
    settings.save()
    response = admin_client.post(
        settings_url(), settings_post(rating_window_hours="", change_window_hours="")
    )
    assert response.status_code == 302
    settings.refresh_from_db()
    assert settings.prevent_rating_after is False
    assert settings.rating_window_hours == 36
    assert settings.change_window_hours == 24


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"prevent_rating_after": "on", "rating_window_hours": "0"},
            "rating_window_hours",
            "greater than or equal to 1",
        ),
        (
            {"prevent_change_after": "on", "change_window_hours": "0"},
            "change_window_hours",
            "greater than or equal to 1",
        ),
        ({"happiness_target": "101"}, "happiness_target", "less than or equal to 100"),
        ({"happiness_target": "-1"}, "happiness_target", "greater than or equal to 0"),
        (
            {"prevent_rating_after": "on", "rating_window_hours": ""},
            "rating_window_hours",
            "Enter the number of hours during which customers may rate",
        ),
        (
            {"prevent_change_after": "on", "change_window_hours": ""},
            "change_window_hours",
            "Enter the number of hours during which customers may change their rating",
        ),
        ({"survey_question": "   "}, "survey_question", "Write the question"),
        (
            {"low_rating_reasons": "\n".join(f"Reason {n}" for n in range(MAX_REASONS + 1))},
            "low_rating_reasons",
            f"List at most {MAX_REASONS} reasons",
        ),
        (
            {"low_rating_reasons": "Slow\n" + "x" * (MAX_REASON_LENGTH + 1)},
            "low_rating_reasons",
            f"Keep each reason to {MAX_REASON_LENGTH} characters",
        ),
        (
            {"low_rating_reasons": "Slow to answer\nRude\nslow to answer"},
            "low_rating_reasons",
            "is listed more than once",
        ),
    ],
)
def test_invalid_settings_show_errors_and_change_nothing(admin_client, overrides, field, message):
    before = stored_settings()
    response = admin_client.post(settings_url(), settings_post(**overrides))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert field in form.errors
    assert any(message in error for error in form.errors[field])
    assert message in response.text
    assert stored_settings() == before


def test_twelve_short_distinct_reasons_are_accepted(admin_client):
    reasons = [f"Reason {n}" for n in range(MAX_REASONS - 1)] + ["x" * MAX_REASON_LENGTH]
    response = admin_client.post(
        settings_url(), settings_post(low_rating_reasons="\n".join(reasons))
    )
    assert response.status_code == 302
    assert RatingSettings.load().reasons == reasons


def test_settings_have_no_add_and_no_delete(admin_client, admin_teammate):
    settings = RatingSettings.load()
    model_admin = admin.site._registry[RatingSettings]
    request = type("Request", (), {"user": admin_teammate.user})()
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_delete_permission(request, settings) is False
    assert model_admin.has_change_permission(request, settings) is True

    add = reverse("admin:ratings_ratingsettings_add")
    delete = reverse("admin:ratings_ratingsettings_delete", args=[settings.pk])
    assert admin_client.get(add).status_code == 403
    assert admin_client.post(add, settings_post()).status_code == 403
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert RatingSettings.objects.count() == 1


def test_a_teammate_cannot_see_or_change_the_settings(teammate_client):
    before = stored_settings()
    assert teammate_client.get(SETTINGS_LIST).status_code == 403
    assert teammate_client.get(settings_url()).status_code == 403
    response = teammate_client.post(settings_url(), settings_post(happiness_target="10"))
    assert response.status_code == 403
    assert stored_settings() == before


def test_the_groups_get_their_rating_permissions_from_the_migrations(db):
    admins = Group.objects.get(name="Admins")
    granted = set(admins.permissions.values_list("content_type__app_label", "codename"))
    assert ("ratings", "view_ratingsettings") in granted
    assert ("ratings", "change_ratingsettings") in granted
    for action in ("view", "add", "change", "delete"):
        assert ("ratings", f"{action}_messengerapp") in granted
    teammates = Group.objects.get(name="Teammates")
    theirs = set(teammates.permissions.values_list("content_type__app_label", "codename"))
    for model in ("ratingrequest", "ratingdecision", "rating", "ratingevent"):
        assert ("ratings", f"view_{model}") in theirs
        assert ("ratings", f"view_{model}") in granted
        for action in ("add", "change", "delete"):
            assert ("ratings", f"{action}_{model}") not in theirs | granted
    assert not {codename for _, codename in theirs} & {
        "view_ratingsettings",
        "change_ratingsettings",
        "add_messengerapp",
    }


def test_messenger_apps_are_managed_by_admins(admin_client):
    changelist = reverse("admin:ratings_messengerapp_changelist")
    add = reverse("admin:ratings_messengerapp_add")
    response = admin_client.post(add, {"name": "NPS card", "card_url": "https://a.example/nps"})
    assert response.status_code == 302
    page = admin_client.get(changelist)
    assert "Installed Messenger apps" in page.text
    assert "NPS card" in page.text
    assert "https://a.example/nps" in page.text


def test_teammates_cannot_install_messenger_apps(teammate_client):
    add = reverse("admin:ratings_messengerapp_add")
    assert teammate_client.get(add).status_code == 403
    assert not MessengerApp.objects.exists()


# --- the records: view only ------------------------------------------------------------------


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
    assert reverse("admin:ratings_rating_change", args=[rated.rating.pk]) in text


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


def test_panel_decision_is_the_selectors_rating_decision_in_every_state(contact, teammate):
    """The panel reads the latest decision from the closes it loads; it must say exactly what
    `ratings.selectors.rating_decision` says: none, pending, sent, skipped (E3, E6)."""
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
