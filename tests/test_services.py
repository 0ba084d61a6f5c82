"""conversations.services: each write's happy path, and each refusal leaving the state as it was."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from conversations import services
from conversations.models import (
    Contact,
    Conversation,
    ConversationClose,
    Origin,
    Part,
    State,
    Teammate,
)
from conversations.signals import conversation_closed
from tests.factories import ContactFactory, TeammateFactory, UserFactory, start_conversation

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def _row(conversation):
    return Conversation.objects.filter(pk=conversation.pk).values().get()


def _last_part(conversation):
    return conversation.parts.order_by("id").last()


def _in_memory(conversation):
    return {f.attname: getattr(conversation, f.attname) for f in Conversation._meta.concrete_fields}


@contextmanager
def refused(conversation, match):
    """The service raises ValidationError and writes nothing: the row, its parts, its closes
    and its contacts are as before, and so is the caller's object."""
    conversation.refresh_from_db()
    before = (
        _row(conversation),
        Part.objects.filter(conversation=conversation).count(),
        ConversationClose.objects.filter(conversation=conversation).count(),
        sorted(conversation.contacts.values_list("pk", flat=True)),
    )
    object_before = _in_memory(conversation)
    with pytest.raises(ValidationError, match=match):
        yield
    after = (
        _row(conversation),
        Part.objects.filter(conversation=conversation).count(),
        ConversationClose.objects.filter(conversation=conversation).count(),
        sorted(conversation.contacts.values_list("pk", flat=True)),
    )
    assert after == before
    assert _in_memory(conversation) == object_before


@contextmanager
def nothing_created(match):
    counts = (
        Conversation.objects.count(),
        Part.objects.count(),
        Contact.objects.count(),
        Teammate.objects.count(),
        get_user_model().objects.count(),
    )
    with pytest.raises(ValidationError, match=match):
        yield
    assert (
        Conversation.objects.count(),
        Part.objects.count(),
        Contact.objects.count(),
        Teammate.objects.count(),
        get_user_model().objects.count(),
    ) == counts


@pytest.fixture
def closed_signals():
    """The `conversation_closed` signals sent during the test, as their keyword arguments."""
    received = []

    def receiver(sender, **kwargs):
        received.append({"sender": sender, **kwargs})

    conversation_closed.connect(receiver, weak=False, dispatch_uid="tests.closed_signals")
    yield received
    conversation_closed.disconnect(dispatch_uid="tests.closed_signals")


# --- contact_create ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["user", "lead"])
def test_contact_create_makes_a_user_or_a_lead(role):
    contact = services.contact_create(role=role, name="  Ada  ", email=" ada@example.com ")

    contact.refresh_from_db()
    assert (contact.role, contact.name, contact.email) == (role, "Ada", "ada@example.com")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["", "visitor", "USER", None])
def test_contact_create_refuses_an_unknown_role(role):
    with nothing_created("Unknown contact role"):
        services.contact_create(role=role, name="Ada", email="ada@example.com")


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["", "   ", "not-an-email", "ada@", "@example.com", None])
def test_contact_create_refuses_a_bad_email(email):
    with nothing_created("not a valid email address"):
        services.contact_create(role="user", name="Ada", email=email)


# --- teammate_create --------------------------------------------------------------------------


@pytest.mark.django_db
def test_teammate_create_makes_a_staff_user_in_the_teammates_group():
    teammate = services.teammate_create(name="Grace Brewster Hopper", email="grace@example.com")

    teammate.refresh_from_db()
    user = teammate.user
    assert teammate.name == "Grace Brewster Hopper"
    assert teammate.email == "grace@example.com"
    assert user.username == "grace@example.com"
    assert (user.first_name, user.last_name) == ("Grace", "Brewster Hopper")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [services.TEAMMATES_GROUP]
    assert user.has_usable_password()
    # The group is the one the migration made, with its inbox permissions.
    assert user.has_perm("conversations.change_conversation")


@pytest.mark.django_db
def test_teammate_create_with_a_username_and_password():
    teammate = services.teammate_create(
        name="Alan", email="alan@example.com", username="alan", password="s3cret-enough"
    )

    assert teammate.user.username == "alan"
    assert teammate.user.check_password("s3cret-enough")


