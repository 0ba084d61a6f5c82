"""Factories for the tests. People are made through the services, like everywhere else;
conversations only through `start_conversation`, which calls `conversation_start`."""

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from conversations import services
from conversations.models import Channel, Contact, Conversation, Origin, Teammate, Workflow


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("a-long-test-password")


class TeammateFactory(factory.Factory):
    """A staff user in the Teammates group with its profile, made by `teammate_create`."""

    class Meta:
        model = Teammate

    name = factory.Sequence(lambda n: f"Teammate {n}")
    email = factory.Sequence(lambda n: f"teammate{n}@example.com")
    username = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.teammate_create(**kwargs)


class ContactFactory(factory.Factory):
    """A customer made by `contact_create`: a user by default, `ContactFactory(lead=True)`
    or `ContactFactory(role="lead")` for a lead."""

    class Meta:
        model = Contact

    role = Contact.Role.USER
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")

    class Params:
        lead = factory.Trait(role=Contact.Role.LEAD)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.contact_create(**kwargs)


class WorkflowFactory(DjangoModelFactory):
    class Meta:
        model = Workflow

    name = factory.Sequence(lambda n: f"Workflow {n}")


def start_conversation(
    *,
    origin: str = Origin.CUSTOMER,
    channel: str = Channel.MESSENGER,
    contacts=None,
    body: str = "Hello, I need help.",
    started_by=None,
    workflow=None,
    subject: str = "",
) -> Conversation:
    """`conversation_start` with sensible defaults for each origin: a new user contact, the
    contact as the starter of a customer conversation, a new teammate for a direct outbound
    one, a new workflow for a workflow one."""
    if contacts is None:
        contacts = [started_by] if isinstance(started_by, Contact) else [ContactFactory()]
    if started_by is None and origin == Origin.CUSTOMER:
        started_by = contacts[0]
    if started_by is None and origin == Origin.DIRECT_OUTBOUND:
        started_by = TeammateFactory()
    if workflow is None and origin == Origin.WORKFLOW:
        workflow = WorkflowFactory()
    return services.conversation_start(
        channel=channel,
        origin=origin,
        contacts=contacts,
        body=body,
        started_by=started_by,
        workflow=workflow,
        subject=subject,
    )


def settings_copy_warm():
    """This process's copy of the rating settings made the saved one (`RatingSettings.as_of`):
    a query count measured after it is that of every request but a worker's first."""
    from ratings.models import RatingSettings

    settings = RatingSettings.load()
    RatingSettings.as_of(settings.updated_at)
    return settings
