"""Search in the inbox (I3): the words of the messages, the subject, the contacts' names and
emails; across every state unless a tab is chosen; one row per conversation; ranked on
PostgreSQL (full-text search on the GIN index part_body_search_idx)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import clock, services
from conversations import inbox as inbox_reads
from conversations.models import Conversation, Origin, Part
from tests.admin_inbox.support import CHANGELIST, listed, post_action, shown_messages

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL full-text search"
)

BASE = timezone.now().replace(microsecond=0) - timedelta(days=1)


def start(name: str, *, subject: str = "", body: str = "Hello, I need help.", minute: int = 0,
          email: str = "", channel: str = "email"):  # fmt: skip
    """A customer conversation by a new contact, its last message at BASE + `minute`."""
    contact = services.contact_create(
        role="user",
        name=name,
        email=email or f"{name.lower().replace(' ', '.')}@customer.test",
    )
    with clock.at(BASE + timedelta(minutes=minute)):
        return services.conversation_start(
            channel=channel,
            origin=Origin.CUSTOMER,
            contacts=[contact],
            started_by=contact,
            subject=subject,
            body=body,
        )


def found(client, term: str, **params) -> list[int]:
    response = client.get(CHANGELIST, {"q": term, **params})
    ids = listed(response)
    assert response.context["cl"].result_count == len(ids)
    return ids


@pytest.fixture
def library(teammate):
    """Conversations with words in different places."""
    made = {
        "body": start("Bea Body", subject="Printer trouble", body="The capacitor is leaking."),
        "name": start("Zebedee Quill", subject="Hello"),
        "email": start("Eli Mail", subject="Question", email="eli@quillworks.test"),
        "subject": start("Sid Subject", subject="Refund for order 7731"),
        "markup": start("Mark Up", subject="Formatting", body="<strong>hi</strong> hullabaloo"),
        "other": start("Otto Nothing", subject="Unrelated", body="Nothing to see."),
    }
    services.conversation_reply(
        conversation=made["body"], author=teammate, body="<p>Replacing the <em>gizmo</em>.</p>"
    )
    services.conversation_note(conversation=made["body"], author=teammate, body="Ask about flux")
    return made


@pytest.mark.parametrize(
    ("term", "key"),
    [
        ("capacitor", "body"),  # a word of the customer's first message, not in the subject
        ("CAPACITOR", "body"),  # in any case
        ("gizmo", "body"),  # a teammate's reply, inside markup
        ("flux", "body"),  # an internal note
        ("Zebedee", "name"),  # a contact's name
        ("zebedee quill", "name"),
        ("eli@quillworks.test", "email"),  # a contact's email
        ("quillworks", "email"),
        ("7731", "subject"),  # the subject
        ("Refund", "subject"),
    ],
)
def test_I3_finds_a_word_where_it_is(inbox, library, term, key):
    assert found(inbox, term) == [library[key].pk]


def test_I3_markup_is_not_searched(inbox, library):
    assert found(inbox, "strong") == []
    assert found(inbox, "em") == []
    assert found(inbox, "hullabaloo") == [library["markup"].pk]  # the visible words are


def test_I3_an_escaped_character_is_found_as_it_reads(inbox):
    made = start("Fish Fan", subject="Menu", body="Fish & chips <3")
    assert made.parts.get().body == "Fish &amp; chips &lt;3"  # as stored
    assert found(inbox, "fish & chips") == [made.pk]
    assert found(inbox, "chips <3") == [made.pk]
    if connection.vendor == "postgresql":  # SQLite's substring search still sees "&amp;"
        assert found(inbox, "amp") == []


def test_I3_a_search_without_a_tab_spans_every_state(inbox, library, teammate):
    services.conversation_close(conversation=library["body"], by=teammate)
    services.conversation_snooze(
        conversation=library["subject"], by=teammate, until=timezone.now() + timedelta(days=1)
    )
    response = inbox.get(CHANGELIST, {"q": "capacitor"})
    assert listed(response) == [library["body"].pk]
    assert "Search results in every state" in response.text
    assert found(inbox, "7731") == [library["subject"].pk]


def test_I3_a_search_in_a_tab_stays_in_it(inbox, library, teammate):
    services.conversation_close(conversation=library["body"], by=teammate)
    assert found(inbox, "capacitor", view="open") == []
    assert found(inbox, "capacitor", view="closed") == [library["body"].pk]
    # Mine: the teammate's own open conversations only (the closed one was replied to: theirs).
    assert found(inbox, "capacitor", view="mine") == []
    response = inbox.get(CHANGELIST, {"q": "capacitor", "view": "closed"})
    assert "Search results in every state" not in response.text


def test_I3_one_row_per_conversation_however_many_parts_match(inbox, teammate):
    made = start("Walter Wombat", subject="Wombat sighting", body="A wombat in the garden")
    for number in range(4):
        services.conversation_reply(
            conversation=made, author=teammate, body=f"Wombat number {number}, wombat!"
        )
        services.conversation_note(conversation=made, author=teammate, body="wombat note")
    second = services.contact_create(role="user", name="Wanda Wombat", email="w@wombat.test")
    made.contacts.add(second)
    assert found(inbox, "wombat") == [made.pk]


def test_I3_an_empty_or_blank_search_is_the_tab(inbox, library):
    blank = inbox.get(CHANGELIST, {"q": "   "})
    assert listed(blank) == [library["body"].pk]  # Mine: the one the teammate replied to
    everything = found(inbox, "", view="all")
    assert set(everything) == {c.pk for c in library.values()}


@pytest.mark.parametrize("term", ["%", "_", "'", "\\", "a:b & !c", "<script>", "x" * 500])
def test_I3_odd_terms_are_searched_as_text_not_syntax(inbox, library, term):
    response = inbox.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    assert library["other"].pk not in listed(response)


def test_I3_without_rank_newest_first(inbox):
    """Several hits of the same kind: the newest message first (SQLite: no rank at all)."""
    old = start("Old Timer", subject="Kettle", minute=0)
    new = start("New Comer", subject="Kettle", minute=5)
    assert found(inbox, "kettle") == [new.pk, old.pk]


# --- PostgreSQL: ranked, on the index ---------------------------------------------------------


@postgresql_only
def test_I3_a_contact_name_hit_ranks_above_a_message_mentioning_the_word(inbox, teammate):
    by_name = start("Hettie Bramble", subject="Hello", minute=0)
    mention = start("Ivo Ivy", subject="Garden", body="I found a bramble near the shed.", minute=5)
    assert found(inbox, "bramble") == [by_name.pk, mention.pk]  # the newer one second


@postgresql_only
def test_I3_a_subject_hit_ranks_above_a_message_mentioning_the_word(inbox):
    by_subject = start("Sue Subject", subject="Thermostat broken", minute=0)
    mention = start("Tom Text", subject="Other", body="My thermostat is new.", minute=5)
    assert found(inbox, "thermostat") == [by_subject.pk, mention.pk]


@postgresql_only
def test_I3_more_mentions_rank_above_one(inbox, teammate):
    once = start("Una Once", subject="A", body="The router blinks.", minute=10)
    often = start(
        "Otto Often", subject="B", body="Router, router: the router reboots the router.", minute=0
    )
    assert found(inbox, "router") == [often.pk, once.pk]


@postgresql_only
def test_I3_the_word_in_several_messages_ranks_above_once(inbox, teammate):
    once = start("Una Once", subject="A", body="The modem blinks.", minute=10)
    several = start("Sev Eral", subject="B", body="My modem is slow.", minute=0)
    with clock.at(BASE + timedelta(minutes=1)):
        services.conversation_reply(conversation=several, author=teammate, body="Restart the modem")
    with clock.at(BASE + timedelta(minutes=2)):
        services.conversation_reply(
            conversation=several, author=several.contacts.get(), body="The modem restarted."
        )
    assert found(inbox, "modem") == [several.pk, once.pk]


@postgresql_only
def test_I3_only_the_newest_hits_are_ranked(inbox, monkeypatch):
    """inbox.RANKED caps the hits whose messages are ranked (ts_rank reads them again): the
    others follow, newest first; a contact or subject hit still comes first."""
    often = start("Al Often", subject="A", body="Kayak, kayak and a kayak.", minute=0)
    once = start("Bo Once", subject="B", body="A kayak.", minute=5)
    newest = start("Cy Newest", subject="C", body="The kayak.", minute=10)
    named = start("Kayak Kid", subject="D", minute=1)
    assert found(inbox, "kayak") == [named.pk, often.pk, newest.pk, once.pk]
    monkeypatch.setattr(inbox_reads, "RANKED", 1)
    assert found(inbox, "kayak") == [named.pk, newest.pk, once.pk, often.pk]


@postgresql_only
def test_I3_a_chosen_column_replaces_the_rank(inbox):
    """Sorting by a column (the admin's own `o=`; 4 is the channel) replaces the rank."""
    by_name = start("Hettie Bramble", subject="Hello", minute=0, channel="messenger")
    mention = start("Ivo Ivy", subject="Garden", body="A bramble.", minute=5)
    assert found(inbox, "bramble") == [by_name.pk, mention.pk]
    assert found(inbox, "bramble", o="4") == [mention.pk, by_name.pk]  # email, messenger


@postgresql_only
def test_I3_explain_uses_the_gin_index(teammate):
    contact = services.contact_create(role="user", name="Bulk", email="bulk@customer.test")
    conversation = services.conversation_start(
        channel="email",
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        body="first",
    )
    now = timezone.now()
    Part.objects.bulk_create(
        Part(conversation=conversation, kind=Part.Kind.REPLY, author_contact=contact,
             body=f"<p>message {number} about pallets and crates</p>", created_at=now)
        for number in range(2000)
    )  # fmt: skip
    Part.objects.create(
        conversation=conversation,
        kind=Part.Kind.REPLY,
        author_contact=contact,
        body="the zanzibar word",
        created_at=now,
    )
    queryset = inbox_reads.search(Conversation.objects.all(), "zanzibar")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_part")
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "part_body_search_idx" in plan, plan
    assert [c.pk for c in queryset] == [conversation.pk]


@postgresql_only
def test_I3_the_text_search_subquery_alone_uses_the_index_without_forcing(teammate):
    """With enough rows the planner picks the index by itself for a rare word."""
    contact = services.contact_create(role="user", name="Bulk", email="bulk@customer.test")
    conversation = services.conversation_start(
        channel="email", origin=Origin.CUSTOMER, contacts=[contact], started_by=contact, body="x"
    )
    now = timezone.now()
    Part.objects.bulk_create(
        Part(conversation=conversation, kind=Part.Kind.REPLY, author_contact=contact,
             body=f"<p>message {number} about pallets and crates</p>", created_at=now)
        for number in range(5000)
    )  # fmt: skip
    matches = RawSQL(f"{inbox_reads.VECTOR} @@ {inbox_reads.QUERY}", ["zanzibar"], BooleanField())
    texts = Part.objects.filter(matches).values("conversation_id")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_part")
        sql, params = texts.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "part_body_search_idx" in plan, plan


def test_I3_a_bulk_action_from_a_search_page_acts_on_the_ticked_rows(inbox, library, teammate):
    """The action runs on the search's own queryset (ranked, numbered on PostgreSQL)."""
    ticked, other = library["body"], library["name"]
    response = post_action(inbox, "close_selected", [ticked], query="q=capacitor")
    assert shown_messages(response) == ["Closed: 1 conversation."]
    ticked.refresh_from_db()
    other.refresh_from_db()
    assert (ticked.state, other.state) == ("closed", "open")
    post_action(inbox, "assign_to_me", [other], query="q=zebedee")
    other.refresh_from_db()
    assert other.assignee == teammate


# --- queries ----------------------------------------------------------------------------------


def test_I3_a_search_pages_queries_do_not_grow_with_its_results(inbox, teammate):
    def count(term: str) -> tuple[int, int]:
        inbox.get(CHANGELIST, {"q": term})
        with CaptureQueriesContext(connection) as queries:
            response = inbox.get(CHANGELIST, {"q": term})
        return len(queries), response.context["cl"].result_count

    for number in range(3):
        made = start(f"Few {number}", subject="S", body="A question about penguins")
        services.conversation_reply(conversation=made, author=teammate, body="Penguins, yes.")
    for number in range(25):
        made = start(f"Many {number}", subject="S", body="A question about walruses")
        services.conversation_reply(conversation=made, author=teammate, body="Walruses, yes.")
        second = services.contact_create(role="lead", name="", email=f"m{number}@lead.test")
        made.contacts.add(second)
    few, few_rows = count("penguins")
    many, many_rows = count("walruses")
    assert (few_rows, many_rows) == (3, 25)
    assert many == few