@pytest.mark.django_db
def test_teammate_create_refuses_a_taken_username():
    UserFactory(username="alan@example.com")

    with nothing_created("is taken"):
        services.teammate_create(name="Alan", email="alan@example.com")
    with nothing_created("is taken"):
        services.teammate_create(
            name="Alan", email="other@example.com", username="alan@example.com"
        )


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", None])
def test_teammate_create_refuses_no_name(name):
    with nothing_created("needs a name"):
        services.teammate_create(name=name, email="alan@example.com")


@pytest.mark.django_db
def test_teammate_create_refuses_a_bad_email():
    with nothing_created("not a valid email address"):
        services.teammate_create(name="Alan", email="alan")


# --- conversation_start -----------------------------------------------------------------------


def test_conversation_start_by_a_customer(contact):
    with time_machine.travel(NOW, tick=False):
        conversation = services.conversation_start(
            channel="email",
            origin="customer",
            contacts=[contact],
            body="<p>Help</p>",
            started_by=contact,
            subject="  Billing  ",
        )

    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    assert (conversation.channel, conversation.origin) == ("email", "customer")
    assert conversation.subject == "Billing"
    assert list(conversation.contacts.all()) == [contact]
    assert conversation.contact_count == 1
    assert conversation.started_by_teammate is None
    assert conversation.workflow is None
    assert conversation.assignee is None
    assert conversation.created_at == conversation.updated_at == NOW
    # E3/E4: the first part is the customer's reply and counts.
    assert conversation.reply_characters == 4
    assert conversation.last_reply_at == NOW
    assert conversation.teammate_reply_count == 0
    [part] = conversation.parts.all()
    assert (part.kind, part.author, part.body) == (Part.Kind.REPLY, contact, "<p>Help</p>")


def test_conversation_start_direct_outbound_by_a_teammate(contact, teammate):
    conversation = services.conversation_start(
        channel="messenger",
        origin="direct_outbound",
        contacts=[contact],
        body="Hello from us",
        started_by=teammate,
    )

    conversation.refresh_from_db()
    assert conversation.origin == Origin.DIRECT_OUTBOUND
    assert conversation.started_by_teammate == teammate
    assert conversation.assignee == teammate
    assert conversation.teammate_reply_count == 1
    assert conversation.last_teammate_replier == teammate
    assert conversation.reply_characters == len("Hello from us")
    [part] = conversation.parts.all()
    assert (part.kind, part.author) == (Part.Kind.REPLY, teammate)


@pytest.mark.parametrize("origin", ["workflow", "api"])
def test_conversation_start_by_a_workflow_or_the_api_opens_with_a_bot_message(
    origin, contact, workflow
):
    conversation = services.conversation_start(
        channel="messenger",
        origin=origin,
        contacts=[contact],
        body="Automated hello",
        workflow=workflow if origin == "workflow" else None,
    )

    conversation.refresh_from_db()
    assert conversation.origin == origin
    assert conversation.workflow == (workflow if origin == "workflow" else None)
    assert conversation.started_by_teammate is None
    assert conversation.assignee is None
    # E3: a bot message is not a reply.
    assert conversation.reply_characters == 0
    assert conversation.last_reply_at is None
    assert conversation.teammate_reply_count == 0
    [part] = conversation.parts.all()
    assert (part.kind, part.author, part.body) == (Part.Kind.BOT, None, "Automated hello")


def test_conversation_start_counts_each_contact_once(contact, lead):
    conversation = start_conversation(contacts=[contact, lead, contact], started_by=contact)

    conversation.refresh_from_db()
    assert conversation.contact_count == 2
    assert set(conversation.contacts.all()) == {contact, lead}


def test_conversation_start_accepts_a_subject_of_255_characters(contact):
    conversation = start_conversation(contacts=[contact], subject="s" * 255)

    conversation.refresh_from_db()
    assert conversation.subject == "s" * 255


def _customer(c):
    return {"origin": "customer", "contacts": [c.contact], "started_by": c.contact}


