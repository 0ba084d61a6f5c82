"""Fixtures shared by the modules of this package."""

import pytest

from conversations import services
from conversations.models import (
    Origin,
)
from tests.admin_inbox.support import PASSWORD


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
