"""B6: the bot's ratings in the reports: on their own line of R1, never in a teammate's or the
team's teammate figures (R2, R1's default), the filter Teammates · Bot · All (R1, R3), the
Kind column of the comments CSV, and figures_rebuild per kind."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from ratings.figures import figures_rebuild
from ratings.models import DailyFigures
from reports import selectors
from tests.report_helpers import (
    DAY,
    MARCH,
    NOW,
    bot_rate,
    csv_rows,
    rate,
    rating_ids,
    table_rows,
)
from tests.report_queries.support import MARCH_PERIOD

pytestmark = pytest.mark.django_db

SUMMARY = reverse("reports:summary")


def _figure(html: str, name: str) -> str:
    return re.search(rf'id="{name}">([^<]*)<', html).group(1).strip()


@pytest.fixture
def mixed(capture, teammate):
    """A teammate's 5 and 4, the bot's 1 (commented) and an unanswered bot request."""
    rate(capture, teammate, 5, at=DAY)
    rate(capture, teammate, 4, at=DAY + timedelta(hours=1))
    bot = bot_rate(capture, 1, at=DAY + timedelta(hours=2), comment="The bot did not get it")
    bot_rate(capture, 5, at=DAY + timedelta(hours=3))
    return bot


def test_b6_the_team_teammate_figures_never_count_the_bot(mixed):
    summary = selectors.csat_summary(period=MARCH_PERIOD)
    assert (summary.counts.total, summary.counts.csat, summary.requests) == (2, 100.0, 2)
    assert summary.bot.counts.total == 2
    assert summary.bot.counts.csat == 50.0
    assert (summary.bot.requests, summary.bot.answered) == (2, 2)
    bot_only = selectors.csat_summary(period=MARCH_PERIOD, kind="bot")
    assert (bot_only.counts.total, bot_only.counts.csat) == (2, 50.0)
    everyone = selectors.csat_summary(period=MARCH_PERIOD, kind=None)
    assert (everyone.counts.total, everyone.requests) == (4, 4)
    _, points = selectors.csat_trend(period=MARCH_PERIOD)
    assert sum(point.ratings for point in points) == 2


def test_b6_the_teammates_table_never_has_a_bot_row(mixed, teammate):
    rows = selectors.teammates_table(period=MARCH_PERIOD)
    assert [(row.teammate_id, row.ratings, row.requests) for row in rows] == [(teammate.pk, 2, 2)]


def test_b6_the_summary_page_shows_the_bot_line_apart(client_, mixed, csat_from_one_rating):
    with time_machine.travel(NOW, tick=False):
        html = client_.get(f"{SUMMARY}?{MARCH}").content.decode()
    assert _figure(html, "csat") == "100 %"
    assert 'id="bot-line"' in html
    assert re.search(r'id="bot-csat">\s*50', html)
    assert re.search(r'id="bot-response-rate">\s*100', html)
    assert 'name="kind"' in html


def test_b6_s4_the_bot_line_has_its_interval_and_too_few(client_, mixed):
    """S4, S4a on the bot's line as on every CSAT: 1 of 2 positive is 9.5–90.5 %; with the
    default threshold of 10, two ratings are too few for a percentage."""
    summary = selectors.csat_summary(period=MARCH_PERIOD)
    low, high = summary.bot.interval
    assert (round(low, 1), round(high, 1)) == (9.5, 90.5)
    assert summary.bot.too_few and summary.bot.standing == "too_few"
    assert summary.bot.meets_target is None
    with time_machine.travel(NOW, tick=False):
        html = client_.get(f"{SUMMARY}?{MARCH}").content.decode()
    assert re.search(r'id="bot-csat">\s*too few ratings', html)
    assert re.search(r'id="bot-csat-range">\(95 % range 9.5', html)


def test_b6_the_filter_bot_and_all(client_, mixed, csat_from_one_rating):
    with time_machine.travel(NOW, tick=False):
        bot = client_.get(f"{SUMMARY}?{MARCH}&kind=bot").content.decode()
        everyone = client_.get(f"{SUMMARY}?{MARCH}&kind=all").content.decode()
        wrong = client_.get(f"{SUMMARY}?{MARCH}&kind=robots")
    assert _figure(bot, "csat") == "50 %"
    assert _figure(everyone, "csat") == "75 %"
    assert wrong.status_code == 200
    text = wrong.content.decode()
    assert "robots was set aside" in text
    assert _figure(text, "csat") == "100 %"


def test_b6_comments_show_and_filter_the_kind(client_, mixed):
    with time_machine.travel(NOW, tick=False):
        bot = client_.get(f"{reverse('reports:comments')}?{MARCH}&kind=bot").content.decode()
        teammates = client_.get(f"{reverse('reports:comments')}?{MARCH}").content.decode()
    assert mixed.pk in rating_ids(bot)
    assert "the bot" in bot
    assert mixed.pk not in rating_ids(teammates)
    assert len(rating_ids(teammates)) == 2


def test_b6_the_comments_csv_has_the_kind(client_, mixed):
    with time_machine.travel(NOW, tick=False):
        response = client_.get(f"{reverse('reports:comments_csv')}?{MARCH}&kind=all")
    header, *rows = csv_rows(response)
    kinds = sorted(row[header.index("Kind")] for row in rows)
    assert kinds == ["bot", "bot", "teammate", "teammate"]


def test_b6_the_teammates_page_and_csv_have_no_bot_row(client_, mixed, teammate):
    with time_machine.travel(NOW, tick=False):
        html = client_.get(f"{reverse('reports:teammates')}?{MARCH}").content.decode()
        response = client_.get(f"{reverse('reports:teammates_csv')}?{MARCH}")
    assert [row[0] for row in table_rows(html)] == [teammate.name]
    _, *rows = csv_rows(response)
    assert [row[0] for row in rows] == [teammate.name]


def test_b6_figures_rebuild_keeps_the_kinds_apart(mixed):
    before = sorted(
        DailyFigures.objects.values_list("day", "kind", "teammate_key", "requests", "v1", "v5")
    )
    DailyFigures.objects.all().delete()
    figures_rebuild()
    after = sorted(
        DailyFigures.objects.values_list("day", "kind", "teammate_key", "requests", "v1", "v5")
    )
    assert after == before
    assert {row[1] for row in after} == {"teammate", "bot"}


def test_b5_the_inbox_rating_column_shows_both_kinds(capture, teammate):
    """B5 in the inbox list: a conversation rated by its customer for the bot and then for a
    teammate shows both reactions, the teammate's first and the bot's marked."""
    from conversations import services
    from ratings.admin.panel import rating_marks
    from ratings.answers import rating_submit
    from ratings.models import RatingRequest
    from tests.report_helpers import token_for

    bot = bot_rate(capture, 2, at=DAY)
    conversation = bot.conversation
    with time_machine.travel(DAY + timedelta(hours=1), tick=False):
        services.conversation_reopen(conversation=conversation, by=teammate)
        services.conversation_reply(conversation=conversation, author=teammate, body="t" * 260)
    with time_machine.travel(DAY + timedelta(hours=2), tick=False), capture(execute=True):
        services.conversation_close(conversation=conversation, by=teammate)
    request = RatingRequest.objects.get(conversation=conversation, kind="teammate")
    with time_machine.travel(DAY + timedelta(hours=3), tick=False):
        rating_submit(token=token_for(request), value=5)
    teammate_only = rate(capture, teammate, 4, at=DAY)

    marks = rating_marks([conversation, teammate_only.conversation])
    both = marks[conversation.pk]
    assert both.count('class="inbox-rating"') == 2
    assert both.index("Amazing") < both.index("Bot: ") < both.index("Bad")
    assert "Bot: " not in marks[teammate_only.conversation.pk]
    assert "Great" in marks[teammate_only.conversation.pk]
