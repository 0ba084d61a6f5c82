"""The conversation page (issue 13): the rating decision's panel drawn alone (the fragment the
page fetches again while a decision is pending), one format for every time on the page in
TIME_ZONE, every close with its decision inside the panel, the reply box before the note."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations import services
from conversations.models import Origin, Teammate
from ratings.models import RatingRequest
from ratings.rules import RULE_WORDS
from ratings.services import rating_request_send, rating_submit
from ratings.tokens import rating_token
from tests.admin_inbox.support import PASSWORD, act_url, change_url, shown_messages

LONG_REPLY = (
    "Thanks for writing in. The export failed because the date range was longer than a year. "
    "I split it into two exports and both are in your inbox now. If anything is still missing, "
    "reply here and I will have a look straight away."
)
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# 13:04 UTC on 3 December is 08:04 in New York (EST, UTC-5).
START = datetime(2026, 12, 3, 13, 4, tzinfo=UTC)


def panel_url(conversation, name="rating") -> str:
    return reverse("admin:conversations_conversation_panel", args=[conversation.pk, name])


def panel_of(html: str) -> str:
    """The rating panel's own HTML (its <section>) in a page or a fragment."""
    match = re.search(r'<section class="rating-panel.*?</section>', html, re.S)
    assert match, "no rating panel"
    return match[0]


def eligible(contact, teammate, *, subject="Export is broken"):
    conversation = services.conversation_start(
        channel="messenger",
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        subject=subject,
        body="Hello, the export does nothing when I press the button.",
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=LONG_REPLY)
    return conversation


def close_and_decide(conversation, teammate, *, quiet=False):
    """A close and its queued task, run here (the test's transaction never commits)."""
    services.conversation_close(conversation=conversation, by=teammate, quiet=quiet)
    rating_request_send(conversation_id=conversation.pk)


def rate(conversation, value):
    request = RatingRequest.objects.get(conversation=conversation)
    rating_submit(
        token=rating_token(request_id=request.pk, conversation_id=conversation.pk, value=value),
        value=value,
    )


# --- the panel alone: the fragment the page fetches again -------------------------------------


def test_the_fragment_view_returns_the_panel_alone_as_the_page_draws_it(
    inbox, conversation, teammate
):
    services.conversation_reply(conversation=conversation, author=teammate, body="Yes.")
    close_and_decide(conversation, teammate)

    fragment = inbox.get(panel_url(conversation))
    page = inbox.get(change_url(conversation)).text

    assert fragment.status_code == 200
    assert fragment["Content-Type"].startswith("text/html")
    assert "no-store" in fragment["Cache-Control"]  # admin_view: never cached
    html = fragment.text.strip()
    assert html.startswith('<section class="rating-panel rating-panel-skipped"')
    assert html.endswith("</section>")
    assert "<html" not in html and "<body" not in html
    assert f"No survey (E3): {RULE_WORDS['E3']}" in html
    assert panel_of(html) == panel_of(page)  # one template, one selector


def test_a_pending_decision_carries_the_refresh_hook_and_a_decided_one_does_not(
    inbox, contact, teammate
):
    conversation = eligible(contact, teammate)
    url = panel_url(conversation)
    hook = f'data-refresh-url="{url}"'

    never = inbox.get(url).text
    assert "Not closed yet" in never and "data-refresh-url" not in never

    services.conversation_close(conversation=conversation, by=teammate)  # task not run
    page = inbox.get(change_url(conversation)).text
    fragment = inbox.get(url).text
    for html in (panel_of(page), fragment):
        assert "Decision pending" in html
        assert hook in html
        assert "data-refresh-stopped hidden" in html
        assert "reload the page to check again" in html
    assert '<script src="/static/js/panel_refresh.js" defer></script>' in page

    rating_request_send(conversation_id=conversation.pk)
    sent = inbox.get(url).text
    assert "Request sent" in sent
    assert "data-refresh-url" not in sent
    assert "data-refresh-url" not in inbox.get(change_url(conversation)).text

    services.conversation_reopen(conversation=conversation, by=teammate)
    close_and_decide(conversation, teammate)
    skipped = inbox.get(url).text
    assert "No survey · " in skipped and "E6" in skipped
    assert "data-refresh-url" not in skipped


