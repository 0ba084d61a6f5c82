"""G4: with `retention_days` set, a daily schedule erases the message bodies of conversations
closed more than that many days ago; open, snoozed and reopened ones are untouched."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from conversations import services
from conversations.erasure import ERASED_TEXT, conversation_bodies_erase_closed
from conversations.models import Part
from ratings.apps import RETENTION_SCHEDULE_NAME, ensure_retention_schedule
from ratings.configure import RETENTION_MESSAGE
from ratings.models import Erasure, RatingSettings
from ratings.services import rating_settings_update, retention_erase
from tests.factories import TeammateFactory, start_conversation

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAYS = 30
MINUTE = timedelta(minutes=1)


@pytest.fixture
def teammate():
    return TeammateFactory()


def _conversation(teammate, *, closed_at=None, body="My card number is 4111"):
    started = (closed_at or NOW - timedelta(days=60)) - timedelta(hours=1)
    with time_machine.travel(started, tick=False):
        conversation = start_conversation(body=body)
        services.conversation_reply(conversation=conversation, author=teammate, body="Got it")
        services.conversation_note(conversation=conversation, author=teammate, body="note 4111")
    if closed_at is not None:
        with time_machine.travel(closed_at, tick=False):
            services.conversation_close(conversation=conversation, by=teammate)
    return conversation


def _bodies(conversation):
    return set(conversation.parts.exclude(kind=Part.Kind.EVENT).values_list("body", flat=True))


def _run(at=NOW):
    with time_machine.travel(at, tick=False):
        return retention_erase()


def _retention(days=DAYS):
    RatingSettings.load()
    rating_settings_update(by=None, retention_days=days)


def test_g4_bodies_of_conversations_closed_more_than_n_days_ago_are_erased(teammate):
    """The boundary: closed N days and a minute ago is erased; N days less a minute, kept."""
    _retention()
    old = _conversation(teammate, closed_at=NOW - timedelta(days=DAYS) - MINUTE)
    recent = _conversation(teammate, closed_at=NOW - timedelta(days=DAYS) + MINUTE)
    assert _run() == 1
    assert _bodies(old) == {ERASED_TEXT}
    old.refresh_from_db()
    assert old.preview == old.first_line == ERASED_TEXT
    assert _bodies(recent) == {"My card number is 4111", "Got it", "note 4111"}
    # Two minutes later the recent one is past the boundary too.
    assert _run(NOW + 2 * MINUTE) == 1
    assert _bodies(recent) == {ERASED_TEXT}
    assert list(Erasure.objects.values_list("reason", "conversations")) == [
        (Erasure.Reason.RETENTION, 1),
        (Erasure.Reason.RETENTION, 1),
    ]
    assert _run(NOW + 3 * MINUTE) == 0  # nothing left: no row, nothing rewritten
    assert Erasure.objects.count() == 2


def test_g4_open_snoozed_and_reopened_conversations_are_untouched(teammate):
    _retention()
    open_one = _conversation(teammate)
    snoozed = _conversation(teammate)
    with time_machine.travel(NOW - timedelta(days=50), tick=False):
        services.conversation_snooze(
            conversation=snoozed, by=teammate, until=NOW + timedelta(days=1)
        )
    reopened = _conversation(teammate, closed_at=NOW - timedelta(days=40))
    with time_machine.travel(NOW - timedelta(days=39), tick=False):
        services.conversation_reopen(conversation=reopened, by=teammate)
    assert _run() == 0
    for conversation in (open_one, snoozed, reopened):
        assert ERASED_TEXT not in _bodies(conversation)


def test_g4_a_conversation_erased_then_reopened_is_erased_again_after_its_new_close(teammate):
    _retention()
    conversation = _conversation(teammate, closed_at=NOW - timedelta(days=40))
    assert _run() == 1
    later = NOW + timedelta(days=1)
    with time_machine.travel(later, tick=False):
        services.conversation_reply(
            conversation=conversation, author=conversation.contacts.get(), body="Me again"
        )
        services.conversation_close(conversation=conversation, by=teammate)
    assert _run(later + timedelta(days=DAYS) - MINUTE) == 0
    assert "Me again" in _bodies(conversation)
    assert _run(later + timedelta(days=DAYS) + MINUTE) == 1
    assert _bodies(conversation) == {ERASED_TEXT}


def test_g4_off_when_blank(teammate):
    old = _conversation(teammate, closed_at=NOW - timedelta(days=400))
    assert RatingSettings.load().retention_days is None
    assert _run() == 0
    assert ERASED_TEXT not in _bodies(old)


def test_g4_batches_cost_a_bounded_number_of_queries(teammate):
    conversations = [
        _conversation(teammate, closed_at=NOW - timedelta(days=40 + n)) for n in range(5)
    ]
    for conversation in conversations[:2]:
        for n in range(10):
            services.conversation_note(conversation=conversation, author=teammate, body=f"n{n}")
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        erased = conversation_bodies_erase_closed(before=NOW - timedelta(days=DAYS), batch_size=2)
    assert (erased.conversations, erased.parts) == (5, 5 * 3 + 20)
    # Three batches (2, 2, 1) of a select and two updates each, plus their transactions'
    # savepoints: never a query per part or per conversation.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 9, statements


def test_g4_retention_days_is_validated(api_login, api_admin):
    RatingSettings.load()
    for wrong in (0, -1, "soon", True):
        with pytest.raises(ValidationError) as refused:
            rating_settings_update(by=None, retention_days=wrong)
        assert refused.value.message_dict == {"retention_days": [RETENTION_MESSAGE]}
    assert rating_settings_update(by=None, retention_days="7").retention_days == 7
    assert rating_settings_update(by=None, retention_days="").retention_days is None
    client = api_login(api_admin.user)
    assert (
        client.patch("/api/v1/settings/ratings/", {"retention_days": 0}, format="json").status_code
        == 400
    )
    response = client.patch("/api/v1/settings/ratings/", {"retention_days": 14}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["retention_days"] == 14
    response = client.patch("/api/v1/settings/ratings/", {"retention_days": None}, format="json")
    assert response.json()["retention_days"] is None


def test_g4_the_retention_schedule_runs_daily_and_is_never_doubled():
    Schedule.objects.filter(name=RETENTION_SCHEDULE_NAME).delete()
    ensure_retention_schedule(sender=None)
    ensure_retention_schedule(sender=None)
    (schedule,) = Schedule.objects.filter(name=RETENTION_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type) == (
        "ratings.erasure.retention_erase",
        Schedule.DAILY,
    )
