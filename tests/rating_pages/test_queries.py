"""H1, H2: what a customer's click costs the database, request by request, at the fewest
statements the rules need; and the rating settings read once per process until saved.

The counts are of a test, which runs in a transaction: each service's transaction shows as a
SAVEPOINT and its RELEASE (in production: BEGIN and COMMIT, which psycopg sends too), and a
PostgreSQL connection's health check (`SELECT 1`, once per request) is not counted."""

import re
from datetime import timedelta

import time_machine
from django.test import Client

from ratings.configure import rating_settings_update
from ratings.models import Rating, RatingSettings
from tests.factories import settings_copy_warm
from tests.rating_pages.support import CLOSED_AT, _comment_url, _requested, _text, _url

# The page (GET): the request with its close, rating, contact (its language, L2), teammate,
# conversation and workflow, and the settings' version (H2): one statement.
PAGE = 1
# The reaction (POST): the request locked (with the settings' version), its rating (read after
# the lock), the rating (INSERT, or its UPDATE for a change, A2), the history (A8), the
# webhooks to tell, the daily figures (one upsert for both days, R1), the conversation's
# `updated_at` and its event part; in a transaction.
RATE = 2 + 8
CHANGE = RATE
# The page after the 303: the page's read.
AFTER = PAGE
# The comment (POST): the request locked, its rating, the rating's UPDATE, the history, the
# webhooks; in a transaction.
COMMENT = 2 + 5
# With a reason after a terrible rating (A1): the reason's row, its daily figure (R2) and the
# alert's outbox row (N5).
COMMENT_WITH_REASON = COMMENT + 3


def _csrf(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _text(response)).group(1)


def test_H1_a_click_costs_one_statement_per_page_and_eight_for_the_post(
    teammate, django_assert_num_queries
):
    """A customer's one click in the email: the page, its post of the reaction, the page the
    303 leads to (A1); then another link of the email (a change, A2) and a comment (A1),
    through a browser's CSRF checks."""
    request = _requested(teammate)
    settings_copy_warm()
    browser = Client(enforce_csrf_checks=True)
    origin = {"HTTP_ORIGIN": "http://testserver"}
    url = _url(request, 4)
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        with django_assert_num_queries(PAGE):
            page = browser.get(url)
        assert page.status_code == 200
        with django_assert_num_queries(RATE):
            posted = browser.post(url, {"csrfmiddlewaretoken": _csrf(page), "value": "4"}, **origin)
        assert posted.status_code == 303
        with django_assert_num_queries(AFTER):
            after = browser.get(posted["Location"])
        assert after.status_code == 200 and Rating.objects.get().value == 4

        changed = _url(request, 5)
        with django_assert_num_queries(CHANGE):
            posted = browser.post(
                changed, {"csrfmiddlewaretoken": _csrf(after), "value": "5"}, **origin
            )
        assert posted.status_code == 303 and Rating.objects.get().value == 5

        with django_assert_num_queries(COMMENT):
            commented = browser.post(
                _comment_url(request),
                {"csrfmiddlewaretoken": _csrf(after), "comment": "Quick and kind."},
                **origin,
            )
        assert commented.status_code == 303
        assert Rating.objects.get().comment == "Quick and kind."


def test_H1_a_comment_with_a_reason_after_a_terrible_rating(teammate, django_assert_num_queries):
    request = _requested(teammate)
    settings_copy_warm()
    client = Client()
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        assert client.post(_url(request, 1), {"value": "1"}).status_code == 303
        with django_assert_num_queries(COMMENT_WITH_REASON):
            commented = client.post(
                _comment_url(request), {"comment": "Slow.", "reasons": ["Slow to answer"]}
            )
    assert commented.status_code == 303
    assert Rating.objects.get().reasons == ["Slow to answer"]


def test_H1_a_refused_post_costs_the_page_once_more_and_writes_nothing(
    teammate, django_assert_num_queries
):
    """A refusal (A4: too late for a first rating) is the page again with the rule's words:
    the post's read, then the page's."""
    request = _requested(teammate)
    rating_settings_update(by=None, prevent_rating_after=True, rating_window_hours=1)
    settings_copy_warm()
    # The lock and the rating in a transaction rolled back (three statements), the page.
    with (
        time_machine.travel(CLOSED_AT + timedelta(hours=2), tick=False),
        django_assert_num_queries(3 + 2 + PAGE),
    ):
        refused = Client().post(_url(request, 4), {"value": "4"})
    assert refused.status_code == 403 and not Rating.objects.exists()


def test_H2_the_settings_are_read_once_per_process(teammate, django_assert_num_queries):
    """The first request of a process reads the settings row; the next ones take its copy,
    the settings' version coming with the request's own read."""
    request = _requested(teammate)
    RatingSettings.load().save()  # a save: no process has the copy now
    client = Client()
    with django_assert_num_queries(PAGE + 1):
        assert client.get(_url(request, 4)).status_code == 200
    with django_assert_num_queries(PAGE):
        assert client.get(_url(request, 4)).status_code == 200


def test_H2_a_save_by_another_process_applies_to_the_next_click(teammate):
    """Another process saves the settings (here: an UPDATE that this process's copy knows
    nothing of, as a save elsewhere is): the next click here reads them again, and their new
    hour limit refuses it (A4)."""
    request = _requested(teammate)
    settings = settings_copy_warm()
    with time_machine.travel(CLOSED_AT + timedelta(hours=2), tick=False):
        RatingSettings.objects.filter(pk=1).update(
            prevent_rating_after=True,
            rating_window_hours=1,
            updated_at=settings.updated_at + timedelta(seconds=1),
        )
        refused = Client().post(_url(request, 4), {"value": "4"})
    assert refused.status_code == 403 and not Rating.objects.exists()
    assert RatingSettings.as_of(settings.updated_at + timedelta(seconds=1)).rating_window_hours == 1


def test_H2_a_save_in_this_process_applies_at_once_even_in_the_same_instant(teammate):
    """A save here clears this process's copy, whatever its `updated_at` (a clock standing
    still, as in a test, gives the same one): the next click obeys the new limit (A4), and
    the limit taken away again lets it through."""
    request = _requested(teammate)
    with time_machine.travel(CLOSED_AT + timedelta(hours=2), tick=False):
        settings_copy_warm()
        rating_settings_update(by=None, prevent_rating_after=True, rating_window_hours=1)
        assert Client().post(_url(request, 4), {"value": "4"}).status_code == 403
        rating_settings_update(by=None, prevent_rating_after=False)
        assert Client().post(_url(request, 4), {"value": "4"}).status_code == 303
    assert Rating.objects.get().value == 4


def test_H2_without_a_settings_row_the_defaults_apply_and_nothing_is_written(
    teammate, django_assert_num_queries
):
    request = _requested(teammate)
    RatingSettings.objects.all().delete()
    with django_assert_num_queries(PAGE):
        assert Client().get(_url(request, 4)).status_code == 200
    assert not RatingSettings.objects.exists()
