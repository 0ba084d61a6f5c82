"""How fast the inbox list answers (I1–I3) with 100,000 conversations.

    .venv/bin/python bench/inbox.py [--conversations 100000] [--teammates 30] [--repeat 7]
        [--database-url postgresql://postgres@127.0.0.1:5432/csat_bench_inbox] [--queries]
        [--no-seed]

Builds a FRESH database (PostgreSQL: created if missing, else its public schema is dropped;
SQLite: the file is deleted), migrates it, and writes the rows straight into the tables (COPY
on PostgreSQL, executemany elsewhere): teammates, contacts, conversations over the last 180
days with ~5 parts each (the customer's question, the teammate's questions and answers,
thanks, notes, close and snooze events) whose words come from the demo's sample text
(demo/data/sample_text.json), the inbox columns filled as the services fill them
(`last_message_at` / `last_message_from` / `preview` from the last reply, `first_line` from
the first message), and for closed conversations their close, a rating request for about
half and a rating for most of those. Then VACUUM ANALYZE, as autovacuum would.

It then fetches the inbox's pages through Django's test Client, signed in as one of the
teammates, and prints for each the median server time of `--repeat` requests (after one
warm-up), the median time of its SQL (the sum of its queries' times, measured in separate
runs with the queries captured), the number of queries and the slowest one; `--queries` lists
every query of one run of each page with its time.
"""

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
import unicodedata
import warnings
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from benchkit import fresh_database, write_rows  # bench/, the scripts' folder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/csat_bench_inbox"
SAMPLE = json.loads((ROOT / "demo" / "data" / "sample_text.json").read_text(encoding="utf-8"))

SPAN_DAYS = 180
RECENT_DAYS = 14  # most open and snoozed conversations are this recent
CHUNK = 20_000  # conversations per bulk round
RARE_WORD = "quixotic"  # put into RARE_COUNT questions; no sample text has it
RARE_COUNT = 12
AIM_MS = 300


def parse():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--teammates", type=int, default=30)
    parser.add_argument("--contacts", type=int, default=0, help="default: 60 %% of conversations")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--queries", action="store_true", help="list each page's queries")
    parser.add_argument(
        "--no-seed", action="store_true", help="measure the database as it is (after a run)"
    )
    return parser.parse_args()


# --- setup --------------------------------------------------------------------------------------


def setup_django(args):
    url = args.database_url
    if not args.no_seed:
        fresh_database(url)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "csat_project.settings",
            # DEBUG while the settings load (plain static files, no HTTPS redirect); turned off
            # below so that queries are not recorded, as in production.
            "DEBUG": "true",
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DATABASE_URL": url,
            "ALLOWED_HOSTS": "testserver",
            "EMAIL_URL": "dummymail://",
            "CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.DEBUG = False


# --- text ---------------------------------------------------------------------------------------


