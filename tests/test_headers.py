"""K10 (issue 16, item 6): the security headers of every response. A Content-Security-Policy
(django-csp) with no 'unsafe-inline' or 'unsafe-eval' for scripts on the staff pages, the
customer pages, the API and its docs (K10a); the Messenger's iframe framed only by
MESSENGER_ALLOWED_ORIGINS, every other page by no one (K10b, K10c); Permissions-Policy (K10d);
X-Content-Type-Options and a Referrer-Policy that sends no address (and so no customer token)
to another site (K10e). The templates keep no inline script or handler the policy would block
(K10f). tests/test_headers_browser.py opens the pages in chromium and hears no violation."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from mail.models import SentMail
from ratings.tokens import messenger_token
from tests.factories import UserFactory
from tests.rating_pages.support import _requested, _url

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy, by directive."""
    header = response["Content-Security-Policy"]
    directives = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        assert name not in directives, f"{name} twice in {header}"
        directives[name] = sources
    return directives


def assert_strict(response, *, framed_by=("'none'",)):
    """K10a, K10c–K10e on one response."""
    csp = policy(response)
    scripts = csp["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert not any(name.startswith("script-src-") for name in csp)  # no looser sub-directive
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == list(framed_by)
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in response["Permissions-Policy"].split(", ")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if framed_by == ("'none'",):
        assert response["X-Frame-Options"] == "DENY"
    return csp


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


# --- K10a, K10c–K10e: staff, customer and API responses -------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/conversations/conversation/",
        "/admin/ratings/ratingsettings/",
        "/reports/",
        "/reports/comments/",
        "/accounts/login/",
    ],
)
def test_K10a_a_staff_page_has_the_strict_policy(client, superuser, url):
    client.force_login(superuser)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    csp = assert_strict(response)
    # The staff pages' styles are this site's files too (no inline style, K10a).
    assert csp["style-src"] == ["'self'"]
    assert "style-src-attr" not in csp and "style-src-elem" not in csp


def test_K10a_the_sign_in_page_before_sign_in(client):
    assert_strict(client.get("/admin/login/"))
    assert_strict(client.get("/accounts/login/"))


def test_K10a_K10e_a_customer_rating_page_has_the_strict_policy(client, teammate):
    response = client.get(_url(_requested(teammate), value=4))
    assert response.status_code == 200
    csp = assert_strict(response)
    assert csp["style-src"] == ["'self'"]
    # K10e: the token in the path never leaves in a Referer (same-origin sends none across).
    assert response["Referrer-Policy"] == "same-origin"


def test_K10a_K10c_the_messenger_link_page_is_not_frameable(client, contact):
    response = client.get(reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)]))
    assert response.status_code == 200
    assert_strict(response)


@pytest.mark.parametrize("url", ["/api/v1/conversations/", "/api/schema/", "/api/nowhere/"])
def test_K10a_the_api_has_the_policy_and_headers(client, url):
    response = client.get(url)
    assert response.status_code in (200, 401, 403, 404)
    assert_strict(response)


def test_K10a_the_browsable_api_allows_drf_styles_but_no_inline_script(client, superuser):
    client.force_login(superuser)
    response = client.get("/api/v1/conversations/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    csp = assert_strict(response)
    assert csp["style-src-attr"] == ["'unsafe-inline'"]
    # A JSON answer carries no such allowance.
    json_response = client.get("/api/v1/conversations/", HTTP_ACCEPT="application/json")
    assert "style-src-attr" not in policy(json_response)


def test_K10a_the_api_docs_run_no_inline_script(client):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    assert_strict(response)
    html = response.content.decode()
    # Every <script> is a file of this site: Swagger UI's start-up is served at ?script.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html and "style=" not in html
    start = re.search(r'<script src="(/api/docs/\?[^"]*script=[^"]*)"', html).group(1)
    script = client.get(start.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert "/api/schema/" in script.content.decode()


# --- K10b, K10c: who may frame what -------------------------------------------------------------


@override_settings(
    SITE_URL="https://csat.example.com",
    MESSENGER_ALLOWED_ORIGINS=["https://app.example.com", "https://shop.example.org:8443"],
)
def test_K10b_the_widget_iframe_is_framed_by_the_allowed_origins_only(client):
    response = client.get(reverse("messenger:frame"), {"host": "https://evil.example"})
    assert response.status_code == 200
    csp = assert_strict(
        response,
        framed_by=(
            "'self'",
            "https://app.example.com",
            "https://shop.example.org:8443",
            "https://csat.example.com",
        ),
    )
    assert "evil" not in response["Content-Security-Policy"]
    # X-Frame-Options would contradict frame-ancestors (DENY): the frame sends none.
    assert "X-Frame-Options" not in response
    # The rest of the policy is the site's: the frame's scripts are its own files.
    assert csp["script-src"] == ["'self'"]


@override_settings(MESSENGER_ALLOWED_ORIGINS=["https://app.example.com"])
def test_K10c_only_the_widget_iframe_is_frameable(client, contact, teammate):
    for response in (
        client.get("/accounts/login/"),
        client.get(_url(_requested(teammate))),
        client.get("/api/docs/"),
        client.get(reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)])),
    ):
        assert policy(response)["frame-ancestors"] == ["'none'"]
        assert response["X-Frame-Options"] == "DENY"


