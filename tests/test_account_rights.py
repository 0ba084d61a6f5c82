"""K17: only a superuser grants rights. The Admins group may edit user accounts (conversations
0002), but a member who is not a superuser cannot tick *Superuser*, join a group (Managers,
Admins) or take a permission, on their own account or anyone's, nor change a superuser's
account (its password included); a superuser can do all of it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from conversations import services
from tests.report_helpers import make_manager


@pytest.fixture
def admin_member(db):
    """A teammate in the Admins group: staff, not a superuser."""
    person = services.teammate_create(name="Ada Admin", email="ada@example.com")
    person.user.groups.add(Group.objects.get(name="Admins"))
    return person.user


@pytest.fixture
def superuser(db):
    person = services.teammate_create(name="Sue Super", email="sue@example.com")
    person.user.is_superuser = True
    person.user.save(update_fields=["is_superuser"])
    return person.user


def _rights(user) -> tuple:
    user.refresh_from_db()
    return (
        user.is_superuser,
        user.is_staff,
        sorted(user.groups.values_list("name", flat=True)),
        sorted(user.user_permissions.values_list("codename", flat=True)),
    )


def _change(client, user, **changes):
    """POST the user's change form as the page would, with `changes`."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [g.pk for g in Group.objects.filter(name__in=["Admins", "Managers"])],
        "user_permissions": [Permission.objects.get(codename="change_group").pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2025-03-10",
        "date_joined_1": "09:00:00",
        **changes,
    }
    return client.post(reverse("admin:auth_user_change", args=[user.pk]), data)


def test_K17_an_admin_cannot_raise_their_own_rights(client, admin_member):
    client.force_login(admin_member)
    before = _rights(admin_member)
    assert before == (False, True, ["Admins", "Teammates"], [])
    response = _change(client, admin_member, email="ada@new.example")
    assert response.status_code == 302  # the rest of the account is theirs to edit
    assert _rights(admin_member) == before
    admin_member.refresh_from_db()
    assert admin_member.email == "ada@new.example"
    # The form shows the rights, read-only: no input to tick.
    page = client.get(reverse("admin:auth_user_change", args=[admin_member.pk])).content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="groups"' not in page
    assert 'name="user_permissions"' not in page


def test_K17_an_admin_cannot_grant_rights_to_another_account(client, admin_member):
    other = services.teammate_create(name="Tia Teammate", email="tia@example.com").user
    client.force_login(admin_member)
    before = _rights(other)
    assert _change(client, other).status_code == 302
    assert _rights(other) == before


def test_K17_an_admin_cannot_change_a_superusers_account(client, admin_member, superuser):
    """Not its rights, not its email, not its password: taking it over would be the same."""
    client.force_login(admin_member)
    password = superuser.password
    response = _change(client, superuser, email="mine@example.com", is_superuser="")
    assert response.status_code == 403
    url = reverse("admin:auth_user_password_change", args=[superuser.pk])
    response = client.post(
        url,
        {"password1": "Taken-0ver-pw!", "password2": "Taken-0ver-pw!", "usable_password": "true"},
    )
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert (superuser.email, superuser.password, superuser.is_superuser) == (
        "sue@example.com",
        password,
        True,
    )
    delete = reverse("admin:auth_user_delete", args=[superuser.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert type(superuser).objects.filter(pk=superuser.pk).exists()


def test_K17_the_boundary_a_superuser_grants_them(client, admin_member, superuser):
    client.force_login(superuser)
    assert _change(client, admin_member).status_code == 302
    assert _rights(admin_member) == (True, True, ["Admins", "Managers"], ["change_group"])


def test_K17_an_admin_cannot_take_over_a_managers_account(client, admin_member):
    """A Manager reads the reports, which the Admins group does not: setting their password
    (or their email) would hand the admin those rights, active account or not."""
    manager = make_manager(name="Mia Manager", email="mia@example.com").user
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    client.force_login(admin_member)
    password = manager.password
    url = reverse("admin:auth_user_password_change", args=[manager.pk])
    response = client.post(
        url,
        {"password1": "Taken-0ver-pw!", "password2": "Taken-0ver-pw!", "usable_password": "true"},
    )
    assert response.status_code == 403
    assert _change(client, manager, email="mine@example.com").status_code == 403
    manager.refresh_from_db()
    assert (manager.password, manager.email, manager.is_active) == (
        password,
        "mia@example.com",
        False,
    )


def test_K17_the_boundary_an_admin_still_edits_an_account_with_fewer_rights(client, admin_member):
    """A teammate's account (the Teammates group's rights, all of which an admin holds)."""
    other = services.teammate_create(name="Tia Teammate", email="tia@example.com").user
    client.force_login(admin_member)
    url = reverse("admin:auth_user_password_change", args=[other.pk])
    response = client.post(
        url,
        {
            "password1": "New-teammate-pw!",
            "password2": "New-teammate-pw!",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.check_password("New-teammate-pw!")
