"""The stylesheets under static/css/ (staff.css, customer.css, admin.css): found by the
staticfiles finders, served by WhiteNoise, linked by the base templates (and, in production,
by their hashed names after `collectstatic`); one palette shared word for word by the staff
and customer pages; no `<style>` blocks left in the templates; customer pages that load
nothing from another site."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from conversations import services
from conversations.models import Channel
from ratings.models import MessengerApp, RatingRequest, RatingSettings
from ratings.services import rating_request_send
from ratings.tokens import messenger_token, rating_token
from tests.factories import ContactFactory, start_conversation

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
STYLESHEETS = ["css/staff.css", "css/customer.css", "css/admin.css"]
MAX_STYLE_LINES = 5
CLOSED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def _css(name: str) -> str:
    return (STATIC / name).read_text()


def _stylesheets(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]*)"', html)


class _Links(HTMLParser):
    """Every (tag, attribute, value) of a src= or href= in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "formaction", "poster"):
                self.found.append((tag, name, value or ""))


def _links(html: str) -> list[tuple[str, str, str]]:
    parser = _Links()
    parser.feed(html)
    return parser.found


def _same_origin(value: str) -> bool:
    """A path on this site ("/static/…", "/rate/…", "#x", "?done=…") or an inline data: URL."""
    return value.startswith(("/", "#", "?", "data:")) and not value.startswith("//")


# --- the files --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STYLESHEETS)
def test_each_stylesheet_is_found_by_the_staticfiles_finders(name):
    assert settings.STATICFILES_DIRS == [ROOT / "static"]
    found = finders.find(name)
    assert found is not None, name
    assert Path(found) == STATIC / name


def _palette(css: str) -> str:
    match = re.search(r"/\* The palette, .*?\n:root \{\n.*?\n\}\n", css, re.S)
    assert match, "no palette block"
    return match[0]


def test_staff_and_customer_pages_share_one_palette_word_for_word():
    staff, customer = _css("css/staff.css"), _css("css/customer.css")
    assert _palette(staff) == _palette(customer)
    # Defined once per file, and nowhere else: no page redefines a colour of the palette.
    for css in (staff, customer):
        assert css.count(":root") == 1
    names = set(re.findall(r"(--[a-z-]+):", _palette(staff)))
    assert {"--ink", "--accent", "--line", "--radius", "--font"} <= names


@pytest.mark.parametrize("name", ["css/staff.css", "css/customer.css"])
def test_every_variable_used_is_defined_in_the_palette(name):
    css = _css(name)
    defined = set(re.findall(r"(--[a-z-]+):", _palette(css)))
    used = set(re.findall(r"var\((--[a-z-]+)\)", css))
    assert used - defined == set()


def test_admin_css_uses_the_admins_theme_variables_only():
    """The admin has its own light and dark themes: admin.css follows their variables."""
    css = _css("css/admin.css")
    assert ":root" not in css
    admin_base = finders.find("admin/css/base.css")
    admin_variables = set(re.findall(r"(--[a-z-]+):", Path(admin_base).read_text()))
    assert "--body-fg" in admin_variables and "--error-fg" in admin_variables
    assert set(re.findall(r"var\((--[a-z-]+)\)", css)) <= admin_variables


@pytest.mark.parametrize("name", STYLESHEETS)
def test_a_stylesheet_loads_nothing_else(name):
    css = _css(name)
    assert "@import" not in css
    assert "url(" not in css
    assert "http" not in css


# --- the templates ----------------------------------------------------------------------------


def test_no_template_carries_a_style_block_of_more_than_a_few_lines():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20
    long_blocks = []
    for path in templates:
        text = path.read_text()
        for match in re.finditer(r"<style\b[^>]*>(.*?)</style>", text, re.S | re.I):
            lines = [line for line in match[1].splitlines() if line.strip()]
            if len(lines) > MAX_STYLE_LINES:
                long_blocks.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
        # An unclosed <style> (or one split over an include) counts too.
        assert text.lower().count("<style") == text.lower().count("</style>"), path
    assert long_blocks == []


