"""The admin inbox (issue "Foundation", item 3): list, thread, actions, add pages.

The actions go through `conversations.services`; these tests check that the admin calls
through, shows the service's refusal, and writes nothing when the input or the state is wrong.
Data is made with the services, as the product makes it.
"""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations import services
from conversations.models import (
    Conversation,
    ConversationClose,
    Origin,
    Part,
    State,
    Teammate,
    Workflow,
)

PASSWORD = "a-long-test-password-42"
CHANGELIST = reverse("admin:conversations_conversation_changelist")
ADD = reverse("admin:conversations_conversation_add")


def change_url(conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


def act_url(conversation, action: str) -> str:
    return reverse("admin:conversations_conversation_act", args=[conversation.pk, action])


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@contextmanager
def at_wednesday_afternoon(client, teammate):
    """Wednesday 2 January 2030, 15:30 UTC, signed in afresh (the session would have expired)."""
    with time_machine.travel(datetime(2030, 1, 2, 15, 30, tzinfo=UTC), tick=False):
        client.force_login(teammate.user)
        yield


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def teammate(db):
    """A teammate as an admin makes one: a staff user in the Teammates group (migration 0002)."""
    return services.teammate_create(name="Tess Tam", email="tess@example.com", password=PASSWORD)


@pytest.fixture
def inbox(client, teammate):
    client.force_login(teammate.user)
    return client


@pytest.fixture
def contact(db):
    return services.contact_create(role="user", name="Ann Archer", email="ann@customer.test")


@pytest.fixture
def conversation(contact):
    return services.conversation_start(
        channel="email",
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        subject="Export is broken",
        body="Hello, the export does nothing.",
    )


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
            "state": "open",
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
    services.conversation_reply(
        conversation=conversation, author=contact, body="<script>alert('x')</script>\nline two"
    )
    services.conversation_note(conversation=conversation, author=teammate, body="<b>check</b>")
    services.conversation_reply(conversation=conversation, author=teammate, body="Fixed & done")

    response = inbox.get(change_url(conversation))

    assert response.status_code == 200
    page = response.text
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;<br>line two" in page
    assert "&lt;b&gt;check&lt;/b&gt;" in page
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
    assert "Closes" in page  # the read-only inline with the facts of the close


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


def test_reply_action_calls_the_service(inbox, conversation, teammate):
    response = inbox.post(
        act_url(conversation, "reply"), {"body": "Hi Ann,\r\nfixed now."}, follow=True
    )
    assert response.redirect_chain[-1][0] == change_url(conversation)
    assert shown_messages(response) == ["Reply sent."]
    part = conversation.parts.get(kind=Part.Kind.REPLY, author_teammate=teammate)
    assert part.body == "Hi Ann,\nfixed now."  # one character per line break (E3)
    conversation.refresh_from_db()
    assert conversation.teammate_reply_count == 1
    assert conversation.assignee == teammate


def test_note_action_adds_an_internal_note(inbox, conversation, teammate):
    response = inbox.post(act_url(conversation, "note"), {"body": "Known bug"}, follow=True)
    assert shown_messages(response) == ["Internal note added."]
    note = conversation.parts.get(kind=Part.Kind.NOTE)
    assert (note.body, note.author_teammate) == ("Known bug", teammate)
    conversation.refresh_from_db()
    assert conversation.reply_characters == len("Hello, the export does nothing.")


def test_snooze_action_reads_the_time_in_the_current_time_zone(inbox, teammate, conversation):
    with at_wednesday_afternoon(inbox, teammate), timezone.override(ZoneInfo("Europe/Paris")):
        response = inbox.post(
            act_url(conversation, "snooze"), {"until": "2030-01-03T09:00"}, follow=True
        )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.state == State.SNOOZED
    assert conversation.snoozed_until == datetime(2030, 1, 3, 8, 0, tzinfo=UTC)  # 9:00 in Paris
    assert conversation.parts.filter(event=Part.Event.SNOOZED).count() == 1


@pytest.mark.parametrize(
    ("quick", "expected"),
    [
        ("1h", datetime(2030, 1, 2, 16, 30, tzinfo=UTC)),
        ("tomorrow", datetime(2030, 1, 3, 9, 0, tzinfo=UTC)),
        ("next_week", datetime(2030, 1, 7, 9, 0, tzinfo=UTC)),
    ],
)
def test_snooze_quick_buttons(inbox, teammate, conversation, quick, expected):
    with at_wednesday_afternoon(inbox, teammate):
        response = inbox.post(act_url(conversation, "snooze"), {"until": "", "quick": quick})
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.SNOOZED, expected)


