"""A way in for every role, in a real browser (Playwright driving Debian's chromium) against
the live server: a manager signs in at the admin and follows the header's Reports link; from
the landing page, the sign-in comes back to it and its Reports card opens the reports. Any
response of 500 or more, console error or page error fails the test. Skipped when chromium or
Playwright is missing."""

import pytest

from tests.report_helpers import make_manager

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_MS = 15_000
PASSWORD = "a-long-browser-pass"


@pytest.fixture
def manager(allow_sync_orm, live_server):
    # make_manager makes the Managers group again: a transactional test has lost it.
    return make_manager(name="Mona Manager", username="mona", password=PASSWORD)


def _page(browser, problems):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda r: r.status >= 500 and problems.append(f"{r.status} {r.url}"))
    return context, page


def test_a_manager_signs_in_at_the_admin_and_follows_the_header_to_the_reports(
    browser, live_server, manager
):
    problems = []
    context, page = _page(browser, problems)

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    page.locator("#user-tools").get_by_role("link", name="Reports", exact=True).click()

    page.wait_for_url(f"{live_server.url}/reports/")
    sync_api.expect(page.locator("h1")).to_be_visible()
    sync_api.expect(page.get_by_role("navigation", name="Reports")).to_be_visible()
    context.close()
    assert problems == []


def test_from_the_landing_page_a_manager_signs_in_and_opens_the_reports(
    browser, live_server, manager
):
    problems = []
    context, page = _page(browser, problems)

    page.goto(f"{live_server.url}/")
    sync_api.expect(page.locator("h1")).to_have_text("Conversation ratings for support teams")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    sync_api.expect(page.locator("h1")).to_have_text("Welcome, Mona")
    page.get_by_role("link", name="Open the reports").click()

    page.wait_for_url(f"{live_server.url}/reports/")
    context.close()
    assert problems == []
