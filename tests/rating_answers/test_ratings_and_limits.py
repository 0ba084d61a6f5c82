"""A1 first rating, A2 change, A3 final after a comment, A4/A5 hour limits at their boundaries."""

from datetime import timedelta

import pytest

from conversations.models import Part
from ratings.models import Rating, RatingEvent
from ratings.services import RatingRefused
from tests.rating_answers.support import CLOSED_AT, MINUTE, _settings, comment, snapshot, submit


def _rated_parts(request):
    return list(
        Part.objects.filter(conversation=request.conversation, event=Part.Event.RATED).order_by(
            "id"
        )
    )


# --- A1, A2 ------------------------------------------------------------------------------------


def test_A1_first_rating_records_rating_history_and_thread_event(request_, token, teammate):
    at = CLOSED_AT + timedelta(hours=1)
    rating = submit(token, 4, at)

    assert rating.value == 4
    assert rating.request == request_
    assert rating.teammate == teammate
    assert rating.conversation == request_.conversation
    assert rating.rated_at == at
    assert rating.changed_at == at
    assert rating.commented_at is None
    (event,) = RatingEvent.objects.filter(rating=rating)
    assert (event.kind, event.value, event.at) == (RatingEvent.Kind.RATED, 4, at)
    (part,) = _rated_parts(request_)
    assert part.kind == Part.Kind.EVENT
    assert part.author_contact == request_.contact
    assert "4/5" in part.body


@pytest.mark.parametrize("value", [1, 2, 3, 4, 5, "5", " 3 "])
def test_A1_each_of_the_five_reactions(token, value):
    assert submit(token, value, CLOSED_AT + MINUTE).value == int(value)


def test_A2_change_updates_the_value_and_keeps_the_first_time(request_, token):
    first = CLOSED_AT + timedelta(hours=1)
    later = CLOSED_AT + timedelta(hours=2)
    submit(token, 2, first)
    rating = submit(token, 5, later)

    rating.refresh_from_db()
    assert rating.value == 5
    assert rating.rated_at == first
    assert rating.changed_at == later
    assert [(e.kind, e.value, e.at) for e in RatingEvent.objects.filter(rating=rating)] == [
        ("rated", 2, first),
        ("changed", 5, later),
    ]
    assert len(_rated_parts(request_)) == 2
    assert Rating.objects.count() == 1


def test_A2_the_same_value_again_changes_nothing(request_, token):
    submit(token, 3, CLOSED_AT + timedelta(hours=1))
    before = snapshot(request_)
    rating = submit(token, 3, CLOSED_AT + timedelta(hours=2))
    assert rating.value == 3
    assert snapshot(request_) == before


# --- A3 ----------------------------------------------------------------------------------------


def test_A3_no_change_after_a_comment(request_, token):
    submit(token, 4, CLOSED_AT + MINUTE)
    comment(token, "Quick and kind.", at=CLOSED_AT + 2 * MINUTE)
    before = snapshot(request_)
    with pytest.raises(RatingRefused) as refused:
        submit(token, 1, CLOSED_AT + 3 * MINUTE)
    assert refused.value.rule == "A3"
    assert snapshot(request_) == before


def test_A3_a_second_comment_is_refused(request_, token):
    submit(token, 2, CLOSED_AT + MINUTE)
    comment(token, "Took long.", at=CLOSED_AT + 2 * MINUTE)
    before = snapshot(request_)
    with pytest.raises(RatingRefused) as refused:
        comment(token, "And another thing.", at=CLOSED_AT + 3 * MINUTE)
    assert refused.value.rule == "A3"
    assert snapshot(request_) == before


def test_A1_comment_is_recorded_in_the_history(request_, token):
    submit(token, 5, CLOSED_AT + MINUTE)
    at = CLOSED_AT + 2 * MINUTE
    rating = comment(token, "  Lovely, thanks!  ", at=at)
    assert rating.comment == "Lovely, thanks!"
    assert rating.commented_at == at
    events = list(RatingEvent.objects.filter(rating=rating))
    assert [(e.kind, e.value, e.comment) for e in events] == [
        ("rated", 5, ""),
        ("commented", 5, "Lovely, thanks!"),
    ]


# --- A4, A5 ------------------------------------------------------------------------------------


HOURS = 24


BOUNDARY = [
    (timedelta(hours=HOURS) - MINUTE, False),
    (timedelta(hours=HOURS), False),
    (timedelta(hours=HOURS) + MINUTE, True),
]


BOUNDARY_IDS = ["N-1min", "N", "N+1min"]


@pytest.mark.parametrize(("after", "refused"), BOUNDARY, ids=BOUNDARY_IDS)
def test_A4_no_first_rating_after_N_hours(request_, token, after, refused):
    _settings(prevent_rating_after=True, rating_window_hours=HOURS)
    if not refused:
        assert submit(token, 4, CLOSED_AT + after).value == 4
        return
    before = snapshot(request_)
    with pytest.raises(RatingRefused) as error:
        submit(token, 4, CLOSED_AT + after)
    assert error.value.rule == "A4"
    assert snapshot(request_) == before


def test_A4_off_accepts_a_first_rating_long_after(token):
    _settings(prevent_rating_after=False, rating_window_hours=1)
    assert submit(token, 4, CLOSED_AT + timedelta(days=365)).value == 4


@pytest.mark.parametrize(("after", "refused"), BOUNDARY, ids=BOUNDARY_IDS)
def test_A5_no_change_after_N_hours(request_, token, after, refused):
    _settings(prevent_change_after=True, change_window_hours=HOURS)
    submit(token, 2, CLOSED_AT + timedelta(hours=1))
    if not refused:
        assert submit(token, 5, CLOSED_AT + after).value == 5
        return
    before = snapshot(request_)
    with pytest.raises(RatingRefused) as error:
        submit(token, 5, CLOSED_AT + after)
    assert error.value.rule == "A5"
    assert snapshot(request_) == before
    assert Rating.objects.get().value == 2


def test_A5_never_blocks_a_first_rating(token):
    _settings(prevent_change_after=True, change_window_hours=1, prevent_rating_after=False)
    assert submit(token, 3, CLOSED_AT + timedelta(hours=HOURS * 10)).value == 3


def test_A4_does_not_block_a_change(token):
    _settings(prevent_rating_after=True, rating_window_hours=1, prevent_change_after=False)
    submit(token, 3, CLOSED_AT + MINUTE)
    assert submit(token, 1, CLOSED_AT + timedelta(hours=5)).value == 1


# --- A6 (W1, W2) -------------------------------------------------------------------------------