def test_the_js_file_is_served_and_the_page_runs_no_inline_script(inbox, conversation):
    script = inbox.get("/static/js/panel_refresh.js")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    body = b"".join(script.streaming_content).decode()
    assert "data-refresh-url" in body and "data-refresh-stopped" in body

    page = inbox.get(change_url(conversation)).text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts
    for attributes, content in scripts:
        assert 'src="/' in attributes, attributes  # this site's files only
        assert content.strip() == ""
    assert not re.search(r"\son[a-z]+=", page)  # no inline handlers either


def test_the_fragment_needs_the_view_permission(client, conversation):
    url = panel_url(conversation)

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]

    staff = get_user_model().objects.create_user("nobody", password=PASSWORD, is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    Teammate.objects.create(user=staff, name="Viewer")
    client.force_login(get_user_model().objects.get(pk=staff.pk))  # permissions read afresh
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 405  # it only draws
    assert client.get(panel_url(conversation, "nothing")).status_code == 404
    missing = reverse("admin:conversations_conversation_panel", args=[10**9, "rating"])
    assert client.get(missing).status_code == 404
    not_an_id = reverse("admin:conversations_conversation_panel", args=["abc", "rating"])
    assert client.get(not_an_id).status_code == 404


def test_the_fragments_queries_do_not_grow_with_closes_or_the_decision(inbox, contact, teammate):
    one = eligible(contact, teammate, subject="One close")
    three = eligible(contact, teammate, subject="Three closes")
    close_and_decide(one, teammate)
    close_and_decide(three, teammate)
    for _ in range(2):
        services.conversation_reopen(conversation=three, by=teammate)
        close_and_decide(three, teammate)
    for conversation in (one, three):
        rate(conversation, 5)
    pending = eligible(contact, teammate, subject="Pending")
    services.conversation_close(conversation=pending, by=teammate)
    inbox.get(panel_url(one))  # warm the per-process caches

    def count(conversation) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert inbox.get(panel_url(conversation)).status_code == 200
        return len(queries)

    assert count(three) == count(one)
    waiting = count(pending)
    rating_request_send(conversation_id=pending.pk)
    assert count(pending) == waiting  # pending and sent: the same reads
    assert count(one) == waiting + 1  # rated: its history, in one query


# --- one format for every time, in TIME_ZONE ---------------------------------------------------


def test_every_time_on_the_page_is_in_one_format_in_the_sites_time_zone(
    inbox, settings, contact, teammate
):
    settings.TIME_ZONE = "America/New_York"
    with time_machine.travel(START, tick=False) as clock:
        conversation = eligible(contact, teammate)  # 08:04 New York
        clock.move_to(START + timedelta(minutes=6))
        services.conversation_reply(conversation=conversation, author=contact, body="Still no.")
        clock.move_to(START + timedelta(minutes=10))
        services.conversation_note(conversation=conversation, author=teammate, body="Check it")
        clock.move_to(START + timedelta(minutes=15))
        until = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 09:00 New York
        snoozed = inbox.post(
            act_url(conversation, "snooze"), {"until": "2026-12-04T09:00"}, follow=True
        )
        assert shown_messages(snoozed) == ["Snoozed until 4 Dec 2026, 09:00."]
        conversation.refresh_from_db()
        assert conversation.snoozed_until == until
        snoozed_page = snoozed.text
        clock.move_to(START + timedelta(minutes=20))
        services.conversation_reopen(conversation=conversation, by=teammate)
        clock.move_to(START + timedelta(minutes=25))
        close_and_decide(conversation, teammate)  # 08:29 New York
        clock.move_to(START + timedelta(minutes=40))
        rate(conversation, 4)  # 08:44 New York
        page = inbox.get(change_url(conversation)).text

    # The facts, the snooze, the thread's parts, the panel (request, rating, history, closes).
    assert "until 4 Dec 2026, 09:00" in snoozed_page  # the facts of a snoozed conversation
    assert "3 Dec 2026, 08:04" in page  # created, the first message
    assert "3 Dec 2026, 08:10" in page  # the contact's reply
    assert "3 Dec 2026, 08:14" in page  # the note
    assert "until 4 Dec 2026, 09:00" in page  # the snooze event
    assert "Latest close: 3 Dec 2026, 08:29" in page
    assert "Rated 3 Dec 2026, 08:44" in page
    assert '<time datetime="2026-12-03T08:29:00-05:00">3 Dec 2026, 08:29</time>' in page
    for html in (page, snoozed_page):
        assert "13:04" not in html and "13:29" not in html  # nothing left in UTC
        times = re.findall(rf"\b\d{{1,2}} (?:{MONTHS})\b[^<\n]{{0,12}}", html)
        assert times
        odd = [t for t in times if not re.match(rf"\d{{1,2}} (?:{MONTHS}) 2026, \d\d:\d\d", t)]
        assert odd == []
        assert not re.search(rf"\b(?:{MONTHS})\. \d", html)  # Django's "Dec. 3, 2026"
        assert not re.search(r"\d [ap]\.m\.", html)
        assert not re.search(rf"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{{1,2}} (?:{MONTHS})", html)


# --- every close inside the panel --------------------------------------------------------------


def test_the_closes_are_listed_inside_the_panel_with_their_decisions_and_rule_ids(
    inbox, contact, teammate
):
    conversation = eligible(contact, teammate)
    close_and_decide(conversation, teammate)  # sent
    services.conversation_reopen(conversation=conversation, by=teammate)
    close_and_decide(conversation, teammate, quiet=True)  # E8 (a quiet close comes first)
    services.conversation_reopen(conversation=conversation, by=teammate)
    close_and_decide(conversation, teammate)  # E6 (asked once already)
    services.conversation_reopen(conversation=conversation, by=teammate)
    services.conversation_close(conversation=conversation, by=teammate)  # pending

    page = inbox.get(change_url(conversation)).text
    panel = panel_of(page)

    assert "inline-group" not in page  # no table of closes outside the panel
    assert page.count('aria-label="Closes"') == 1
    closes = panel.split('aria-label="Closes"')[1]
    items = re.findall(r'<li class="rating-close rating-close-(\w+)">(.*?)</li>', closes, re.S)
    assert [status for status, _ in items] == ["sent", "skipped", "skipped", "pending"]
    sent, quiet, again, pending = (body for _, body in items)
    assert "#1" in sent and "Request sent" in sent and "A rating request was sent." in sent
    assert "closed by Tess Tam" in sent
    assert 'class="rating-rule">E8<' in quiet and RULE_WORDS["E8"] in quiet
    assert "closed <strong>quietly</strong> by Tess Tam" in quiet
    assert 'class="rating-rule">E6<' in again and RULE_WORDS["E6"] in again
    assert "#4" in pending and "Pending" in pending and "Decision queued." in pending
    # The facts the rules read at each close, as the inline used to list them.
    assert "reply characters" in sent and "one contact (user)" in sent
    assert "last teammate reply by Tess Tam" in sent


# --- the reply box first, the note beside it ---------------------------------------------------


@pytest.mark.parametrize("state", ["open", "snoozed"])
def test_the_reply_form_comes_before_the_note_form_right_after_the_thread(
    inbox, conversation, teammate, state
):
    if state == "snoozed":
        services.conversation_snooze(
            conversation=conversation, by=teammate, until=datetime.now(UTC) + timedelta(days=1)
        )
    page = inbox.get(change_url(conversation)).text
    compose = page.index('class="conv-compose"')
    reply = page.index(f'action="{act_url(conversation, "reply")}"')
    note = page.index(f'action="{act_url(conversation, "note")}"')
    manage = page.index('class="conv-manage"')
    assert page.index('aria-label="Thread"') < compose < reply < note < manage
    assert page.index(f'action="{act_url(conversation, "snooze")}"') > manage


def test_a_closed_conversation_offers_the_note_alone_in_the_compose_row(
    inbox, conversation, teammate
):
    services.conversation_close(conversation=conversation, by=teammate)
    page = inbox.get(change_url(conversation)).text
    compose = page.split('class="conv-compose"')[1].split('class="conv-manage"')[0]
    assert act_url(conversation, "note") in compose
    assert act_url(conversation, "reply") not in page


def test_the_reply_and_note_forms_still_go_through_the_services(inbox, conversation):
    replied = inbox.post(act_url(conversation, "reply"), {"body": "On it."}, follow=True)
    noted = inbox.post(act_url(conversation, "note"), {"body": "Check logs"}, follow=True)
    assert shown_messages(replied) == ["Reply sent."]
    assert shown_messages(noted) == ["Internal note added."]
    kinds = list(conversation.parts.values_list("kind", flat=True))
    assert kinds[-2:] == ["reply", "note"]
