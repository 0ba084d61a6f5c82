"""Who may act, the add pages, and the people and workflow pages."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from conversations import services
from conversations.models import (
    Conversation,
    Origin,
    Part,
    State,
    Teammate,
    Workflow,
)
from tests.admin_inbox.support import PASSWORD, act_url, change_url, shown_messages

ADD = reverse("admin:conversations_conversation_add")


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
    # Typed as text, stored and shown as typed (M17, E3a).
    assert (first.kind, first.author_teammate, first.body, first.body_format) == (
        Part.Kind.REPLY,
        teammate,
        "Hi Ann, <b>how</b> is it going?",
        "text",
    )
    assert first.html == "Hi Ann, &lt;b&gt;how&lt;/b&gt; is it going?"


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
