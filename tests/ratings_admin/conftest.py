"""Fixtures shared by the modules of this package."""

import pytest
from django.contrib.auth.models import Group

from conversations import services
from tests.ratings_admin.support import PASSWORD


@pytest.fixture
def teammate(db):
    """A teammate as an admin makes one: staff, in the Teammates group (conversations 0002)."""
    return services.teammate_create(name="Tess Mate", email="tess@example.com", password=PASSWORD)


@pytest.fixture
def admin_teammate(db):
    """A teammate who is also in the Admins group: not a superuser, so the group's
    permissions (ratings 0002) are what let them in."""
    person = services.teammate_create(name="Ada Admin", email="ada@example.com", password=PASSWORD)
    person.user.groups.add(Group.objects.get(name="Admins"))
    return person


@pytest.fixture
def teammate_client(client, teammate):
    client.force_login(teammate.user)
    return client
