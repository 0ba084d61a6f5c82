"""The inbox list (I1, I2): its tabs and their counts, the default tab, paging, the order by
the last message, the rows' subject, preview and waiting words, the bulk actions and the
page's query count."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import clock, services
from conversations.forms import tomorrow_morning
from conversations.models import Conversation, Origin, Part, State, Teammate
from conversations.text import PREVIEW_LENGTH, message_preview
from ratings.models import RatingRequest
from ratings.selectors import rating_decision
from tests.admin_inbox.support import (
    CHANGELIST,
    LONG_REPLY,
    PASSWORD,
    current_tab,
    listed,
    post_action,
    rating_of,
    shown_messages,
    tab_counts_shown,
)

# A moment in the past for the services' clock, so that the pages (read now) see it as past.
BASE = timezone.now().replace(microsecond=0) - timedelta(days=1)


def person(name: str, *, role: str = "user"):
    return services.contact_create(
        role=role, name=name, email=f"{name.lower().replace(' ', '.')}@customer.test"
    )


def start(name: str, *, subject: str = "", body: str = "Hello, I need help.", at=None):
    """A customer conversation started by a new contact `name` (at `at` on the services'
    clock: its last message then)."""
    contact = person(name)
    with clock.at(at or clock.now()):
        return services.conversation_start(
            channel="email",
            origin=Origin.CUSTOMER,
            contacts=[contact],
            started_by=contact,
            subject=subject,
            body=body,
        )


@pytest.fixture
def otto(db):
    return services.teammate_create(name="Otto Other", email="otto@example.com", password=PASSWORD)


@pytest.fixture
def mix(teammate, otto):
    """One conversation of each kind: mine open, someone else's open, unassigned open,
    snoozed (mine), closed (mine), closed without an assignee."""
    made = {key: start(f"Customer {key}", subject=key.title()) for key in
            ("mine", "others", "unassigned", "snoozed", "closed", "closed_free")}  # fmt: skip
    services.conversation_assign(conversation=made["mine"], to=teammate, by=teammate)
    services.conversation_assign(conversation=made["others"], to=otto, by=teammate)
    for key in ("snoozed", "closed"):
        services.conversation_assign(conversation=made[key], to=teammate, by=teammate)
    services.conversation_snooze(
        conversation=made["snoozed"], by=teammate, until=timezone.now() + timedelta(days=1)
    )
    services.conversation_close(conversation=made["closed"], by=teammate)
    services.conversation_close(conversation=made["closed_free"], by=teammate)
    return made


# --- I1: the tabs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"mine"}),
        ("unassigned", {"unassigned"}),
        ("open", {"mine", "others", "unassigned"}),
        ("snoozed", {"snoozed"}),
        ("closed", {"closed", "closed_free"}),
        ("all", {"mine", "others", "unassigned", "snoozed", "closed", "closed_free"}),
    ],
)
def test_I1_each_tab_lists_exactly_its_conversations(inbox, mix, view, expected):
    response = inbox.get(CHANGELIST, {"view": view})
    assert set(listed(response)) == {mix[key].pk for key in expected}
    assert response.context["cl"].result_count == len(expected)
    if view != "all":  # "All" is a search's tab, not drawn as one of the five
        assert current_tab(response) == [view]


def test_I1_the_counts_are_the_tabs_rows_read_in_one_query(inbox, mix):
    response = inbox.get(CHANGELIST)
    counts = {"mine": 1, "unassigned": 1, "open": 3, "snoozed": 1, "closed": 2}
    assert tab_counts_shown(response) == counts
    for key, count in counts.items():
        assert inbox.get(CHANGELIST, {"view": key}).context["cl"].result_count == count
    page = response.text
    assert 'Mine <span class="inbox-count">1</span>' in page
    assert 'All open <span class="inbox-count">3</span>' in page

    with CaptureQueriesContext(connection) as queries:
        inbox.get(CHANGELIST)
    [counts_sql] = [q["sql"] for q in queries if "FILTER (WHERE" in q["sql"]]
    assert counts_sql.count("COUNT(") == 5  # the five tabs' counts in one statement


def test_I1_counts_are_the_viewers_own(client, mix, otto):
    client.force_login(otto.user)
    response = client.get(CHANGELIST)
    assert tab_counts_shown(response)["mine"] == 1
    assert listed(response) == [mix["others"].pk]


def test_I1_a_teammate_opens_on_mine(inbox, mix):
    response = inbox.get(CHANGELIST)
    assert current_tab(response) == ["mine"]
    assert listed(response) == [mix["mine"].pk]
    assert 'class="inbox-tab current" aria-current="page">Mine' in response.text


def test_I1_a_superuser_without_a_teammate_profile_opens_on_all_open(admin_client, mix):
    response = admin_client.get(CHANGELIST)
    assert current_tab(response) == ["open"]
    assert "mine" not in tab_counts_shown(response)  # no Mine tab: nothing is theirs
    assert set(listed(response)) == {mix[key].pk for key in ("mine", "others", "unassigned")}


@pytest.mark.parametrize("view", ["bogus", "", "MINE", "closed'--"])
def test_I1_an_unknown_view_falls_back_to_the_default_tab(inbox, mix, view):
    response = inbox.get(CHANGELIST, {"view": view})
    assert current_tab(response) == ["mine"]
    assert listed(response) == [mix["mine"].pk]


def test_I1_thirty_rows_a_page(inbox):
    made = [start(f"Paged {number}", at=BASE + timedelta(minutes=number)) for number in range(31)]
    first = inbox.get(CHANGELIST, {"view": "open"})
    cl = first.context["cl"]
    assert (cl.list_per_page, cl.result_count, cl.paginator.num_pages) == (30, 31, 2)
    assert listed(first) == [c.pk for c in reversed(made[1:])]  # newest first
    second = inbox.get(CHANGELIST, {"view": "open", "p": 2})
    assert listed(second) == [made[0].pk]


# --- I2: the order by the last message --------------------------------------------------------


def test_I2_only_a_contact_or_teammate_message_moves_a_conversation_up(inbox, teammate, capture):
    def order():
        return listed(inbox.get(CHANGELIST, {"view": "all"}))

    older = start("Olive Older", subject="Older", at=BASE)
    newer = start("Nate Newer", subject="Newer", at=BASE + timedelta(minutes=1))
    with clock.at(BASE + timedelta(minutes=2)):
        services.conversation_reply(conversation=newer, author=teammate, body=LONG_REPLY)
    assert order() == [newer.pk, older.pk]

    with clock.at(BASE + timedelta(minutes=3)):  # the customer answers the older one
        services.conversation_reply(
            conversation=older, author=older.contacts.get(), body="Any news?"
        )
    assert order() == [older.pk, newer.pk]

    # On `newer`, later than that: a note, a bot message, its close (an event) and its
    # customer's rating (an event) — none of them moves it up.
    with clock.at(BASE + timedelta(minutes=4)):
        services.conversation_note(conversation=newer, author=teammate, body="Check logs")
    assert order() == [older.pk, newer.pk]
    with clock.at(BASE + timedelta(minutes=5)):
        services.conversation_bot_message(conversation=newer, body="Still there?")
    assert order() == [older.pk, newer.pk]
    with clock.at(BASE + timedelta(minutes=6)), capture(execute=True):
        services.conversation_close(conversation=newer, by=teammate)
    assert RatingRequest.objects.filter(conversation=newer).exists()  # the survey went out
    assert order() == [older.pk, newer.pk]
    with clock.at(BASE + timedelta(minutes=7)):
        rating_of(newer, 5, capture)
    assert newer.parts.filter(event=Part.Event.RATED).exists()
    assert order() == [older.pk, newer.pk]

    newer.refresh_from_db()
    assert newer.last_message_at == BASE + timedelta(minutes=2)  # the teammate's reply
    assert newer.last_message_from == "teammate"
    assert "inbox-rating" in inbox.get(CHANGELIST, {"view": "closed"}).text

    # A teammate's reply moves a conversation up too.
    services.conversation_reopen(conversation=newer, by=teammate)
    with clock.at(BASE + timedelta(minutes=8)):
        services.conversation_reply(conversation=newer, author=teammate, body="Reopened: fixed.")
    assert order() == [newer.pk, older.pk]


# --- the rows: title, preview, waiting words --------------------------------------------------


def test_a_conversation_without_subject_shows_its_first_line(inbox, teammate):
    made = start("Fay First", body="<p>My <b>printer</b> is on fire</p><p>Second paragraph</p>")
    services.conversation_assign(conversation=made, to=teammate, by=teammate)
    made.refresh_from_db()
    assert made.first_line == "My printer is on fire"
    page = inbox.get(CHANGELIST).text
    assert '<span class="inbox-title">My printer is on fire</span>' in page


def test_the_preview_is_the_last_messages_visible_text(inbox, teammate):
    made = start("Pia Preview", subject="Preview")
    services.conversation_reply(
        conversation=made,
        author=teammate,
        body="<p>Hello <strong>Pia</strong>,</p><ul><li>one &amp; two</li></ul>",
    )
    made.refresh_from_db()
    assert made.preview == "Hello Pia, - one & two"
    page = inbox.get(CHANGELIST).text
    assert '<span class="inbox-preview">Hello Pia, - one &amp; two</span>' in page
    assert "<strong>Pia" not in page

    long = "word " * 100
    services.conversation_reply(conversation=made, author=made.contacts.get(), body=long)
    made.refresh_from_db()
    assert len(made.preview) == PREVIEW_LENGTH and made.preview.endswith("…")


@pytest.mark.parametrize(
    ("length", "cut"),
    [(PREVIEW_LENGTH - 1, False), (PREVIEW_LENGTH, False), (PREVIEW_LENGTH + 1, True)],
)
def test_preview_cut_at_200_characters(length, cut):
    text = ("abcdefghi " * 30)[: length - 1] + "z"  # no trailing space at the cut
    preview = message_preview(f"<p>{text}</p>")
    if cut:
        assert len(preview) == PREVIEW_LENGTH
        assert preview == text[: PREVIEW_LENGTH - 1].rstrip() + "…"
    else:
        assert preview == text
        assert len(preview) == length


def test_preview_cut_drops_a_space_before_the_ellipsis():
    text = "a" * (PREVIEW_LENGTH - 2) + " " + "bb"  # 201 characters, a space at the cut
    assert message_preview(text) == "a" * (PREVIEW_LENGTH - 2) + "…"


def test_preview_cut_counts_visible_characters_not_markup():
    text = "é" * PREVIEW_LENGTH
    assert message_preview(f"<p><b>{text}</b></p>") == text  # markup does not count
    assert message_preview("&amp;" * PREVIEW_LENGTH) == "&" * PREVIEW_LENGTH


AT = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("later", "words"),
    [
        (timedelta(minutes=59), "59 min"),
        (timedelta(minutes=60), "1 h"),
        (timedelta(hours=47), "47 h"),
        (timedelta(hours=48), "2 d"),
        (timedelta(minutes=59, seconds=59), "59 min"),
        (timedelta(hours=47, minutes=59), "47 h"),
        (timedelta(hours=71, minutes=59), "2 d"),
        (timedelta(hours=72), "3 d"),
    ],
)
def test_waiting_words_at_their_boundaries(client, teammate, later, words):
    made = start("Wally Waiter", subject="Waiting", at=AT)
    services.conversation_assign(conversation=made, to=teammate, by=teammate)
    replied = start("Rita Replied", subject="Replied", at=AT)
    with clock.at(AT):
        services.conversation_reply(conversation=replied, author=teammate, body="Done.")
    with time_machine.travel(AT + later, tick=False):
        client.force_login(teammate.user)
        page = client.get(CHANGELIST).text
    assert f'<span class="inbox-waiting">Customer waiting {words}</span>' in page
    assert f'<span class="inbox-waiting">Replied {words} ago</span>' in page


def test_a_closed_conversation_says_when_the_customer_wrote(client, teammate):
    made = start("Carl Closed", subject="Closed one", at=AT)
    with clock.at(AT + timedelta(minutes=1)):
        services.conversation_close(conversation=made, by=teammate)
    with time_machine.travel(AT + timedelta(hours=3), tick=False):
        client.force_login(teammate.user)
        page = client.get(CHANGELIST, {"view": "closed"}).text
    assert '<span class="inbox-waiting">Customer wrote 3 h ago</span>' in page


# --- bulk actions -----------------------------------------------------------------------------


def eligible(name: str, teammate) -> Conversation:
    """An open conversation whose close sends a survey (E1–E6 pass)."""
    made = start(name, subject=name)
    services.conversation_reply(conversation=made, author=teammate, body=LONG_REPLY)
    return made


def test_close_selected_closes_each_and_decides_each(inbox, teammate, capture):
    first, second = eligible("Ada One", teammate), eligible("Bo Two", teammate)
    untouched = eligible("Cy Three", teammate)
    with capture(execute=True):
        response = post_action(inbox, "close_selected", [first, second])
    assert shown_messages(response) == ["Closed: 2 conversations."]
    for made in (first, second):
        made.refresh_from_db()
        assert made.state == State.CLOSED
        close = made.closes.get()
        assert (close.closed_by, close.quiet) == (teammate, False)
        assert rating_decision(conversation=made).status == "sent"
    untouched.refresh_from_db()
    assert untouched.state == State.OPEN
    assert RatingRequest.objects.count() == 2


def test_close_quietly_sends_no_survey_e8(inbox, teammate, capture):
    first, second = eligible("Ada One", teammate), eligible("Bo Two", teammate)
    with capture(execute=True):
        response = post_action(inbox, "close_quietly", [first, second])
    assert shown_messages(response) == ["Closed quietly: 2 conversations."]
    for made in (first, second):
        made.refresh_from_db()
        assert made.state == State.CLOSED
        assert made.closes.get().quiet is True
        decision = rating_decision(conversation=made)
        assert (decision.status, decision.rule) == ("skipped", "E8")
    assert not RatingRequest.objects.exists()


def test_close_refused_for_one_is_reported_and_the_others_closed(inbox, teammate, capture):
    done, still_open = eligible("Ada One", teammate), eligible("Bo Two", teammate)
    services.conversation_close(conversation=done, by=teammate)
    with capture(execute=True):
        response = post_action(inbox, "close_selected", [done, still_open])
    assert shown_messages(response) == [
        "Closed: 1 conversation.",
        f"Not done — #{done.pk}: This conversation is already closed.",
    ]
    assert done.closes.count() == 1
    still_open.refresh_from_db()
    assert still_open.state == State.CLOSED


def test_assign_to_me(inbox, teammate, otto):
    unassigned, others = start("Una Ass", subject="U"), start("Oli Oth", subject="O")
    services.conversation_assign(conversation=others, to=otto, by=otto)
    response = post_action(inbox, "assign_to_me", [unassigned, others], query="view=open")
    assert shown_messages(response) == ["Assigned to you: 2 conversations."]
    for made in (unassigned, others):
        made.refresh_from_db()
        assert made.assignee == teammate
    assert set(listed(inbox.get(CHANGELIST))) == {unassigned.pk, others.pk}  # now Mine


def test_an_action_acts_only_on_rows_of_the_tab_it_was_posted_from(inbox, teammate):
    """The admin filters the ticked ids by the page's own filters: from *Unassigned*, a row
    that is no longer unassigned (someone took it meanwhile) is left alone."""
    free, taken = start("Fred Free", subject="F"), start("Tim Taken", subject="T")
    services.conversation_assign(conversation=taken, to=teammate, by=teammate)
    post_action(inbox, "close_selected", [free, taken], query="view=unassigned")
    free.refresh_from_db()
    taken.refresh_from_db()
    assert (free.state, taken.state) == (State.CLOSED, State.OPEN)


def test_snooze_selected_asks_until_when_then_snoozes(inbox, teammate):
    first, second = start("Sam Snooze", subject="S1"), start("Sue Snooze", subject="S2")
    with time_machine.travel(AT, tick=False):
        inbox.force_login(teammate.user)
        page = post_action(inbox, "snooze_selected", [first, second])
        assert page.templates[0].name == "admin/conversations/conversation/snooze_selected.html"
        assert "Snooze 2 conversations until:" in page.text
        assert f"#{first.pk} S1" in page.text and f"#{second.pk} S2" in page.text
        for made in (first, second):  # nothing snoozed yet
            made.refresh_from_db()
            assert made.state == State.OPEN

        response = inbox.post(
            f"{CHANGELIST}?view=all",
            {
                "action": "snooze_selected",
                "_selected_action": [first.pk, second.pk],
                "apply": "1",
                "until": "",
                "quick": "tomorrow",
            },
            follow=True,
        )
    until = tomorrow_morning(AT)
    [message] = shown_messages(response)
    assert message.startswith("Snoozed until ") and message.endswith(": 2 conversations.")
    for made in (first, second):
        made.refresh_from_db()
        assert (made.state, made.snoozed_until) == (State.SNOOZED, until)
        assert made.parts.filter(event=Part.Event.SNOOZED).count() == 1


def test_snooze_selected_refuses_a_closed_one_and_snoozes_the_others(inbox, teammate):
    closed, open_ = start("Cleo Closed", subject="C"), start("Otis Open", subject="O")
    services.conversation_close(conversation=closed, by=teammate)
    response = inbox.post(
        f"{CHANGELIST}?view=all",
        {
            "action": "snooze_selected",
            "_selected_action": [closed.pk, open_.pk],
            "apply": "1",
            "quick": "1h",
        },
        follow=True,
    )
    messages = shown_messages(response)
    assert messages[0].endswith(": 1 conversation.")
    assert messages[1] == (
        f"Not done — #{closed.pk}: This conversation is closed: reopen it before snoozing."
    )
    closed.refresh_from_db()
    open_.refresh_from_db()
    assert (closed.state, open_.state) == (State.CLOSED, State.SNOOZED)


def test_snooze_selected_without_a_time_asks_again(inbox):
    made = start("Nick Notime", subject="N")
    response = inbox.post(
        f"{CHANGELIST}?view=all",
        {"action": "snooze_selected", "_selected_action": [made.pk], "apply": "1", "until": ""},
    )
    assert response.status_code == 200
    assert "Choose when the conversation should wake up." in response.text
    made.refresh_from_db()
    assert made.state == State.OPEN


def test_a_teammate_without_change_permission_cannot_run_actions(client, db):
    viewer = get_user_model().objects.create_user("viewer", password=PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    Teammate.objects.create(user=viewer, name="Vera Viewer")
    client.force_login(viewer)
    made = start("Val Viewed", subject="V")

    page = client.get(CHANGELIST, {"view": "all"})
    assert listed(page) == [made.pk]  # may read the list
    assert 'name="_selected_action"' not in page.text  # but has no action checkboxes
    for action in ("close_selected", "close_quietly", "assign_to_me", "snooze_selected"):
        response = client.post(
            f"{CHANGELIST}?view=all",
            {"action": action, "_selected_action": [made.pk], "index": 0, "quick": "1h",
             "apply": "1"},
        )  # fmt: skip
        assert response.status_code in (200, 302, 403)
    made.refresh_from_db()
    assert (made.state, made.assignee) == (State.OPEN, None)
    assert not made.closes.exists()


def test_a_user_without_teammate_profile_is_told_and_nothing_changes(admin_client):
    made = start("Ned Noprofile", subject="N")
    response = post_action(admin_client, "close_selected", [made])
    [message] = shown_messages(response)
    assert "no teammate profile" in message
    made.refresh_from_db()
    assert made.state == State.OPEN


# --- queries ----------------------------------------------------------------------------------


def fill(count: int, teammate, otto, capture) -> None:
    """`count` conversations of every kind the list draws: rated (closed with a survey and a
    rating), group conversations (two contacts) assigned to someone, unassigned leads."""
    for number in range(count):
        kind = number % 3
        if kind == 0:
            made = eligible(f"Rated {count}-{number}", teammate)
            with capture(execute=True):
                services.conversation_close(conversation=made, by=teammate)
            rating_of(made, 1 + number % 5, capture)
        elif kind == 1:
            first, second = person(f"Group {count}-{number}a"), person(f"Group {count}-{number}b")
            made = services.conversation_start(
                channel="messenger",
                origin=Origin.CUSTOMER,
                contacts=[first, second],
                started_by=first,
                body="Hi from both",
            )
            replier = teammate if number % 2 == 0 else otto
            services.conversation_reply(conversation=made, author=replier, body="Hello you two")
        else:
            lead = person(f"Lead {count}-{number}", role="lead")
            services.conversation_start(
                channel="messenger",
                origin=Origin.CUSTOMER,
                contacts=[lead],
                started_by=lead,
                subject=f"Lead {number}",
                body="<p>Pricing?</p>",
            )


@pytest.mark.parametrize("view", ["all", "closed", "open", "mine"])
def test_the_list_page_queries_do_not_grow_with_its_rows(inbox, teammate, otto, capture, view):
    def count() -> int:
        inbox.get(CHANGELIST, {"view": view})  # warm (the session, the rating settings)
        with CaptureQueriesContext(connection) as queries:
            response = inbox.get(CHANGELIST, {"view": view})
        assert response.status_code == 200
        return len(queries), len(response.context["cl"].result_list)

    fill(5, teammate, otto, capture)
    few, few_rows = count()
    fill(30, teammate, otto, capture)
    many, many_rows = count()
    assert many_rows > few_rows > 0 or view == "mine"
    assert many == few
    assert Conversation.objects.count() == 35
