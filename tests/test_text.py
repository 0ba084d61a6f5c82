"""E3: the length of a conversation is the visible characters of its replies."""

from datetime import UTC, datetime

import pytest

from conversations import services
from conversations.text import visible_characters, visible_text
from tests.factories import start_conversation


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("hello", 5),
        ("", 0),
        ("<p>Hello</p>", 5),
        ("<p>Hello <b>there</b></p>", 11),
        ('<a href="https://example.com/a/very/long/link">link</a>', 4),
        ("<p>a</p><br><p>b</p>", 2),
        ("<!-- an HTML comment -->x", 1),
        ("Tom &amp; Jerry", 11),
        ("&amp;", 1),
        ("&nbsp;", 1),
        ("&lt;b&gt;", 3),
        ("&#x1F600;", 1),
        ("&#128512;", 1),
        ("😀", 1),
        ("naïve", 5),
        ("e\u0301", 2),  # e + combining acute accent: two code points
        ("👍🏽", 2),  # thumbs up + skin tone modifier
        ("🇫🇷", 2),  # two regional indicators
        ("a b", 3),
        ("   ", 3),
        ("a\nb", 3),
        ("1 < 2 and 3 > 2", 15),
        ("<script>alert('counted?')</script>ok", 2),
        ("<style>p { color: red; }</style>ok", 2),
        ("<script>if (a < b) { x(); }</script>ok", 2),
        ("<SCRIPT>hidden</SCRIPT>ok", 2),
    ],
)
def test_E3_visible_characters(body, expected):
    assert visible_characters(body) == expected


def test_E3_visible_text_decodes_entities_and_drops_markup():
    assert visible_text("<p>Tom &amp; <i>Jerry</i>&nbsp;&#x1F600;</p>") == "Tom & Jerry\xa0😀"


def test_E3_replies_count_their_visible_characters(contact, teammate):
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body="<p>Caf&eacute; &amp; 😀</p>"
    )
    assert conversation.reply_characters == len("Café & 😀")

    services.conversation_reply(
        conversation=conversation, author=teammate, body="<b>Hi</b>&nbsp;<style>x{}</style>"
    )

    conversation.refresh_from_db()
    assert conversation.reply_characters == len("Café & 😀") + 3


def test_E3_notes_bot_messages_and_events_do_not_count(contact, teammate):
    conversation = start_conversation(contacts=[contact], started_by=contact, body="abc")

    services.conversation_note(conversation=conversation, author=teammate, body="n" * 500)
    services.conversation_bot_message(conversation=conversation, body="b" * 500)
    services.conversation_snooze(
        conversation=conversation,
        by=teammate,
        until=datetime(2099, 1, 1, tzinfo=UTC),
    )
    services.conversation_reopen(conversation=conversation, by=teammate)
    close = services.conversation_close(conversation=conversation, by=teammate)

    conversation.refresh_from_db()
    assert conversation.reply_characters == 3
    assert close.reply_characters == 3


def test_E3_workflow_conversations_start_at_zero(contact, workflow):
    conversation = start_conversation(
        origin="workflow", workflow=workflow, contacts=[contact], body="x" * 300
    )

    assert conversation.reply_characters == 0


@pytest.mark.parametrize(
    ("customer", "teammate_reply", "expected"),
    [
        ("c" * 200, "t" * 50, 250),
        ("c" * 200, "t" * 51, 251),
        # Markup and entities do not pad the count: 250 visible characters.
        ("<p>" + "c" * 199 + "&amp;</p>", "<b>" + "t" * 49 + "</b>&nbsp;", 250),
        ("<p>" + "c" * 199 + "&amp;</p>", "<b>" + "t" * 50 + "</b>&nbsp;", 251),
    ],
    ids=["200+50=250", "200+51=251", "markup 250", "markup 251"],
)
def test_E3_the_boundary_summed_over_customer_and_teammate_replies(
    contact, teammate, customer, teammate_reply, expected
):
    conversation = start_conversation(contacts=[contact], started_by=contact, body=customer)
    services.conversation_reply(conversation=conversation, author=teammate, body=teammate_reply)

    close = services.conversation_close(conversation=conversation, by=teammate)

    conversation.refresh_from_db()
    assert conversation.reply_characters == expected
    assert close.reply_characters == expected


def test_E3_one_more_character_crosses_250(contact, teammate):
    conversation = start_conversation(contacts=[contact], started_by=contact, body="c" * 200)
    services.conversation_reply(conversation=conversation, author=teammate, body="t" * 50)
    assert conversation.reply_characters == 250

    services.conversation_reply(conversation=conversation, author=contact, body="!")

    assert conversation.reply_characters == 251
    conversation.refresh_from_db()
    assert conversation.reply_characters == 251
