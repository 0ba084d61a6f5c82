"""How many queries the iframe's endpoints make (W4, W6, W5): the poll that finds nothing new
is one query; the full threads are a fixed number however many conversations, parts and
cards there are; the session, a start and a reply are counted exactly, so that a change that
adds a query per request shows here.

The counts are those of Django's test Client on SQLite in a test's transaction (SAVEPOINT and
RELEASE statements of the services' `transaction.atomic` are queries too)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from conversations import services
from conversations.identity import user_hash
from conversations.models import Conversation, Part
from ratings.messenger import _version_sql
from ratings.models import Rating, RatingRequest, RatingSettings
from ratings.services import rating_request_send
from ratings.tokens import rating_token
from tests.factories import ContactFactory, start_conversation

SECRET = "test-messenger-secret"
T = datetime(2025, 3, 10, 12, 0, 5, tzinfo=UTC)
pytestmark = pytest.mark.django_db

# The threads' 200: the version (one aggregate, W6), the contact, the rating settings, the
# conversations (one query), their survey requests, a teammate's and the bot's (B5), with their
# close, teammate, rating and app (one prefetch query, joined), their visible parts with their
# authors (one prefetch query).
THREADS_FULL = 6
# W4 + W6: the token is read without a query; the version is one aggregate.
THREADS_NOT_MODIFIED = 1
# A known user, nothing changed: the look-up by external id (W3). With a new email: + the UPDATE.
SESSION_KNOWN_USER = 1
SESSION_KNOWN_USER_NEW_EMAIL = 2
# conversation_start: the contact (W4), INSERT conversation (its running figures already moved
# on by the first reply, in memory: `conversations.services.conversation_made`), INSERT of the
# contact link (one "INSERT OR IGNORE" / "ON CONFLICT DO NOTHING"), INSERT part (in the
# request's transaction: conversation_start has no savepoint).
START = 4
# conversation_reply: the contact (W4), the conversation among theirs, SAVEPOINT, SELECT …
# FOR UPDATE (a no-op on SQLite, still a query), the contact in the conversation, INSERT
# part, UPDATE conversation, RELEASE. (The service checks again that the contact is in the
# conversation, under its lock: one query the view's own look-up makes redundant.)
REPLY = 8
# A reply that reopens a closed conversation: + the REOPENED event's INSERT.
REPLY_REOPENS = REPLY + 1


def _threads(client, token, etag=None):
    headers = {"HTTP_X_MESSENGER_SESSION": token}
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return client.get(reverse("messenger:threads"), **headers)


def _surveyed(contact, teammate, *, parts: int, at: datetime):
    """A Messenger conversation of `contact` with `parts` replies (the contact's first, then
    each side in turn, the teammate's long enough for E3) and an internal note, closed at `at`
    and its survey card delivered."""
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        conversation = start_conversation(contacts=[contact], started_by=contact, body="Help?")
        for number in range(1, parts):
            author = teammate if number % 2 else contact
            body = f"Reply {number}. " + "All good on our side. " * 14
            services.conversation_reply(conversation=conversation, author=author, body=body)
        services.conversation_note(conversation=conversation, author=teammate, body="Internal")
    with time_machine.travel(at, tick=False):
        services.conversation_close(conversation=conversation, by=teammate)
        rating_request_send(conversation_id=conversation.pk)
    request = RatingRequest.objects.get(conversation=conversation)
    assert request.delivered_at is not None and request.channel == "messenger"
    return conversation, request


def _count(client, method, *args, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(*args, **kwargs)
    return len(queries), response


@pytest.fixture
def sizes(client, teammate):
    """A contact with one conversation of 2 replies and a delivered card, and one with six
    conversations of 10 replies each, a delivered card each, three of them rated (one with a
    comment and a reason)."""
    RatingSettings.load()
    small, large = ContactFactory(), ContactFactory()
    _surveyed(small, teammate, parts=2, at=T - timedelta(days=1))
    for number in range(6):
        conversation, request = _surveyed(
            large, teammate, parts=10, at=T - timedelta(days=1, minutes=number)
        )
        if number % 2:
            token = rating_token(request_id=request.pk, conversation_id=conversation.pk)
            client.post(reverse("ratings:rate", args=[token]), {"value": 2})
            if number == 1:
                client.post(
                    reverse("ratings:rate_comment", args=[token]),
                    {"comment": "Slow", "reasons": ["Slow to answer"]},
                )
    assert Rating.objects.filter(conversation__contacts=large).count() == 3
    assert Rating.objects.exclude(comment="").count() == 1
    assert Part.objects.filter(conversation__contacts=large, kind=Part.Kind.REPLY).count() == 60
    return small, large


def test_W6_the_poll_that_finds_nothing_new_is_one_query(client, sizes, django_assert_num_queries):
    _, large = sizes
    with time_machine.travel(T, tick=False):
        token = services.session_token(large)
        etag = _threads(client, token)["ETag"]
        with django_assert_num_queries(THREADS_NOT_MODIFIED):
            response = _threads(client, token, etag)
    assert response.status_code == 304


def _naive_utc(value):
    """A datetime as SQLite's raw cursor (text) or PostgreSQL's (aware) gives it, naive UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def test_W6_the_version_statement_reads_what_the_orm_aggregate_reads(sizes):
    """`messenger_version` runs its statement written once (ratings.messenger._version_sql):
    it must read what the ORM's aggregate over the same relations reads."""
    small, large = sizes
    stranger = ContactFactory()
    # Distinct times, so that a wrong column or MIN for MAX reads something else.
    for number, rating in enumerate(Rating.objects.filter(conversation__contacts=large)):
        Rating.objects.filter(pk=rating.pk).update(
            changed_at=rating.rated_at + timedelta(hours=number + 1),
            commented_at=rating.rated_at + timedelta(hours=10 - number),
        )
    for contact in (small, large, stranger):
        with connection.cursor() as cursor:
            cursor.execute(_version_sql(connection.vendor), [contact.pk])
            raw = cursor.fetchone()
        orm = Conversation.objects.filter(contacts=contact).aggregate(
            n=Count("id", distinct=True),
            updated=Max("updated_at"),
            rated=Max("ratings__changed_at"),
            commented=Max("ratings__commented_at"),
        )
        assert raw[0] == orm["n"]
        assert [_naive_utc(v) for v in raw[1:]] == [
            _naive_utc(orm[k]) for k in ("updated", "rated", "commented")
        ]
    assert raw == (0, None, None, None)  # the stranger has no conversation


def test_W5_the_full_threads_are_a_fixed_number_of_queries(client, sizes):
    small, large = sizes
    counts = {}
    with time_machine.travel(T, tick=False):
        for name, contact in (("small", small), ("large", large)):
            token = services.session_token(contact)
            _threads(client, token)  # warm: templates compiled, nothing cached in the database
            counts[name], response = _count(
                client, "get", reverse("messenger:threads"), HTTP_X_MESSENGER_SESSION=token
            )
            assert response.status_code == 200
            cards = response.content.decode().count('class="rating-card"')
            assert cards == (1 if name == "small" else 6)
    assert counts == {"small": THREADS_FULL, "large": THREADS_FULL}


def test_W3_the_session_of_a_known_user_is_a_fixed_number_of_queries(client):
    user = {"user_id": "u-42", "user_hash": user_hash("u-42", secret=SECRET)}
    details = {**user, "email": "ada@example.com", "name": "Ada"}
    url = reverse("messenger:session")
    created, response = _count(client, "post", url, details, content_type="application/json")
    assert response.status_code == 200
    for _ in range(2):
        count, response = _count(client, "post", url, details, content_type="application/json")
        assert response.status_code == 200
        assert count == SESSION_KNOWN_USER
    moved = {**details, "email": "ada@new.example"}
    count, response = _count(client, "post", url, moved, content_type="application/json")
    assert response.status_code == 200
    assert count == SESSION_KNOWN_USER_NEW_EMAIL
    assert created > SESSION_KNOWN_USER  # the first visit also creates the contact


def test_W2_the_session_of_a_known_lead_is_one_query(client, django_assert_num_queries):
    url = reverse("messenger:session")
    visitor = client.post(url, {}, content_type="application/json").json()["visitor_id"]
    with django_assert_num_queries(1):
        response = client.post(url, {"visitor_id": visitor}, content_type="application/json")
    assert response.json()["visitor_id"] == visitor


def test_starting_a_conversation_is_a_fixed_number_of_queries(client, contact):
    token = services.session_token(contact)
    url = reverse("messenger:start")
    for body in ("First question", "Second question"):
        count, response = _count(
            client,
            "post",
            url,
            {"body": body},
            content_type="application/json",
            HTTP_X_MESSENGER_SESSION=token,
        )
        assert response.status_code == 201
        assert count == START


def test_a_reply_is_a_fixed_number_of_queries(client, contact, teammate, conversation):
    token = services.session_token(contact)
    url = reverse("messenger:reply", args=[conversation.pk])
    for body in ("More detail", "And more"):
        count, response = _count(
            client,
            "post",
            url,
            {"body": body},
            content_type="application/json",
            HTTP_X_MESSENGER_SESSION=token,
        )
        assert response.status_code == 201
        assert count == REPLY
    services.conversation_reply(conversation=conversation, author=teammate, body="x" * 300)
    services.conversation_close(conversation=conversation, by=teammate)
    count, response = _count(
        client,
        "post",
        url,
        {"body": "Reopen please"},
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=token,
    )
    assert response.status_code == 201
    assert count == REPLY_REOPENS
