"""H4: the Messenger poll's version kept in a shared cache (conversations.poll_versions): a poll
that finds nothing new reads no database, and the cache never hides a change: after every kind
of write the next poll is a 200, never a 304 — the services, the widget's own endpoints, the
admin, the background tasks (the decision's survey, the snooze schedule, retention), erasure.
A cache emptied or failing falls back to the query (the same ETag); an entry read under
generations that a commit bumped while the query ran is never used; the minute still turns the
ETag (W6, the time limits A4/A5).

The cache here is a local-memory one standing in for Redis (the production settings turn it on
only with a Redis URL: `csat_project.settings`, MESSENGER_VERSION_CACHE). The bumps run on
commit: each change runs inside `django_capture_on_commit_callbacks(execute=True)`, as its
commit would."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from conversations import poll_versions, services
from conversations.models import Conversation, Origin, Part, State
from ratings import messenger as ratings_messenger
from ratings.configure import rating_settings_update
from ratings.decisions import rating_request_send
from ratings.erasure import contact_erase, retention_erase
from ratings.models import Rating, RatingRequest
from tests.admin_inbox.support import PASSWORD, act_url, post_action
from tests.factories import ContactFactory, start_conversation
from tests.messenger.test_widget_queries import REPLY, START, THREADS_NOT_MODIFIED
from tests.test_messenger_view import _closed

T = datetime(2025, 3, 10, 12, 0, 5, tzinfo=UTC)  # five seconds into a minute
CARD = "data-card="
# H4: a 304 read from the cache: no query (not even CONN_HEALTH_CHECKS' SELECT 1 on
# PostgreSQL, which Django runs before a request's first query only).
THREADS_NOT_MODIFIED_CACHED = 0

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def version_cache(settings):
    """The version cache on, in a cache of this test's own."""
    settings.CACHES = {
        **settings.CACHES,
        "h4": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "h4"},
    }
    settings.MESSENGER_VERSION_CACHE = "h4"
    caches["h4"].clear()
    caches["shared"].clear()  # the card API's throttles
    poll_versions._HINTS.clear()
    yield caches["h4"]
    caches["h4"].clear()
    poll_versions._HINTS.clear()


def _threads(client, token, etag=None):
    headers = {"HTTP_X_MESSENGER_SESSION": token}
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return client.get(reverse("messenger:threads"), **headers)


def _cached_304(client, token, django_assert_num_queries) -> str:
    """A 200, then a 304 taken from the cache with no query; the ETag. (The first poll after
    the contact's set of conversations was first seen or grew runs the query once more: the
    generations of conversations new to the entry are read before a query, never after.)"""
    etag = _threads(client, token)["ETag"]
    assert _threads(client, token, etag).status_code == 304  # the query, or the cache
    with django_assert_num_queries(THREADS_NOT_MODIFIED_CACHED):
        assert _threads(client, token, etag).status_code == 304
    return etag


# --- the count --------------------------------------------------------------------------------


def test_H4_a_poll_that_finds_nothing_new_reads_no_database(
    client, contact, teammate, django_assert_num_queries
):
    for _ in range(3):
        _closed(contact, teammate)
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _cached_304(client, token, django_assert_num_queries)
        for _ in range(3):
            with django_assert_num_queries(THREADS_NOT_MODIFIED_CACHED):
                response = _threads(client, token, etag)
            assert response.status_code == 304 and response["ETag"] == etag


def test_H4_the_etag_is_the_same_with_the_cache_and_without(
    client, contact, conversation, settings
):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        cached = _threads(client, token)["ETag"]
        settings.MESSENGER_VERSION_CACHE = ""
        assert _threads(client, token)["ETag"] == cached


def test_H4_another_process_reads_the_entry_it_did_not_write(
    client, contact, conversation, django_assert_num_queries
):
    """The process's hint (which conversations' generations to read with the entry) is gone,
    as in another gunicorn worker: the entry names them, a second round trip, no query."""
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _cached_304(client, token, django_assert_num_queries)
        poll_versions._HINTS.clear()
        with django_assert_num_queries(THREADS_NOT_MODIFIED_CACHED):
            assert _threads(client, token, etag).status_code == 304