def test_the_staff_base_template_links_the_staff_stylesheet(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert _stylesheets(html) == ["/static/css/staff.css"]
    assert "<style" not in html


def test_the_report_pages_link_the_staff_stylesheet(client_):
    html = client_.get(reverse("reports:summary")).content.decode()
    assert _stylesheets(html) == ["/static/css/staff.css"]
    assert "<style" not in html


def test_the_customer_base_template_links_the_customer_stylesheet(client):
    response = client.get(reverse("ratings:rate", args=["not-a-token"]))
    html = response.content.decode()
    assert response.status_code == 404  # the "link not valid" page, on the customer layout
    assert _stylesheets(html) == ["/static/css/customer.css"]
    assert "<style" not in html


def test_admin_pages_link_the_admin_stylesheet_after_the_admins_own(admin_client, conversation):
    """After forms.css and changelists.css, as the inline styles were: its rules win the ties."""
    pages = {
        reverse("admin:conversations_conversation_change", args=[conversation.pk]): "forms.css",
        reverse("admin:conversations_conversation_changelist"): "changelists.css",
        reverse("admin:ratings_rating_changelist"): "changelists.css",
        reverse("admin:index"): "base.css",
    }
    for url, before in pages.items():
        response = admin_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        sheets = _stylesheets(html)
        assert sheets.count("/static/css/admin.css") == 1, url
        assert sheets.index("/static/css/admin.css") > sheets.index(f"/static/admin/css/{before}")
        assert "<style" not in html, url


# --- serving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STYLESHEETS)
def test_whitenoise_serves_each_stylesheet(client, name):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content) == (STATIC / name).read_bytes()


def test_in_production_the_pages_link_the_hashed_stylesheets_of_collectstatic(
    settings, tmp_path, db
):
    """`collectstatic` with the production storage (CompressedManifestStaticFilesStorage, as
    csat_project/settings.py sets it when DEBUG is off); WhiteNoise then serves the hashed
    names from STATIC_ROOT alone, compressed and cached for good. Only the project's own
    directory is collected here (the admin's files would only slow the test down)."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", "--noinput", verbosity=0)

    client = Client()  # a new client: WhiteNoise reads STATIC_ROOT when it starts
    pages = {
        reverse("login"): "staff",
        reverse("ratings:rate", args=["not-a-token"]): "customer",
    }
    for url, name in pages.items():
        (href,) = _stylesheets(client.get(url).content.decode())
        assert re.fullmatch(rf"/static/css/{name}\.[0-9a-f]{{12}}\.css", href), href
        response = client.get(href, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200
        assert response["Content-Encoding"] == "gzip"
        assert "immutable" in response["Cache-Control"]


# --- customer pages: nothing from another site ---------------------------------------------------


def _closed(contact, teammate, *, channel=Channel.MESSENGER):
    """An eligible conversation of `contact`, closed, its survey sent."""
    with time_machine.travel(CLOSED_AT - timedelta(hours=1), tick=False):
        conversation = start_conversation(
            contacts=[contact], started_by=contact, body="My order never arrived.", channel=channel
        )
        services.conversation_reply(
            conversation=conversation, author=teammate, body="Sorry about that! " * 15
        )
    with time_machine.travel(CLOSED_AT, tick=False):
        services.conversation_close(conversation=conversation, by=teammate)
        rating_request_send(conversation_id=conversation.pk)
    return conversation


def _rate_url(request, value=None):
    token = rating_token(
        request_id=request.pk, conversation_id=request.conversation_id, value=value
    )
    return reverse("ratings:rate", args=[token])


def _assert_same_origin(html, allowed=()):
    links = _links(html)
    assert ("link", "href", "/static/css/customer.css") in links
    foreign = [link for link in links if not _same_origin(link[2]) and link[2] not in allowed]
    assert foreign == []
    assert not re.search(
        r"https?://", " ".join(value for _, _, value in links if value not in allowed)
    )


def test_the_rating_page_references_only_this_site(client, teammate):
    request = RatingRequest.objects.get(
        conversation=_closed(ContactFactory(), teammate, channel=Channel.EMAIL)
    )
    with time_machine.travel(CLOSED_AT + timedelta(hours=1), tick=False):
        before = client.get(_rate_url(request, 4)).content.decode()  # the click, posted on load
        client.post(_rate_url(request, 4), {"value": 4})
        after = client.get(_rate_url(request)).content.decode()  # rated: comment form, change
    for html in (before, after):
        _assert_same_origin(html)
    assert 'name="comment"' in after


def test_the_messenger_view_references_only_this_site(client, contact, teammate):
    _closed(contact, teammate)
    html = client.get(reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)]))
    html = html.content.decode()
    assert 'class="rating-card"' in html
    _assert_same_origin(html)


def test_the_messenger_views_one_outside_link_is_the_installed_rating_apps_card(
    client, contact, teammate
):
    """D3: the card of the rating app the admin installed is a link (a new tab, no referrer)
    to that app: a place to go, not an asset the page loads."""
    app = MessengerApp.objects.create(name="Pulse", card_url="https://apps.example.com/c?x=1")
    settings_row = RatingSettings.load()
    settings_row.rating_app = app
    settings_row.save()
    _closed(contact, teammate)
    html = client.get(reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)]))
    html = html.content.decode()
    assert ("a", "href", app.card_url) in _links(html)
    assert 'rel="noopener noreferrer"' in html
    _assert_same_origin(html, allowed={app.card_url})
