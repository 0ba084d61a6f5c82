"""G5: a teammate deleted (their user account, or the profile) or deactivated keeps their
ratings under their name in every report (summary, teammates table, CSV, API, the comments
and their teammate filter), before and after `figures_rebuild`."""

from datetime import timedelta

import pytest

from conversations.models import FormerTeammate, Teammate
from ratings.figures import figures_rebuild
from ratings.models import Rating, RatingRequest
from reports import selectors
from reports.selectors import Period
from tests.factories import TeammateFactory
from tests.rating_answers.support import CLOSED_AT, _requested, comment, submit, token_for

pytestmark = pytest.mark.django_db

PERIOD = Period(first_day=CLOSED_AT.date() - timedelta(days=1), last_day=CLOSED_AT.date())
QUERY = {"from": PERIOD.first_day.isoformat(), "to": PERIOD.last_day.isoformat()}


@pytest.fixture
def rated(capture):
    """Dora's two requests: one rated 5 with a comment; the other not yet answered."""
    dora, other = TeammateFactory(name="Dora Departed"), TeammateFactory(name="Olga Other")
    first, second = _requested(capture, dora), _requested(capture, dora)
    submit(token_for(first, 5), 5, CLOSED_AT + timedelta(minutes=5))
    comment(token_for(first), "Dora was great")
    third = _requested(capture, other)
    submit(token_for(third, 2), 2, CLOSED_AT + timedelta(minutes=5))
    return dora, other, second


def _leave(dora, how):
    if how == "user deleted":
        dora.user.delete()
    elif how == "profile deleted":
        Teammate.objects.get(pk=dora.pk).delete()
    else:
        dora.user.is_active = False
        dora.user.save(update_fields=["is_active"])


def _reports(client_, api_login, manager, key):
    table = {
        row.teammate_id: (row.name, row.requests, row.ratings)
        for row in selectors.teammates_table(period=PERIOD)
    }
    summary = selectors.csat_summary(period=PERIOD, teammate_id=key)
    comments = [
        (rating.teammate_name, rating.comment)
        for rating in selectors.comments(period=PERIOD, teammate_id=key)
    ]
    csv = b"".join(client_.get("/reports/teammates.csv", QUERY).streaming_content).decode()
    comments_csv = b"".join(
        client_.get("/reports/comments.csv", {**QUERY, "teammate": key}).streaming_content
    ).decode()
    api = api_login(manager.user).get("/api/v1/reports/teammates/", QUERY).json()
    api_rows = {row["teammate"]: (row["name"], row["ratings"]) for row in api["rows"]}
    return {
        "table": table[key],
        "summary": (summary.requests, summary.answered, summary.counts.total),
        "comments": comments,
        "filter": dict(selectors.teammates_for_filter()).get(key),
        "csv": "Dora Departed" in csv,
        "comments_csv": "Dora Departed" in comments_csv and "Dora was great" in comments_csv,
        "api": api_rows[key],
    }


EXPECTED = {
    "table": ("Dora Departed", 2, 1),
    "summary": (2, 1, 1),
    "comments": [("Dora Departed", "Dora was great")],
    "filter": "Dora Departed",
    "csv": True,
    "comments_csv": True,
    "api": ("Dora Departed", 1),
}


@pytest.mark.parametrize("how", ["user deleted", "profile deleted", "deactivated"])
def test_g5_a_teammate_who_left_keeps_their_ratings_under_their_name(
    client_, api_login, manager, rated, how
):
    dora, other, _ = rated
    key = dora.pk
    assert _reports(client_, api_login, manager, key) == EXPECTED
    _leave(dora, how)
    assert _reports(client_, api_login, manager, key) == EXPECTED  # before a rebuild
    figures_rebuild()
    assert _reports(client_, api_login, manager, key) == EXPECTED  # and after
    assert _reports(client_, api_login, manager, other.pk)["table"] == ("Olga Other", 1, 1)
    if how != "deactivated":
        assert FormerTeammate.objects.get(teammate_key=key).name == "Dora Departed"
        assert RatingRequest.objects.filter(teammate_key=key, teammate=None).count() == 2


def test_g5_a_rating_given_after_the_teammate_was_deleted_is_still_theirs(
    client_, api_login, manager, rated
):
    dora, _, unanswered = rated
    dora.user.delete()
    submit(token_for(unanswered, 4), 4, CLOSED_AT + timedelta(minutes=30))
    rating = Rating.objects.get(request=unanswered)
    assert (rating.teammate, rating.teammate_key) == (None, dora.pk)
    before = selectors.teammates_table(period=PERIOD)
    figures_rebuild()
    after = selectors.teammates_table(period=PERIOD)
    assert before == after
    (row,) = [row for row in after if row.teammate_id == dora.pk]
    assert (row.name, row.requests, row.ratings) == ("Dora Departed", 2, 2)
