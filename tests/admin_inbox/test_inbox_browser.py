"""The inbox in a real browser (Playwright driving Debian's chromium) against the live server,
as a teammate who is also a superuser: it opens on Mine (I1), two ticked rows are closed by
the bulk action, and a word inside a message finds its conversation (I3). Any response of
500 or more, any console error and any page error fails the test. Screenshots go to
/tmp/inbox-*.png. Skipped when chromium or Playwright is missing."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from conversations import clock, services
from conversations.models import Origin, State
from tests.factories import ContactFactory, TeammateFactory

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

# The live server needs committed rows; a transactional test flushes the groups migrations
# made, so the teammate is a superuser (permissions without the Teammates group).
pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_MS = 15_000
CHANGELIST = "/admin/conversations/conversation/"


def start(subject: str, body: str, minutes_ago: int):
    contact = ContactFactory()
    with clock.at(timezone.now() - timedelta(minutes=minutes_ago)):
        return services.conversation_start(
            channel="email",
            origin=Origin.CUSTOMER,
            contacts=[contact],
            started_by=contact,
            subject=subject,
            body=body,
        )


@pytest.fixture
def tess(allow_sync_orm, live_server):
    tess = TeammateFactory(name="Tess Tam", email="tess@example.com")
    tess.user.is_superuser = True
    tess.user.save(update_fields=["is_superuser"])
    return tess


@pytest.fixture
def inbox_rows(tess):
    """Three conversations of Tess's, one unassigned, one closed with a word in a message."""
    mine = [start(f"Mine {n}", f"Question number {n}", minutes_ago=30 - n) for n in range(3)]
    for conversation in mine:
        services.conversation_assign(conversation=conversation, to=tess, by=tess)
    start("Nobody's yet", "Hello?", minutes_ago=5)
    closed = start("Garden", "Hello", minutes_ago=60)
    services.conversation_reply(
        conversation=closed,
        author=tess,
        body="<p>The <strong>flamingo</strong> statue ships Monday.</p>",
    )
    services.conversation_close(conversation=closed, by=tess)
    return {"mine": mine, "closed": closed}


@pytest.fixture
def page(browser, live_server, tess):
    """A browser tab signed in as Tess (the session of a test Client's login)."""
    client = Client()
    client.force_login(tess.user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    # The admin's pages name no icon: the browser's own request for one is not the inbox's.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("response", lambda r: r.status >= 500 and page.problems.append(f"{r.status} {r.url}"))
    yield page
    context.close()


def row(page, conversation):
    checkbox = page.locator(f'input[name="_selected_action"][value="{conversation.pk}"]')
    return page.locator("#result_list tbody tr").filter(has=checkbox)


def test_I1_opens_on_mine_and_closes_two_ticked_rows(page, live_server, inbox_rows):
    mine = inbox_rows["mine"]
    page.goto(live_server.url + CHANGELIST)
    current = page.locator(".inbox-tabs .inbox-tab.current")
    sync_api.expect(current).to_have_count(1)
    sync_api.expect(current).to_contain_text("Mine")
    sync_api.expect(current).to_have_attribute("aria-current", "page")
    sync_api.expect(current.locator(".inbox-count")).to_have_text("3")
    rows = page.locator("#result_list tbody tr")
    sync_api.expect(rows).to_have_count(3)
    sync_api.expect(rows.first).to_contain_text("Mine 2")  # the newest message first (I2)
    page.screenshot(path="/tmp/inbox-mine.png", full_page=True)

    for conversation in mine[:2]:
        row(page, conversation).locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').first.select_option("close_selected")
    page.get_by_role("button", name=re.compile("^Go$")).first.click()

    sync_api.expect(page.locator(".messagelist")).to_contain_text("Closed: 2 conversations.")
    sync_api.expect(page.locator("#result_list tbody tr")).to_have_count(1)  # still Mine
    sync_api.expect(row(page, mine[2])).to_be_visible()
    page.screenshot(path="/tmp/inbox-closed.png", full_page=True)
    for conversation in mine:
        conversation.refresh_from_db()
    assert [c.state for c in mine] == [State.CLOSED, State.CLOSED, State.OPEN]

    page.locator(".inbox-tabs").get_by_role("link", name=re.compile("^Closed")).click()
    sync_api.expect(page.locator("#result_list tbody tr")).to_have_count(3)
    assert page.problems == []


def test_I3_search_finds_a_word_inside_a_message(page, live_server, inbox_rows):
    closed = inbox_rows["closed"]
    page.goto(live_server.url + CHANGELIST)
    page.locator("#searchbar").fill("flamingo")
    page.locator("#searchbar").press("Enter")
    page.wait_for_url(re.compile(r"[?&]q=flamingo"))

    rows = page.locator("#result_list tbody tr")
    sync_api.expect(rows).to_have_count(1)
    sync_api.expect(row(page, closed)).to_contain_text("Garden")
    sync_api.expect(row(page, closed)).to_contain_text("Closed")
    sync_api.expect(page.locator(".inbox-tabs")).to_contain_text("Search results in every state")
    page.screenshot(path="/tmp/inbox-search.png", full_page=True)

    page.locator("#searchbar").fill("strong")  # markup is not searched
    page.locator("#searchbar").press("Enter")
    page.wait_for_url(re.compile(r"[?&]q=strong"))
    sync_api.expect(page.locator("#result_list tbody tr")).to_have_count(0)
    assert page.problems == []
