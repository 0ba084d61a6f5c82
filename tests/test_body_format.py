"""E3a, E3b: a body is text (as typed) or HTML (sanitised), and E3 and the pages read it alike.

- E3a a text body (the Messenger, the admin's reply and note boxes, a text-only email, the API
  with `body_format: text`) is stored as typed and every character of it counts: `<`, `>`, `&`
  and what looks like an entity included.
- E3b an HTML body counts its visible text, exactly what the page shows of it.

The agreement: for any body, the visible text of the HTML a page draws for it
(`visible_text(body_html(…))`, the project's own parser) is what E3 counted.
"""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conversations import inbox as inbox_reads
from conversations import services
from conversations.models import Channel, Conversation, Origin, Part
from conversations.text import (
    HTML,
    TEXT,
    body_html,
    body_readable_text,
    body_visible_text,
    message_body,
    message_preview,
    visible_characters,
    visible_text,
)
from ratings.selectors import rating_decision
from ratings.tokens import messenger_token

# What a customer may type that an HTML reading would get wrong.
FRAGMENTS = [
    "<", ">", "&", "&amp;", "&lt;b&gt;", "&#60;", "&nbsp;", "<b>", "</p>", "<3", "a<b c>d",
    "<script>x</script>", "<!-- c -->", "<br>", "\n", "\r\n", "\t", "  ", "😀", "👍🏽", "e\u0301",
    "\u200b", "\u202e", "ß", "日本",
]  # fmt: skip
SAMPLES = [
    "if a < b and c > d",
    "<3 thanks",
    "a<b c>d",
    "Tom & Jerry &amp; friends &lt;b&gt;",
    "<b>not bold</b>\nsecond line\n\nthird",
    "café e\u0301 😀👍🏽 \u200b",
]
HTML_SAMPLES = [
    "<p>Hello <b>world</b> &amp; more</p><p>next</p>",
    "one\ntwo &lt;3",
    "<ul><li>a</li><li>b &gt; c</li></ul>",
]

typed = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
    ),
    min_size=1,
    max_size=12,
).map("".join)


def _stored(body: str, body_format: str) -> str:
    try:
        return message_body(body, body_format)
    except ValidationError:
        assume(False)


# --- the two readings, as functions ------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(typed)
def test_E3a_property_a_text_body_is_stored_shown_and_counted_as_typed(body):
    stored = _stored(body, TEXT)
    # As typed: only a line break is made the one `\n` a page shows.
    assert stored == body.replace("\r\n", "\n").replace("\r", "\n")
    drawn = body_html(stored, TEXT)
    assert visible_text(drawn) == body_visible_text(stored, TEXT) == stored
    assert visible_characters(stored, TEXT) == len(stored)


@settings(max_examples=300, deadline=None)
@given(typed)
def test_E3b_property_an_html_body_counts_exactly_the_text_its_page_shows(body):
    stored = _stored(body, HTML)
    drawn = body_html(stored, HTML)
    assert visible_text(drawn) == body_visible_text(stored, HTML)
    assert visible_characters(stored, HTML) == len(visible_text(drawn))


@pytest.mark.parametrize("body", SAMPLES)
def test_E3a_plain_text_with_markup_characters_counts_in_full(body):
    stored = message_body(body, TEXT)
    assert visible_characters(stored, TEXT) == len(body.replace("\r\n", "\n"))
    # Read as HTML it would lose characters (the reason for the two formats).
    if "<b" in body:
        assert len(visible_text(message_body(body, HTML))) < len(body)


def test_E3a_a_text_body_refuses_nul_and_emptiness_as_before():
    for empty in ("", "   ", " \n\t "):
        with pytest.raises(ValidationError, match="empty"):
            message_body(empty, TEXT)
    with pytest.raises(ValidationError, match="NUL"):
        message_body("hi\x00", TEXT)
    with pytest.raises(ValidationError, match="format"):
        message_body("hi", "markdown")


