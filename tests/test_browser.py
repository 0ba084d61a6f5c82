"""The rating pages in a real browser (Playwright driving Debian's chromium) against the live
server: the email's link records the rating by itself (A1), a comment is left, a change after
it is refused on the page (A3, A7); with JavaScript off nothing is recorded until "Send my
rating" is pressed. Skipped when chromium or Playwright is missing."""

import re

import pytest

from conversations import services
from conversations.models import Channel
from ratings.models import Rating, RatingEvent
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


# --- A10: a mail scanner's browser opening every link -----------------------------------------


def _settle(page):
    """Let the page's script do what it does: post the link's reaction (and land on the page
    it leads to) or nothing."""
    sync_api.expect(page.locator("[data-autosubmit]")).to_have_count(0)
    page.wait_for_load_state()


def _assert_figures_equal_a_recount():
    from io import StringIO

    from django.core.management import call_command

    from tests.test_daily_figures import snapshot

    kept = snapshot()
    call_command("figures_rebuild", stdout=StringIO())
    assert snapshot() == kept


def test_A10_a_scanner_opening_the_five_links_in_a_row_leaves_no_rating(browser, links):
    """One browser context, JavaScript on, the email's five links one after another, no
    click: the first records, the second discards it (A10), the rest post nothing."""
    assert len(links) == 5
    context = browser.new_context()
    page = _page(context)
    for url in links.values():
        page.goto(url)
        _settle(page)
    assert not Rating.objects.exists()
    assert list(RatingEvent.objects.values_list("kind", "rule").order_by("id")) == [
        ("rated", ""),
        ("discarded", "A10"),
    ]
    sync_api.expect(page.get_by_text(RULE_WORDS["A10"])).to_be_visible()
    sync_api.expect(page.locator("[aria-pressed=true]")).to_have_count(0)
    _assert_figures_equal_a_recount()

    # The person then presses the one they mean: it records at once.
    page.get_by_role("button", name="Great").click()
    sync_api.expect(page.get_by_role("heading", name="Thanks — you rated Great")).to_be_visible()
    assert Rating.objects.get().value == 4
    _assert_figures_equal_a_recount()
    context.close()


def test_A10_a_person_opening_one_link_then_pressing_a_button_keeps_the_rating(browser, links):
    """One link opened (it records by itself), then a press on the page: a person. The
    email's next link then asks before changing anything."""
    context = browser.new_context()
    page = _page(context)
    page.goto(links["OK"])
    page.wait_for_url(re.compile(r"\?done=rated$"))
    assert Rating.objects.get().value == 3
    page.get_by_role("group", name="Change your rating").get_by_role(
        "button", name="Amazing"
    ).click()
    sync_api.expect(page.get_by_role("heading", name="Thanks — you rated Amazing")).to_be_visible()
    assert Rating.objects.get().value == 5

    page.goto(links["Terrible"])
    question = page.get_by_role("heading", name="Change your rating to Terrible?")
    sync_api.expect(question).to_be_visible()
    sync_api.expect(page.get_by_role("button", name="Change to Terrible")).to_be_visible()
    page.wait_for_timeout(300)  # the script had its chance to post: it did not
    assert Rating.objects.get().value == 5
    # The other reactions are folded away.
    sync_api.expect(page.get_by_role("button", name="Bad")).to_be_hidden()
    page.get_by_text("Pick another reaction").click()
    sync_api.expect(page.get_by_role("button", name="Bad")).to_be_visible()
    page.get_by_role("button", name="Change to Terrible").click()
    sync_api.expect(page.get_by_role("heading", name="Thanks — you rated Terrible")).to_be_visible()
    assert Rating.objects.get().value == 1
    assert RatingEvent.objects.filter(kind="discarded").count() == 0
    _assert_figures_equal_a_recount()
    context.close()


def test_the_comment_box_counts_the_room_left(browser, links):
    context = browser.new_context()
    page = _page(context)
    page.goto(links["Great"])
    page.wait_for_url(re.compile(r"\?done=rated$"))
    room = page.locator("#room-page")
    sync_api.expect(room).to_have_text("5,000 characters left")
    page.get_by_label("Your comment").fill("x" * 50)
    sync_api.expect(room).to_have_text("4,950 characters left")
    page.get_by_label("Your comment").fill("x" * 4999)
    sync_api.expect(room).to_have_text("1 character left")
    context.close()


def test_the_comment_box_without_javascript_says_its_limit(browser, links):
    context = browser.new_context(java_script_enabled=False)
    page = _page(context)
    page.goto(links["Great"])
    page.get_by_role("button", name="Send my rating").click()
    sync_api.expect(page.locator("#room-page")).to_have_text("Up to 5,000 characters.")
    context.close()
