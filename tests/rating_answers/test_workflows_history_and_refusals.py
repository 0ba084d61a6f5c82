"""A6 a workflow's own limits, A7 refusals, A8 history, A9 links, and bad values refused."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from conversations.models import Workflow
from ratings.models import Rating, RatingEvent
from ratings.services import RatingLinkInvalid, RatingRefused
from ratings.tokens import rating_token
from tests.rating_answers.support import (
    CLOSED_AT,
    MINUTE,
    _requested,
    _settings,
    comment,
    snapshot,
    submit,
    token_for,
)

WORKFLOW_RATING_HOURS = 2


WORKFLOW_CHANGE_HOURS = 3


@pytest.fixture
def workflow_request(teammate, django_capture_on_commit_callbacks):
    _settings(
        send_outbound_api_workflows=True,
        prevent_rating_after=True,
        rating_window_hours=72,
        prevent_change_after=True,
        change_window_hours=48,
    )
    workflow = Workflow.objects.create(
        name="Onboarding",
        rating_window_hours=WORKFLOW_RATING_HOURS,
        change_window_hours=WORKFLOW_CHANGE_HOURS,
    )
    return _requested(django_capture_on_commit_callbacks, teammate, workflow=workflow)


@pytest.mark.parametrize(
    ("after", "refused"),
    [(timedelta(hours=WORKFLOW_RATING_HOURS) - MINUTE, False), (timedelta(hours=2) + MINUTE, True)],
    ids=["N-1min", "N+1min"],
)
def test_A6_workflow_rating_hours_replace_the_settings(workflow_request, after, refused):
    token = token_for(workflow_request)
    if not refused:
        assert submit(token, 4, CLOSED_AT + after).value == 4
        return
    with pytest.raises(RatingRefused) as error:
        submit(token, 4, CLOSED_AT + after)
    assert error.value.rule == "A4"
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("after", "refused"),
    [(timedelta(hours=WORKFLOW_CHANGE_HOURS) - MINUTE, False), (timedelta(hours=3) + MINUTE, True)],
    ids=["N-1min", "N+1min"],
)
def test_A6_workflow_change_hours_replace_the_settings(workflow_request, after, refused):
    token = token_for(workflow_request)
    submit(token, 4, CLOSED_AT + MINUTE)
    if not refused:
        assert submit(token, 1, CLOSED_AT + after).value == 1
        return
    with pytest.raises(RatingRefused) as error:
        submit(token, 1, CLOSED_AT + after)
    assert error.value.rule == "A5"
    assert Rating.objects.get().value == 4


def test_A6_workflow_limits_apply_with_the_settings_toggles_off(
    teammate, django_capture_on_commit_callbacks
):
    _settings(send_outbound_api_workflows=True)  # both prevent toggles off by default
    workflow = Workflow.objects.create(name="Trial", rating_window_hours=1)
    request = _requested(django_capture_on_commit_callbacks, teammate, workflow=workflow)
    with pytest.raises(RatingRefused) as error:
        submit(token_for(request), 4, CLOSED_AT + timedelta(hours=1) + MINUTE)
    assert error.value.rule == "A4"


def test_W2_a_workflow_without_limits_uses_the_settings(
    teammate, django_capture_on_commit_callbacks
):
    _settings(send_outbound_api_workflows=True, prevent_rating_after=True, rating_window_hours=5)
    workflow = Workflow.objects.create(name="No limits")
    request = _requested(django_capture_on_commit_callbacks, teammate, workflow=workflow)
    token = token_for(request)
    with pytest.raises(RatingRefused) as error:
        submit(token, 4, CLOSED_AT + timedelta(hours=5) + MINUTE)
    assert error.value.rule == "A4"
    assert submit(token, 4, CLOSED_AT + timedelta(hours=5)).value == 4


# --- A7: refusals are errors with the rule, and write nothing ------------------------------------


def test_A7_refusal_carries_the_rule_and_plain_words(request_, token):
    _settings(prevent_rating_after=True, rating_window_hours=1)
    with pytest.raises(RatingRefused) as error:
        submit(token, 5, CLOSED_AT + timedelta(hours=2))
    assert isinstance(error.value, ValidationError)
    assert error.value.rule == "A4"
    assert error.value.code == "A4"
    assert "passed" in error.value.messages[0]


# --- A8 ----------------------------------------------------------------------------------------


def test_A8_history_rows_cannot_be_updated_or_deleted(request_, token):
    submit(token, 4, CLOSED_AT + MINUTE)
    event = RatingEvent.objects.get()
    event.value = 1
    with pytest.raises(ValidationError, match="append-only"):
        event.save()
    with pytest.raises(ValidationError, match="append-only"):
        event.delete()
    event.refresh_from_db()
    assert event.value == 4
    assert RatingEvent.objects.count() == 1


def test_A8_the_rating_holds_the_current_value_the_history_every_step(request_, token):
    submit(token, 1, CLOSED_AT + MINUTE)
    submit(token, 2, CLOSED_AT + 2 * MINUTE)
    submit(token, 5, CLOSED_AT + 3 * MINUTE)
    comment(token, "Sorted in the end.", at=CLOSED_AT + 4 * MINUTE)
    assert Rating.objects.get().value == 5
    assert list(RatingEvent.objects.values_list("kind", "value")) == [
        ("rated", 1),
        ("changed", 2),
        ("changed", 5),
        ("commented", 5),
    ]


# --- A9 ----------------------------------------------------------------------------------------


def _tampered(token):
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@pytest.mark.parametrize("kind", ["other-conversation", "tampered", "missing-request", "garbage"])
def test_A9_invalid_links_are_refused_without_writing(
    request_, teammate, django_capture_on_commit_callbacks, kind
):
    other = _requested(django_capture_on_commit_callbacks, teammate)
    token = {
        "other-conversation": rating_token(
            request_id=request_.pk, conversation_id=other.conversation_id
        ),
        "tampered": _tampered(token_for(request_)),
        "missing-request": rating_token(
            request_id=987654, conversation_id=request_.conversation_id
        ),
        "garbage": "not-a-token",
    }[kind]
    before = (snapshot(request_), snapshot(other))
    with pytest.raises(RatingLinkInvalid):
        submit(token, 5, CLOSED_AT + MINUTE)
    with pytest.raises(RatingLinkInvalid):
        comment(token, "hello")
    assert (snapshot(request_), snapshot(other)) == before


def test_A9_a_link_with_a_value_rates_only_its_own_request(request_, teammate):
    """The value inside a link is not trusted: the submitted value is what counts."""
    token = token_for(request_, value=1)
    assert submit(token, 5, CLOSED_AT + MINUTE).value == 5


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 6, -1, "x", None, "", "4.5", [4]])
def test_bad_values_are_refused_without_writing(request_, token, value):
    before = snapshot(request_)
    with pytest.raises(ValidationError):
        submit(token, value, CLOSED_AT + MINUTE)
    assert snapshot(request_) == before


@pytest.mark.parametrize("value", [4.5, 1.9, True])
def test_non_integer_values_are_refused_without_writing(request_, token, value):
    before = snapshot(request_)
    with pytest.raises(ValidationError):
        submit(token, value, CLOSED_AT + MINUTE)
    assert snapshot(request_) == before


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_comment_is_refused(request_, token, text):
    submit(token, 2, CLOSED_AT + MINUTE)
    before = snapshot(request_)
    with pytest.raises(ValidationError) as error:
        comment(token, text)
    assert not isinstance(error.value, RatingRefused)
    assert snapshot(request_) == before


def test_comment_before_any_rating_is_refused(request_, token):
    with pytest.raises(ValidationError, match="reaction"):
        comment(token, "Hello")
    assert not Rating.objects.exists()


def test_too_long_comment_is_refused(request_, token):
    submit(token, 3, CLOSED_AT + MINUTE)
    before = snapshot(request_)
    with pytest.raises(ValidationError):
        comment(token, "c" * 5001)
    assert snapshot(request_) == before
    assert comment(token, "c" * 5000).comment == "c" * 5000


@pytest.mark.parametrize("value", [1, 2])
def test_A1_reasons_after_terrible_or_bad_from_the_configured_list(request_, token, value):
    _settings(low_rating_reasons="Slow to answer\nProblem not solved\n")
    submit(token, value, CLOSED_AT + MINUTE)
    rating = comment(token, "", reasons=["Problem not solved", "Slow to answer"])
    assert rating.reasons == ["Problem not solved", "Slow to answer"]
    assert RatingEvent.objects.filter(kind="commented").get().reasons == rating.reasons


@pytest.mark.parametrize("value", [3, 4, 5])
def test_A1_reasons_refused_after_ok_great_amazing(request_, token, value):
    submit(token, value, CLOSED_AT + MINUTE)
    before = snapshot(request_)
    with pytest.raises(ValidationError, match="terrible or bad"):
        comment(token, "fine", reasons=["Slow to answer"])
    assert snapshot(request_) == before


def test_A1_reasons_not_in_the_configured_list_are_refused(request_, token):
    _settings(low_rating_reasons="Slow to answer")
    submit(token, 1, CLOSED_AT + MINUTE)
    before = snapshot(request_)
    with pytest.raises(ValidationError, match="Unknown reason"):
        comment(token, "bad", reasons=["Slow to answer", "Problem not solved"])
    assert snapshot(request_) == before
