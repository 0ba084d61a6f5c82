"""The iframe's endpoints under /messenger/w/ through Django's test Client (messenger/views.py):
the session (W1, W2, W4), the threads and their ETag (W5, W6), starting, replying, a lead's
details (W2); the frame and its Content-Security-Policy (W7); the two scripts. Errors are JSON
`{code, message, fields}` and write nothing."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.urls import reverse

from conversations import services
from conversations.identity import IDENTITY_REFUSED, SESSION_ENDED, session_contact_id
from conversations.models import Channel, Contact, Conversation, Origin, Part, State
from conversations.text import JSON_TOO_DEEP
from ratings.models import MessengerApp, Rating, RatingEvent, RatingRequest, RatingSettings
from ratings.tokens import messenger_token
from tests.factories import ContactFactory
from tests.test_messenger_view import _closed

SECRET = "test-messenger-secret"  # csat_project/settings_test.py
T = datetime(2025, 3, 10, 12, 0, 5, tzinfo=UTC)  # five seconds into a minute
ETAG = re.compile(r'"[0-9a-f]{24}"')
CARD = re.compile(r'data-card="([^"]+)"')
CONFIG = re.compile(r'<script id="mx-config" type="application/json">(.*?)</script>', re.S)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttles(db):
    """The card API's throttle counts live in the cache."""
    caches["shared"].clear()
    yield
    caches["shared"].clear()


def _hash(user_id: str) -> str:
    from conversations.identity import user_hash

    return user_hash(user_id, secret=SECRET)


def _post(client, name, data=None, *, token=None, raw=None, args=()):
    headers = {"HTTP_X_MESSENGER_SESSION": token} if token is not None else {}
    body = raw if raw is not None else json.dumps(data if data is not None else {})
    return client.post(
        reverse(f"messenger:{name}", args=args), body, content_type="application/json", **headers
    )


def _threads(client, token=None, etag=None):
    headers = {}
    if token is not None:
        headers["HTTP_X_MESSENGER_SESSION"] = token
    if etag is not None:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return client.get(reverse("messenger:threads"), **headers)


def _session(client, data):
    response = _post(client, "session", data)
    assert response.status_code == 200, response.content
    return response.json()


