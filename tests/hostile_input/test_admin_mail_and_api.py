"""Hostile text in the admin, the survey email (D1), the services' NUL checks and the API."""

from __future__ import annotations

import re
from html import escape as html_escape

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from conversations import services
from conversations.models import Channel, Contact, Conversation, Part, Teammate
from ratings.models import Rating
from ratings.services import rating_comment, rating_submit
from tests.factories import ContactFactory, TeammateFactory, start_conversation
from tests.hostile_input.support import (
    HOSTILE,
    IDS,
    MARKUP,
    NUL,
    TEXTS,
    _counts,
    _html,
    assert_shown_as_text,
    page_text,
)
from tests.report_helpers import DAY, rate, requested, token_for


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
        conversation.parts.filter(kind__in=["reply", "note"]).values_list("body", "body_format")
    )
    # Typed text is kept as typed, a text body (M17, E3a).
    assert bodies[-2:] == [(text, "text"), (text, "text")]
    html = _html(admin_client_.get(_admin(Conversation, "change", conversation.pk)))
    assert_shown_as_text(html, text, bodies=True)
    # The subject, the contact, the comment and its history entry, escaped as Django escapes.
    assert html.count(escape(text)) >= 4
    # ... and the reply and the note too, read as the page's text.
    assert page_text(html).count(text) >= 6


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
    """Plain text posted with `body_format: text` comes back exactly as `body_text` (M17)."""
    body = {
        "channel": "email",
        "contacts": [contact.pk],
        "body": text,
        "body_format": "text",
        "subject": text,
    }
    response = api.post("/api/v1/conversations/", body, format="json")
    assert response.status_code == 201, response.content
    started = response.json()
    assert started["subject"] == text
    assert [part["body_text"] for part in started["parts"]] == [text]
    url = f"/api/v1/conversations/{started['id']}/"
    reply = api.post(f"{url}replies/", {"body": text, "body_format": "text"}, format="json")
    assert reply.status_code == 201, reply.content
    assert reply.json()["body_text"] == text
    read = api.get(url).json()
    assert read["subject"] == text
    assert [part["body_text"] for part in read["parts"]] == [text, text]
    stored = Part.objects.filter(conversation_id=started["id"])
    # Stored as written, a text body (E3a) ...
    assert [(part.body, part.body_format) for part in stored] == [(text, "text")] * 2
    # ... and the API's HTML `body` never carries the text's markup as markup.
    assert [part["body"] for part in read["parts"]] == [str(part.html) for part in stored]
    if MARKUP & set(text) - {"'", '"'}:
        assert all(text not in part["body"] for part in read["parts"])


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
        {"channel": "messenger", "contacts": [contact.pk], "body": text, "body_format": "text"},
        format="json",
    )
    assert response["Content-Type"].startswith("application/json")
    content = response.content.decode()
    assert re.search(r'"body_text":\s*"<script>alert\(1\)<\\?/script>"', content)
    assert html_escape(html_escape(text)) not in content


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
