"""H6: a hot read compiled once per process (`conversations.compiled.CompiledRead`) answers
what its queryset answers, row for row, relation for relation, with the same one query; and
the rating page's reaction buttons, built once per language, are the template's."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import translation

from conversations.compiled import CompiledRead
from ratings.answers import _LOCKED_READ
from ratings.models import Rating, RatingRequest
from ratings.selectors import _LINK_STATE_READ, rating_link_state
from ratings.templatetags.faces import reaction_buttons
from tests.rating_pages.support import _requested, _url


def _joined(key):
    return (
        RatingRequest.objects.select_related("close", "conversation__workflow", "contact")
        .annotate(doubled=F("pk") * 2)
        .filter(pk=key)
    )


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_H6_the_compiled_read_answers_what_the_queryset_answers(
    teammate, django_assert_num_queries
):
    first, second = _requested(teammate), _requested(teammate)
    built = []
    read = CompiledRead(lambda key: built.append(key) or _joined(key))
    for request in (first, second, first):
        with django_assert_num_queries(1):
            got = read.first(request.pk)
        expected = _joined(request.pk).get()
        assert _fields(got) == _fields(expected)
        assert got.doubled == request.pk * 2
        with django_assert_num_queries(0):  # the relations came with the row
            for name in ("close", "conversation", "contact"):
                assert _fields(getattr(got, name)) == _fields(getattr(expected, name))
            assert got.conversation.workflow is None
    assert len(built) == 1, "compiled once, not per call"
    assert read.first(10**9) is None and read.all(10**9) == []


def test_H6_the_rating_page_read_is_the_plain_querysets_with_its_columns(teammate):
    request = _requested(teammate)
    got = _LINK_STATE_READ.first(request.pk)
    assert got.pk == request.pk and got.conversation_id == request.conversation_id
    assert got.close.closed_at == request.close.closed_at
    assert got.contact.language == request.contact.language
    # Its deferred columns are deferred, as the queryset's `only()` says (a read of one of them
    # would be a query of its own: the page's query-count tests catch that).
    assert "delivered_at" in got.get_deferred_fields()
    with pytest.raises(Rating.DoesNotExist):
        got.rating  # noqa: B018 - the LEFT JOIN found no rating: cached as missing


def test_H6_the_page_read_refuses_an_erased_contact_as_the_queryset_does(teammate):
    """G2 through the compiled read: the filter on the contact is part of its SQL."""
    request = _requested(teammate)
    token = _url(request, 4).rstrip("/").rsplit("/", 1)[1]
    assert rating_link_state(token=token).request.pk == request.pk
    request.contact.erased_at = request.close.closed_at
    request.contact.save(update_fields=["erased_at"])
    assert _LINK_STATE_READ.first(request.pk) is None


@pytest.mark.django_db(transaction=True)
def test_H6_a_locking_read_outside_a_transaction_is_refused_as_the_orm_refuses_it(teammate):
    request = _requested(teammate)
    with pytest.raises(transaction.TransactionManagementError):
        _LOCKED_READ.first(request.pk)
    with transaction.atomic():
        assert _LOCKED_READ.first(request.pk).pk == request.pk


def test_H6_a_queryset_without_its_key_is_an_error():
    read = CompiledRead(lambda key: RatingRequest.objects.filter(pk=1))
    with pytest.raises(ValueError, match="does not use its key"):
        read.first(1)


@pytest.mark.django_db(transaction=True)
def test_H6_each_thread_runs_the_read_on_its_own_connection(teammate):
    """gunicorn's threads share the compiled SQL, never the connection it was compiled on."""
    request = _requested(teammate)
    read = CompiledRead(_joined)
    assert read.first(request.pk).pk == request.pk  # compiled here, on this thread's connection
    seen = {}

    def other():
        try:
            seen["pk"] = read.first(request.pk).pk
            seen["connection"] = connections["default"].connection
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen["pk"] == request.pk
    assert seen["connection"] is not connections["default"].connection


def _prepared(like: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [like]
        )
        return cursor.fetchone()[0]


PAGE_READ = '%FROM "ratings_ratingrequest"%"conversations_contact"%'


@pytest.mark.skipif(connection.vendor != "postgresql", reason="H5 is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_H5_on_postgresql_the_page_read_is_prepared_on_its_first_run(teammate):
    """H5: the compiled page read is prepared on its first run on a connection, so
    PostgreSQL plans the page's seven-table join once per connection."""
    request = _requested(teammate)
    connection.close()  # a new connection: nothing prepared on it yet
    assert _prepared(PAGE_READ) == 0

    assert _LINK_STATE_READ.first(request.pk).pk == request.pk
    assert _prepared(PAGE_READ) == 1
    assert _LINK_STATE_READ.first(request.pk).pk == request.pk
    assert _prepared(PAGE_READ) == 1  # the same statement, not a second one


@pytest.mark.skipif(connection.vendor != "postgresql", reason="H5 is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_H5_on_postgresql_no_other_statement_is_prepared_however_often_it_runs(teammate):
    """H5: a report's period query keeps a plan made for its values: run ten times (twice
    psycopg's default threshold), the follow-up count is never prepared, and neither is the
    same page read through its plain queryset."""
    request = _requested(teammate)
    connection.close()
    todo = Rating.objects.filter(value__in=[1, 2], followed_up_at__isnull=True)
    plain = _LINK_STATE_READ.build(request.pk)
    for _ in range(10):
        todo.count()
        assert plain.get().pk == request.pk

    assert _prepared('%FROM "ratings_rating"%') == 0
    assert _prepared(PAGE_READ) == 0
    assert _LINK_STATE_READ.first(request.pk).pk == request.pk
    assert _prepared(PAGE_READ) == 1
    todo.count()  # after a prepared read on the connection, still not prepared
    assert _prepared('%FROM "ratings_rating"%') == 0


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(("selected", "autosubmit"), [(None, False), (4, False), (2, True)])
def test_H6_the_reaction_buttons_are_built_once_per_language_and_state(
    language, selected, autosubmit
):
    with translation.override(language):
        html = str(reaction_buttons(selected, autosubmit))
        assert reaction_buttons(selected, autosubmit) is reaction_buttons(selected, autosubmit)
    assert html.count("<button") == 5 and html.count('class="face"') == 5
    assert html.count('aria-pressed="true"') == (0 if selected is None else 1)
    assert html.count("data-autosubmit") == (1 if autosubmit else 0)
    if selected:
        pressed = html.split('aria-pressed="true"')[0].rsplit("<button", 1)[1]
        assert f'value="{selected}"' in pressed
    # The names in the page's language: French says "Génial" where English says "Amazing".
    assert ("Amazing" in html) == (language == "en")