def _refusal(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    return body["message"]


@pytest.fixture
def token(client, contact):
    """A session for `contact` (a signed Messenger link), as the frame gets it."""
    return _session(client, {"link": messenger_token(contact_id=contact.pk)})["session"]


# --- the session: W1, W2, W4 ------------------------------------------------------------------


def test_W1_W4_a_verified_user_gets_a_session_naming_their_contact(client):
    response = _post(
        client,
        "session",
        {"user_id": "u-42", "user_hash": _hash("u-42"), "email": "ada@example.com", "name": "Ada"},
    )
    assert response.status_code == 200
    body = response.json()
    contact = Contact.objects.get(external_id="u-42")
    assert session_contact_id(body["session"]) == contact.pk
    assert body["visitor_id"] == ""
    assert body["contact"] == {"role": "user", "name": "Ada", "email": "ada@example.com"}
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    assert not response.cookies  # W4: the session travels in a header, never in a cookie


def test_W2_a_lead_gets_a_visitor_id_and_keeps_it(client):
    first = _session(client, {})
    assert first["contact"]["role"] == "lead" and first["visitor_id"]
    again = _session(client, {"visitor_id": first["visitor_id"]})
    assert again["visitor_id"] == first["visitor_id"]
    assert session_contact_id(again["session"]) == session_contact_id(first["session"])
    assert Contact.objects.count() == 1


def test_W4_a_signed_messenger_link_gives_its_contacts_session(client, contact):
    body = _session(client, {"link": messenger_token(contact_id=contact.pk)})
    assert session_contact_id(body["session"]) == contact.pk
    assert body["contact"]["email"] == contact.email


@pytest.mark.parametrize(
    "data, message",
    [
        ({"user_id": "u-42", "user_hash": "0" * 64}, IDENTITY_REFUSED),
        ({"user_id": "u-42", "user_hash": _hash("u-43")}, IDENTITY_REFUSED),
        ({"user_id": "u-42"}, IDENTITY_REFUSED),
        ({"user_id": "u-42", "user_hash": ""}, IDENTITY_REFUSED),
        ({"user_hash": _hash("u-42")}, IDENTITY_REFUSED),
        ({"user_id": True, "user_hash": _hash("True")}, IDENTITY_REFUSED),
        ({"user_id": ["u-42"], "user_hash": _hash("['u-42']")}, IDENTITY_REFUSED),
        ({"user_id": "x" * 256, "user_hash": _hash("x" * 256)}, IDENTITY_REFUSED),
        ({"link": "forged-link"}, "This Messenger link is not valid."),
        ({"link": messenger_token(contact_id=999_999)}, "This Messenger link is not valid."),
        ({"link": ["a", "list"]}, "This Messenger link is not valid."),
    ],
    ids=[
        "wrong-hash",
        "hash-of-another-id",
        "no-hash",
        "empty-hash",
        "hash-without-id",
        "bool-id",
        "list-id",
        "id-of-256",
        "forged-link",
        "link-of-no-contact",
        "list-link",
    ],
)
def test_W1_a_forged_identity_is_a_403_and_nothing_is_made(client, contact, data, message):
    before = Contact.objects.count()
    response = _post(client, "session", data)
    assert _refusal(response, 403, "identity") == message
    assert "session" not in response.json()
    assert Contact.objects.count() == before


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"{not json", "The request is not valid JSON."),
        (b"\xff\xfe\x00garbage", "The request is not valid JSON."),
        (b'["user_id", "u-42"]', "The request is a JSON object."),
        (b'"u-42"', "The request is a JSON object."),
        (b"null", "The request is a JSON object."),
        # K13: one wording for a body nested too deep, the API's too
        (b"[" * 2000 + b"]" * 2000, JSON_TOO_DEEP),
        (b'{"a":' * 2000 + b"1" + b"}" * 2000, JSON_TOO_DEEP),
        (b'{"user_id": ' + b"[" * 2000 + b"]" * 2000 + b"}", JSON_TOO_DEEP),
    ],
    ids=[
        "bad-json",
        "bad-bytes",
        "array",
        "string",
        "null",
        "nested-arrays",
        "nested-objects",
        "nested-id",
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_json_and_nothing_is_made(client, raw, words):
    response = _post(client, "session", raw=raw)
    assert _refusal(response, 400, "invalid") == words
    assert not Contact.objects.exists()


@pytest.mark.parametrize("field", ["email", "name"])
def test_W3_a_detail_that_is_not_text_is_a_400(client, field):
    data = {"user_id": "u-42", "user_hash": _hash("u-42"), field: {"not": "text"}}
    assert _refusal(_post(client, "session", data), 400, "invalid") == f"{field} is text."
    data[field] = 12
    assert _refusal(_post(client, "session", data), 400, "invalid") == f"{field} is text."
    assert not Contact.objects.exists()


def test_W3_an_invalid_email_from_the_host_is_a_400_and_nothing_is_made(client):
    data = {"user_id": "u-42", "user_hash": _hash("u-42"), "email": "ada at example"}
    assert "not a valid email address" in _refusal(_post(client, "session", data), 400, "invalid")
    assert not Contact.objects.exists()


def test_W3_a_known_user_is_brought_up_to_date_not_duplicated(client):
    user = {"user_id": "u-42", "user_hash": _hash("u-42")}
    first = _session(client, {**user, "email": "ada@old.example"})
    again = _session(client, {**user, "email": "ada@new.example", "name": "Ada"})
    assert session_contact_id(again["session"]) == session_contact_id(first["session"])
    assert list(Contact.objects.values_list("email", "name")) == [("ada@new.example", "Ada")]


def test_a_body_over_the_upload_limit_is_a_413(client, settings):
    """K15: the JSON addresses' one answer to a body over the limit."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = json.dumps({"visitor_id": "v", "padding": "x" * 2000}).encode()
    assert _refusal(_post(client, "session", raw=raw), 413, "too_large") == (
        "The request body is larger than the 1,000 bytes this address takes."
    )
    assert not Contact.objects.exists()


def test_the_session_takes_no_get(client):
    assert client.get(reverse("messenger:session")).status_code == 405


# --- the threads: W5, W6 ----------------------------------------------------------------------


def test_W5_the_threads_are_the_contacts_own_without_internal_notes(client, contact, teammate):
    mine = _closed(contact, teammate, subject="Parcel lost")  # its notes say "SECRET: …"
    other = ContactFactory()
    theirs = _closed(other, teammate, subject="Someone else's problem")
    response = _threads(client, services.session_token(contact))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "private, no-cache"
    assert ETAG.fullmatch(response["ETag"])
    html = response.content.decode()
    assert f'data-conversation="{mine.pk}"' in html
    assert "Parcel lost" in html and "My order never arrived." in html
    assert f'data-conversation="{theirs.pk}"' not in html
    assert "Someone else" not in html
    assert "SECRET" not in html and "refund approved" not in html
    assert Part.objects.filter(kind=Part.Kind.NOTE, conversation=mine).exists()
    assert len(CARD.findall(html)) == 1  # D1: the delivered survey's card


def test_D1_the_threads_carry_a_card_only_where_the_survey_was_delivered_in_the_messenger(
    client, api_client, contact, teammate
):
    delivered = _closed(contact, teammate, subject="In the Messenger")
    emailed = _closed(contact, teammate, channel=Channel.EMAIL, subject="By email")
    undelivered = _closed(contact, teammate, subject="Not delivered yet")
    RatingRequest.objects.filter(conversation=undelivered).update(delivered_at=None)
    html = _threads(client, services.session_token(contact)).content.decode()
    (card,) = CARD.findall(html)
    assert html.index(card) > html.index(f'data-conversation="{delivered.pk}"')
    for other in (emailed, undelivered):
        assert f'data-conversation="{other.pk}"' in html  # listed, without a card
    # The card's token is the card API's (the same rules, A1–A9).
    answer = api_client.get(f"/api/v1/messenger/ratings/{card}/")
    assert answer.status_code == 200
    assert answer.json()["conversation"] == delivered.pk


def test_D3_with_a_rating_app_the_threads_show_its_card_instead_of_the_survey(
    client, contact, teammate
):
    app = MessengerApp.objects.create(name="Pulse Survey", card_url="https://apps.example.com/c")
    settings = RatingSettings.load()
    settings.rating_app = app
    settings.save()
    _closed(contact, teammate, subject="Parcel lost")
    html = _threads(client, services.session_token(contact)).content.decode()
    assert 'class="app-card"' in html and "Pulse Survey" in html
    assert 'href="https://apps.example.com/c" rel="noopener noreferrer"' in html
    assert not CARD.findall(html)
    assert RatingSettings.load().survey_question not in html


def test_W6_an_unchanged_poll_is_a_304_with_the_same_etag(client, contact, conversation):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        first = _threads(client, token)
        again = _threads(client, token, first["ETag"])
    assert first.status_code == 200
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_W6_a_stale_or_foreign_etag_is_a_full_answer(client, contact, conversation):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _threads(client, token)["ETag"]
        other = _threads(client, services.session_token(ContactFactory()))["ETag"]
        assert other != etag
        for stale in (other, etag.strip('"'), f"W/{other}", '"0"', f'"{etag}"', "garbage"):
            response = _threads(client, token, stale)
            assert response.status_code == 200
            assert response["ETag"] == etag


@pytest.mark.parametrize(
    "header",
    ["{etag}", "W/{etag}", '"0", {etag}', 'W/"0",W/{etag}'],
    ids=["strong", "weak", "listed", "listed-weak"],
)
def test_W6_if_none_match_compares_weakly_and_takes_a_list(client, contact, conversation, header):
    """RFC 9110 13.1.2: If-None-Match uses the weak comparison and may name several tags. A
    proxy that compresses the answer (nginx's gzip, say) hands the client the ETag weakened,
    W/"…", and the client sends that back: the poll must still be a 304."""
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _threads(client, token)["ETag"]
        response = _threads(client, token, header.format(etag=etag))
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_W6_a_teammate_reply_changes_the_etag_within_the_minute(
    client, contact, teammate, conversation
):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _threads(client, token)["ETag"]
    with time_machine.travel(T + timedelta(seconds=1), tick=False):
        assert _threads(client, token, etag).status_code == 304  # nothing changed yet
        services.conversation_reply(conversation=conversation, author=teammate, body="On it!")
        response = _threads(client, token, etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "On it!" in response.content.decode()


def test_W6_a_close_changes_the_etag_within_the_minute(client, contact, teammate, conversation):
    services.conversation_reply(conversation=conversation, author=teammate, body="Done.")
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _threads(client, token)["ETag"]
    with time_machine.travel(T + timedelta(seconds=1), tick=False):
        services.conversation_close(conversation=conversation, by=teammate)
        response = _threads(client, token, etag)
    assert response.status_code == 200 and response["ETag"] != etag
    assert 'data-state="closed"' in response.content.decode()


def test_W6_A1_A2_a_rating_and_a_comment_through_the_card_api_change_the_etag(
    client, api_client, contact, teammate
):
    conversation = _closed(contact, teammate)
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        first = _threads(client, token)
        (card,) = CARD.findall(first.content.decode())
        etags = [first["ETag"]]
    steps = [
        ("reaction/", {"value": 4}),  # A1: rated
        ("reaction/", {"value": 2}),  # A2: changed
        ("comment/", {"comment": "Slow", "reasons": ["Slow to answer"]}),  # commented
    ]
    for second, (path, body) in enumerate(steps, start=1):
        with time_machine.travel(T + timedelta(seconds=second), tick=False):
            assert _threads(client, token, etags[-1]).status_code == 304
            answer = api_client.post(
                f"/api/v1/messenger/ratings/{card}/{path}", body, format="json"
            )
            assert answer.status_code == 200, answer.json()
            response = _threads(client, token, etags[-1])
            assert response.status_code == 200
            etags.append(response["ETag"])
    assert len(set(etags)) == 4
    rating = Rating.objects.get(conversation=conversation)
    assert (rating.value, rating.comment) == (2, "Slow")
    assert "Slow" in response.content.decode()


def test_W6_A3_a_change_refused_after_a_comment_writes_nothing_and_keeps_the_etag(
    client, api_client, contact, teammate
):
    _closed(contact, teammate)
    token = services.session_token(contact)
    with time_machine.travel(T, tick=False):
        (card,) = CARD.findall(_threads(client, token).content.decode())
        base = f"/api/v1/messenger/ratings/{card}/"
        assert api_client.post(f"{base}reaction/", {"value": 4}, format="json").status_code == 200
        answer = api_client.post(f"{base}comment/", {"comment": "Good"}, format="json")
        assert answer.status_code == 200
        etag = _threads(client, token)["ETag"]
        events = RatingEvent.objects.count()
    with time_machine.travel(T + timedelta(seconds=1), tick=False):
        refused = api_client.post(f"{base}reaction/", {"value": 1}, format="json")
        assert (refused.status_code, refused.json()["code"]) == (409, "A3")
        assert _threads(client, token, etag).status_code == 304
    assert Rating.objects.get().value == 4
    assert RatingEvent.objects.count() == events


def test_W6_the_next_minute_changes_the_etag(client, contact, conversation):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _threads(client, token)["ETag"]
    with time_machine.travel(T + timedelta(seconds=54), tick=False):
        assert _threads(client, token, etag).status_code == 304  # 12:00:59
    with time_machine.travel(T + timedelta(seconds=55), tick=False):
        response = _threads(client, token, etag)  # 12:01:00
    assert response.status_code == 200
    assert response["ETag"] != etag


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", messenger_token(contact_id=1)],
    ids=["none", "empty", "bad", "link"],
)
def test_W4_threads_without_a_valid_session_are_a_403_json(client, contact, conversation, header):
    response = _threads(client, header)
    assert _refusal(response, 403, "identity") == SESSION_ENDED
    assert "Hi there" not in response.content.decode()


def test_W4_an_expired_or_altered_session_is_a_403(client, contact, conversation):
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with time_machine.travel(T + timedelta(hours=12, minutes=-1), tick=False):
        assert _threads(client, token).status_code == 200
        _refusal(_threads(client, altered), 403, "identity")
    with time_machine.travel(T + timedelta(hours=12, minutes=1), tick=False):
        _refusal(_threads(client, token), 403, "identity")


def test_W4_the_session_of_a_deleted_contact_is_a_403(client):
    lead = services.messenger_lead()
    token = services.session_token(lead)
    lead.delete()
    assert _refusal(_threads(client, token), 403, "identity") == SESSION_ENDED
    assert _refusal(_post(client, "start", {"body": "Hi"}, token=token), 403, "identity")
    assert not Conversation.objects.exists()


# --- start, reply, me ---------------------------------------------------------------------------


def test_W4_starting_makes_a_messenger_conversation_of_the_sessions_contact(client, contact, token):
    response = _post(client, "start", {"body": "Where is my parcel?"}, token=token)
    assert response.status_code == 201
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert (conversation.channel, conversation.origin) == (Channel.MESSENGER, Origin.CUSTOMER)
    assert conversation.state == State.OPEN
    assert list(conversation.contacts.all()) == [contact]
    (part,) = conversation.parts.all()
    assert (part.kind, part.author_contact, part.body) == (
        Part.Kind.REPLY,
        contact,
        "Where is my parcel?",
    )


@pytest.mark.parametrize(
    "data, words",
    [
        ({}, "The message is empty."),
        ({"body": ""}, "The message is empty."),
        ({"body": "   \n "}, "The message is empty."),
        ({"body": None}, "The message is empty."),
        ({"body": ["Hi"]}, "body is text."),
        ({"body": "Hi\x00"}, "NUL character"),
    ],
    ids=["no-body", "empty", "blank", "null", "list", "nul"],
)
def test_an_empty_start_is_a_400_and_nothing_is_made(client, token, data, words):
    response = _post(client, "start", data, token=token)
    assert words in _refusal(response, 400, "invalid")
    assert not Conversation.objects.exists()
    assert not Part.objects.exists()


def test_W4_starting_without_a_session_is_a_403_and_nothing_is_made(client):
    _refusal(_post(client, "start", {"body": "Hello"}), 403, "identity")
    _refusal(_post(client, "start", {"body": "Hello"}, token="forged"), 403, "identity")
    assert not Conversation.objects.exists()


def test_W4_a_reply_to_an_own_open_conversation(client, contact, token, conversation):
    response = _post(client, "reply", {"body": "Any news?"}, token=token, args=[conversation.pk])
    assert response.status_code == 201
    part = Part.objects.get(pk=response.json()["part"])
    assert (part.conversation_id, part.author_contact, part.body) == (
        conversation.pk,
        contact,
        "Any news?",
    )


def test_Z3_a_reply_to_an_own_closed_conversation_reopens_it(client, contact, teammate, token):
    conversation = _closed(contact, teammate)
    response = _post(client, "reply", {"body": "Still broken"}, token=token, args=[conversation.pk])
    assert response.status_code == 201
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    assert conversation.parts.filter(kind=Part.Kind.EVENT, event=Part.Event.REOPENED).exists()
    assert conversation.parts.latest("id").body == "Still broken"


def test_W4_a_reply_to_someone_elses_conversation_is_a_404_and_nothing_is_written(
    client, token, teammate
):
    theirs = _closed(ContactFactory(), teammate)
    before = (Part.objects.count(), theirs.updated_at, theirs.state)
    for pk in (theirs.pk, 999_999):
        response = _post(client, "reply", {"body": "Let me in"}, token=token, args=[pk])
        assert _refusal(response, 404, "not_found") == "You have no such conversation."
    theirs.refresh_from_db()
    assert (Part.objects.count(), theirs.updated_at, theirs.state) == before
    assert not Part.objects.filter(body__contains="Let me in").exists()


def test_an_empty_reply_is_a_400_and_nothing_is_written(client, token, conversation):
    before = Part.objects.count()
    response = _post(client, "reply", {"body": " "}, token=token, args=[conversation.pk])
    assert _refusal(response, 400, "invalid") == "The message is empty."
    assert Part.objects.count() == before


def test_W2_a_lead_leaves_an_email_and_a_name(client):
    lead = _session(client, {})
    response = _post(
        client, "me", {"email": "lee@example.com", "name": "Lee"}, token=lead["session"]
    )
    assert response.status_code == 200
    assert response.json() == {"role": "lead", "name": "Lee", "email": "lee@example.com"}
    contact = Contact.objects.get(visitor_id=lead["visitor_id"])
    assert (contact.email, contact.name) == ("lee@example.com", "Lee")


def test_W2_a_lead_with_an_invalid_email_is_a_400_and_nothing_changes(client):
    lead = _session(client, {})
    response = _post(client, "me", {"email": "lee@"}, token=lead["session"])
    assert "not a valid email address" in _refusal(response, 400, "invalid")
    contact = Contact.objects.get(visitor_id=lead["visitor_id"])
    assert contact.email == ""


def test_W2_W3_a_user_cannot_set_their_details_here(client, contact, token):
    response = _post(client, "me", {"email": "mallory@example.com"}, token=token)
    assert "come from the company's app" in _refusal(response, 400, "invalid")
    contact.refresh_from_db()
    assert contact.email == "cora@example.com"


# --- W7: the frame and the scripts -----------------------------------------------------------


def _frame_ancestors(response) -> str:
    """The frame-ancestors directive of the page's Content-Security-Policy (K10b: the rest of
    the policy is the site's, tests/test_headers.py)."""
    (found,) = [
        directive.removeprefix("frame-ancestors ")
        for directive in response["Content-Security-Policy"].split("; ")
        if directive.startswith("frame-ancestors ")
    ]
    return found


def _config(response) -> dict:
    (found,) = CONFIG.findall(response.content.decode())
    return json.loads(found)


def test_W7_the_frame_may_be_embedded_by_the_allowed_origins_only(client):
    response = client.get(reverse("messenger:frame"), {"host": "http://host.example"})
    assert response.status_code == 200
    assert _frame_ancestors(response) == "'self' http://host.example http://testserver"
    assert "X-Frame-Options" not in response
    config = _config(response)
    assert config["host"] == "http://host.example"
    assert config["allowed"] == ["http://host.example", "http://testserver"]
    assert config["mode"] == "frame"
    assert config["urls"]["threads"] == reverse("messenger:threads")


@pytest.mark.parametrize(
    "host, expected",
    [
        ("http://evil.example", ""),
        ("https://host.example", ""),  # another scheme is another origin
        ("http://host.example:8080", ""),
        ("http://host.example.evil.example", ""),
        ("", ""),
        (None, ""),
        ("http://host.example/", "http://host.example"),
        ("http://testserver", "http://testserver"),
    ],
)
def test_W7_an_unknown_host_gets_no_host_in_the_config(client, host, expected):
    params = {} if host is None else {"host": host}
    response = client.get(reverse("messenger:frame"), params)
    assert response.status_code == 200
    assert _config(response)["host"] == expected
    # The policy does not depend on what the page claims.
    assert _frame_ancestors(response) == "'self' http://host.example http://testserver"
    assert "evil" not in response["Content-Security-Policy"]


def test_W7_the_widget_script_is_small_javascript_for_any_site(client):
    response = client.get(reverse("messenger:widget"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert 1000 < len(response.content) < 30_000
    assert b"<html" not in response.content.lower()


def test_W7_the_frame_script_is_small_javascript(client):
    html = client.get(reverse("messenger:frame")).content.decode()
    (src,) = re.findall(r'<script src="([^"]*frame[^"]*\.js)"', html)
    response = client.get(src)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert 1000 < len(body) < 30_000
