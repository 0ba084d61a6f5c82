"""The conversation page in a real browser (Playwright driving Debian's chromium) against the
live server: a conversation closed on the page shows its rating decision as pending, and the
panel turns to "Request sent" by itself, without a reload, once the decision is recorded; a
decision that never comes stops the refreshing after two minutes and says to reload. Skipped
when chromium or Playwright is missing."""

import re
from unittest import mock

import pytest
from django.test import Client

from conversations import services
from conversations.models import Origin
from ratings.models import RatingRequest
from ratings.services import rating_request_send
from tests.admin_inbox.support import change_url

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_MS = 10_000
LONG_REPLY = "Sorry about that, I had a look and fixed the export for you. " * 5


@pytest.fixture
def superuser(teammate):
    """The teammate, as a superuser: a transactional test flushes the groups the migrations
    made, so the Teammates group's permissions are gone."""
    teammate.user.is_superuser = True
    teammate.user.save(update_fields=["is_superuser"])
    return teammate


@pytest.fixture
def eligible(contact, superuser):
    """An open conversation that passes E1–E8 when closed."""
    conversation = services.conversation_start(
        channel="messenger",
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        subject="Export is broken",
        body="Hello, the export does nothing when I press the button.",
    )
    services.conversation_reply(conversation=conversation, author=superuser, body=LONG_REPLY)
    return conversation


@pytest.fixture
def page(browser, live_server, superuser):
    """A browser tab signed in as the superuser (the session of a test client's login)."""
    client = Client()
    client.force_login(superuser.user)
    context = browser.new_context()
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    context.close()


def lost_enqueue():
    """The close's task never queued (a lost enqueue): its decision stays pending until the
    test runs it."""
    return mock.patch("ratings.decisions.rating_request_enqueue")


def test_a_close_on_the_page_shows_pending_then_sent_without_a_reload(page, live_server, eligible):
    page.goto(live_server.url + change_url(eligible))
    panel = page.locator("section.rating-panel")
    sync_api.expect(panel).to_contain_text("Not closed yet")
    assert panel.get_attribute("data-refresh-url") is None

    with lost_enqueue() as enqueue:
        page.get_by_role("button", name="Close", exact=True).click()
        sync_api.expect(page.get_by_text("Conversation closed.")).to_be_visible()
    assert enqueue.call_count == 1
    sync_api.expect(panel).to_contain_text("Decision pending")
    sync_api.expect(panel.get_by_text("updates by itself")).to_be_visible()
    assert panel.get_attribute("data-refresh-url").endswith(f"/{eligible.pk}/panel/rating/")
    page.evaluate("window.stillTheSamePage = true")

    rating_request_send(conversation_id=eligible.pk)  # the worker gets to it

    sync_api.expect(panel.locator(".rating-badge-sent").first).to_have_text("Request sent")
    sync_api.expect(panel).to_contain_text("A rating request was sent.")
    sync_api.expect(panel).not_to_have_attribute("data-refresh-url", re.compile(".*"))
    assert page.evaluate("window.stillTheSamePage") is True  # no reload
    request = RatingRequest.objects.get(conversation=eligible)
    assert request.delivered_at is not None
    sync_api.expect(panel).to_contain_text(str(request.contact))


def test_a_decision_that_never_comes_stops_the_refresh_after_two_minutes(
    page, live_server, eligible, superuser
):
    with lost_enqueue():
        services.conversation_close(conversation=eligible, by=superuser)
    fetched = []
    page.on("request", lambda request: "/panel/rating/" in request.url and fetched.append(1))
    page.clock.install()
    page.goto(live_server.url + change_url(eligible))
    panel = page.locator("section.rating-panel")
    sync_api.expect(panel).to_contain_text("Decision pending")
    stopped = panel.get_by_text("reload the page to check again")
    sync_api.expect(stopped).to_be_hidden()

    with page.expect_response(lambda response: "/panel/rating/" in response.url) as asked:
        page.clock.run_for(2_500)  # asked again after ~2 s: still pending
    assert asked.value.status == 200
    sync_api.expect(panel).to_have_attribute("data-refresh-url", re.compile("/panel/rating/"))
    page.clock.run_for(120_000)

    sync_api.expect(stopped).to_be_visible()
    sync_api.expect(panel.get_by_text("updates by itself")).to_be_hidden()
    sync_api.expect(panel).not_to_have_attribute("data-refresh-url", re.compile(".*"))
    count = len(fetched)
    assert count >= 1
    page.clock.run_for(10_000)
    page.wait_for_timeout(500)
    assert len(fetched) == count  # no more asking
