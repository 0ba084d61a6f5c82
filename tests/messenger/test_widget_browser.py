"""The Messenger widget in a real browser (Playwright driving Debian's chromium): a company's page
served from another loopback origin than csat's live server loads widget.js, which opens csat's
iframe; the two talk by postMessage only. Covers who the visitor is (W1, W2), what they see and
how it stays fresh (W5, W6), the rating card in the thread (D1, D3, A1, A3, A7), the origin
checks both ways (W7), and the keyboard and a phone's width. Skipped when chromium or
Playwright is missing."""

import json
import re
import urllib.error
import urllib.request

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client

from conversations import services
from conversations.identity import IDENTITY_REFUSED, user_hash
from conversations.languages import language_match
from conversations.models import Channel, Contact, Conversation, Origin
from ratings.models import MessengerApp, Rating, RatingRequest, RatingSettings
from ratings.rules import rule_words
from ratings.services import rating_request_send
from tests.factories import start_conversation
from tests.messenger.browser_support import (
    FRAME_SELECTOR,
    LAUNCHER_SELECTOR,
    Site,
    Watch,
    foreign_page,
    host_page,
)

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
expect = sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_MS = 10_000
FRAME_URL = re.compile(r"/messenger/frame/\?host=")
LONG_REPLY = "Sorry about the hose! A new one is on its way, tracking follows by email. " * 4


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host_site():
    """The company's site: a different origin from csat's live server, and allowed (W7)."""
    site = Site()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def foreign_site():
    """A third origin, not allowed: an advert framed by the host page, or a site that tries
    to embed the Messenger itself."""
    site = Site()
    yield site
    site.stop()


@pytest.fixture
def csat(live_server, settings, host_site, allow_sync_orm):
    """csat's live server, with the host site as the one allowed origin and a quick poll."""
    settings.SITE_URL = live_server.url
    settings.MESSENGER_ALLOWED_ORIGINS = [host_site.url]
    settings.MESSENGER_POLL_SECONDS = 1
    caches["shared"].clear()  # the card API's throttles
    yield live_server.url
    caches["shared"].clear()


@pytest.fixture(autouse=True)
def patient_expect():
    """`expect` waits as long as an action does (the default 5 s is short on a busy machine);
    restored afterwards for the other modules."""
    expect.set_options(timeout=TIMEOUT_MS)
    yield
    expect.set_options(timeout=None)


@pytest.fixture
def new_page(browser):
    """A function: a new page in a new browser context (its own storage), with a `Watch`."""
    contexts = []

    def make(context=None, **options):
        if context is None:
            context = browser.new_context(**options)
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page, Watch().attach(page)

    yield make
    for context in contexts:
        context.close()


def _user(user_id: str, name: str) -> Contact:
    """A verified user as the Messenger makes them on first sight (W1, W3)."""
    return services.messenger_user(
        user_id=user_id,
        user_hash_given=user_hash(user_id),
        email=f"{user_id}@example.com",
        name=name,
    )


def _identity(contact: Contact, *, forged: bool = False) -> dict:
    """What the host app's server puts in `window.csatMessenger` for this user."""
    secret = "not-the-secret" if forged else None
    return {
        "user_id": contact.external_id,
        "user_hash": user_hash(contact.external_id, secret),
        "email": contact.email,
        "name": contact.name,
    }


@pytest.fixture
def alice(db):
    return _user("alice-1", "Alice Ash")


@pytest.fixture
def bob(db):
    return _user("bob-2", "Bob Birch")


