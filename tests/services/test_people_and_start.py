"""contact_create, contacts_create, teammate_create and conversation_start: the happy paths and
each refusal."""

import pytest
import time_machine

from conversations import services
from conversations.models import (
    Contact,
    Origin,
    Part,
    State,
    Teammate,
)
from tests.factories import UserFactory, start_conversation
from tests.services.support import NOW, nothing_created


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


# --- contacts_create (many at once, as contact_create checks one) ----------------------------


@pytest.mark.django_db
def test_contacts_create_makes_each_contact_as_contact_create_would():
    made = services.contacts_create(
        [
            {"role": "user", "name": "  Ada  ", "email": " ada@example.com ", "external_id": "a1"},
            {"role": "lead", "email": "bob@example.org"},
        ]
    )

    assert all(c.pk for c in made)
    rows = Contact.objects.order_by("pk").values_list("role", "name", "email", "external_id")
    assert list(rows) == [
        ("user", "Ada", "ada@example.com", "a1"),
        ("lead", "", "bob@example.org", None),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad, match",
    [
        ({"role": "visitor", "email": "c@example.com"}, "Unknown contact role"),
        ({"role": "user", "email": "not-an-email"}, "not a valid email address"),
        ({"role": "lead", "email": "c@example.com", "external_id": "x"}, "Only a user"),
        ({"role": "user", "email": "c@example.com", "external_id": "a1"}, "given twice"),
        ({"role": "user", "email": "c@example.com", "external_id": "taken"}, "exists already"),
    ],
)
def test_contacts_create_refuses_a_bad_one_and_writes_none(bad, match):
    services.contact_create(role="user", email="t@example.com", external_id="taken")
    good = {"role": "user", "email": "ada@example.com", "external_id": "a1"}

    with nothing_created(match):
        services.contacts_create([good, bad])


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
