"""The rating pages in a real browser (Playwright driving Debian's chromium) against the live
server: the email's link records the rating by itself (A1), a comment is left, a change after
it is refused on the page (A3, A7); with JavaScript off nothing is recorded until "Send my
rating" is pressed. Skipped when chromium or Playwright is missing."""

import re

import pytest

from conversations import services
from conversations.models import Channel
from ratings.models import Rating
from ratings.rules import RULE_WORDS
from tests.factories import start_conversation
from tests.outbox import surveys

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"^(\w+): (http\S+/rate/\S+/)$", re.M)
TIMEOUT_MS = 10_000


@pytest.fixture
def links(live_server, settings, contact, teammate):
    """The email survey's links by reaction name, on the live server: the conversation is
    closed and the survey sent (the queue runs in-process, on commit)."""
    settings.SITE_URL = live_server.url
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


def _page(context):
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def test_A1_A3_an_email_link_rates_then_a_comment_makes_it_final(browser, links):
    context = browser.new_context()
    page = _page(context)
    page.goto(links["Great"])
    page.wait_for_url(re.compile(r"\?done=rated$"))
    sync_api.expect(page.get_by_role("heading", name="Thanks — you rated Great")).to_be_visible()
    assert Rating.objects.get().value == 4

    # A second tab leaves a comment while the first still offers the change buttons.
    other = _page(context)
    other.goto(page.url)
    other.get_by_label("Your comment").fill("Quick & friendly <3")
    other.get_by_role("button", name="Send comment").click()
    other.wait_for_url(re.compile(r"\?done=commented$"))
    sync_api.expect(other.get_by_text("Thank you for your feedback")).to_be_visible()
    sync_api.expect(other.get_by_text("Quick & friendly <3")).to_be_visible()
    assert Rating.objects.get().comment == "Quick & friendly <3"

    page.get_by_role("button", name="Amazing").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text(RULE_WORDS["A3"])
    assert Rating.objects.get().value == 4

    # The email's other links now say why instead of posting.
    page.goto(links["Terrible"])
    sync_api.expect(
        page.get_by_text(f"Not changed to Terrible: {RULE_WORDS['A3']}")
    ).to_be_visible()
    assert Rating.objects.get().value == 4
    context.close()


def test_A1_without_javascript_nothing_is_recorded_until_send_my_rating(browser, links):
    context = browser.new_context(java_script_enabled=False)
    page = _page(context)
    page.goto(links["Bad"])
    send = page.get_by_role("button", name="Send my rating")
    sync_api.expect(send).to_be_visible()
    assert not Rating.objects.exists()

    send.click()
    sync_api.expect(page.get_by_role("heading", name="Thanks — you rated Bad")).to_be_visible()
    assert Rating.objects.get().value == 2
    # A1: after bad, the reasons are offered with the comment.
    sync_api.expect(page.get_by_label("Slow to answer")).to_be_visible()
    context.close()
