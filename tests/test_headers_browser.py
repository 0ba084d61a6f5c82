"""K10 in a real browser (Playwright driving Debian's chromium) against the live server: the
admin, a rating page (a reaction clicked), the report pages, the API docs (Swagger UI draws
its operations) and the browsable API, the Messenger embedded on a host page of another
origin and on the demo host page; every frame of every page listens for
`securitypolicyviolation` and the console is read, and no Content-Security-Policy violation,
console error or page error may happen while each page still works. Skipped when chromium or
Playwright is missing."""

import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from conversations import services
from conversations.models import Channel
from mail.models import SentMail
from ratings.models import Rating
from tests.factories import TeammateFactory, start_conversation
from tests.messenger.browser_support import FRAME_SELECTOR, LAUNCHER_SELECTOR, Site, host_page
from tests.outbox import surveys

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
expect = sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_MS = 15_000
PASSWORD = "a-long-browser-pass"
LINK = re.compile(r"^(\w+): (http\S+/rate/\S+/)$", re.M)

# Run in every frame before its own scripts (Playwright's init script is not subject to the
# page's policy): each violation the browser reports is handed to the test.
LISTEN = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.k10Violation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} in ` +
    `${event.documentURI} (${event.sourceFile}:${event.lineNumber})`
  );
}, true);
"""


class Heard:
    """What the pages reported: CSP violations, console errors and messages naming the
    policy, page errors, responses of 500 or more."""

    def __init__(self, context):
        self.violations: list[str] = []
        self.problems: list[str] = []
        context.expose_binding("k10Violation", lambda source, text: self.violations.append(text))
        context.add_init_script(LISTEN)

    def page(self, context):
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "response", lambda r: r.status >= 400 and self.problems.append(f"{r.status} {r.url}")
        )
        return page

    def _console(self, message):
        text = message.text
        where = message.location.get("url", "")
        if where.endswith("/favicon.ico"):
            return  # DRF's browsable API names no icon: chromium asks for one; not a policy
        text = f"{text} ({where})"
        if (
            message.type == "error"
            or "Content Security Policy" in text
            or "Permissions-Policy" in text
        ):
            self.problems.append(f"console {message.type}: {text}")

    def assert_quiet(self):
        assert self.violations == []
        assert self.problems == []


@pytest.fixture(autouse=True)
def patient_expect():
    expect.set_options(timeout=TIMEOUT_MS)
    yield
    expect.set_options(timeout=None)


@pytest.fixture
def csat(live_server, settings, allow_sync_orm):
    settings.SITE_URL = live_server.url
    cache.clear()
    yield live_server.url
    cache.clear()


@pytest.fixture
def admin_user(csat):
    """A superuser who is also a teammate (the inbox's actions are a teammate's)."""
    admin = TeammateFactory(name="Ada Admin", email="ada@x.test", username="ada", password=PASSWORD)
    admin.user.is_superuser = True
    admin.user.save(update_fields=["is_superuser"])
    return admin.user


@pytest.fixture
def heard(browser):
    context = browser.new_context()
    heard = Heard(context)
    heard.context = context
    yield heard
    context.close()


def _sign_in(page, csat, path="/admin/"):
    page.goto(f"{csat}/admin/login/?next={path}")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{csat}{path}")


def _survey_links(contact, teammate) -> dict:
    conversation = start_conversation(
        contacts=[contact],
        started_by=contact,
        body="My parcel never arrived.",
        channel=Channel.EMAIL,
        subject="Lost parcel",
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="Sorry! " * 40)
    services.conversation_close(conversation=conversation, by=teammate)
    (survey,) = surveys()
    return dict(LINK.findall(survey.body))


def test_K10_a_rating_page_works_under_the_policy(csat, heard, contact, teammate):
    """K10a, K10e: the email link posts its reaction by itself (rate.js, a static file), a
    click on another reaction changes it, the comment's counter counts: no violation."""
    links = _survey_links(contact, teammate)
    page = heard.page(heard.context)
    response = page.goto(links["Great"])
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.wait_for_url(re.compile(r"\?done=rated$"))
    expect(page.get_by_role("heading", name="Thanks — you rated Great")).to_be_visible()
    page.get_by_role("button", name="Amazing").click()
    expect(page.get_by_role("heading", name="Thanks — you rated Amazing")).to_be_visible()
    assert Rating.objects.get().value == 5
    page.get_by_label("Your comment").fill("Quick")
    expect(page.locator("[id^=room-]").first).to_contain_text("left")
    heard.assert_quiet()


def test_K10_the_admin_and_the_report_pages_work_under_the_policy(
    csat, heard, admin_user, contact, teammate
):
    """K10a: the admin (sign-in, inbox, a conversation with its panel, settings, the Sent
    mail page's sandboxed HTML part) and the reports (their bars) raise no violation."""
    links = _survey_links(contact, teammate)
    start_conversation(contacts=[contact], started_by=contact, subject="Still open", body="Hi")
    page = heard.page(heard.context)
    page.goto(links["Bad"])
    page.wait_for_url(re.compile(r"\?done=rated$"))
    SentMail.objects.create(
        sent_at=timezone.now(),
        subject="Styled",
        to="a@example.com",
        html='<p style="color: rgb(200, 0, 0)">Styled mail</p>',
        text="Styled mail",
    )

    _sign_in(page, csat)
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(f"{csat}/admin/conversations/conversation/?view=all")
    # Django's admin scripts run (actions.js): ticking "select all" ticks the rows.
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select").first).to_be_checked()
    page.get_by_role("link", name=re.compile("Still open")).click()
    expect(page.locator(".conv-action-reply")).to_be_visible()
    page.goto(f"{csat}/admin/messenger/messengersettings/")
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{csat}/admin/mail/sentmail/")
    page.locator("#result_list tbody a").first.click()
    mail = page.frame_locator("iframe.sent-mail-html").locator("p")
    expect(mail).to_have_css("color", "rgb(200, 0, 0)")

    for path in (
        "/reports/",
        "/reports/teammates/",
        "/reports/comments/",
        "/reports/achievements/",
    ):
        response = page.goto(csat + path)
        assert response.status == 200, path
        expect(page.locator("h1")).to_be_visible()
    page.goto(f"{csat}/reports/")
    # The bars are drawn from their SVG width attributes, no style attribute needed.
    bar = page.locator("#reaction-2 .meter svg")
    expect(bar).to_be_visible()
    track = page.locator("#reaction-2 .meter").bounding_box()["width"]
    assert bar.bounding_box()["width"] == pytest.approx(track, abs=1.5)  # 1 rating of 1: 100 %
    assert page.locator("#reaction-5 .meter svg").bounding_box()["width"] < 1
    heard.assert_quiet()


def test_K10_the_api_docs_and_the_browsable_api_work_under_the_policy(csat, heard, admin_user):
    """K10a: Swagger UI (drf-spectacular-sidecar) draws its operations with no inline script;
    the browsable API draws its page."""
    page = heard.page(heard.context)
    response = page.goto(f"{csat}/api/docs/")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("csat API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 10
    page.locator(".opblock-summary").first.click()  # an operation opens
    expect(page.locator(".opblock-body").first).to_be_visible()

    _sign_in(page, csat, "/api/v1/conversations/")
    expect(page.locator(".response-info")).to_be_visible()
    heard.assert_quiet()


def test_K10b_the_widget_on_a_host_page_works_under_the_frames_policy(csat, settings, heard):
    """K10b: a company's page on another origin (allowed) embeds the Messenger; the frame's
    policy names that origin, its scripts run, a lead starts a conversation; and the demo host
    page, under csat's own policy, loads the widget too."""
    site = Site()
    try:
        settings.MESSENGER_ALLOWED_ORIGINS = [site.url]
        page = heard.page(heard.context)
        with page.expect_response(lambda r: "/messenger/frame/" in r.url) as frame_response:
            page.goto(site.serve("/shop.html", host_page(csat)))
        frame_policy = frame_response.value.headers["content-security-policy"]
        assert f"frame-ancestors 'self' {site.url} {csat}" in frame_policy.split("; ")
        assert "'unsafe-inline'" not in frame_policy
        widget = page.frame_locator(FRAME_SELECTOR)
        expect(widget.locator("[data-home]")).to_be_attached()
        page.locator(LAUNCHER_SELECTOR).click()
        widget.get_by_label("Start a conversation").fill("Hello! Do you ship to Norway?")
        widget.get_by_role("button", name="Send").click()
        expect(widget.locator("section.thread .msg.mine")).to_contain_text("ship to Norway")

        settings.MESSENGER_DEMO_HOST = True
        page.goto(f"{csat}/demo/host/?as=lead")
        expect(page.locator(LAUNCHER_SELECTOR)).to_be_visible()
        page.locator(LAUNCHER_SELECTOR).click()
        expect(page.frame_locator(FRAME_SELECTOR).locator("[data-home]")).to_be_attached()
        heard.assert_quiet()
    finally:
        site.stop()


def test_K10_the_listener_hears_a_violation(csat, heard, admin_user):
    """The watch can fail: an inline script injected into a page is refused and heard."""
    page = heard.page(heard.context)
    page.goto(f"{csat}/accounts/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.ran") is None
    assert any(v.startswith("script-src-elem blocked inline") for v in heard.violations)