def test_E3a_readable_text_and_previews_of_a_text_body_are_its_text():
    assert body_readable_text(" a<b c>d \n", TEXT) == "a<b c>d"
    assert message_preview("a<b c>d\nnext", body_format=TEXT, first_line=True) == "a<b c>d"
    assert message_preview("a &amp; b", body_format=TEXT) == "a &amp; b"
    assert message_preview("a &amp; b", body_format=HTML) == "a & b"


# --- the pages, the email and E3 over real parts -----------------------------------------------


def _session(client, contact) -> str:
    response = client.post(
        reverse("messenger:session"),
        json.dumps({"link": messenger_token(contact_id=contact.pk)}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["session"]


def _widget(client, name, token, data, args=()):
    return client.post(
        reverse(f"messenger:{name}", args=args),
        json.dumps(data),
        content_type="application/json",
        HTTP_X_MESSENGER_SESSION=token,
    )


def test_E3a_the_messenger_stores_what_the_visitor_typed_as_text(client, contact):
    token = _session(client, contact)
    response = _widget(client, "start", token, {"body": "if a < b and c > d"})
    assert response.status_code == 201, response.content
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    response = _widget(client, "reply", token, {"body": "a<b c>d"}, args=[conversation.pk])
    assert response.status_code == 201, response.content
    parts = list(conversation.parts.values_list("body", "body_format"))
    assert parts == [("if a < b and c > d", "text"), ("a<b c>d", "text")]
    conversation.refresh_from_db()
    assert conversation.reply_characters == len("if a < b and c > d") + len("a<b c>d")
    assert conversation.first_line == "if a < b and c > d"
    assert conversation.preview == "a<b c>d"


def _render(part) -> str:
    return Template("{% load parts %}{{ part|part_html }}").render(Context({"part": part}))


@pytest.mark.django_db
def test_E3a_E3b_every_page_shows_exactly_the_text_E3_counted(
    client, contact, teammate, admin_user
):
    """The Messenger thread, the admin thread and the API draw each part with `part_html`; its
    visible text is the part's, and their sum is the conversation's `reply_characters`."""
    conversation = services.conversation_start(
        channel=Channel.MESSENGER,
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        body=SAMPLES[0],
        body_format=TEXT,
    )
    parts = [conversation.parts.get()]
    for number, body in enumerate(SAMPLES[1:] + HTML_SAMPLES):
        parts.append(
            services.conversation_reply(
                conversation=conversation,
                author=teammate if number % 2 else contact,
                body=body,
                body_format=HTML if body in HTML_SAMPLES else TEXT,
            )
        )
    conversation.refresh_from_db()
    counted = 0
    for part in parts:
        drawn = _render(part)
        assert drawn == str(part.html)
        assert visible_text(drawn) == part.visible_text
        counted += len(part.visible_text)
    assert conversation.reply_characters == counted
    assert counted == sum(len(b.replace("\r\n", "\n")) for b in SAMPLES) + sum(
        len(visible_text(message_body(b))) for b in HTML_SAMPLES
    )

    messenger = client.get(
        reverse("messenger:threads"), HTTP_X_MESSENGER_SESSION=_session(client, contact)
    ).content.decode()
    client.force_login(admin_user)
    admin_page = client.get(
        reverse("admin:conversations_conversation_change", args=[conversation.pk])
    ).content.decode()
    for part in parts:
        assert str(part.html) in messenger
        assert str(part.html) in admin_page
    assert "if a &lt; b and c &gt; d" in messenger  # shown as typed, never as a tag


@pytest.mark.parametrize("extra, rule", [(0, "E3"), (1, "")])
def test_E3a_boundary_a_text_of_250_characters_with_markup_characters_is_short_251_is_not(
    contact, teammate, capture, extra, rule
):
    """250 characters typed, `<` and `>` among them, are not enough; 251 are (DESIGN E3)."""
    customer = ("if a < b and c > d, <3 " * 20)[:200]
    answer = ("a<b c>d " * 10)[: 50 + extra]
    with capture(execute=True):
        conversation = services.conversation_start(
            channel=Channel.MESSENGER,
            origin=Origin.CUSTOMER,
            contacts=[contact],
            started_by=contact,
            body=customer,
            body_format=TEXT,
        )
        services.conversation_reply(
            conversation=conversation, author=teammate, body=answer, body_format=TEXT
        )
        services.conversation_close(conversation=conversation, by=teammate)
    conversation.refresh_from_db()
    assert conversation.reply_characters == 250 + extra
    decision = rating_decision(conversation=conversation)
    assert (decision.status, decision.rule) == ("skipped" if rule else "sent", rule)


def test_E3a_the_reply_email_shows_a_text_body_as_typed(contact, teammate, capture):
    with capture(execute=True):
        services.conversation_start(
            channel=Channel.EMAIL,
            origin=Origin.DIRECT_OUTBOUND,
            contacts=[contact],
            started_by=teammate,
            subject="Maths",
            body="if a < b &amp; c > d\nthen <3",
            body_format=TEXT,
        )
    (message,) = [m for m in mail.outbox if "Maths" in m.subject]
    assert "if a < b &amp; c > d\nthen <3" in message.body
    ((html, _),) = message.alternatives
    assert "if a &lt; b &amp;amp; c &gt; d<br>\nthen &lt;3" in html


def test_E3a_the_api_takes_and_gives_text_bodies(api_login, api_admin, contact):
    api = api_login(api_admin.user)
    started = api.post(
        "/api/v1/conversations/",
        {"channel": "email", "contacts": [contact.pk], "body": "a<b c>d", "body_format": "text"},
        format="json",
    )
    assert started.status_code == 201, started.content
    (part,) = started.json()["parts"]
    assert (part["body_format"], part["body_text"], part["body"]) == (
        "text",
        "a<b c>d",
        "a&lt;b c&gt;d",
    )
    html = api.post(
        f"/api/v1/conversations/{started.json()['id']}/replies/",
        {"body": "a<b c>d"},
        format="json",
    )
    assert html.status_code == 201, html.content
    # Without `body_format` a body is HTML, as before: `<b c>` is a tag.
    assert (html.json()["body_format"], html.json()["body_text"]) == ("html", "ad")


def test_I3_E3a_a_text_body_is_searched_whole(contact, teammate):
    conversation = services.conversation_start(
        channel=Channel.MESSENGER,
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        body="pallets<crates quokka>wombat",
        body_format=TEXT,
    )
    services.conversation_start(
        channel=Channel.EMAIL,
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        body="<strong>zebra</strong> hullabaloo",
    )
    for word in ("quokka", "pallets", "hullabaloo"):
        assert inbox_reads.search(Conversation.objects.all(), word).exists(), word
    assert list(inbox_reads.search(Conversation.objects.all(), "quokka")) == [conversation]
    # An HTML body's markup is still not searched.
    assert not inbox_reads.search(Conversation.objects.all(), "strong").exists()
    assert Part.objects.filter(body_format="text").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
def test_I3_E3a_a_word_inside_angle_brackets_of_a_text_body_is_found_through_the_index(contact):
    """`<crates quokka>` in a text body is words, not a tag, and the GIN index finds them."""
    conversation = services.conversation_start(
        channel=Channel.MESSENGER,
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        body="first",
    )
    now = timezone.now()
    Part.objects.bulk_create(
        Part(conversation=conversation, kind=Part.Kind.REPLY, author_contact=contact,
             body=f"message {number} a<b c>d", body_format=TEXT, created_at=now)
        for number in range(2000)
    )  # fmt: skip
    Part.objects.create(
        conversation=conversation,
        kind=Part.Kind.REPLY,
        author_contact=contact,
        body="pallets<crates quokka>wombat",
        body_format=TEXT,
        created_at=now,
    )
    queryset = inbox_reads.search(Conversation.objects.all(), "quokka")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_part")
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "part_body_search_idx" in plan, plan
    assert [c.pk for c in queryset] == [conversation.pk]
