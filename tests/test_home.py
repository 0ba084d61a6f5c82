"""A way in for every role (issue 13): the landing page at "/" ("View site" in the admin)
sends each role to its place, and the admin's header links to the reports for those who may
read them (`reports.access.can_read_reports`) or to a teammate's own achievements."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.test import Client

from conversations.models import Conversation, Teammate
from tests.admin_inbox.support import PASSWORD
from tests.factories import TeammateFactory
from tests.report_helpers import DAY, MARCH, make_manager, rate, token_for

pytestmark = pytest.mark.django_db

INBOX = "/admin/conversations/conversation/"
REPORTS = "/reports/"
ACHIEVEMENTS = "/reports/achievements/"
SETTINGS = "/admin/ratings/ratingsettings/"
SIGN_IN = "/accounts/login/?next=/"


def ensure_admin():
    call_command("ensure_admin", stdout=StringIO())
    return get_user_model().objects.get(is_superuser=True)


@pytest.fixture
def clients(capture):
    """A client per role: anonymous, a customer who has been on their rating page, a plain
    teammate, a manager (a teammate in the Managers group) and the admin ensure_admin makes."""
    teammate = TeammateFactory(name="Tia Teammate", email="tia@example.com")
    manager = make_manager(name="Mia Manager", email="mia@example.com")
    rating = rate(capture, teammate, 5, at=DAY)
    made = {"anonymous": Client(), "customer": Client()}
    made["customer"].get(f"/rate/{token_for(rating.request)}/")
    for role, user in (
        ("teammate", teammate.user),
        ("manager", manager.user),
        ("admin", ensure_admin()),
    ):
        made[role] = Client()
        made[role].force_login(user)
    return made


def places(html: str) -> list[tuple[str, list[str]]]:
    """The landing page's cards, in order: (title, the addresses it links to)."""
    cards = re.findall(r'<li class="card place [^"]*">(.*?)</li>', html, re.S)
    return [
        (re.search(r"<h2>(.*?)</h2>", card).group(1), re.findall(r'href="([^"]*)"', card))
        for card in cards
    ]


def user_tools(html: str) -> str:
    """The admin header's user links (empty when the header has none: signed out)."""
    match = re.search(r'<div id="user-tools">(.*?)</div>', html, re.S)
    return match.group(1) if match else ""


# --- the landing page -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "customer"])
def test_anonymous_visitors_and_customers_read_what_csat_is_and_find_the_sign_in(clients, role):
    response = clients[role].get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{SIGN_IN}"' in html
    assert "Conversation ratings for support teams" in html
    assert "Customers don't sign in" in html
    assert places(html) == []
    for address in (INBOX, REPORTS, SETTINGS):
        assert f'href="{address}"' not in html


def test_a_teammate_is_sent_to_the_inbox_and_their_achievements(clients):
    html = clients["teammate"].get("/").content.decode()

    assert places(html) == [("Inbox", [INBOX]), ("My achievements", [ACHIEVEMENTS])]
    assert f'href="{REPORTS}"' not in html
    assert 'class="card place place-inbox main"' in html  # their first place


def test_a_manager_is_sent_to_the_reports_first(clients):
    html = clients["manager"].get("/").content.decode()

    found = places(html)
    assert [title for title, _ in found] == ["Reports", "Inbox", "My achievements"]
    assert found[0][1][-1] == REPORTS
    assert "/reports/teammates/" in found[0][1] and "/reports/comments/" in found[0][1]
    assert SETTINGS not in html


def test_an_admin_is_sent_to_the_settings_and_the_inbox(clients):
    """The superuser of ensure_admin: configuration first, the inbox, and the reports it may
    read; no achievements, as it is not a teammate."""
    html = clients["admin"].get("/").content.decode()

    found = places(html)
    assert [title for title, _ in found] == ["Settings", "Inbox", "Reports"]
    settings_links = found[0][1]
    assert SETTINGS in settings_links
    assert "/admin/conversations/teammate/" in settings_links
    assert settings_links[-1] == "/admin/"
    assert found[1][1] == [INBOX]
    assert "Replying needs a teammate profile" in html
    assert ACHIEVEMENTS not in html