START_REFUSALS = {
    "customer without started_by": (
        lambda c: {**_customer(c), "started_by": None},
        "started by one of its contacts",
    ),
    "customer started by a contact not among its contacts": (
        lambda c: {**_customer(c), "started_by": c.lead},
        "started by one of its contacts",
    ),
    "customer started by a teammate": (
        lambda c: {**_customer(c), "started_by": c.teammate},
        "started by one of its contacts",
    ),
    "direct_outbound without started_by": (
        lambda c: {"origin": "direct_outbound", "contacts": [c.contact]},
        "started by a teammate",
    ),
    "direct_outbound started by a contact": (
        lambda c: {"origin": "direct_outbound", "contacts": [c.contact], "started_by": c.contact},
        "started by a teammate",
    ),
    "direct_outbound started by an unsaved teammate": (
        lambda c: {
            "origin": "direct_outbound",
            "contacts": [c.contact],
            "started_by": Teammate(name="Ghost"),
        },
        "started by a teammate",
    ),
    "workflow with started_by": (
        lambda c: {
            "origin": "workflow",
            "contacts": [c.contact],
            "workflow": c.workflow,
            "started_by": c.teammate,
        },
        "has no started_by",
    ),
    "api with started_by": (
        lambda c: {"origin": "api", "contacts": [c.contact], "started_by": c.contact},
        "has no started_by",
    ),
    "workflow without a workflow": (
        lambda c: {"origin": "workflow", "contacts": [c.contact]},
        "names the workflow",
    ),
    "customer with a workflow": (
        lambda c: {**_customer(c), "workflow": c.workflow},
        "Only a conversation started by a workflow",
    ),
    "direct_outbound with a workflow": (
        lambda c: {
            "origin": "direct_outbound",
            "contacts": [c.contact],
            "started_by": c.teammate,
            "workflow": c.workflow,
        },
        "Only a conversation started by a workflow",
    ),
    "api with a workflow": (
        lambda c: {"origin": "api", "contacts": [c.contact], "workflow": c.workflow},
        "Only a conversation started by a workflow",
    ),
    "no contacts": (
        lambda c: {**_customer(c), "contacts": []},
        "at least one contact",
    ),
    "contacts None": (
        lambda c: {**_customer(c), "contacts": None},
        "at least one contact",
    ),
    "a teammate among the contacts": (
        lambda c: {"origin": "api", "contacts": [c.contact, c.teammate]},
        "saved Contact records",
    ),
    "empty body": (lambda c: {**_customer(c), "body": ""}, "empty"),
    "blank body": (lambda c: {**_customer(c), "body": " \n\t "}, "empty"),
    "unknown channel": (lambda c: {**_customer(c), "channel": "sms"}, "Unknown channel"),
    "unknown origin": (lambda c: {**_customer(c), "origin": "import"}, "Unknown origin"),
    "subject longer than 255": (
        lambda c: {**_customer(c), "subject": "s" * 256},
        "longer than 255",
    ),
}


@pytest.mark.parametrize("case", START_REFUSALS, ids=list(START_REFUSALS))
def test_conversation_start_refuses(case, contact, lead, teammate, workflow):
    make_kwargs, message = START_REFUSALS[case]
    people = type("People", (), {})()
    people.contact, people.lead, people.teammate, people.workflow = (
        contact,
        lead,
        teammate,
        workflow,
    )
    kwargs = {"channel": "messenger", "body": "Hello", **make_kwargs(people)}

    with nothing_created(message):
        services.conversation_start(**kwargs)


@pytest.mark.django_db
def test_conversation_start_refuses_an_unsaved_contact():
    with nothing_created("saved Contact records"):
        services.conversation_start(
            channel="messenger",
            origin="api",
            contacts=[Contact(role="user", email="x@example.com")],
            body="Hello",
        )


# --- conversation_reply -----------------------------------------------------------------------


def test_conversation_reply_by_a_teammate_assigns_an_unassigned_conversation(
    conversation, teammate
):
    assert conversation.assignee is None
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_reply(
            conversation=conversation, author=teammate, body="<b>On it</b>"
        )

    assert (part.kind, part.author, part.created_at) == (Part.Kind.REPLY, teammate, NOW)
    for seen in (conversation, Conversation.objects.get(pk=conversation.pk)):
        assert seen.assignee_id == teammate.pk
        assert seen.teammate_reply_count == 1
        assert seen.last_teammate_replier_id == teammate.pk
        assert seen.reply_characters == len("Hi there") + len("On it")
        assert seen.last_reply_at == NOW
        assert seen.updated_at == NOW


def test_conversation_reply_by_another_teammate_keeps_the_assignee(
    conversation, teammate, other_teammate
):
    services.conversation_reply(conversation=conversation, author=teammate, body="First")
    services.conversation_reply(conversation=conversation, author=other_teammate, body="Second")

    conversation.refresh_from_db()
    assert conversation.assignee == teammate
    assert conversation.last_teammate_replier == other_teammate
    assert conversation.teammate_reply_count == 2


