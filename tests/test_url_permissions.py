"""Who gets what at every address of the product (issue 6): anonymous visitors, a customer
holding a rating link, a teammate, a manager and an admin, each asserted per URL.

The addresses come from the URL configuration itself: every route outside the admin must have
an entry in ROUTES, and every model registered in the admin an entry in ADMIN_MODELS, so a new
URL or admin model without an entry fails `test_every_url_has_an_expected_status`.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from ratings.tokens import messenger_token
from tests.factories import TeammateFactory
from tests.report_helpers import DAY, make_manager, rate, token_for

ROLES = ("anonymous", "customer", "teammate", "manager", "admin")


def _all(status):
    return dict.fromkeys(ROLES, status)


def _staff(anonymous, teammate, manager, admin_):
    """Anonymous visitors and customers are alike outside their own links."""
    return {
        "anonymous": anonymous,
        "customer": anonymous,
        "teammate": teammate,
        "manager": manager,
        "admin": admin_,
    }


# route (as the resolver spells it) -> (method, address with the fixture's ids, statuses by role).
# 302 = sent to a login page (or, for a teammate on R1, to their achievements); 401 = the API
# asks for credentials; 403 = signed in without the permission; 405 = the right to call it,
# with the wrong method (the actions are POSTs, checked in their own tests).
ROUTES = {
    # the landing page: what csat is and the sign-in, or each role's places (test_home.py)
    "": ("GET", "/", _all(200)),
    "healthz": ("GET", "/healthz", _all(200)),
    "accounts/login/": ("GET", "/accounts/login/", _staff(200, 302, 302, 302)),
    "accounts/logout/": ("POST", "/accounts/logout/", _all(302)),
    # K8: a staff user's own second factor (set up with a GET's form); its removal is a POST
    "accounts/two-factor/": ("GET", "/accounts/two-factor/", _staff(302, 200, 200, 200)),
    "accounts/two-factor/remove/": (
        "GET",
        "/accounts/two-factor/remove/",
        _staff(302, 405, 405, 405),
    ),
    # R1–R5
    "reports/": ("GET", "/reports/", _staff(302, 302, 200, 200)),
    # without a target: the form's error (400) for those allowed to set it
    "reports/target/": ("POST", "/reports/target/", _staff(302, 403, 400, 400)),
    "reports/teammates/": ("GET", "/reports/teammates/", _staff(302, 403, 200, 200)),
    "reports/teammates.csv": ("GET", "/reports/teammates.csv", _staff(302, 403, 200, 200)),
    "reports/comments/": ("GET", "/reports/comments/", _staff(302, 403, 200, 200)),
    "reports/comments.csv": ("GET", "/reports/comments.csv", _staff(302, 403, 200, 200)),
    "reports/comments/<int:rating_id>/follow-up/": (
        "POST",
        "/reports/comments/{rating}/follow-up/",
        _staff(302, 403, 303, 303),
    ),
    "reports/achievements/": ("GET", "/reports/achievements/", _staff(302, 200, 200, 200)),
    # the customer's pages: whoever holds the link (a GET never writes)
    "rate/<str:token>/": ("GET", "/rate/{token}/", _all(200)),
    "rate/<str:token>/comment/": ("GET", "/rate/{token}/comment/", _all(405)),  # a form's POST
    # N3: a staff user's own rating alerts; an unsubscribe link (this one altered: 404)
    "alerts/": ("GET", "/alerts/", _staff(302, 200, 200, 200)),
    "alerts/unsubscribe/<str:token>/": ("GET", "/alerts/unsubscribe/altered/", _all(404)),
    "messenger/<str:token>/": ("GET", "/messenger/{messenger}/", _all(200)),
    # the Messenger widget (W1–W7): the script and the frame are public; the frame's endpoints
    # take the widget's session header, never a staff login (403 without it)
    "messenger/widget.js": ("GET", "/messenger/widget.js", _all(200)),
    "messenger/frame/": ("GET", "/messenger/frame/", _all(200)),
    "messenger/w/session/": ("GET", "/messenger/w/session/", _all(405)),
    "messenger/w/threads/": ("GET", "/messenger/w/threads/", _all(403)),
    "messenger/w/conversations/": ("GET", "/messenger/w/conversations/", _all(405)),
    "messenger/w/conversations/<int:pk>/reply/": (
        "GET",
        "/messenger/w/conversations/{conversation}/reply/",
        _all(405),
    ),
    "messenger/w/me/": ("GET", "/messenger/w/me/", _all(405)),
    # the demo company's page embedding the widget: off unless MESSENGER_DEMO_HOST (DEBUG)
    "demo/host/": ("GET", "/demo/host/", _all(404)),
    # the REST API
    "api/v1/contacts/": ("GET", "/api/v1/contacts/", _staff(401, 200, 200, 200)),
    "api/v1/contacts/<id:id>/": ("GET", "/api/v1/contacts/{contact}/", _staff(401, 200, 200, 200)),
    # G1: a POST (tested in erasure/); a GET is the wrong method for everyone signed in
    "api/v1/contacts/<id:id>/erase/": (
        "GET",
        "/api/v1/contacts/{contact}/erase/",
        _staff(401, 405, 405, 405),
    ),
    "api/v1/teammates/": ("GET", "/api/v1/teammates/", _staff(401, 200, 200, 200)),
    "api/v1/teammates/<id:id>/": (
        "GET",
        "/api/v1/teammates/{teammate}/",
        _staff(401, 200, 200, 200),
    ),
    "api/v1/conversations/": ("GET", "/api/v1/conversations/", _staff(401, 200, 200, 200)),
    "api/v1/conversations/<id:id>/": (
        "GET",
        "/api/v1/conversations/{conversation}/",
        _staff(401, 200, 200, 200),
    ),
    "api/v1/conversations/<id:id>/replies/": (
        "GET",
        "/api/v1/conversations/{conversation}/replies/",
        _staff(401, 405, 405, 405),
    ),
    "api/v1/conversations/<id:id>/notes/": (
        "GET",
        "/api/v1/conversations/{conversation}/notes/",
        _staff(401, 405, 405, 405),
    ),
    "api/v1/conversations/<id:id>/close/": (
        "GET",
        "/api/v1/conversations/{conversation}/close/",
        _staff(401, 405, 405, 405),
    ),
    # B: the bot's message and close (POSTs, checked in bot_ratings/test_bot_api.py)
    "api/v1/conversations/<id:id>/bot-messages/": (
        "GET",
        "/api/v1/conversations/{conversation}/bot-messages/",
        _staff(401, 405, 405, 405),
    ),
    "api/v1/conversations/<id:id>/bot-close/": (
        "GET",
        "/api/v1/conversations/{conversation}/bot-close/",
        _staff(401, 405, 405, 405),
    ),
    "api/v1/conversations/<id:id>/snooze/": (
        "GET",
        "/api/v1/conversations/{conversation}/snooze/",
        _staff(401, 405, 405, 405),
    ),
    "api/v1/conversations/<id:id>/reopen/": (
        "GET",
        "/api/v1/conversations/{conversation}/reopen/",
        _staff(401, 405, 405, 405),
    ),
    "api/v1/conversations/<id:id>/rating-request/": (
        "GET",
        "/api/v1/conversations/{conversation}/rating-request/",
        _staff(401, 200, 200, 200),
    ),
    "api/v1/conversations/<id:id>/rating/": (
        "GET",
        "/api/v1/conversations/{conversation}/rating/",
        _staff(401, 200, 200, 200),
    ),
    "api/v1/ratings/": ("GET", "/api/v1/ratings/", _staff(401, 200, 200, 200)),
    "api/v1/ratings/<id:id>/": ("GET", "/api/v1/ratings/{rating}/", _staff(401, 200, 200, 200)),
    "api/v1/reports/summary/": ("GET", "/api/v1/reports/summary/", _staff(401, 403, 200, 200)),
    "api/v1/reports/teammates/": (
        "GET",
        "/api/v1/reports/teammates/",
        _staff(401, 403, 200, 200),
    ),
    "api/v1/settings/ratings/": ("GET", "/api/v1/settings/ratings/", _staff(401, 403, 403, 200)),
    "api/v1/webhooks/": ("GET", "/api/v1/webhooks/", _staff(401, 403, 403, 200)),
    "api/v1/webhooks/<id:id>/": ("GET", "/api/v1/webhooks/{webhook}/", _staff(401, 403, 403, 200)),
    "api/v1/webhooks/<id:id>/deliveries/": (
        "GET",
        "/api/v1/webhooks/{webhook}/deliveries/",
        _staff(401, 403, 403, 200),
    ),
    "api/v1/messenger/ratings/<str:token>/": (
        "GET",
        "/api/v1/messenger/ratings/{token}/",
        _all(200),
    ),
    "api/v1/messenger/ratings/<str:token>/reaction/": (
        "GET",
        "/api/v1/messenger/ratings/{token}/reaction/",
        _all(405),
    ),
    "api/v1/messenger/ratings/<str:token>/comment/": (
        "GET",
        "/api/v1/messenger/ratings/{token}/comment/",
        _all(405),
    ),
    "api/schema/": ("GET", "/api/schema/", _all(200)),
    "api/docs/": ("GET", "/api/docs/", _all(200)),
    "api/^": ("GET", "/api/nowhere/", _all(404)),
    # M16: the email provider's inbound webhook; none is chosen here (INBOUND_ESP unset).
    "inbound/<slug:esp>/": ("POST", "/inbound/sendgrid/", _all(404)),
    "inbound/<slug:esp>/<slug:variant>/": ("POST", "/inbound/mailgun/mime/", _all(404)),
}

# The admin's own pages (not a model's).
ADMIN_ROUTES = {
    "admin/": ("GET", "/admin/", _staff(302, 200, 200, 200)),
    "admin/login/": ("GET", "/admin/login/", _staff(200, 302, 302, 302)),
    "admin/logout/": ("POST", "/admin/logout/", _all(302)),
    "admin/password_change/": ("GET", "/admin/password_change/", _staff(302, 200, 200, 200)),
    "admin/password_change/done/": (
        "GET",
        "/admin/password_change/done/",
        _staff(302, 200, 200, 200),
    ),
    "admin/autocomplete/": ("GET", "/admin/autocomplete/", _staff(302, 403, 403, 403)),
    "admin/jsi18n/": ("GET", "/admin/jsi18n/", _staff(302, 200, 200, 200)),
    "admin/r/<path:content_type_id>/<path:object_id>/": (
        "GET",
        "/admin/r/0/0/",
        _staff(302, 404, 404, 404),
    ),
    "admin/<app_label>/": ("GET", "/admin/ratings/", _staff(302, 200, 200, 200)),
    "admin/(?P<url>.*)$": ("GET", "/admin/nowhere/", _staff(302, 404, 404, 404)),
}

# Admin models: (changelist, add) statuses for a teammate, a manager and an admin; anonymous
# visitors and customers are sent to the admin's login (302). Teammates work the inbox
# (conversations, contacts) and read the rating records; configuration is the admins'. Records
# nobody types in (requests, decisions, ratings, task results, deliveries) have no "add".
NO, READ, WORK = (403, 403), (200, 403), (200, 200)
ADMIN_MODELS = {
    "auth.group": (NO, NO, WORK),
    "auth.user": (NO, NO, WORK),
    "django_q.schedule": (NO, NO, WORK),
    "django_q.success": (NO, NO, READ),
    "django_q.failure": (NO, NO, READ),
    "django_q.ormq": (NO, NO, READ),
    "conversations.conversation": (WORK, WORK, WORK),
    "conversations.contact": (WORK, WORK, WORK),
    "conversations.teammate": (READ, READ, WORK),
    "conversations.workflow": (READ, READ, WORK),
    # One row, edited in place: the list sends the admin to it.
    "ratings.ratingsettings": (NO, NO, (302, 403)),
    "ratings.messengerapp": (NO, NO, WORK),
    "ratings.ratingrequest": (READ, READ, READ),
    "ratings.ratingdecision": (READ, READ, READ),
    "ratings.rating": (READ, READ, READ),
    # N5: the rating alerts and their deliveries, the admins' (as the webhooks' are)
    "ratings.ratingalert": (NO, NO, READ),
    # G3: the erasures' audit, the admins' (written by `contact_erase` and retention only).
    "ratings.erasure": (NO, NO, READ),
    "api.webhook": (NO, NO, WORK),
    # K2: API tokens, the superusers' (as DRF's plain ones were); their keys shown once.
    "api.apitoken": (NO, NO, WORK),
    "api.webhookdelivery": (NO, NO, READ),
    # M1, M14: what was mailed and what came attached, read by those who work the inbox;
    # M13: the messages that could not be taken in, for the admins to retry.
    "mail.outboundemail": (READ, READ, READ),
    "mail.attachment": (READ, READ, READ),
    "mail.inboundfailure": (NO, NO, READ),
    # The Messenger's page (W1, W2, W7), for those who change the rating settings: a model with
    # no table and only that one page, so there is no "add" address at all (the admin's 404).
    "messenger.messengersettings": ((403, 404), (403, 404), (200, 404)),
    # In development, every message sent (to anyone): the admins' (mail.devbox).
    "mail.sentmail": (NO, NO, READ),
    # K7: failed sign-ins (a lock is lifted by deleting its attempts) and successful ones,
    # written by axes only; K8: the staff's TOTP devices (a lost phone's removed here).
    "axes.accessattempt": (NO, NO, READ),
    "axes.accesslog": (NO, NO, READ),
    "axes.accessfailurelog": (NO, NO, READ),
    # K8: set up by their own user only (/accounts/two-factor/): no "add" in the admin.
    "conversations.totpdevice": (NO, NO, READ),
}


def _patterns(resolvers, prefix=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            # The admin's app index is a regex of the installed apps: named by what it takes.
            if entry.name == "app_list":
                yield "admin/<app_label>/", entry
            else:
                yield prefix + str(entry.pattern), entry


def routes():
    return [route for route, _ in _patterns(get_resolver().url_patterns)]


@pytest.fixture
def world(db, capture):
    """One of everything an address can name, and a client per role."""
    teammate = TeammateFactory(name="Tia Teammate", email="tia@example.com")
    manager = make_manager(name="Mia Manager", email="mia@example.com")
    superuser = TeammateFactory(name="Ada Admin", email="ada@example.com")
    superuser.user.is_superuser = True
    superuser.user.save(update_fields=["is_superuser"])
    rating = rate(capture, teammate, 2, at=DAY)
    request = rating.request
    from api.models import Webhook

    webhook = Webhook.objects.create(url="https://hooks.example.com/csat", secret="s" * 32)
    ids = {
        "token": token_for(request),
        "messenger": messenger_token(contact_id=request.contact_id),
        "contact": request.contact_id,
        "teammate": teammate.pk,
        "conversation": request.conversation_id,
        "rating": rating.pk,
        "webhook": webhook.pk,
    }
    clients = {"anonymous": Client(), "customer": Client()}
    clients["customer"].get(f"/rate/{ids['token']}/")  # has been on its rating page
    for role, person in (("teammate", teammate), ("manager", manager), ("admin", superuser)):
        clients[role] = Client()
        clients[role].force_login(person.user)
    return ids, clients


def ordered():
    """Every route, the logouts last (they end the clients' sessions)."""
    items = list({**ROUTES, **ADMIN_ROUTES}.items())
    return sorted(items, key=lambda item: "logout" in item[0])


def status_of(client, method, address):
    response = getattr(client, method.lower())(address)
    return response.status_code


def test_every_url_has_an_expected_status():
    known = set(ROUTES) | set(ADMIN_ROUTES)
    model_urls = {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry
    }
    missing = [
        route
        for route in routes()
        if route not in known and not any(route.startswith(prefix) for prefix in model_urls)
    ]
    assert missing == [], f"add these routes to ROUTES or ADMIN_ROUTES: {missing}"
    unlisted = sorted(
        model._meta.label_lower
        for model in admin.site._registry
        if model._meta.label_lower not in ADMIN_MODELS
    )
    assert unlisted == [], f"add these admin models to ADMIN_MODELS: {unlisted}"


def test_each_role_gets_its_status_at_every_address(world):
    ids, clients = world
    wrong = []
    for _route, (method, address, expected) in ordered():
        got = {role: status_of(clients[role], method, address.format(**ids)) for role in ROLES}
        if got != expected:
            wrong.append(f"{method} {address}: expected {expected}, got {got}")
    assert wrong == []


def test_each_role_gets_its_status_at_every_admin_model(world):
    _, clients = world
    wrong = []
    for model in admin.site._registry:
        label = model._meta.label_lower
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        teammate, manager, superuser = ADMIN_MODELS[label]
        expected = {
            "anonymous": (302, 302),
            "customer": (302, 302),
            "teammate": teammate,
            "manager": manager,
            "admin": superuser,
        }
        got = {
            role: (
                status_of(clients[role], "GET", base),
                status_of(clients[role], "GET", base + "add/"),
            )
            for role in ROLES
        }
        if got != expected:
            wrong.append(f"{label}: expected {expected}, got {got}")
    assert wrong == []


def test_a_customer_link_opens_only_its_own_pages(world):
    """A rating link's token is not a key to another request, nor to the staff pages."""
    ids, clients = world
    customer = clients["customer"]
    assert customer.get(f"/rate/{ids['token']}/").status_code == 200
    assert customer.get(f"/rate/{ids['token']}x/").status_code in (400, 404)
    assert customer.get(f"/messenger/{ids['token']}/").status_code in (400, 403, 404)
    assert customer.get("/reports/comments/").status_code == 302
    assert customer.get("/api/v1/ratings/").status_code == 401


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_the_inbound_webhook_with_a_provider_chosen_takes_no_role_as_credentials(world, settings):
    """Issue 16 item 9: with INBOUND_ESP set (ROUTES checks it unset, a 404), a signed-in
    session or a customer's cookie is no provider credential: every role is refused (anymail's
    400) and nothing is taken in; another provider's address stays a 404."""
    from conversations.models import Part
    from mail.models import InboundFailure

    settings.INBOUND_ESP = "sendgrid"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "anymail-user:s3cret-pass"}
    _, clients = world
    parts = Part.objects.count()
    got = {
        role: (
            clients[role].post("/inbound/sendgrid/", {"email": "From: a@example.com\n\nHi"}),
            clients[role].post("/inbound/mailgun/mime/", {"body-mime": "Hi"}),
        )
        for role in ROLES
    }
    assert {role: (a.status_code, b.status_code) for role, (a, b) in got.items()} == _all(
        (400, 404)
    )
    assert Part.objects.count() == parts
    assert not InboundFailure.objects.exists()


def test_an_admin_who_is_not_a_superuser_gets_the_accounts_but_not_the_rights(world):
    """K17 at the user admin's addresses: a member of the Admins group lists and opens the
    accounts; a superuser's account is read-only to them (its change form a view, its password
    and delete pages refused)."""
    from django.contrib.auth.models import Group, User

    ids, clients = world
    member = TeammateFactory(name="Ann Admins", email="ann-admins@example.com").user
    member.groups.add(Group.objects.get(name="Admins"))
    client = Client()
    client.force_login(member)
    superuser = User.objects.get(email="ada@example.com")
    base = "/admin/auth/user/"
    got = {
        "list": client.get(base).status_code,
        "own": client.get(f"{base}{member.pk}/change/").status_code,
        "superuser": client.get(f"{base}{superuser.pk}/change/").status_code,
        "superuser password": client.get(f"{base}{superuser.pk}/password/").status_code,
        "superuser delete": client.get(f"{base}{superuser.pk}/delete/").status_code,
    }
    assert got == {
        "list": 200,
        "own": 200,
        "superuser": 200,  # the view permission: read-only
        "superuser password": 403,
        "superuser delete": 403,
    }
    page = client.get(f"{base}{member.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page