def _closed(contact, teammate, subject):
    """An eligible Messenger conversation of `contact`, closed by `teammate`, survey delivered."""
    conversation = start_conversation(
        contacts=[contact], started_by=contact, subject=subject, body="My garden hose leaks."
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    services.conversation_close(conversation=conversation, by=teammate)
    rating_request_send(conversation_id=conversation.pk)  # idempotent: ran on commit already
    request = RatingRequest.objects.get(conversation=conversation)
    assert request.channel == "messenger" and request.delivered_at is not None
    return conversation


def _csat_frame(page):
    (frame,) = [f for f in page.frames if FRAME_URL.search(f.url)]
    return frame


def _open(page, url):
    """Load the host page, wait for the Messenger to have identified, open it."""
    page.goto(url)
    widget = page.frame_locator(FRAME_SELECTOR)
    expect(widget.locator("[data-home]")).to_be_attached()
    page.locator(LAUNCHER_SELECTOR).click()
    expect(page.locator(FRAME_SELECTOR)).to_be_visible()
    return widget


def _no_problems(watch, *, console=True):
    assert watch.problems == []
    if console:
        assert watch.console_errors == []


# --- W1, W5: a verified user sees their conversations, and only theirs ----------------------------


def _visits(watch):
    """The session posts without the language the frame adds to each (L1)."""
    return [
        (status, {k: v for k, v in body.items() if k not in ("language", "browser_language")})
        for status, body in watch.sessions
    ]


def test_W1_W5_a_verified_user_sees_only_their_conversations_newest_first(
    csat, host_site, new_page, alice, bob, teammate
):
    older = start_conversation(contacts=[alice], subject="Invoice question", body="Invoice 12?")
    newer = start_conversation(contacts=[alice], subject="Broken hose", body="My hose leaks.")
    services.conversation_reply(
        conversation=newer, author=teammate, body="Sorry! A new one is on its way."
    )
    start_conversation(contacts=[bob], subject="Bob's secret order", body="Bob writes.")
    url = host_site.serve("/w1.html", host_page(csat, _identity(alice)))
    page, watch = new_page(viewport={"width": 1000, "height": 760})

    page.goto(url)
    launcher = page.locator(LAUNCHER_SELECTOR)
    expect(launcher).to_have_attribute("aria-label", "Open messages")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(page.locator(FRAME_SELECTOR)).to_be_hidden()
    widget = page.frame_locator(FRAME_SELECTOR)
    expect(widget.locator("[data-home]")).to_be_attached()
    page.screenshot(path="/tmp/widget-closed.png")

    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    # W5: newest first, and nothing of another contact's.
    expect(widget.locator(".mx-item-title")).to_have_text(["Broken hose", "Invoice question"])
    expect(widget.locator(".mx-item").first).to_contain_text("Tess Mate: Sorry!")
    assert "Bob" not in _csat_frame(page).content()

    widget.get_by_role("link", name=re.compile("Broken hose")).click()
    expect(widget.locator("[data-title]")).to_have_text("Broken hose")
    thread = widget.locator(f"#conversation-{newer.pk}")
    expect(thread).to_be_visible()
    expect(widget.locator(f"#conversation-{older.pk}")).to_be_hidden()
    expect(thread.locator(".msg.mine")).to_contain_text("My hose leaks.")
    expect(thread.locator(".msg.team")).to_contain_text("Tess Mate")
    expect(widget.get_by_label("Reply")).to_be_visible()
    page.screenshot(path="/tmp/widget-thread.png")

    # W1: the one session asked for is the host page's verified user.
    assert [(status, body["user_id"]) for status, body in watch.sessions] == [(200, "alice-1")]
    _no_problems(watch)


# --- W1: a forged user_hash sees nothing ----------------------------------------------------------


def test_W1_a_forged_user_hash_is_refused_and_nothing_is_shown(csat, host_site, new_page, alice):
    start_conversation(contacts=[alice], subject="Invoice question", body="Invoice 12?")
    url = host_site.serve("/forged.html", host_page(csat, _identity(alice, forged=True)))
    page, watch = new_page()

    with page.expect_response(lambda r: r.url.endswith("/messenger/w/session/")) as session:
        page.goto(url)
    assert session.value.status == 403
    assert session.value.json()["code"] == "identity"

    page.locator(LAUNCHER_SELECTOR).click()
    widget = page.frame_locator(FRAME_SELECTOR)
    expect(widget.get_by_role("status")).to_have_text(IDENTITY_REFUSED)
    expect(widget.locator(".mx-item")).to_have_count(0)
    expect(widget.locator("section[data-conversation]")).to_have_count(0)
    expect(widget.locator("[data-compose]")).to_be_hidden()
    assert "Invoice question" not in _csat_frame(page).content()
    assert [status for status, _ in watch.sessions] == [403]
    _no_problems(watch, console=False)  # the 403 is logged by the browser as a console error


# --- W2: a lead starts a conversation -------------------------------------------------------------


def test_W2_a_lead_starts_a_conversation_seen_in_the_admin(csat, host_site, new_page):
    url = host_site.serve("/lead.html", host_page(csat))
    page, watch = new_page()
    widget = _open(page, url)
    expect(widget.locator(".mx-empty")).to_contain_text("You have no conversations yet")
    expect(widget.locator(".mx-empty")).to_be_in_viewport(ratio=1)
    page.screenshot(path="/tmp/widget-lead.png")

    # W2: a lead may leave an email (and a name), behind a folded form.
    widget.get_by_text("Leave your email").click()
    widget.get_by_label("Email").fill("lee@example.com")
    widget.get_by_role("button", name="Save").click()
    expect(widget.get_by_role("status")).to_contain_text("lee@example.com")

    widget.get_by_label("Start a conversation").fill("Hello! Do you ship to Norway?")
    widget.get_by_role("button", name="Send").click()
    expect(widget.locator("section.thread .msg.mine")).to_contain_text("ship to Norway")
    expect(widget.locator("[data-title]")).to_have_text("Hello! Do you ship to Norway?")

    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.origin) == (Channel.MESSENGER, Origin.CUSTOMER)
    (lead,) = conversation.contacts.all()
    assert (lead.role, lead.email, lead.external_id) == (Contact.Role.LEAD, "lee@example.com", None)
    assert conversation.parts.get().author_contact == lead
    assert _visits(watch) == [(200, {"visitor_id": ""})]
    # L1: a new lead takes the browser's language when it is a supported one.
    browser_language = watch.sessions[0][1]["browser_language"]
    assert browser_language and lead.language == (language_match(browser_language) or "")

    # W2: the visitor id names the same lead when the host page says who it is again (a
    # sign-out, say). This chromium refuses localStorage to a third-party iframe (third-party
    # cookies blocked), so the frame keeps the id in memory, for the page's life.
    with page.expect_response(lambda r: r.url.endswith("/messenger/w/session/")):
        page.evaluate("window.CsatMessenger.update({})")
    assert _visits(watch)[-1] == (200, {"visitor_id": lead.visitor_id})
    expect(widget.locator(".mx-item-title")).to_have_text(["Hello! Do you ship to Norway?"])
    assert Contact.objects.filter(role=Contact.Role.LEAD).count() == 1

    # W2: and on the next page of the site too: the host page's storage keeps the id when
    # the frame's cannot.
    page.reload()
    widget = _open(page, url)
    expect(widget.locator(".mx-item-title")).to_have_text(["Hello! Do you ship to Norway?"])
    assert _visits(watch)[-1] == (200, {"visitor_id": lead.visitor_id})
    assert Contact.objects.filter(role=Contact.Role.LEAD).count() == 1

    # The inbox shows it to a signed-in superuser (a transactional test has no groups).
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    client = Client()
    client.force_login(admin)
    session_cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    staff, staff_watch = new_page()
    staff.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": csat}]
    )
    staff.goto(f"{csat}/admin/conversations/conversation/")
    row = staff.locator("#result_list tbody tr").filter(
        has=staff.locator(f'a[href$="/conversation/{conversation.pk}/change/"]')
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text("lee@example.com")
    expect(row).to_contain_text("Messenger")
    expect(row).to_contain_text("Customer")
    _no_problems(watch)
    _no_problems(staff_watch, console=False)  # the admin has no favicon: /favicon.ico 404s


# --- W6: replies appear without a reload; the badge counts them while closed ----------------------


def test_W6_a_teammate_reply_appears_live_and_the_badge_counts_it_while_closed(
    csat, host_site, new_page, alice, teammate
):
    conversation = start_conversation(contacts=[alice], subject="Broken hose", body="It leaks.")
    url = host_site.serve("/w6.html", host_page(csat, _identity(alice)))
    page, watch = new_page()
    widget = _open(page, url)
    widget.get_by_role("link", name=re.compile("Broken hose")).click()
    thread = widget.locator(f"#conversation-{conversation.pk}")
    expect(thread).to_be_visible()
    page.evaluate("window.notReloaded = true")

    services.conversation_reply(
        conversation=conversation, author=teammate, body="We are sending a new one today."
    )
    expect(thread.locator(".msg.team")).to_contain_text(
        "We are sending a new one today.", timeout=10_000
    )
    expect(thread).to_be_visible()  # still on the thread, not sent back to the list

    launcher = page.locator(LAUNCHER_SELECTOR)
    badge = launcher.locator("span")
    launcher.click()
    expect(page.locator(FRAME_SELECTOR)).to_be_hidden()
    expect(badge).to_be_hidden()

    services.conversation_reply(conversation=conversation, author=teammate, body="It shipped!")
    # The closed widget polls every 15 s (W6): up to one interval, then the poll itself.
    expect(badge).to_have_text("1", timeout=30_000)
    expect(badge).to_be_visible()
    expect(launcher).to_have_attribute("aria-label", "Open messages (1 unread)")

    launcher.click()  # seen: the badge goes
    expect(thread.locator(".msg.team").last).to_have_text(re.compile("It shipped!"))
    expect(badge).to_be_hidden()
    expect(launcher).to_have_attribute("aria-label", "Close messages")
    assert page.evaluate("window.notReloaded") is True
    assert len(watch.sessions) == 1
    _no_problems(watch)


# --- D1, A1, A3, A7: the rating card in the thread ------------------------------------------------


def test_D1_A1_A3_A7_the_card_rates_takes_a_comment_then_refuses_a_change(
    csat, host_site, new_page, alice, teammate
):
    conversation = _closed(alice, teammate, "Broken hose")
    url = host_site.serve("/rate.html", host_page(csat, _identity(alice)))
    page, watch = new_page(viewport={"width": 1000, "height": 760})
    widget = _open(page, url)
    expect(widget.locator(".mx-item")).to_contain_text("Rate us")
    widget.get_by_role("link", name=re.compile("Broken hose")).click()

    card = widget.locator(f"#conversation-{conversation.pk} .rating-card")
    expect(card.get_by_role("heading")).to_have_text(RatingSettings.load().survey_question)
    expect(card.locator("button.reaction")).to_have_count(5)
    expect(widget.locator(".event").first).to_contain_text("Conversation closed")
    expect(card).to_be_in_viewport()  # opening the thread brings the card into view
    expect(widget.locator("[data-back]")).to_be_in_viewport()  # the header stays put
    page.screenshot(path="/tmp/widget-rating-card.png")

    # A1: one press records the rating.
    card.get_by_role("button", name="Great").click()
    expect(card.get_by_role("heading", name="Thanks — you rated Great")).to_be_visible()
    rating = Rating.objects.get()
    assert (rating.value, rating.comment) == (4, "")
    token = card.get_attribute("data-card")

    # This tab starts a comment (the poll leaves a card being typed in alone)...
    card.get_by_label("Your comment").fill("A draft")
    expect(card.locator(".room")).to_have_text("4,993 characters left")  # 5,000 − 7

    # ...while a second tab sends one: the rating is final now (A3).
    other, other_watch = new_page(context=page.context)
    other_widget = _open(other, url)
    other_widget.get_by_role("link", name=re.compile("Broken hose")).click()
    other_card = other_widget.locator(".rating-card")
    other_card.get_by_label("Your comment").fill("Quick & friendly <3")
    other_card.get_by_role("button", name="Send comment").click()
    expect(other_card.locator("blockquote")).to_have_text("Quick & friendly <3")
    expect(other_card).to_contain_text("Your rating is final now that you have left a comment.")
    expect(other_card.locator("button.reaction")).to_have_count(0)
    assert Rating.objects.get().comment == "Quick & friendly <3"

    # A3, A7: the first tab's change is refused, in the rule's words.
    card.get_by_role("button", name="Amazing").click()
    expect(card.get_by_role("alert")).to_have_text(rule_words("A3"))
    expect(card.get_by_role("alert")).to_be_in_viewport()
    expect(card).to_contain_text("Your rating is final now that you have left a comment.")
    expect(card.locator("blockquote")).to_have_text("Quick & friendly <3")
    assert Rating.objects.get().value == 4
    page.screenshot(path="/tmp/widget-rating-final.png")

    # The card API says the same to anyone posting directly: 409, code A3.
    request = urllib.request.Request(
        f"{csat}/api/v1/messenger/ratings/{token}/reaction/",
        data=json.dumps({"value": 1}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - the live server
    assert refused.value.code == 409
    assert json.loads(refused.value.read())["code"] == "A3"
    assert Rating.objects.get().value == 4
    _no_problems(watch, console=False)  # the refused POST is logged as a console error
    _no_problems(other_watch)


# --- D3: the rating app's card instead of the survey ----------------------------------------------


def test_D3_the_rating_app_card_shows_instead_of_the_reactions(
    csat, host_site, new_page, alice, teammate
):
    app = MessengerApp.objects.create(
        name="Pulse Survey", card_url="https://apps.example.com/c?x=1"
    )
    rating_settings = RatingSettings.load()
    rating_settings.rating_app = app
    rating_settings.save()
    conversation = _closed(alice, teammate, "Broken hose")
    assert RatingRequest.objects.get(conversation=conversation).app == app

    url = host_site.serve("/d3.html", host_page(csat, _identity(alice)))
    page, watch = new_page(viewport={"width": 1000, "height": 760})
    widget = _open(page, url)
    widget.get_by_role("link", name=re.compile("Broken hose")).click()
    thread = widget.locator(f"#conversation-{conversation.pk}")
    app_card = thread.get_by_role("region", name="Pulse Survey")
    expect(app_card.get_by_role("heading", name="Pulse Survey")).to_be_visible()
    link = app_card.get_by_role("link", name="Open Pulse Survey")
    expect(link).to_have_attribute("href", "https://apps.example.com/c?x=1")
    expect(link).to_have_attribute("target", "_blank")
    expect(thread.locator(".rating-card")).to_have_count(0)
    expect(thread.locator("button.reaction")).to_have_count(0)
    expect(app_card).to_be_in_viewport()
    page.screenshot(path="/tmp/widget-app-card.png")
    _no_problems(watch)


# --- W7: the origins, both ways -------------------------------------------------------------------


def test_W7_messages_from_a_foreign_origin_are_ignored(
    csat, host_site, foreign_site, new_page, alice, bob
):
    start_conversation(contacts=[alice], subject="Invoice question", body="Invoice 12?")
    start_conversation(contacts=[bob], subject="Bob's secret order", body="Bob writes.")
    foreign_site.serve("/ad.html", foreign_page(_identity(bob)))  # a valid hash of Bob's
    advert = f'<iframe id="ad" title="Advert" src="{foreign_site.url}/ad.html"></iframe>'
    url = host_site.serve("/w7.html", host_page(csat, _identity(alice), extra=advert))
    page, watch = new_page()
    widget = _open(page, url)
    expect(widget.locator(".mx-item-title")).to_have_text(["Invoice question"])

    # The advert is posting to both frames of its parent, again and again.
    ad = page.frame_locator("#ad").locator("body")
    expect(ad).to_have_attribute("data-frames", "2")
    ad_frame = next(f for f in page.frames if f.url.startswith(foreign_site.url))
    sent = int(ad.get_attribute("data-sent"))
    ad_frame.wait_for_function(f"Number(document.body.dataset.sent) >= {sent + 10}")
    page.wait_for_timeout(1500)  # more than a poll

    # The csat frame did not identify as Bob: one session, Alice's; nothing of Bob's shown.
    assert [body.get("user_id") for _, body in watch.sessions] == ["alice-1"]
    expect(widget.locator(".mx-item-title")).to_have_text(["Invoice question"])
    assert "Bob" not in _csat_frame(page).content()
    # The host page ignored its csat:unread 42 and csat:close.
    expect(page.locator(FRAME_SELECTOR)).to_be_visible()
    expect(page.locator(LAUNCHER_SELECTOR).locator("span")).to_be_hidden()
    expect(page.locator(LAUNCHER_SELECTOR)).to_have_attribute("aria-label", "Close messages")
    _no_problems(watch)


def test_W7_a_host_not_allowed_cannot_frame_the_messenger(
    csat, host_site, foreign_site, new_page, alice
):
    start_conversation(contacts=[alice], subject="Invoice question", body="Invoice 12?")
    url = foreign_site.serve("/embed.html", host_page(csat, _identity(alice)))
    page, watch = new_page()

    with page.expect_response(lambda r: "/messenger/frame/" in r.url) as frame_response:
        page.goto(url)
    policy = frame_response.value.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {host_site.url} {csat}" in policy.split("; ")
    assert foreign_site.url not in policy
    # Nor was the frame told of an allowed host: it would never say it is ready.
    with urllib.request.urlopen(frame_response.value.url, timeout=10) as response:  # noqa: S310
        assert '"host": ""' in response.read().decode()

    page.locator(LAUNCHER_SELECTOR).click()
    page.wait_for_timeout(1000)
    expect(page.frame_locator(FRAME_SELECTOR).locator("[data-messenger]")).to_have_count(0)
    (blocked,) = page.frames[1:]
    assert blocked.url == "chrome-error://chromewebdata/"  # chromium's page for a refused frame
    assert watch.sessions == []
    assert "Invoice question" not in page.content()
    assert any("frame-ancestors" in text for text in watch.console_errors)
    _no_problems(watch, console=False)


# --- the keyboard, and a phone's width ------------------------------------------------------------


def test_keyboard_and_360px_the_launcher_tabs_opens_with_enter_and_fills_the_screen(
    csat, host_site, new_page, alice, teammate
):
    conversation = start_conversation(contacts=[alice], subject="Broken hose", body="It leaks.")
    services.conversation_reply(
        conversation=conversation, author=teammate, body="A new one is on its way."
    )
    url = host_site.serve("/phone.html", host_page(csat, _identity(alice)))
    page, watch = new_page(viewport={"width": 360, "height": 640}, has_touch=True)
    page.goto(url)
    widget = page.frame_locator(FRAME_SELECTOR)
    expect(widget.locator("[data-home]")).to_be_attached()
    launcher = page.locator(LAUNCHER_SELECTOR)

    for _ in range(6):
        page.keyboard.press("Tab")
        if launcher.evaluate("button => document.activeElement === button"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")

    frame = page.locator(FRAME_SELECTOR)
    expect(frame).to_be_visible()
    assert frame.bounding_box() == {"x": 0, "y": 0, "width": 360, "height": 640}
    expect(launcher).to_be_hidden()  # the full-screen Messenger closes with its own ×
    expect(widget.locator("[data-open]").first).to_be_focused()
    inner = _csat_frame(page)
    assert inner.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path="/tmp/widget-360.png")

    # Enter on the focused conversation opens it; Escape closes the Messenger, back to the
    # launcher.
    page.keyboard.press("Enter")
    expect(widget.locator("[data-title]")).to_have_text("Broken hose")
    page.keyboard.press("Escape")
    expect(frame).to_be_hidden()
    expect(launcher).to_be_visible()
    expect(launcher).to_be_focused()
    _no_problems(watch)
