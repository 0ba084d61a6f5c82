"""The report pages in a real browser (Playwright driving Debian's chromium) against the live
server: a manager signs in through the login page, opens R1–R4 and downloads both CSVs (R5);
any response of 500 or more, any console error and any page error fails the test. Skipped
when chromium or Playwright is missing."""

from contextlib import nullcontext
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import clock
from ratings.services import rating_comment, rating_submit
from tests.factories import TeammateFactory
from tests.report_helpers import make_manager, requested, token_for

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_MS = 15_000
PASSWORD = "a-long-browser-pass"
PAGES = ["/reports/", "/reports/teammates/", "/reports/comments/", "/reports/achievements/"]


def _at_once(execute=True):
    """For `requested`: in a transactional test the close's on-commit work runs at once."""
    return nullcontext()


@pytest.fixture
def manager(allow_sync_orm, live_server):
    """A manager and a few days of ratings of every kind, made through the services."""
    manager = make_manager(name="Mona Manager", username="mona", password=PASSWORD)
    team = [TeammateFactory(name=name) for name in ("Ann Lee", "Ben Okafor")]
    now = timezone.now()
    for i, value in enumerate((5, 4, 3, 2, 1, 5, 1, 4)):
        at = now - timedelta(days=i % 5, hours=2)
        request = requested(_at_once, team[i % 2], at=at)
        with clock.at(at + timedelta(minutes=10)):
            rating_submit(token=token_for(request), value=value)
            reasons = ["Slow to answer"] if value <= 2 else ()
            rating_comment(
                token=token_for(request), comment=f"<b>Comment</b> {i} 🎉", reasons=reasons
            )
    return manager


def test_R1_R5_a_manager_signs_in_and_opens_every_page_and_csv(browser, live_server, manager):
    problems = []
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda r: r.status >= 500 and problems.append(f"{r.status} {r.url}"),
    )

    page.goto(f"{live_server.url}/reports/comments/?days=7")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/reports/comments/?days=7")

    for path in PAGES:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        sync_api.expect(page.locator("h1")).to_be_visible()
    page.goto(f"{live_server.url}/reports/")
    sync_api.expect(page.locator("#ratings")).to_have_text("8")
    sync_api.expect(page.locator(".chart.wide svg")).to_be_visible()

    page.goto(f"{live_server.url}/reports/comments/")
    page.get_by_role("link", name="Terrible & bad").click()
    sync_api.expect(page.locator("li.item")).to_have_count(3)
    sync_api.expect(page.get_by_text("<b>Comment</b> 4 🎉")).to_be_visible()
    page.get_by_role("button", name="Mark followed up").first.click()
    sync_api.expect(page.get_by_text("marked as followed up")).to_be_visible()

    for path, name in (
        ("/reports/teammates/", "teammates_"),
        ("/reports/comments/", "comments_"),
    ):
        page.goto(live_server.url + path)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        assert download.value.suggested_filename.startswith(name)
        with open(download.value.path(), "rb") as export:
            assert export.read().startswith(b"\xef\xbb\xbf")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    context.close()
    assert problems == []