def test_H4_the_writes_cost_the_same_statements_with_the_cache_on(client, contact, conversation):
    """The bumps are cache writes after the commit: not one query more (W6's counts)."""
    from tests.messenger.test_widget_queries import _count

    token = services.session_token(contact)
    count, response = _count(
        client,
        "post",
        reverse("messenger:start"),
        {"body": "Second question"},
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=token,
    )
    assert (response.status_code, count) == (201, START)
    count, response = _count(
        client,
        "post",
        reverse("messenger:reply", args=[conversation.pk]),
        {"body": "More detail"},
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=token,
    )
    assert (response.status_code, count) == (201, REPLY)


# --- after every kind of change, the next poll is a 200 ----------------------------------------


def _admin(teammate_user_name="Ada Admin"):
    teammate = services.teammate_create(
        name=teammate_user_name, email="ada.admin@example.com", password=PASSWORD
    )
    browser = Client()
    browser.force_login(teammate.user)
    return browser


def _teammate_reply(c):
    services.conversation_reply(conversation=c.conversation, author=c.teammate, body="On it!")


def _widget_reply(c):
    response = c.client.post(
        reverse("messenger:reply", args=[c.conversation.pk]),
        {"body": "Any news?"},
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=c.token,
    )
    assert response.status_code == 201


def _widget_start(c):
    response = c.client.post(
        reverse("messenger:start"),
        {"body": "Another question"},
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=c.token,
    )
    assert response.status_code == 201


def _teammate_starts_one(c):
    start_conversation(
        origin=Origin.DIRECT_OUTBOUND, contacts=[c.contact], started_by=c.teammate, body="Hi!"
    )


def _long_reply(c):
    """A teammate's reply long enough for a survey (E3)."""
    services.conversation_reply(conversation=c.conversation, author=c.teammate, body="x" * 300)


def _close(c):
    """The close (its commit queues the decision, run in-process here)."""
    services.conversation_close(conversation=c.conversation, by=c.teammate)


def _survey_undelivered(c):
    RatingRequest.objects.filter(conversation=c.closed).update(delivered_at=None)


def _survey_delivered_by_the_task(c):
    """The queued task delivers the survey still waiting: its card, and the rating-requested
    event (an update() of the conversation's row, no signal)."""
    rating_request_send(conversation_id=c.closed.pk)
    assert RatingRequest.objects.get(conversation=c.closed).delivered_at is not None


def _snooze_and_wake(c):
    services.conversation_snooze(
        conversation=c.conversation, by=c.teammate, until=T + timedelta(minutes=30)
    )


def _wake_by_schedule(c):
    services.conversations_wake_due(now=T + timedelta(hours=2))


def _card(c, path, body):
    answer = c.api_client.post(f"/api/v1/messenger/ratings/{c.card}/{path}", body, format="json")
    assert answer.status_code == 200, answer.json()


def _card_rating(c):
    _card(c, "reaction/", {"value": 4})


def _rating_page(c):
    from ratings.models import RatingRequest
    from ratings.tokens import rating_token

    request = RatingRequest.objects.get(conversation=c.closed)
    token = rating_token(request_id=request.pk, conversation_id=c.closed.pk)
    Client().post(reverse("ratings:rate", args=[token]), {"value": 2})
    assert Rating.objects.filter(conversation=c.closed, value=2).exists()


def _admin_reply(c):
    response = _admin().post(act_url(c.conversation, "reply"), {"body": "From the inbox."})
    assert response.status_code == 302
    assert c.conversation.parts.filter(body="From the inbox.").exists()


def _admin_bulk_close_action(c):
    post_action(_admin(), "close_selected", [c.conversation])
    c.conversation.refresh_from_db()
    assert c.conversation.state == State.CLOSED