def test_K10_the_demo_host_page_may_load_the_widget_from_site_url(client, settings, contact):
    settings.MESSENGER_DEMO_HOST = True
    settings.SITE_URL = "http://127.0.0.1:8000"
    response = client.get("/demo/host/")
    assert response.status_code == 200
    csp = assert_strict(response)
    assert csp["script-src"] == ["'self'", "http://127.0.0.1:8000"]
    assert csp["frame-src"] == ["'self'", "http://127.0.0.1:8000"]


def test_K10_the_sent_mail_page_lets_its_sandboxed_mail_keep_inline_styles(client, superuser):
    """The HTML part is a srcdoc frame, which inherits the page's policy: that one page allows
    style attributes and remote images (what the frame's own policy allows), never scripts."""
    mail = SentMail.objects.create(
        sent_at=timezone.now(),
        subject="Hi",
        to="a@example.com",
        html='<p style="color:red">Hi</p>',
        text="Hi",
    )
    client.force_login(superuser)
    response = client.get(reverse("admin:mail_sentmail_change", args=[mail.pk]))
    assert response.status_code == 200
    csp = assert_strict(response)
    assert csp["style-src-attr"] == ["'unsafe-inline'"]
    assert csp["img-src"] == ["'self'", "data:", "http:", "https:"]
    assert "style-src-attr" not in policy(client.get("/admin/"))


# --- K10d: Permissions-Policy ---------------------------------------------------------------------


def test_K10d_permissions_policy_on_static_files_and_errors_too(client):
    for response in (client.get("/static/css/staff.css"), client.get("/healthz")):
        assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY
        assert response["X-Content-Type-Options"] == "nosniff"
    missing = client.get("/rate/not-a-token/")
    assert missing.status_code == 404
    assert_strict(missing)


# --- K10f: nothing inline left for the policy to block -------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
HANDLER = re.compile(r"""<[a-z][^>]*\son[a-z]+\s*=""", re.I)
STYLE_ATTRIBUTE = re.compile(r"""<[a-z][^>]*\sstyle\s*=""", re.I)


def _page_templates():
    """The templates that render pages (not the emails, which no browser policy governs)."""
    for root in [BASE / "templates", *BASE.glob("*/templates")]:
        for path in root.rglob("*.html"):
            if "email" in path.parts or path.parts[-2] == "mail":
                continue
            yield path


def test_K10f_no_template_has_an_inline_script_or_handler():
    checked = 0
    for path in _page_templates():
        text = path.read_text()
        assert not INLINE_SCRIPT.search(text), f"an inline <script> in {path}"
        assert not HANDLER.search(text), f"an on…= handler in {path}"
        checked += 1
    assert checked > 20


def test_K10f_no_page_template_has_a_style_attribute():
    for path in _page_templates():
        assert not STYLE_ATTRIBUTE.search(path.read_text()), f"a style attribute in {path}"


def test_K10f_the_patterns_catch_what_they_look_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/rate.js"></script>')
    assert not INLINE_SCRIPT.search('<script id="c" type="application/json">{}</script>')
    assert HANDLER.search('<button type="button" onclick="go()">')
    assert not HANDLER.search('<button type="button" data-once="go">')
    assert STYLE_ATTRIBUTE.search('<span style="width: 4%">')