def test_snooze_with_an_unparseable_date_writes_nothing(inbox, conversation):
    response = inbox.post(act_url(conversation, "snooze"), {"until": "next tuesday"}, follow=True)
    assert shown_messages(response) == ["Enter the snooze time as a date and a time."]
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    assert not conversation.parts.filter(kind=Part.Kind.EVENT).exists()


def test_snooze_in_the_past_is_refused_by_the_service(inbox, conversation):
    response = inbox.post(
        act_url(conversation, "snooze"), {"until": "2001-01-01T09:00"}, follow=True
    )
    assert shown_messages(response) == ["The snooze time is in the past: choose a time to come."]
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_reopen_action_wakes_a_snoozed_conversation(inbox, conversation, teammate):
    services.conversation_snooze(
        conversation=conversation, by=teammate, until=timezone.now() + timedelta(days=1)
    )
    response = inbox.post(act_url(conversation, "reopen"), follow=True)
    assert shown_messages(response) == ["Conversation reopened."]
    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.OPEN, None)


def test_close_action_closes(inbox, conversation, teammate):
    response = inbox.post(act_url(conversation, "close"), {"quiet": ""}, follow=True)
    assert shown_messages(response) == ["Conversation closed."]
    conversation.refresh_from_db()
    assert conversation.state == State.CLOSED
    close = conversation.closes.get()
    assert (close.closed_by, close.quiet) == (teammate, False)


def test_close_quietly_action_records_a_quiet_close_e8(inbox, conversation):
    response = inbox.post(act_url(conversation, "close"), {"quiet": "on"}, follow=True)
    assert shown_messages(response) == ["Closed quietly: the customer gets no survey."]
    assert conversation.closes.get().quiet is True
    assert conversation.parts.filter(event=Part.Event.CLOSED_QUIETLY).count() == 1


def test_closing_twice_shows_the_refusal_and_writes_nothing(inbox, conversation):
    inbox.post(act_url(conversation, "close"), follow=True)
    parts_before = Part.objects.count()
    conversation.refresh_from_db()
    updated_before = conversation.updated_at

    response = inbox.post(act_url(conversation, "close"), follow=True)

    assert response.status_code == 200
    assert shown_messages(response) == ["This conversation is already closed."]
    assert ConversationClose.objects.filter(conversation=conversation).count() == 1
    assert Part.objects.count() == parts_before
    conversation.refresh_from_db()
    assert conversation.updated_at == updated_before


def test_reply_on_a_closed_conversation_is_refused_by_the_service(inbox, conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)
    response = inbox.post(act_url(conversation, "reply"), {"body": "Hello?"}, follow=True)
    assert shown_messages(response) == ["This conversation is closed: reopen it before replying."]
    assert not conversation.parts.filter(author_teammate=teammate, kind=Part.Kind.REPLY).exists()


@pytest.mark.parametrize("body", ["", "   \r\n  "])
def test_empty_reply_is_refused_and_nothing_written(inbox, conversation, body):
    parts_before = conversation.parts.count()
    response = inbox.post(act_url(conversation, "reply"), {"body": body}, follow=True)
    assert shown_messages(response) == ["Write a message first: the message is empty."]
    assert conversation.parts.count() == parts_before
    conversation.refresh_from_db()
    assert conversation.teammate_reply_count == 0


def test_get_on_an_action_url_is_405(inbox, conversation):
    assert inbox.get(act_url(conversation, "close")).status_code == 405
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_unknown_action_is_404(inbox, conversation):
    assert inbox.post(act_url(conversation, "delete-everything")).status_code == 404