def _deleted(c):
    c.closed.delete()


def _rating_deleted(c):
    Rating.objects.filter(conversation=c.closed).delete()


def _retention(c):
    rating_settings_update(by=None, retention_days=1)
    retention_erase(now=T + timedelta(days=30))
    assert c.closed.parts.filter(kind=Part.Kind.REPLY, body="[erased]").exists()


class Case:
    def __init__(self, client, api_client, contact, teammate):
        self.client, self.api_client = client, api_client
        self.contact, self.teammate = contact, teammate
        self.closed = _closed(contact, teammate)  # closed, its card delivered
        with time_machine.travel(T - timedelta(minutes=10), tick=False):
            self.conversation = start_conversation(
                contacts=[contact], started_by=contact, body="Where is my parcel?"
            )
        self.token = services.session_token(contact)
        self.card = ""


CHANGES = {
    "a teammate's reply": (None, _teammate_reply),
    "the contact's reply in the widget": (None, _widget_reply),
    "a conversation started in the widget": (None, _widget_start),
    "a conversation a teammate starts (direct outbound)": (None, _teammate_starts_one),
    "a close (its decision queued)": (_long_reply, _close),
    "a survey delivered by the task": (_survey_undelivered, _survey_delivered_by_the_task),
    "a snooze": (None, _snooze_and_wake),
    "the snooze schedule waking it": (_snooze_and_wake, _wake_by_schedule),
    "a rating through the card": (None, _card_rating),
    "a rating changed through the card": (
        _card_rating,
        lambda c: _card(c, "reaction/", {"value": 1}),
    ),
    "a comment through the card": (
        _card_rating,
        lambda c: _card(c, "comment/", {"comment": "Quick and kind"}),
    ),
    "a rating on the rating page": (None, _rating_page),
    "a reply from the admin": (None, _admin_reply),
    "a close from the admin's list": (_long_reply, _admin_bulk_close_action),
    "a conversation deleted": (None, _deleted),
    "a rating withdrawn": (_card_rating, _rating_deleted),
    "the retention schedule (G4)": (None, _retention),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_H4_after_every_kind_of_change_the_next_poll_is_a_200(
    name,
    client,
    api_client,
    contact,
    teammate,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    before, change = CHANGES[name]
    case = Case(client, api_client, contact, teammate)
    with time_machine.travel(T, tick=False):
        html = _threads(client, case.token).content.decode()
        case.card = html.split(CARD, 1)[1].split('"')[1]
        if before is not None:
            with django_capture_on_commit_callbacks(execute=True):
                before(case)
        etag = _cached_304(client, case.token, django_assert_num_queries)
    with time_machine.travel(T + timedelta(seconds=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            change(case)
        response = _threads(client, case.token, etag)
    assert response.status_code == 200, name
    assert response["ETag"] != etag


def test_H4_G2_after_the_contact_is_erased_the_next_poll_is_refused(
    client, contact, teammate, django_capture_on_commit_callbacks, django_assert_num_queries
):
    _closed(contact, teammate)
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _cached_304(client, token, django_assert_num_queries)
        with django_capture_on_commit_callbacks(execute=True):
            contact_erase(contact=contact, by=None)
        response = _threads(client, token, etag)
    assert response.status_code == 403  # G2: the session ended, not a 304


def test_H4_the_bump_waits_for_the_commit(
    client,
    contact,
    teammate,
    conversation,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    """Until the write commits, other processes read the data before it: the cached answer
    stays (no bump before the commit); once committed, the next poll asks again."""
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _cached_304(client, token, django_assert_num_queries)
        with django_capture_on_commit_callbacks(execute=False) as pending:
            services.conversation_reply(conversation=conversation, author=teammate, body="Hi")
        with django_assert_num_queries(THREADS_NOT_MODIFIED_CACHED):
            assert _threads(client, token, etag).status_code == 304  # not committed yet
        bumps = [callback for callback in pending if isinstance(callback, poll_versions._Bump)]
        assert bumps  # waiting for the commit
        for bump in bumps:
            bump()
        assert _threads(client, token, etag).status_code == 200


def test_H4_an_entry_read_under_generations_bumped_during_the_query_is_not_used(
    client, contact, teammate, conversation, monkeypatch, django_assert_num_queries
):
    """A writer commits and bumps while a poll's query runs: the poll's answer may be the
    data before the write, so the entry it stores must not be trusted by the next poll."""
    read = ratings_messenger._version_read

    def read_then_a_write_commits(contact_id, with_ids):
        answer = read(contact_id, with_ids)
        poll_versions._Bump({poll_versions._conversation_key(conversation.pk)})()
        return answer

    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        monkeypatch.setattr(ratings_messenger, "_version_read", read_then_a_write_commits)
        etag = _threads(client, token)["ETag"]
        monkeypatch.setattr(ratings_messenger, "_version_read", read)
        with django_assert_num_queries(THREADS_NOT_MODIFIED):
            assert _threads(client, token, etag).status_code == 304  # the query, again
        with django_assert_num_queries(THREADS_NOT_MODIFIED_CACHED):
            assert _threads(client, token, etag).status_code == 304  # now from the cache


def test_H4_a_new_conversation_in_the_set_is_read_under_its_own_generation(
    client,
    contact,
    teammate,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    """A conversation new in the contact's set (its generation was not read before the
    query): the entry is not trusted until a poll has read it under its generation; a reply
    in it then is a 200."""
    with time_machine.travel(T - timedelta(minutes=10), tick=False):  # all before T
        start_conversation(contacts=[contact], started_by=contact, body="One")
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        _cached_304(client, token, django_assert_num_queries)
        with django_capture_on_commit_callbacks(execute=True):
            other = start_conversation(contacts=[contact], started_by=contact, body="Two")
        etag = _threads(client, token)["ETag"]  # the new one listed
        with django_assert_num_queries(THREADS_NOT_MODIFIED):
            assert _threads(client, token, etag).status_code == 304
        with django_assert_num_queries(THREADS_NOT_MODIFIED_CACHED):
            assert _threads(client, token, etag).status_code == 304
    with time_machine.travel(T + timedelta(seconds=1), tick=False):  # a later updated_at
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_reply(conversation=other, author=teammate, body="Got it")
        assert _threads(client, token, etag).status_code == 200


# --- the cache missing, failing; the clock ------------------------------------------------------


def test_H4_an_emptied_cache_falls_back_to_the_query_with_the_same_etag(
    client, contact, conversation, version_cache, django_assert_num_queries
):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _cached_304(client, token, django_assert_num_queries)
        version_cache.clear()  # evicted, restarted, flushed
        with django_assert_num_queries(THREADS_NOT_MODIFIED):
            response = _threads(client, token, etag)
    assert response.status_code == 304 and response["ETag"] == etag


class BrokenCache:
    """A cache whose server does not answer."""

    def __getattr__(self, name):
        def fails(*args, **kwargs):
            raise ConnectionError("cache down")

        return fails


def test_H4_a_failing_cache_falls_back_to_the_query_and_the_writes_still_commit(
    client,
    contact,
    teammate,
    conversation,
    monkeypatch,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _threads(client, token)["ETag"]
        monkeypatch.setattr(poll_versions, "_cache", BrokenCache)
        with django_assert_num_queries(THREADS_NOT_MODIFIED):
            response = _threads(client, token, etag)
        assert response.status_code == 304 and response["ETag"] == etag
        with django_capture_on_commit_callbacks(execute=True):
            part = services.conversation_reply(conversation=conversation, author=teammate, body="x")
        assert Part.objects.filter(pk=part.pk).exists()
        assert _threads(client, token, etag).status_code == 200


def test_H4_W6_the_minute_still_turns_the_etag(
    client, contact, conversation, django_assert_num_queries
):
    """The entry dies with its minute: time limits (A4, A5) and the settings' texts redraw the
    widget within a minute, as without the cache."""
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _cached_304(client, token, django_assert_num_queries)
    with (
        time_machine.travel(T + timedelta(seconds=54), tick=False),  # 12:00:59
        django_assert_num_queries(THREADS_NOT_MODIFIED_CACHED),
    ):
        assert _threads(client, token, etag).status_code == 304
    with time_machine.travel(T + timedelta(seconds=55), tick=False):  # 12:01:00
        response = _threads(client, token, etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_H4_A4_the_rating_window_closing_redraws_the_card(
    client, contact, teammate, django_assert_num_queries
):
    """A4: the card's time limit passes with nothing written: the next minute's poll is a
    200 and the card says the time to rate has passed."""
    rating_settings_update(by=None, prevent_rating_after=True, rating_window_hours=1)
    conversation = _closed(contact, teammate)
    token = services.session_token(contact)
    ended = conversation.closed_at + timedelta(hours=1)
    with time_machine.travel(ended - timedelta(seconds=30), tick=False):
        etag = _cached_304(client, token, django_assert_num_queries)
        assert (
            "time to rate this conversation has passed"
            not in _threads(client, token).content.decode()
        )
    with time_machine.travel(ended + timedelta(seconds=31), tick=False):
        response = _threads(client, token, etag)
    assert response.status_code == 200
    assert "time to rate this conversation has passed" in response.content.decode()


def test_H4_off_without_redis_by_default():
    """The suite's settings, as a development machine's: no Redis URL, no version cache (in
    the database cache it would cost more queries than it saves)."""
    from csat_project import settings as product

    assert product.THROTTLE_REDIS_URL == "" and product.MESSENGER_VERSION_CACHE == ""


# --- every write the version query reads bumps --------------------------------------------------

APPS = ["conversations", "ratings", "mail", "messenger", "api", "reports", "demo"]
ROOT = Path(__file__).resolve().parents[2]
READ_BY_THE_VERSION = {"Conversation", "Rating"}
BYPASS_SIGNALS = {"update", "bulk_create", "bulk_update", "raw"}


def _chain_names(node) -> set[str]:
    names = set()
    while isinstance(node, ast.Call | ast.Attribute | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
    if isinstance(node, ast.Name):
        names.add(node.id)
    return names


def test_H4_every_write_that_bypasses_the_signals_bumps():
    """A queryset `update()` (or bulk write) of a conversation or a rating, or a write of a
    conversation's contacts, sends no signal: the function that makes it must call
    `poll_versions.bump`. (Migrations are left out: the entries die within the minute.)"""
    missing = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef):
                    continue
                calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)]
                bumps = any(
                    isinstance(n.func, ast.Attribute) and n.func.attr == "bump" for n in calls
                )
                for call in calls:
                    if not isinstance(call.func, ast.Attribute):
                        continue
                    names = _chain_names(call.func.value)
                    writes = (
                        call.func.attr in BYPASS_SIGNALS
                        and "objects" in names
                        and names & READ_BY_THE_VERSION
                    ) or (
                        call.func.attr in {"add", "remove", "set", "clear"}
                        and names & {"contacts", "conversations"}
                    )
                    if writes and not bumps:
                        missing.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert missing == []


def test_H4_the_version_statement_gives_the_conversations_ids(contact, teammate):
    """The statement the cache's miss runs also lists the contact's conversations (each
    once, B5), those its entry watches."""
    mine = {_closed(contact, teammate).pk for _ in range(3)}
    ContactFactory()
    ids, answer = ratings_messenger._version_read(contact.pk, True)
    assert (
        set(ids)
        == mine
        == set(Conversation.objects.filter(contacts=contact).values_list("pk", flat=True))
    )
    assert answer == ratings_messenger._version_read(contact.pk, False)[1]
    assert ratings_messenger._version_read(ContactFactory().pk, True)[0] == ()