def test_conversation_reply_by_a_contact_moves_only_the_shared_figures(conversation, contact):
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_reply(conversation=conversation, author=contact, body="More")

    assert part.author == contact
    conversation.refresh_from_db()
    assert conversation.reply_characters == len("Hi there") + len("More")
    assert conversation.last_reply_at == NOW
    assert conversation.teammate_reply_count == 0
    assert conversation.last_teammate_replier is None
    assert conversation.assignee is None


def test_conversation_reply_refuses_a_contact_not_in_the_conversation(conversation):
    stranger = ContactFactory()

    with refused(conversation, "not part of this conversation"):
        services.conversation_reply(conversation=conversation, author=stranger, body="Hi")


def test_conversation_reply_refuses_a_teammate_on_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "closed: reopen it"):
        services.conversation_reply(conversation=conversation, author=teammate, body="Hi")


@pytest.mark.parametrize("body", ["", "   ", None])
def test_conversation_reply_refuses_an_empty_body(conversation, teammate, body):
    with refused(conversation, "empty"):
        services.conversation_reply(conversation=conversation, author=teammate, body=body)


def test_conversation_reply_refuses_an_author_who_is_neither(conversation):
    with refused(conversation, "teammate or a contact"):
        services.conversation_reply(conversation=conversation, author=UserFactory(), body="Hi")
    with refused(conversation, "teammate or a contact"):
        services.conversation_reply(conversation=conversation, author=None, body="Hi")


def test_conversation_reply_refuses_an_unsaved_conversation(contact):
    unsaved = Conversation(channel="messenger", origin="customer")

    with nothing_created("not been saved"):
        services.conversation_reply(conversation=unsaved, author=contact, body="Hi")


def test_conversation_reply_by_a_contact_reopens_a_closed_conversation(
    conversation, contact, teammate
):
    services.conversation_close(conversation=conversation, by=teammate)

    part = services.conversation_reply(conversation=conversation, author=contact, body="Again")

    assert conversation.state == State.OPEN
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    kinds = list(conversation.parts.order_by("id").values_list("kind", "event", "author_contact"))
    assert kinds[-2:] == [
        (Part.Kind.EVENT, Part.Event.REOPENED, contact.pk),
        (Part.Kind.REPLY, "", contact.pk),
    ]
    assert part.kind == Part.Kind.REPLY


# --- conversation_note ------------------------------------------------------------------------


def test_conversation_note_is_kept_and_not_counted(conversation, teammate):
    before = _row(conversation)
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_note(
            conversation=conversation, author=teammate, body="Customer is a VIP"
        )

    assert (part.kind, part.author, part.body) == (Part.Kind.NOTE, teammate, "Customer is a VIP")
    assert conversation.updated_at == NOW
    after = _row(conversation)
    assert after["updated_at"] == NOW
    # E3: a note is not a reply; E2/D2: it is not a teammate reply either.
    for field in ("reply_characters", "last_reply_at", "teammate_reply_count", "assignee_id"):
        assert after[field] == before[field]


def test_conversation_note_refuses_a_contact(conversation, contact):
    with refused(conversation, "Only a teammate can write an internal note"):
        services.conversation_note(conversation=conversation, author=contact, body="Psst")


def test_conversation_note_refuses_an_empty_body(conversation, teammate):
    with refused(conversation, "empty"):
        services.conversation_note(conversation=conversation, author=teammate, body="  ")


# --- conversation_bot_message -----------------------------------------------------------------


def test_conversation_bot_message_is_not_a_reply(conversation):
    before = _row(conversation)
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_bot_message(conversation=conversation, body="Any news?")

    assert (part.kind, part.author) == (Part.Kind.BOT, None)
    assert conversation.updated_at == NOW
    after = _row(conversation)
    for field in ("reply_characters", "last_reply_at", "teammate_reply_count", "assignee_id"):
        assert after[field] == before[field]


def test_conversation_bot_message_refuses_an_empty_body(conversation):
    with refused(conversation, "empty"):
        services.conversation_bot_message(conversation=conversation, body="")


# --- conversation_event -----------------------------------------------------------------------


