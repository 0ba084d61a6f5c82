"""Rating settings through the API: read and update by admins only, validated by the admin's
own form (hours of at least 1 while a limit is on, a question, distinct reasons …)."""

import pytest
from django.contrib.auth.models import Group

from ratings.models import MessengerApp, RatingSettings
from tests.factories import TeammateFactory

URL = "/api/v1/settings/ratings/"


@pytest.fixture
def as_admin(api_login, api_admin):
    return api_login(api_admin.user)


def test_read_the_settings_without_writing(as_admin):
    response = as_admin.get(URL)
    assert response.status_code == 200
    data = response.json()
    assert data["ask_users"] is True and data["rating_window_hours"] == 72
    assert data["low_rating_reasons"][0] == "Slow to answer"
    assert data["rating_app"] is None
    assert data["min_ratings_for_csat"] == 10  # S4a's default
    assert not RatingSettings.objects.exists()  # a GET never writes


def test_update_some_settings(as_admin):
    app = MessengerApp.objects.create(name="Survey+", card_url="https://example.com/card")
    response = as_admin.patch(
        URL,
        {
            "ask_leads": False,
            "prevent_change_after": True,
            "change_window_hours": 6,
            "rating_app": app.pk,
            "survey_question": "  How  did we do? ",
            "low_rating_reasons": ["Too slow", "Rude"],
            "happiness_target": 90,
            "min_ratings_for_csat": 25,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    settings = RatingSettings.load()
    assert (settings.ask_leads, settings.prevent_change_after, settings.change_window_hours) == (
        False,
        True,
        6,
    )
    assert settings.rating_app == app and settings.happiness_target == 90
    assert settings.min_ratings_for_csat == 25 and response.json()["min_ratings_for_csat"] == 25
    assert settings.survey_question == "How did we do?"  # the admin form's cleaning
    assert settings.reasons == ["Too slow", "Rude"]
    assert response.json()["low_rating_reasons"] == ["Too slow", "Rude"]
    assert settings.ask_users is True  # untouched


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rating_window_hours": 0}, "rating_window_hours"),
        ({"change_window_hours": -3}, "change_window_hours"),
        ({"happiness_target": 101}, "happiness_target"),
        ({"min_ratings_for_csat": 0}, "min_ratings_for_csat"),
        ({"min_ratings_for_csat": "10"}, "min_ratings_for_csat"),
        ({"survey_question": "   "}, "survey_question"),
        ({"low_rating_reasons": ["Slow", "slow"]}, "low_rating_reasons"),
        ({"low_rating_reasons": [f"Reason {i}" for i in range(13)]}, "low_rating_reasons"),
        ({"low_rating_reasons": ["two\nlines"]}, "low_rating_reasons"),
        ({"rating_app": 4242}, "rating_app"),
        ({"ask_users": "no"}, "ask_users"),
        ({"rating_window_hours": "12"}, "rating_window_hours"),
        ({"colour": "blue"}, "colour"),
        ({"fatigue_days": 0}, "fatigue_days"),
        ({"fatigue_days": 366}, "fatigue_days"),
        ({"limit_asking_contact": True, "fatigue_days": None}, "fatigue_days"),
        ({"limit_asking_contact": "yes"}, "limit_asking_contact"),
    ],
)
def test_invalid_settings_are_refused_by_name(as_admin, body, field):
    response = as_admin.patch(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert RatingSettings.load().rating_window_hours == 72


def test_settings_are_for_admins(api_client, api_login, teammate, manager):
    assert api_client.get(URL).status_code == 401
    assert api_client.patch(URL, {}, format="json").status_code == 401
    for user in (teammate.user, manager.user):
        assert api_login(user).get(URL).status_code == 403
        assert api_login(user).patch(URL, {"ask_users": False}, format="json").status_code == 403
    # The Admins group, no superuser needed.
    admin = TeammateFactory()
    admin.user.groups.add(Group.objects.get(name="Admins"))
    response = api_login(admin.user).patch(URL, {"ask_users": False}, format="json")
    assert response.status_code == 200
    assert RatingSettings.load().ask_users is False
