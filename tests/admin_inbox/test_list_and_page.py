"""The inbox list, search and the conversation page, with their query counts."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations import services
from conversations.models import (
    Conversation,
    Origin,
    State,
)
from tests.admin_inbox.support import act_url, change_url

CHANGELIST = reverse("admin:conversations_conversation_changelist")


def make_conversations(count: int, *, prefix: str = "Question") -> list[Conversation]:
    made = []
    for number in range(count):
        person = services.contact_create(
            role="lead", name="", email=f"{prefix.lower()}{number}@visitor.test"
        )
        made.append(
            services.conversation_start(
                channel="messenger",
                origin=Origin.CUSTOMER,
                contacts=[person],
                started_by=person,
                subject=f"{prefix} {number}",
                body="Hi",
            )
        )
    return made


# --- list -------------------------------------------------------------------------------------


def test_list_page_loads_with_filters_and_search(inbox, conversation, teammate):
    services.conversation_reply(conversation=conversation, author=teammate, body="On it.")
    make_conversations(2)

    response = inbox.get(CHANGELIST)
    assert response.status_code == 200
    assert "Export is broken" in response.text
    assert "ann@customer.test" in response.text
    assert "Start a conversation" in response.text

    filtered = inbox.get(
        CHANGELIST,
        {
            "view": "open",
            "channel": "email",
            "origin": "customer",
            "assignee__id__exact": teammate.pk,
            "q": "ann@customer",
        },
    )
    assert filtered.status_code == 200
    assert [c.pk for c in filtered.context["cl"].result_list] == [conversation.pk]

    by_subject = inbox.get(CHANGELIST, {"q": "Question 1"})
    assert [c.subject for c in by_subject.context["cl"].result_list] == ["Question 1"]


def test_search_by_email_lists_a_group_conversation_once(inbox, contact):
    """Two contacts match the search: the conversation is still one row."""
    other = services.contact_create(role="user", name="Kim", email="kim@customer.test")
    group = services.conversation_start(
        channel="email",
        origin=Origin.CUSTOMER,
        contacts=[contact, other],
        started_by=contact,
        subject="Both of us",
        body="Hi",
    )
    response = inbox.get(CHANGELIST, {"q": "customer.test"})
    assert [c.pk for c in response.context["cl"].result_list] == [group.pk]
    assert response.context["cl"].result_count == 1


def test_list_queries_do_not_grow_with_rows(inbox, teammate):
    """Contacts are prefetched and the assignee joined: no query per row."""
    for made in make_conversations(2, prefix="Few"):
        services.conversation_reply(conversation=made, author=teammate, body="Hello")
    with CaptureQueriesContext(connection) as few:
        assert inbox.get(CHANGELIST).status_code == 200
    for made in make_conversations(10, prefix="Many"):
        services.conversation_reply(conversation=made, author=teammate, body="Hello")
    with CaptureQueriesContext(connection) as many:
        assert inbox.get(CHANGELIST).status_code == 200
    assert len(many) == len(few)


# --- change page ------------------------------------------------------------------------------


def test_change_page_shows_the_thread_escaped(inbox, conversation, contact, teammate):
    """M17: bodies are sanitised HTML: formatting shown, nothing that runs; typed text as is."""
    services.conversation_reply(
        conversation=conversation,
        author=contact,
        body="<script>alert('x')</script><p onclick='steal()'>line two</p>",
    )
    services.conversation_note(conversation=conversation, author=teammate, body="<b>check</b>")
    services.conversation_reply(conversation=conversation, author=teammate, body="Fixed & done")
    inbox.post(act_url(conversation, "reply"), {"body": "<i>typed</i> as text"})

    response = inbox.get(change_url(conversation))

    assert response.status_code == 200
    page = response.text
    assert "alert(" not in page and "steal()" not in page
    assert "<p>line two</p>" in page
    assert "<b>check</b>" in page
    assert "&lt;i&gt;typed&lt;/i&gt; as text" in page
    assert "Internal note" in page
    assert "Fixed &amp; done" in page
    assert 'class="conv-part conv-contact"' in page
    assert 'class="conv-part conv-teammate"' in page
    assert 'class="conv-part conv-note"' in page


def test_change_page_shows_events_and_offers_actions_by_state(inbox, conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate, quiet=True)
    page = inbox.get(change_url(conversation)).text
    assert "Closed quietly by Tess Tam" in page
    assert act_url(conversation, "reopen") in page
    assert act_url(conversation, "note") in page
    assert act_url(conversation, "close") not in page
    assert act_url(conversation, "reply") not in page
    assert "Closes" in page  # every close with its facts and decision, in the rating panel


def test_open_conversation_offers_reply_snooze_and_both_closes(inbox, conversation):
    page = inbox.get(change_url(conversation)).text
    for action in ("reply", "note", "snooze", "close"):
        assert act_url(conversation, action) in page
    assert act_url(conversation, "reopen") not in page
    assert "Close quietly" in page
    assert "no rating survey (E8)" in page


def test_change_page_queries_do_not_grow_with_the_thread(inbox, conversation, contact, teammate):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert inbox.get(change_url(conversation)).status_code == 200
        return len(queries)

    services.conversation_reply(conversation=conversation, author=teammate, body="One")
    short = count()
    for number in range(15):
        services.conversation_reply(conversation=conversation, author=contact, body=f"c{number}")
        services.conversation_reply(conversation=conversation, author=teammate, body=f"t{number}")
        services.conversation_note(conversation=conversation, author=teammate, body=f"n{number}")
    services.conversation_close(conversation=conversation, by=teammate)
    services.conversation_reopen(conversation=conversation, by=teammate)
    services.conversation_close(conversation=conversation, by=teammate)
    assert count() == short  # the parts, their authors and the closes: one query each


def test_change_form_itself_cannot_be_posted(inbox, conversation):
    response = inbox.post(change_url(conversation), {"subject": "Changed", "state": "closed"})
    assert response.status_code == 405
    conversation.refresh_from_db()
    assert (conversation.subject, conversation.state) == ("Export is broken", State.OPEN)


# --- actions ----------------------------------------------------------------------------------