def test_conversation_event_is_recorded_without_changing_the_state(conversation, contact):
    before = _row(conversation)
    with time_machine.travel(NOW, tick=False):
        part = services.conversation_event(
            conversation=conversation, event="rated", body="5", by=contact
        )

    assert (part.kind, part.event, part.author, part.body) == (
        Part.Kind.EVENT,
        "rated",
        contact,
        "5",
    )
    assert conversation.updated_at == NOW
    after = _row(conversation)
    # E3: an event is not a reply.
    for field in ("state", "reply_characters", "last_reply_at", "teammate_reply_count"):
        assert after[field] == before[field]


def test_conversation_event_refuses_an_unknown_event(conversation):
    with refused(conversation, "Unknown event"):
        services.conversation_event(conversation=conversation, event="exploded")


# --- conversation_snooze ----------------------------------------------------------------------


def test_conversation_snooze_sets_it_aside_with_an_event(conversation, teammate):
    with time_machine.travel(NOW, tick=False):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=NOW + timedelta(hours=2)
        )

    assert conversation.state == State.SNOOZED
    assert conversation.snoozed_until == NOW + timedelta(hours=2)
    conversation.refresh_from_db()
    assert conversation.state == State.SNOOZED
    assert conversation.snoozed_until == NOW + timedelta(hours=2)
    event = _last_part(conversation)
    assert (event.kind, event.event, event.author) == (Part.Kind.EVENT, "snoozed", teammate)


@pytest.mark.parametrize(
    "until", [NOW - timedelta(minutes=1), NOW], ids=["in the past", "exactly now"]
)
def test_conversation_snooze_refuses_a_time_not_to_come(conversation, teammate, until):
    with time_machine.travel(NOW, tick=False), refused(conversation, "in the past"):
        services.conversation_snooze(conversation=conversation, by=teammate, until=until)


def test_conversation_snooze_refuses_a_naive_time(conversation, teammate):
    with refused(conversation, "time zone"):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=datetime(2099, 1, 1, 9, 0)
        )


def test_conversation_snooze_refuses_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "closed: reopen it before snoozing"):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
        )


def test_conversation_snooze_refuses_a_contact(conversation, contact):
    with refused(conversation, "Only a teammate can snooze"):
        services.conversation_snooze(
            conversation=conversation, by=contact, until=datetime(2099, 1, 1, tzinfo=UTC)
        )


def test_E7_snoozing_never_closes(
    conversation, teammate, closed_signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
        )

    conversation.refresh_from_db()
    assert conversation.closed_at is None
    assert not ConversationClose.objects.filter(conversation=conversation).exists()
    assert not conversation.parts.filter(event__in=["closed", "closed_quietly"]).exists()
    assert closed_signals == []


# --- conversation_reopen ----------------------------------------------------------------------


def test_conversation_reopen_refuses_an_open_conversation(conversation, teammate):
    with refused(conversation, "already open"):
        services.conversation_reopen(conversation=conversation, by=teammate)


def test_conversation_reopen_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with time_machine.travel(NOW, tick=False):
        services.conversation_reopen(conversation=conversation, by=teammate)

    assert conversation.state == State.OPEN
    assert conversation.updated_at == NOW
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    event = _last_part(conversation)
    assert (event.event, event.author, event.created_at) == ("reopened", teammate, NOW)


def test_conversation_reopen_a_snoozed_conversation_by_its_contact(conversation, teammate, contact):
    services.conversation_snooze(
        conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
    )

    services.conversation_reopen(conversation=conversation, by=contact)

    assert (conversation.state, conversation.snoozed_until) == (State.OPEN, None)
    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.OPEN, None)
    assert _last_part(conversation).author == contact


def test_conversation_reopen_refuses_no_one(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "reopened by a teammate or a contact"):
        services.conversation_reopen(conversation=conversation, by=None)


# --- conversation_close -----------------------------------------------------------------------


