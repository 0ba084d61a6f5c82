"""Who reaches the report pages (R1–R5): anonymous visitors are sent to the login page;
R1–R3, the CSVs and the two actions need `reports.view_reports` (the Managers group) and
answer 403 in the product's look without it; R4 shows a teammate their own achievements only.
A customer's rating link never opens a session that reaches them (A9)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from ratings.models import Rating
from tests.factories import TeammateFactory
from tests.report_helpers import make_manager, rate, requested, token_for

MANAGER_PAGES = [
    reverse("reports:summary"),
    reverse("reports:teammates"),
    reverse("reports:comments"),
    reverse("reports:teammates_csv"),
    reverse("reports:comments_csv"),
]
ACHIEVEMENTS = reverse("reports:achievements")
ALL_PAGES = [*MANAGER_PAGES, ACHIEVEMENTS]
LOGIN = reverse("login")


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def manager(db):
    return make_manager(name="Mona Manager", email="mona@example.com", password="a-long-pass-1")


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "a-long-pass-2")


@pytest.fixture
def follow_up_url(capture, teammate):
    return reverse("reports:follow_up", args=[rate(capture, teammate, 1).pk])


# --- anonymous ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ALL_PAGES)
def test_anonymous_is_sent_to_login_with_next(client, url):
    response = client.get(f"{url}?days=7")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}%3Fdays%3D7"


def test_anonymous_post_to_an_action_is_sent_to_login(client, follow_up_url):
    for url in (reverse("reports:target_set"), follow_up_url):
        response = client.post(url, {"target": "10"})
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    assert not Rating.objects.exclude(followed_up_at=None).exists()


# --- a teammate without the permission ----------------------------------------------------------


@pytest.mark.parametrize("url", [u for u in MANAGER_PAGES if u != reverse("reports:summary")])
def test_teammate_without_view_reports_gets_403_in_the_products_look(client, teammate, url):
    client.force_login(teammate.user)
    response = client.get(url)
    assert response.status_code == 403
    html = response.content.decode()
    assert "You can't open this page" in html
    assert "Managers" in html
    assert "See your achievements" in html
    assert 'class="topbar"' in html


def test_teammate_without_view_reports_cannot_act(client, teammate, follow_up_url):
    client.force_login(teammate.user)
    assert client.post(reverse("reports:target_set"), {"target": "10"}).status_code == 403
    assert client.post(follow_up_url).status_code == 403
    assert not Rating.objects.exclude(followed_up_at=None).exists()


def test_teammate_sees_their_own_achievements(client, capture, teammate):
    rate(capture, teammate, 5, comment="Lovely")
    client.force_login(teammate.user)
    response = client.get(ACHIEVEMENTS)
    assert response.status_code == 200
    assert "Lovely" in response.content.decode()
    assert client.get(f"{ACHIEVEMENTS}?teammate={teammate.pk}").status_code == 200


def test_teammate_cannot_see_another_teammates_achievements(
    client, capture, teammate, other_teammate
):
    rate(capture, other_teammate, 5, comment="Not for Tess")
    client.force_login(teammate.user)
    for value in (other_teammate.pk, "abc"):
        response = client.get(f"{ACHIEVEMENTS}?teammate={value}")
        assert response.status_code == 403
        assert "Not for Tess" not in response.content.decode()


def test_teammate_navigation_shows_only_achievements(client, teammate):
    client.force_login(teammate.user)
    html = client.get(ACHIEVEMENTS).content.decode()
    assert ">Achievements</a>" in html
    assert ">Summary</a>" not in html and ">Comments</a>" not in html
    assert 'name="teammate"' not in html  # no picker


def test_user_without_teammate_profile_or_permission_gets_403_on_achievements(client, db):
    user = get_user_model().objects.create_user("plain", password="a-long-pass-3")
    client.force_login(user)
    response = client.get(ACHIEVEMENTS)
    assert response.status_code == 403
    assert "Achievements are kept for teammates." in response.content.decode()


# --- managers and superusers --------------------------------------------------------------------


@pytest.mark.parametrize("url", ALL_PAGES)
def test_manager_opens_every_page(client, manager, url):
    client.force_login(manager.user)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ALL_PAGES)
def test_superuser_opens_every_page(client, superuser, url):
    client.force_login(superuser)
    assert client.get(url).status_code == 200


def test_manager_can_pick_any_teammates_achievements(client, capture, manager, teammate):
    rate(capture, teammate, 4, comment="Kind words")
    client.force_login(manager.user)
    html = client.get(f"{ACHIEVEMENTS}?teammate={teammate.pk}").content.decode()
    assert "Kind words" in html


def test_superuser_without_profile_is_asked_to_choose_a_teammate(client, superuser):
    client.force_login(superuser)
    assert "Choose a teammate" in client.get(ACHIEVEMENTS).content.decode()


def test_navigation_shows_user_admin_link_and_logout_form(client, manager):
    client.force_login(manager.user)
    html = client.get(reverse("reports:summary")).content.decode()
    for label in ("Summary", "Teammates", "Comments", "Achievements"):
        assert f">{label}</a>" in html
    assert "Mona Manager" in html
    assert f'href="{reverse("admin:index")}"' in html
    assert f'<form method="post" action="{reverse("logout")}">' in html


def test_the_migration_makes_a_managers_group_holding_the_permission(db):
    from django.contrib.auth.models import Group

    managers = Group.objects.get(name="Managers")
    assert list(managers.permissions.values_list("codename", flat=True)) == ["view_reports"]


def test_managers_group_holds_the_permission(manager, teammate):
    assert manager.user.has_perm("reports.view_reports")
    assert not teammate.user.has_perm("reports.view_reports")


# --- methods ------------------------------------------------------------------------------------


def test_get_on_post_only_actions_is_405(client, manager, follow_up_url):
    client.force_login(manager.user)
    assert client.get(reverse("reports:target_set")).status_code == 405
    assert client.get(follow_up_url).status_code == 405


@pytest.mark.parametrize("url", ALL_PAGES)
def test_post_on_pages_is_405(client, manager, url):
    client.force_login(manager.user)
    assert client.post(url).status_code == 405


# --- login and logout ---------------------------------------------------------------------------


def test_login_page_in_the_products_look(client, db):
    response = client.get(f"{LOGIN}?next=/reports/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="title">Sign in</h1>' in html
    assert 'name="username"' in html and 'name="password"' in html
    assert 'value="/reports/"' in html
    assert "csrfmiddlewaretoken" in html


def test_login_through_the_page_lands_on_the_reports(client, manager):
    response = client.post(LOGIN, {"username": "mona@example.com", "password": "a-long-pass-1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:summary")
    assert client.get(reverse("reports:summary")).status_code == 200


def test_login_follows_next(client, manager):
    response = client.post(
        LOGIN,
        {"username": "mona@example.com", "password": "a-long-pass-1", "next": "/reports/comments/"},
    )
    assert response["Location"] == "/reports/comments/"


def test_wrong_password_is_said_on_the_page(client, manager):
    response = client.post(LOGIN, {"username": "mona@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post_and_ends_the_session(client, manager):
    client.force_login(manager.user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.get(reverse("reports:summary")).status_code == 302


# --- customers ----------------------------------------------------------------------------------


def test_A9_a_customers_rating_link_session_cannot_reach_the_reports(client, capture, teammate):
    request = requested(capture, teammate, at=timezone.now())
    token = token_for(request)
    assert client.get(reverse("ratings:rate", args=[token])).status_code == 200
    client.post(reverse("ratings:rate", args=[token]), {"value": "5"})
    assert Rating.objects.filter(request=request, value=5).exists()
    assert "_auth_user_id" not in client.session

    for url in ALL_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{LOGIN}?next=")


def test_a_teammate_login_is_not_a_manager_login(client, db):
    teammate = TeammateFactory(password="a-long-pass-4")
    response = client.post(
        LOGIN, {"username": teammate.user.username, "password": "a-long-pass-4"}, follow=True
    )
    # Sign-in lands on the summary, which sends a teammate on to their own achievements.
    assert response.redirect_chain[-1][0] == ACHIEVEMENTS
    assert response.status_code == 200
    assert client.get(reverse("reports:teammates")).status_code == 403


def test_a_teammate_opening_the_summary_is_sent_to_their_achievements(client, teammate):
    client.force_login(teammate.user)
    response = client.get(reverse("reports:summary"))
    assert response.status_code == 302
    assert response["Location"] == ACHIEVEMENTS