def test_a_staff_account_with_no_role_is_told_whom_to_ask(db):
    user = get_user_model().objects.create_user("stan", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(user)

    html = client.get("/").content.decode()

    assert places(html) == []
    assert "nothing to open yet" in html and "Managers" in html


def test_the_landing_page_is_a_staff_page_and_answers_only_reads(clients):
    response = clients["anonymous"].get("/")
    assert '<link rel="stylesheet" href="/static/css/staff.css">' in response.content.decode()
    assert clients["anonymous"].post("/").status_code == 405


def test_signing_in_from_the_landing_page_comes_back_to_it(db):
    teammate = TeammateFactory(username="tia", password=PASSWORD)
    client = Client()

    page = client.get(SIGN_IN).content.decode()
    assert "Sign in to see that page" not in page  # "/" is not a page one was refused
    response = client.post(SIGN_IN, {"username": "tia", "password": PASSWORD, "next": "/"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert places(client.get("/").content.decode())[0] == ("Inbox", [INBOX])
    assert teammate.user.pk == int(client.session["_auth_user_id"])


# --- the admin's header ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_the_admin_header_links_to_the_reports_for_those_who_may_read_them(clients, role):
    tools = user_tools(clients[role].get("/admin/").content.decode())

    assert f'<a href="{REPORTS}">Reports</a>' in tools
    assert "My achievements" not in tools
    assert '<a href="/">View site</a>' in tools


def test_the_admin_header_links_a_teammate_to_their_achievements_not_the_reports(clients):
    tools = user_tools(clients["teammate"].get("/admin/").content.decode())

    assert f'<a href="{ACHIEVEMENTS}">My achievements</a>' in tools
    assert f'href="{REPORTS}"' not in tools
    assert '<a href="/">View site</a>' in tools


def test_the_admin_header_offers_a_customer_neither(clients):
    response = clients["customer"].get("/admin/", follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert user_tools(html) == ""
    assert f'href="{REPORTS}"' not in html and f'href="{ACHIEVEMENTS}"' not in html


def test_the_header_follows_the_permission_not_the_group_name(db):
    """The rule is the permission: a user in no Managers group who holds reports.view_reports
    gets the link; a teammate who loses the group loses it."""
    teammate = TeammateFactory()
    client = Client()
    client.force_login(teammate.user)
    teammate.user.user_permissions.add(
        Permission.objects.get(content_type__app_label="reports", codename="view_reports")
    )
    assert f'href="{REPORTS}">Reports' in user_tools(client.get("/admin/").content.decode())

    manager = make_manager()
    manager.user.groups.remove(Group.objects.get(name="Managers"))
    client.force_login(manager.user)
    tools = user_tools(client.get("/admin/").content.decode())
    assert "My achievements" in tools and f'href="{REPORTS}"' not in tools


# --- ensure_admin: the superuser is not a teammate --------------------------------------------


def test_ensure_admin_makes_a_superuser_who_is_not_among_the_teammates(clients):
    """Not in the teammates' admin list, the assignee choices, the reports' teammates nor the
    API's teammates: ensure_admin gives the superuser no teammate profile."""
    admin = get_user_model().objects.get(is_superuser=True)
    client = clients["admin"]
    assert not Teammate.objects.filter(user=admin).exists()

    listed = client.get("/admin/conversations/teammate/").context["cl"].result_list
    assert {t.user.username for t in listed} == {"tia@example.com", "mia@example.com"}

    assignees = Conversation._meta.get_field("assignee").get_choices(include_blank=False)
    assert sorted(label for _, label in assignees) == ["Mia Manager", "Tia Teammate"]

    page = client.get(f"/reports/teammates/?{MARCH}")
    assert [name for _, name in page.context["teammates"]] == ["Mia Manager", "Tia Teammate"]
    assert [row.name for row in page.context["rows"]] == ["Tia Teammate"]

    api = client.get("/api/v1/teammates/").json()
    assert sorted(t["email"] for t in api["results"]) == ["mia@example.com", "tia@example.com"]


def test_ensure_admin_runs_once_and_refuses_a_taken_username(db):
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert re.search(r"Admin login: admin / \S+", out.getvalue())
    call_command("ensure_admin", stdout=(again := StringIO()))
    assert "password was printed when it was made" in again.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1

    get_user_model().objects.filter(is_superuser=True).delete()
    TeammateFactory(username="admin")
    with pytest.raises(CommandError, match="taken"):
        call_command("ensure_admin", stdout=StringIO())