def test_conversation_close_keeps_the_facts_of_the_close(
    conversation, contact, teammate, other_teammate
):
    with time_machine.travel(NOW, tick=False):
        services.conversation_reply(conversation=conversation, author=teammate, body="One")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        services.conversation_reply(conversation=conversation, author=other_teammate, body="Two")
    with time_machine.travel(NOW + timedelta(minutes=9), tick=False):
        services.conversation_note(conversation=conversation, author=teammate, body="note")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        close = services.conversation_close(conversation=conversation, by=teammate)

    close.refresh_from_db()
    assert close.conversation == conversation
    assert close.closed_by == teammate
    assert close.closed_at == NOW + timedelta(hours=1)
    assert close.quiet is False
    assert close.reply_characters == len("Hi there") + len("One") + len("Two")
    assert close.last_reply_at == NOW + timedelta(minutes=5)
    assert close.teammate_replied is True
    assert close.last_teammate_replier == other_teammate
    assert close.contact_count == 1
    assert close.contact_role == "user"
    for seen in (conversation, Conversation.objects.get(pk=conversation.pk)):
        assert seen.state == State.CLOSED
        assert seen.closed_at == NOW + timedelta(hours=1)
        assert seen.updated_at == NOW + timedelta(hours=1)
    event = _last_part(conversation)
    assert (event.kind, event.event, event.author) == (Part.Kind.EVENT, "closed", teammate)


def test_conversation_close_without_a_teammate_reply(lead, teammate):
    conversation = start_conversation(contacts=[lead], started_by=lead)

    close = services.conversation_close(conversation=conversation, by=teammate)

    assert close.teammate_replied is False
    assert close.last_teammate_replier is None
    assert close.contact_role == "lead"


def test_E5_conversation_close_of_a_group_has_no_contact_role(contact, lead, teammate):
    conversation = start_conversation(contacts=[contact, lead], started_by=contact)

    close = services.conversation_close(conversation=conversation, by=teammate)

    close.refresh_from_db()
    assert close.contact_count == 2
    assert close.contact_role == ""


def test_E8_a_quiet_close_is_recorded_as_such(conversation, teammate):
    close = services.conversation_close(conversation=conversation, by=teammate, quiet=True)

    close.refresh_from_db()
    assert close.quiet is True
    event = _last_part(conversation)
    assert (event.kind, event.event) == (Part.Kind.EVENT, "closed_quietly")
    assert conversation.state == State.CLOSED


def test_conversation_close_of_a_snoozed_conversation_clears_the_wake_time(conversation, teammate):
    services.conversation_snooze(
        conversation=conversation, by=teammate, until=datetime(2099, 1, 1, tzinfo=UTC)
    )

    services.conversation_close(conversation=conversation, by=teammate)

    conversation.refresh_from_db()
    assert (conversation.state, conversation.snoozed_until) == (State.CLOSED, None)


def test_conversation_close_refuses_a_closed_conversation(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)

    with refused(conversation, "already closed"):
        services.conversation_close(conversation=conversation, by=teammate)


def test_conversation_close_refuses_a_contact(conversation, contact):
    with refused(conversation, "Only a teammate can close"):
        services.conversation_close(conversation=conversation, by=contact)


def test_every_close_is_kept(conversation, teammate):
    services.conversation_close(conversation=conversation, by=teammate)
    services.conversation_reopen(conversation=conversation, by=teammate)
    services.conversation_close(conversation=conversation, by=teammate, quiet=True)

    assert list(
        ConversationClose.objects.filter(conversation=conversation)
        .order_by("id")
        .values_list("quiet", flat=True)
    ) == [False, True]


@pytest.mark.parametrize("quiet", [False, True])
def test_D4_conversation_closed_is_sent_once_the_close_commits(
    conversation, teammate, closed_signals, django_capture_on_commit_callbacks, quiet
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        close = services.conversation_close(conversation=conversation, by=teammate, quiet=quiet)
        assert closed_signals == [], "sent before the commit"

    assert len(callbacks) >= 1
    [sent] = closed_signals
    assert sent["sender"] is Conversation
    assert sent["conversation"].pk == conversation.pk
    assert sent["conversation"].state == State.CLOSED
    assert sent["close"].pk == close.pk
    assert sent["quiet"] is quiet


def test_D4_conversation_closed_is_not_sent_when_the_transaction_rolls_back(
    conversation, teammate, closed_signals, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.conversation_close(conversation=conversation, by=teammate)
        raise RuntimeError("the caller fails after the close")

    assert callbacks == []
    assert closed_signals == []
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN
    assert not ConversationClose.objects.filter(conversation=conversation).exists()


@pytest.mark.django_db
def test_teammate_factory_makes_teammates_through_the_service():
    teammate = TeammateFactory()

    assert teammate.pk is not None
    assert teammate.user.is_staff
    assert teammate.user.groups.filter(name=services.TEAMMATES_GROUP).exists()
