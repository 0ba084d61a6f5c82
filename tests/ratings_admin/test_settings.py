"""The one row of settings (W1/W2), its permissions, and the Messenger apps admin."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from conversations.models import Workflow
from ratings.configure import MAX_REASON_LENGTH, MAX_REASONS
from ratings.models import (
    MessengerApp,
    RatingSettings,
)

SETTINGS_LIST = reverse("admin:ratings_ratingsettings_changelist")


def settings_url(settings=None) -> str:
    settings = settings or RatingSettings.load()
    return reverse("admin:ratings_ratingsettings_change", args=[settings.pk])


@pytest.fixture
def admin_client(client, admin_teammate):
    client.force_login(admin_teammate.user)
    return client


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
        "min_ratings_for_csat": "10",
        "manager_alerts": "immediately",
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
            min_ratings_for_csat="20",
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
    assert settings.min_ratings_for_csat == 20  # S4a

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
            {"min_ratings_for_csat": "0"},
            "min_ratings_for_csat",
            "Ask for at least 1 rating before a CSAT is shown.",
        ),
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