def test_actions_are_csrf_protected(teammate, conversation):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(teammate.user)
    assert strict.post(act_url(conversation, "close")).status_code == 403
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_user_without_change_permission_gets_403(client, conversation):
    viewer = get_user_model().objects.create_user("viewer", password=PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    Teammate.objects.create(user=viewer, name="Viewer")
    client.force_login(viewer)

    assert client.get(change_url(conversation)).status_code == 200  # may read
    assert client.post(act_url(conversation, "close")).status_code == 403
    assert client.post(act_url(conversation, "reply"), {"body": "Hi"}).status_code == 403
    assert client.get(ADD).status_code == 403
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_anonymous_is_sent_to_login(client, conversation):
    response = client.post(act_url(conversation, "close"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_user_without_teammate_profile_gets_a_message_not_a_crash(client, conversation):
    staff = get_user_model().objects.create_user("staff", password=PASSWORD, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_conversation", "change_conversation"])
    )
    client.force_login(staff)

    page = client.get(change_url(conversation))
    assert "no teammate profile" in page.text
    response = client.post(act_url(conversation, "close"), follow=True)
    assert shown_messages(response) == [
        "Your account has no teammate profile, so it cannot act on conversations. "
        "Ask an admin to add you as a teammate."
    ]
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN


def test_superuser_without_teammate_profile_is_told_to_create_one(admin_client, conversation):
    response = admin_client.post(act_url(conversation, "note"), {"body": "x"}, follow=True)
    [message] = shown_messages(response)
    assert "superuser account has no teammate profile" in message
    assert "Create a teammate profile" in message
    assert not conversation.parts.filter(kind=Part.Kind.NOTE).exists()


def test_only_superusers_may_delete_a_conversation(inbox, admin_client, conversation):
    delete = reverse("admin:conversations_conversation_delete", args=[conversation.pk])
    assert inbox.get(delete).status_code == 403
    assert "deletelink" not in inbox.get(change_url(conversation)).text
    assert admin_client.get(delete).status_code == 200


# --- add pages --------------------------------------------------------------------------------


def test_add_page_starts_a_direct_outbound_conversation(inbox, teammate, contact):
    assert inbox.get(ADD).status_code == 200
    response = inbox.post(
        ADD,
        {
            "channel": "messenger",
            "contacts": [contact.pk],
            "subject": "Checking in",
            "body": "Hi Ann, <b>how</b> is it going?",
        },
    )
    started = Conversation.objects.get(subject="Checking in")
    assert response.status_code == 302
    assert response["Location"] == change_url(started)
    assert started.origin == Origin.DIRECT_OUTBOUND
    assert started.channel == "messenger"
    assert started.started_by_teammate == teammate
    assert list(started.contacts.all()) == [contact]
    first = started.parts.get()
    assert (first.kind, first.author_teammate, first.body) == (
        Part.Kind.REPLY,
        teammate,
        "Hi Ann, <b>how</b> is it going?",
    )


def test_add_page_with_bad_input_writes_nothing(inbox, contact):
    response = inbox.post(ADD, {"channel": "email", "contacts": [contact.pk], "body": " "})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Conversation.objects.exists()


def test_add_page_without_teammate_profile_shows_the_refusal(admin_client, contact):
    response = admin_client.post(
        ADD, {"channel": "email", "contacts": [contact.pk], "body": "Hello"}
    )
    assert response.status_code == 200
    assert "no teammate profile" in response.text
    assert not Conversation.objects.exists()


def test_adding_a_teammate_creates_a_staff_user_in_the_teammates_group(admin_client):
    url = reverse("admin:conversations_teammate_add")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {"name": "Nia Novak", "email": "nia@example.com", "username": "", "password": ""},
    )
    assert response.status_code == 302
    nia = Teammate.objects.get(name="Nia Novak")
    assert nia.user.username == "nia@example.com"
    assert nia.user.is_staff
    assert list(nia.user.groups.values_list("name", flat=True)) == [services.TEAMMATES_GROUP]
    assert nia.user.has_perm("conversations.change_conversation")


def test_adding_a_teammate_with_a_taken_username_shows_the_refusal(admin_client, teammate):
    url = reverse("admin:conversations_teammate_add")
    response = admin_client.post(
        url, {"name": "Other", "email": "o@example.com", "username": teammate.user.username}
    )
    assert response.status_code == 200
    assert "is taken" in response.text
    assert not Teammate.objects.filter(name="Other").exists()


def test_teammate_change_page_edits_the_name_only(admin_client, teammate):
    url = reverse("admin:conversations_teammate_change", args=[teammate.pk])
    response = admin_client.post(url, {"name": "Tess T.", "email": "evil@example.com"})
    assert response.status_code == 302
    teammate.refresh_from_db()
    teammate.user.refresh_from_db()
    assert teammate.name == "Tess T."
    assert teammate.user.email == "tess@example.com"


def test_teammates_list_and_contacts_and_workflows_pages_load(admin_client, teammate, contact):
    for name in ("teammate", "contact", "workflow"):
        response = admin_client.get(reverse(f"admin:conversations_{name}_changelist"))
        assert response.status_code == 200
    page = admin_client.get(reverse("admin:conversations_teammate_changelist")).text
    assert "tess@example.com" in page
    contacts = admin_client.get(
        reverse("admin:conversations_contact_changelist"), {"q": "archer", "role": "user"}
    )
    assert [c.pk for c in contacts.context["cl"].result_list] == [contact.pk]


def test_teammates_can_view_but_not_change_workflows(inbox):
    workflow = Workflow.objects.create(name="Onboarding")
    url = reverse("admin:conversations_workflow_change", args=[workflow.pk])
    assert inbox.get(url).status_code == 200
    assert inbox.post(url, {"name": "Renamed"}).status_code == 403
    workflow.refresh_from_db()
    assert workflow.name == "Onboarding"
