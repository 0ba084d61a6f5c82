"""Helpers of the report tests (test_report_*.py): ratings made through the real services
(an eligible conversation closed, its survey decided and sent by the in-process queue, then
the customer's answer through `rating_submit` / `rating_comment` with the link's token), a
manager, and a reader of the pages' tables."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import time_machine

from conversations import services
from ratings.models import Rating, RatingRequest, RatingSettings
from ratings.services import rating_comment, rating_submit
from ratings.tokens import rating_token
from reports.access import manager_add
from tests.factories import ContactFactory, TeammateFactory, start_conversation

# Ratings are made in March 2025; pages are read with explicit dates or at NOW.
DAY = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
MARCH = "from=2025-03-01&to=2025-03-31"


def make_manager(**kwargs):
    """A teammate in the Managers group, which migration reports/0002 creates with
    `reports.view_reports`. A transactional test runs after others have flushed the database
    (data migrations included), so `manager_add` makes the group again when missing."""
    manager = TeammateFactory(**kwargs)
    manager_add(user=manager.user)
    return manager


def requested(capture, teammate, *, at: datetime, contact=None, subject="") -> RatingRequest:
    """An eligible conversation replied to by `teammate` and closed at `at`; the close's
    decision runs on commit and sends the survey."""
    contact = contact or ContactFactory()
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        conversation = start_conversation(
            contacts=[contact], started_by=contact, body="Help please", subject=subject
        )
        services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
    with time_machine.travel(at, tick=False), capture(execute=True):
        services.conversation_close(conversation=conversation, by=teammate)
    return RatingRequest.objects.get(conversation=conversation)


def token_for(request: RatingRequest) -> str:
    return rating_token(request_id=request.pk, conversation_id=request.conversation_id)


def rate(
    capture,
    teammate,
    value: int,
    *,
    at: datetime = DAY,
    comment: str = "",
    reasons=(),
    contact=None,
    subject: str = "",
) -> Rating:
    """A rating of `value` given at `at` (its conversation closed 30 minutes before), with a
    comment and low-rating reasons when given."""
    request = requested(
        capture, teammate, at=at - timedelta(minutes=30), contact=contact, subject=subject
    )
    token = token_for(request)
    with time_machine.travel(at, tick=False):
        rating = rating_submit(token=token, value=value)
    if comment or reasons:
        with time_machine.travel(at + timedelta(seconds=1), tick=False):
            rating = rating_comment(token=token, comment=comment, reasons=reasons)
    return rating


def rate_many(capture, teammate, values, *, at: datetime = DAY, **kwargs) -> list[Rating]:
    """One rating per value, a minute apart (the newest last)."""
    return [
        rate(capture, teammate, value, at=at + timedelta(minutes=i), **kwargs)
        for i, value in enumerate(values)
    ]


def rating_ids(html: str) -> list[int]:
    """The ratings listed on R3 or R4, in page order."""
    return [int(pk) for pk in re.findall(r'id="rating-(\d+)"', html)]


def text_of(html: str) -> str:
    """The page's visible text, whitespace collapsed (to look for figures in sentences)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


class _Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell, self._in_body = [], None, None, False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str) -> list[list[str]]:
    """The body rows of the page's data table (class "data"), as cell texts."""
    start = html.index('<table class="data">')
    parser = _Table()
    parser.feed(html[start : html.index("</table>", start)])
    return parser.rows


def csv_rows(response) -> list[list[str]]:
    """A streamed CSV response read back: BOM checked and dropped, header included."""
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def bot_rate(capture, value: int, *, at: datetime = DAY, comment: str = "", contact=None) -> Rating:
    """B: a conversation the bot answered and closed alone 30 minutes before `at` (bot ratings
    turned on), rated `value` at `at` by its customer."""
    settings = RatingSettings.load()
    if not settings.ask_bot:
        settings.ask_bot = True
        settings.save()
    contact = contact or ContactFactory()
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        conversation = start_conversation(contacts=[contact], started_by=contact, body="Help?")
        services.conversation_bot_message(conversation=conversation, body="b" * 260)
    with time_machine.travel(at - timedelta(minutes=30), tick=False), capture(execute=True):
        services.conversation_bot_close(conversation=conversation)
    request = RatingRequest.objects.get(conversation=conversation, kind="bot")
    with time_machine.travel(at, tick=False):
        rating = rating_submit(token=token_for(request), value=value)
    if comment:
        with time_machine.travel(at + timedelta(seconds=1), tick=False):
            rating = rating_comment(token=token_for(request), comment=comment)
    return rating