def ascii_name(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@lru_cache(maxsize=50_000)
def columns_of(body: str) -> tuple[int, str, str]:
    """A body's visible characters (E3), its preview and its first line, as the services
    compute them."""
    from conversations.text import message_preview, visible_characters

    return (
        visible_characters(body),
        message_preview(body),
        message_preview(body, first_line=True),
    )


class Words:
    """Message bodies from the demo's sample text, filled in like the demo fills them."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.threads = [(topic, t) for topic, items in SAMPLE["threads"].items() for t in items]
        self.quick = [(topic, q) for topic, items in SAMPLE["quick"].items() for q in items]
        self.details = SAMPLE["details"]

    def fill(self, template: str, facts: dict) -> str:
        return template.format_map(facts)

    def facts(self, first: str, agent: str, helper: str) -> dict:
        rng, details = self.rng, self.details
        return {
            "first": first,
            "agent": agent,
            "helper": helper,
            "plan": rng.choice(details["plan"]),
            "amount": rng.choice(details["amount"]),
            "browser": rng.choice(details["browser"]),
            "os": rng.choice(details["os"]),
            "carrier": rng.choice(details["carrier"]),
            "country": rng.choice(details["country"]),
            "card": f"{rng.randint(1000, 9999)}",
            "order": f"#{rng.randint(100000, 999999)}",
            "invoice": f"INV-{rng.randint(10000, 99999)}",
            "ticket": f"T-{rng.randint(1000, 9999)}",
            "version": f"{rng.randint(2, 9)}.{rng.randint(0, 20)}",
        }

    @staticmethod
    def as_html(text: str, channel: str) -> str:
        """As a message body is stored: an HTML template as it is; plain text as paragraphs on
        email, escaped with its line breaks on the Messenger (`text_to_html`)."""
        from conversations.text import text_to_html

        if text.startswith("<"):
            return text
        if channel == "email":
            return "".join(f"<p>{text_to_html(p)}</p>" for p in text.split("\n\n"))
        return text_to_html(text)

    def thread(self, facts: dict) -> tuple[str, list[tuple[str, str]]]:
        """(subject, [(who, text)]) with who in contact / teammate / note."""
        rng = self.rng
        shape = rng.random()
        if shape < 0.35:
            _, quick = rng.choice(self.quick)
            steps = [("contact", quick["question"]), ("teammate", quick["answer"])]
            if rng.random() < 0.6:
                steps.append(("contact", rng.choice(SAMPLE["thanks"])))
            return self.fill(quick["question"], facts)[:80], [
                (who, self.fill(text, facts)) for who, text in steps
            ]
        _, thread = rng.choice(self.threads)
        generic = SAMPLE["generic"]
        if shape < 0.8:
            steps = [("contact", thread["question"])]
            if "clarify" in thread:
                steps += [("teammate", thread["clarify"]), ("contact", thread["detail"])]
            steps.append(("teammate", thread["answer"]))
            if rng.random() < 0.5:
                steps.append(("contact", rng.choice(SAMPLE["thanks"])))
        else:
            steps = [
                ("contact", thread["question"]),
                ("teammate", thread.get("pending") or rng.choice(generic["pending"])),
                ("contact", thread["followup"]),
            ]
            if rng.random() < 0.7:
                steps.append(("teammate", thread["followup_answer"]))
        if rng.random() < 0.25:
            note = thread.get("note") or rng.choice(generic["note"])
            steps.insert(rng.randint(1, len(steps)), ("note", note))
        return thread["subject"], [(who, self.fill(text, facts)) for who, text in steps]


# --- seeding ------------------------------------------------------------------------------------

CONVERSATION_COLUMNS = [
    "id", "subject", "channel", "origin", "state", "assignee_id", "started_by_teammate_id",
    "workflow_id", "snoozed_until", "created_at", "updated_at", "last_reply_at", "closed_at",
    "reply_characters", "teammate_reply_count", "last_teammate_replier_id", "contact_count",
    "last_message_at", "last_message_from", "preview", "first_line",
]  # fmt: skip
PART_COLUMNS = [
    "id", "conversation_id", "kind", "event", "author_teammate_id", "author_contact_id", "body",
    "message_id", "created_at",
]  # fmt: skip
CONTACT_COLUMNS = ["id", "role", "name", "email", "external_id", "visitor_id", "created_at"]
CLOSE_COLUMNS = [
    "id", "conversation_id", "closed_by_id", "closed_at", "quiet", "reply_characters",
    "last_reply_at", "teammate_replied", "last_teammate_replier_id", "contact_count",
    "contact_role",
]  # fmt: skip
REQUEST_COLUMNS = [
    "id", "conversation_id", "close_id", "teammate_id", "contact_id", "channel", "app_id",
    "created_at", "delivered_at", "delivery_attempts", "last_attempt_at", "last_error",
    "bounced_at", "bounce",
]  # fmt: skip
RATING_COLUMNS = [
    "id", "request_id", "teammate_id", "conversation_id", "value", "comment", "reasons",
    "rated_at", "changed_at", "commented_at", "followed_up_at", "followed_up_by_id",
]  # fmt: skip


class Seeder:
    """Writes rows straight into the tables (a benchmark fixture; the demo goes through the
    services), filling every column the services would."""

    def __init__(self, *, conversations: int, teammates: int, contacts: int, now: datetime):
        from django.db import connection

        self.connection = connection
        self.now = now
        self.rng = random.Random(20261203)
        self.words = Words(self.rng)
        self.size = conversations
        self.teammates = self.make_teammates(teammates)  # [(id, name)]
        self.contacts = self.make_contacts(contacts or max(1, conversations * 6 // 10))
        self.counters = {"part": 1, "close": 1, "request": 1, "rating": 1, "link": 1}

    def make_teammates(self, count: int) -> list[tuple[int, str]]:
        from django.contrib.auth.hashers import make_password
        from django.contrib.auth.models import Group, User

        from conversations.models import Teammate

        unusable = make_password(None)
        firsts, lasts = SAMPLE["first_names"], SAMPLE["last_names"]
        names = [f"{firsts[(n * 7) % len(firsts)]} {lasts[(n * 3) % len(lasts)]}"
                 for n in range(count)]  # fmt: skip
        User.objects.bulk_create(
            User(username=f"teammate{n}", email=f"teammate{n}@example.com", password=unusable,
                 is_staff=True)
            for n in range(count)
        )  # fmt: skip
        users = list(User.objects.filter(username__startswith="teammate").order_by("pk"))
        Group.objects.get(name="Teammates").user_set.add(*users)
        Teammate.objects.bulk_create(
            Teammate(user=user, name=name, created_at=self.now - timedelta(days=400))
            for user, name in zip(users, names, strict=True)
        )
        return list(Teammate.objects.order_by("pk").values_list("pk", "name"))

    def make_contacts(self, count: int) -> list[tuple[int, str, str]]:
        """[(id, first name, role)]; names from the sample's first × last names."""
        firsts, lasts = SAMPLE["first_names"], SAMPLE["last_names"]
        rows, people = [], []
        domains = ["example.com", "mail.test", "acme.test", "globex.test", "initech.test"]
        for n in range(1, count + 1):
            first, last = self.rng.choice(firsts), self.rng.choice(lasts)
            role = "lead" if self.rng.random() < 0.15 else "user"
            name = "" if role == "lead" and self.rng.random() < 0.5 else f"{first} {last}"
            email = f"{ascii_name(first)}.{ascii_name(last)}{n}@{self.rng.choice(domains)}"
            rows.append((n, role, name, email, None, None, self.now - timedelta(days=SPAN_DAYS)))
            people.append((n, first, role))
        with self.atomic():
            self.write("conversations_contact", CONTACT_COLUMNS, rows)
        return people

    def atomic(self):
        from django.db import transaction

        return transaction.atomic()

    def seed(self) -> None:
        ages = sorted((self.rng.uniform(60, SPAN_DAYS * 86400) for _ in range(self.size)),
                      reverse=True)  # fmt: skip
        rare = set(self.rng.sample(range(self.size), min(RARE_COUNT, self.size)))
        for start in range(0, self.size, CHUNK):
            with self.atomic():
                self.skip_foreign_key_checks()
                self.write_chunk(range(start, min(start + CHUNK, self.size)), ages, rare)
        self.finish()

    def write_chunk(self, numbers, ages, rare) -> None:
        rng, now = self.rng, self.now
        conversations, links, parts, closes, requests, ratings = [], [], [], [], [], []
        for n in numbers:
            cid = n + 1
            created = now - timedelta(seconds=ages[n])
            contact_id, first, role = rng.choice(self.contacts)
            people = [(contact_id, role)]
            if rng.random() < 0.03:
                other = rng.choice(self.contacts)
                if other[0] != contact_id:
                    people.append((other[0], other[2]))
            teammate_id, agent = rng.choice(self.teammates)
            channel = "email" if rng.random() < 0.4 else "messenger"
            recent = ages[n] < RECENT_DAYS * 86400
            roll = rng.random()
            if recent:
                state = "open" if roll < 0.4 else "snoozed" if roll < 0.48 else "closed"
            else:
                state = "open" if roll < 0.01 else "closed"
            facts = self.words.facts(first, agent.split()[0], rng.choice(self.teammates)[1])
            subject, steps = self.words.thread(facts)
            if state == "open" and rng.random() < 0.2:
                steps = steps[:1]  # a new question nobody has answered: unassigned
            if n in rare:
                who, text = steps[0]
                steps[0] = (who, f"{text} It is a {RARE_WORD} request, I know.")
            if channel == "messenger" and rng.random() < 0.7:
                subject = ""
            at = created
            thread = []  # (kind, author_teammate, author_contact, body, time)
            for index, (who, text) in enumerate(steps):
                if index:
                    at = min(at + timedelta(seconds=rng.expovariate(1 / 5400) + 30),
                             now - timedelta(seconds=30))  # fmt: skip
                body = self.words.as_html(text, channel)
                if who == "contact":
                    thread.append(("reply", None, contact_id, body, at))
                elif who == "teammate":
                    thread.append(("reply", teammate_id, None, body, at))
                else:
                    thread.append(("note", teammate_id, None, body, at))
            replies = [p for p in thread if p[0] == "reply"]
            last = replies[-1]
            teammate_replies = [p for p in replies if p[1] is not None]
            characters = sum(columns_of(p[3])[0] for p in replies)
            assignee = teammate_id if teammate_replies else None
            if state != "open" and assignee is None:
                assignee = teammate_id
            updated = thread[-1][4]
            events = []
            closed_at = snoozed_until = None
            if state == "closed":
                closed_at = min(updated + timedelta(seconds=rng.uniform(300, 2 * 86400)), now)
                events.append(("closed", closed_at))
                updated = closed_at
            elif state == "snoozed":
                snoozed_at = min(updated + timedelta(seconds=rng.uniform(60, 7200)), now)
                snoozed_until = now + timedelta(hours=rng.uniform(1, 72))
                events.append(("snoozed", snoozed_at, f"until {snoozed_until.isoformat()}"))
                updated = snoozed_at
            conversations.append((
                cid, subject, channel, "customer", state, assignee, None, None, snoozed_until,
                created, updated, last[4], closed_at, characters, len(teammate_replies),
                teammate_id if teammate_replies else None, len(people), last[4],
                "teammate" if last[1] else "contact", columns_of(last[3])[1],
                columns_of(thread[0][3])[2],
            ))  # fmt: skip
            for person, _ in people:
                links.append((self.counters["link"], cid, person))
                self.counters["link"] += 1
            for kind, author_teammate, author_contact, body, at in thread:
                parts.append((self.counters["part"], cid, kind, "", author_teammate,
                              author_contact, body, "", at))  # fmt: skip
                self.counters["part"] += 1
            for event in events:
                body = event[2] if len(event) > 2 else ""
                parts.append((self.counters["part"], cid, "event", event[0], teammate_id, None,
                              body, "", event[1]))  # fmt: skip
                self.counters["part"] += 1
            if state != "closed":
                continue
            close_id = self.counters["close"]
            self.counters["close"] += 1
            closes.append((
                close_id, cid, teammate_id, closed_at, False, characters, last[4],
                bool(teammate_replies), teammate_id if teammate_replies else None, len(people),
                people[0][1] if len(people) == 1 else "",
            ))  # fmt: skip
            if len(people) != 1 or not teammate_replies or rng.random() < 0.5:
                continue
            request_id = self.counters["request"]
            self.counters["request"] += 1
            sent = closed_at + timedelta(seconds=5)
            requests.append((request_id, cid, close_id, teammate_id, contact_id, channel, None,
                             sent, sent, 1, sent, "", None, ""))  # fmt: skip
            if rng.random() < 0.4 or sent >= now:
                continue
            rated = min(sent + timedelta(seconds=rng.expovariate(1 / 3600) + 30), now)
            value = rng.choices([1, 2, 3, 4, 5], [13, 12, 15, 25, 35])[0]
            ratings.append((self.counters["rating"], request_id, teammate_id, cid, value, "",
                            "[]", rated, rated, None, None, None))  # fmt: skip
            self.counters["rating"] += 1
        self.write("conversations_conversation", CONVERSATION_COLUMNS, conversations)
        self.write(
            "conversations_conversation_contacts", ["id", "conversation_id", "contact_id"], links
        )
        self.write("conversations_part", PART_COLUMNS, parts)
        self.write("conversations_conversationclose", CLOSE_COLUMNS, closes)
        self.write("ratings_ratingrequest", REQUEST_COLUMNS, requests)
        self.write("ratings_rating", RATING_COLUMNS, ratings)

    def skip_foreign_key_checks(self) -> None:
        """The rows are consistent by construction; PostgreSQL's per-row foreign key triggers
        would take most of the seeding time. Needs a superuser; checked otherwise."""
        if self.connection.vendor != "postgresql" or os.environ.get("BENCH_FK_CHECKS"):
            return
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if cursor.fetchone()[0]:
                cursor.execute("SET LOCAL session_replication_role = replica")

    def write(self, table: str, columns: list[str], rows) -> None:
        write_rows(self.connection, table, columns, rows)  # the other columns: their defaults

    def finish(self) -> None:
        """Sequences after explicit ids, and fresh statistics (autovacuum would do it in time;
        index-only scans need the visibility map it sets)."""
        from django.apps import apps
        from django.core.management.color import no_style

        labels = [
            "conversations.Contact",
            "conversations.Conversation",
            "conversations.Part",
            "conversations.ConversationClose",
            "ratings.RatingRequest",
            "ratings.Rating",
        ]
        models = [apps.get_model(label) for label in labels]
        models.append(apps.get_model("conversations.Conversation").contacts.through)
        with self.connection.cursor() as cursor:
            for sql in self.connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
            cursor.execute(
                "VACUUM ANALYZE" if self.connection.vendor == "postgresql" else "ANALYZE"
            )


# --- what is measured -----------------------------------------------------------------------------

CHANGELIST = "/admin/conversations/conversation/"
PAGINATOR = re.compile(r'class="paginator">\s*(?:<.*?>\s*)*?([\d,]+) conversation', re.S)


def common_words(limit: int = 3) -> list[tuple[str, int]]:
    """The most frequent words of 5+ letters in the parts, by how many parts have them (on
    PostgreSQL, from the text search's own statistics; elsewhere from a sample)."""
    from collections import Counter

    from django.db import connection

    from conversations.models import Part

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT word, ndoc FROM ts_stat($$SELECT to_tsvector('simple', "
                "regexp_replace(body, '<[^>]*>', ' ', 'g')) FROM conversations_part$$) "
                "WHERE length(word) >= 5 AND word ~ '^[a-z]+$' ORDER BY ndoc DESC LIMIT %s",
                [limit],
            )
            return cursor.fetchall()
    counts = Counter()
    for body in Part.objects.values_list("body", flat=True)[:20000]:
        counts.update({w for w in body.lower().split() if len(w) >= 5 and w.isalpha()})
    return counts.most_common(limit)


def pages(common: str, name: str) -> list[tuple[str, str]]:
    return [
        ("default tab (Mine)", ""),
        ("All open", "view=open"),
        ("Unassigned", "view=unassigned"),
        ("Closed, page 1", "view=closed"),
        ("Closed, page 50", "view=closed&p=50"),
        (f"search rare word {RARE_WORD!r}", urlencode({"q": RARE_WORD})),
        (f"search common word {common!r}", urlencode({"q": common})),
        (f"search contact name {name!r}", urlencode({"q": name})),
    ]


def timed(function, repeat: int) -> tuple[float, float]:
    """Median and fastest milliseconds of `repeat` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def measure(user, repeat: int, show_queries: bool) -> list[str]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from conversations.models import Contact, Conversation, Part

    client = Client()
    client.force_login(user)
    results = {}

    def get(url):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        found = PAGINATOR.search(response.content.decode())
        results[url] = int(found[1].replace(",", "")) if found else 0

    (common, in_parts), *_ = common_words(1)
    name = (
        Contact.objects.exclude(name="")
        .order_by("id")
        .values_list("name", flat=True)[Contact.objects.count() // 2]
    )
    print(
        f"\n{Conversation.objects.count():,} conversations, {Part.objects.count():,} parts, "
        f"{Contact.objects.count():,} contacts on {connection.vendor}; signed in as "
        f"{user.teammate.name}; the most frequent word is {common!r} (in {in_parts:,} parts); "
        f"median of {repeat}; machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'page':<42} {'rows':>7} {'page ms':>8} {'fastest':>8} {'SQL ms':>7} {'queries':>7}"
        f" {'slowest':>8}"
    )
    slow = []
    for label, query in pages(common, name):
        url = f"{CHANGELIST}?{query}" if query else CHANGELIST
        page_ms, fastest = timed(lambda url=url: get(url), repeat)
        sql_runs, listing = [], []
        for _ in range(max(3, repeat // 2)):
            with CaptureQueriesContext(connection) as captured:
                get(url)
            timings = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
            sql_runs.append(sum(ms for ms, _ in timings))
            listing = timings
        slowest = max(listing)
        print(
            f"{label:<42} {results[url]:>7,} {page_ms:8.1f} {fastest:8.1f}"
            f" {statistics.median(sql_runs):7.1f} {len(listing):>7} {slowest[0]:8.1f}",
            flush=True,
        )
        if page_ms > AIM_MS:
            slow.append(f"{label}: {page_ms:.0f} ms; slowest query {slowest[0]:.0f} ms: "
                        f"{' '.join(slowest[1].split())[:400]}")  # fmt: skip
        if show_queries:
            for ms, sql in listing:
                print(f"    {ms:8.1f} ms  {' '.join(sql.split())[:140]}")
    return slow


def main():
    args = parse()
    setup_django(args)
    from django.contrib.auth.models import User

    if not args.no_seed:
        started = time.perf_counter()
        seeder = Seeder(
            conversations=args.conversations,
            teammates=args.teammates,
            contacts=args.contacts,
            now=datetime.now(UTC),
        )
        seeder.seed()
        print(
            f"seeded {args.conversations:,} conversations in {time.perf_counter() - started:.0f} s"
        )
    user = User.objects.get(username="teammate0")
    slow = measure(user, args.repeat, args.queries)
    print(f"\naim: each page under {AIM_MS} ms", "— all are" if not slow else "— over it:")
    for line in slow:
        print(f"  {line}")


if __name__ == "__main__":
    main()
