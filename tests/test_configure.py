"""`ratings.configure.rating_settings_update`: the one place the rating settings are checked,
called by the admin's form and by the API alike; and the other single homes the faces share
(rule words, refusal statuses, the settings reader, `teammate_of`)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from conversations.selectors import no_teammate_message, teammate_of
from ratings.answers import RatingRefused
from ratings.configure import MAX_REASON_LENGTH, MAX_REASONS, rating_settings_update
from ratings.models import MessengerApp, RatingSettings
from ratings.rules import REFUSAL_STATUS, RULE_WORDS, rule_words
from tests.factories import TeammateFactory

pytestmark = pytest.mark.django_db


def stored() -> dict:
    row = RatingSettings.objects.values().get(pk=1)
    row.pop("updated_at")
    return row


def refused_fields(**changes) -> set[str]:
    RatingSettings.load()
    before = stored()
    with pytest.raises(ValidationError) as refused:
        rating_settings_update(by=None, **changes)
    assert stored() == before  # refused whole: nothing written
    return set(refused.value.message_dict)


def test_an_update_changes_only_what_it_names_and_records_who(api_admin):
    app = MessengerApp.objects.create(name="Survey+", card_url="https://example.com/card")
    saved = rating_settings_update(
        by=api_admin.user,
        ask_leads=False,
        rating_app=app.pk,
        survey_question="  How   did we do? ",
        low_rating_reasons="  Too   slow \n\nRude\n",
    )
    saved.refresh_from_db()
    assert (saved.ask_leads, saved.ask_users, saved.rating_app) == (False, True, app)
    assert saved.survey_question == "How did we do?"
    assert saved.reasons == ["Too slow", "Rude"]
    assert saved.updated_by == api_admin.user


def test_reasons_may_come_as_a_list_of_lines():
    saved = rating_settings_update(by=None, low_rating_reasons=["Slow", " Rude "])
    assert saved.reasons == ["Slow", "Rude"]
    assert refused_fields(low_rating_reasons=["two\nlines"]) == {"low_rating_reasons"}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"rating_window_hours": 0}, "rating_window_hours"),
        ({"change_window_hours": 0}, "change_window_hours"),
        ({"happiness_target": 101}, "happiness_target"),
        ({"happiness_target": -1}, "happiness_target"),
        ({"min_ratings_for_csat": 0}, "min_ratings_for_csat"),
        ({"survey_question": " \n "}, "survey_question"),
        ({"survey_question": "x" * 201}, "survey_question"),
        ({"rating_app": 4242}, "rating_app"),
        ({"colour": "blue"}, "colour"),
        ({"prevent_rating_after": True, "rating_window_hours": None}, "rating_window_hours"),
        ({"prevent_change_after": True, "change_window_hours": None}, "change_window_hours"),
        ({"fatigue_days": 0}, "fatigue_days"),
        ({"fatigue_days": 366}, "fatigue_days"),
        ({"limit_asking_contact": True, "fatigue_days": None}, "fatigue_days"),
    ],
)
def test_a_wrong_setting_is_refused_by_name(changes, field):
    assert refused_fields(**changes) == {field}


def test_every_wrong_setting_is_named_at_once():
    assert refused_fields(rating_window_hours=0, happiness_target=101, colour="x") == {
        "rating_window_hours",
        "happiness_target",
        "colour",
    }


def test_reasons_at_their_limits():
    twelve = [f"Reason {n}" for n in range(MAX_REASONS - 1)] + ["x" * MAX_REASON_LENGTH]
    assert rating_settings_update(by=None, low_rating_reasons=twelve).reasons == twelve
    assert refused_fields(low_rating_reasons=[*twelve, "One more"]) == {"low_rating_reasons"}
    too_long = ["x" * (MAX_REASON_LENGTH + 1)]
    assert refused_fields(low_rating_reasons=too_long) == {"low_rating_reasons"}
    assert refused_fields(low_rating_reasons=["Slow", "SLOW"]) == {"low_rating_reasons"}


def test_empty_hours_with_the_limit_off_keep_the_stored_hours():
    rating_settings_update(by=None, rating_window_hours=36)
    saved = rating_settings_update(by=None, prevent_rating_after=False, rating_window_hours=None)
    assert (saved.prevent_rating_after, saved.rating_window_hours) == (False, 36)


def test_E9_fatigue_days_at_their_limits():
    assert rating_settings_update(by=None, fatigue_days=1).fatigue_days == 1
    saved = rating_settings_update(by=None, limit_asking_contact=True, fatigue_days=365)
    assert (saved.limit_asking_contact, saved.fatigue_days) == (True, 365)
    assert saved.switches.fatigue_days == 365
    saved = rating_settings_update(by=None, limit_asking_contact=False)
    assert saved.switches.fatigue_days is None  # off: the days are kept, not applied


def test_s4a_min_ratings_for_csat_is_10_by_default_at_least_1_with_a_clear_error():
    assert RatingSettings.current().min_ratings_for_csat == 10
    assert rating_settings_update(by=None, min_ratings_for_csat=1).min_ratings_for_csat == 1
    RatingSettings.load()
    with pytest.raises(ValidationError) as refused:
        rating_settings_update(by=None, min_ratings_for_csat=0)
    assert refused.value.message_dict == {
        "min_ratings_for_csat": ["Ask for at least 1 rating before a CSAT is shown."]
    }
    assert RatingSettings.load().min_ratings_for_csat == 1


def test_the_settings_reader_never_writes():
    assert RatingSettings.current().happiness_target == 80
    assert not RatingSettings.objects.exists()
    rating_settings_update(by=None, happiness_target=70)
    assert RatingSettings.current().happiness_target == 70


def test_each_rule_has_its_words_and_an_unknown_id_is_shown_as_it_is():
    assert rule_words("E3") == RULE_WORDS["E3"]
    assert rule_words("X9") == "X9"


@pytest.mark.parametrize("rule, status", [("A3", 409), ("A4", 403), ("A5", 403)])
def test_A7_a_refusal_carries_its_status_from_the_one_table(rule, status):
    refusal = RatingRefused(rule)
    assert (refusal.rule, refusal.status, refusal.messages) == (rule, status, [RULE_WORDS[rule]])
    assert REFUSAL_STATUS[rule] == status


def test_teammate_of_any_user():
    teammate = TeammateFactory()
    staff = get_user_model().objects.create_user("staff", is_staff=True)
    assert teammate_of(teammate.user) == teammate
    assert teammate_of(staff) is None
    assert teammate_of(AnonymousUser()) is None
    assert teammate_of(None) is None
    assert "Ask an admin" in no_teammate_message(staff)
    staff.is_superuser = True
    assert "superuser" in no_teammate_message(staff)
