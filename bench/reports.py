"""How fast the report pages answer as ratings pile up.

    .venv/bin/python bench/reports.py [--sizes 10000,100000,1000000] [--teammates 200]
        [--repeat 7] [--database-url postgres://postgres@127.0.0.1:5432/csat_bench_reports]

Builds a FRESH database (PostgreSQL: created if missing, else its public schema is dropped;
SQLite: the file is deleted), migrates it, and seeds the first size of ratings with bulk
inserts (COPY on PostgreSQL): teammates, contacts, closed conversations with their close, ~1.6
rating requests per rating, ratings over the last 90 days with a realistic mix of values,
~30 % comments, reasons rows after low ratings, some followed up. It then measures, grows the
data to the next size, measures again, and so on.

For each page it prints the median server time of `--repeat` requests (after one warm-up)
made with Django's test Client as a manager, over the default period (last 30 days), next to
the median time of ONE hand-written SQL statement that computes the same figures, and their
ratio: the ratio is the figure to watch (the page's overhead and query shapes against the best
single query), the milliseconds are the figure a manager feels.
"""

import argparse
import itertools
import json
import logging
import os
import random
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchkit import fresh_database, write_rows  # bench/, the scripts' folder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/csat_bench_reports"

REQUESTS_PER_RATING = 1.6
SPREAD_DAYS = 365  # a year: the year-long periods take every rating
VALUE_WEIGHTS = {5: 35, 4: 25, 3: 15, 2: 12, 1: 13}  # CSAT about 60 %, as in the demo data
COMMENT_SHARE = {5: 0.25, 4: 0.2, 3: 0.3, 2: 0.5, 1: 0.55}  # about 30 % overall
REASONS_ONLY_SHARE = 0.2  # low ratings that only tick reasons, without a text
CHANGED_SHARE = 0.05
FOLLOWED_UP_SHARE = 0.4  # of the low ratings
REASONS = [
    "Slow to answer",
    "Problem not solved",
    "Answer was unclear",
    "Unfriendly tone",
    "Had to repeat myself",
]
COMMENTS = {
    5: ["Super fast and friendly, thank you!", "Solved in minutes. Amazing support 🙌"],
    4: ["Good help, thanks.", "Sorted it out, took a little while but all good."],
    3: ["OK. The answer was a bit generic.", "Fine, though I had to explain it twice."],
    2: ["Took too long to get a real answer.", "Still not sure it's really fixed."],
    1: ["Nobody answered for days.", "My problem is still not solved."],
}
TOPICS = ["invoice", "login", "export", "refund", "the mobile app", "an integration", "my plan"]
CHUNK = 50_000  # requests per bulk round
PREVIEW = "Glad it works now! Let us know if anything else comes up."


def parse():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ratings, growing")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--teammates", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--no-seed",
        action="store_true",
        help="keep the database as it is and measure once (to try an index or a query)",
    )
    parser.add_argument(
        "--queries",
        action="store_true",
        help="also list each page's queries with their time (what limits the page)",
    )
    args = parser.parse_args()
    args.sizes = sorted(int(size.replace("_", "")) for size in args.sizes.split(","))
    return args


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
    settings.ROOT_URLCONF = "reports_urls"  # bench/: the product's URLs and the floor page


# --- seeding ------------------------------------------------------------------------------------


class Seeder:
    """Writes rows straight into the tables: a benchmark fixture, not demo data (the demo goes
    through the services). Each `grow(count)` adds `count` ratings and their requests, all
    spread over the last SPREAD_DAYS days, so the data gets denser at each size."""

    def __init__(self, *, teammates: int, now: datetime):
        from django.db import connection

        self.connection = connection
        self.now = now
        self.rng = random.Random(20240601)
        self.manager = self.make_manager()
        self.teammate_ids = self.make_teammates(teammates)
        # Some teammates take more conversations; some please their customers more.
        weights = [self.rng.lognormvariate(0, 0.5) for _ in self.teammate_ids]
        self.teammate_cumulative = list(itertools.accumulate(weights))
        self.value_weights = {
            pk: self.leaning_weights(self.rng.uniform(0.7, 1.4)) for pk in self.teammate_ids
        }

    @staticmethod
    def leaning_weights(lean: float) -> list[float]:
        """Weights of the values 1..5, tilted towards 5 (lean > 1) or 1 (lean < 1)."""
        return [VALUE_WEIGHTS[value] * lean ** (value - 3) for value in range(1, 6)]

    def make_manager(self):
        from django.contrib.auth.models import Group, User

        user = User.objects.create_user("bench-manager", "manager@example.com", is_staff=True)
        user.groups.add(Group.objects.get(name="Managers"))
        return user

    def make_teammates(self, count: int) -> list[int]:
        from django.contrib.auth.hashers import make_password
        from django.contrib.auth.models import Group, User

        from conversations.models import Teammate

        unusable = make_password(None)
        User.objects.bulk_create(
            User(
                username=f"teammate{number}",
                email=f"teammate{number}@example.com",
                password=unusable,
                is_staff=True,
            )
            for number in range(count)
        )
        users = list(User.objects.filter(username__startswith="teammate").order_by("pk"))
        Group.objects.get(name="Teammates").user_set.add(*users)
        Teammate.objects.bulk_create(
            Teammate(user=user, name=f"{FIRST[n % len(FIRST)]} {n + 1:03d}")
            for n, user in enumerate(users)
        )
        return sorted(Teammate.objects.values_list("pk", flat=True))

    def next_id(self, table: str) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
            return cursor.fetchone()[0]

    def grow(self, ratings: int) -> None:
        from django.db import transaction

        requests = round(ratings * REQUESTS_PER_RATING)
        contacts = max(1, requests // 3)
        ids = {
            table: self.next_id(table)
            for table in (
                "conversations_contact",
                "conversations_conversation",
                "conversations_conversation_contacts",
                "conversations_conversationclose",
                "ratings_ratingrequest",
                "ratings_rating",
                "ratings_ratingreason",
            )
        }
        contact_base = ids["conversations_contact"]
        with transaction.atomic():
            self.write(
                "conversations_contact",
                ["id", "role", "name", "email", "created_at"],
                (
                    (
                        contact_base + n,
                        contact_role(n),
                        f"Customer {contact_base + n}",
                        f"customer{contact_base + n}@example.com",
                        self.now - timedelta(days=SPREAD_DAYS + 30),
                    )
                    for n in range(contacts)
                ),
            )
        # Exactly `ratings` of the `requests` get a rating.
        rated = set(self.rng.sample(range(requests), ratings))
        # Within a round, ids grow with time as they do in production.
        ages = (self.rng.uniform(600, SPREAD_DAYS * 86400) for _ in range(requests))
        self.ages = sorted(ages, reverse=True)
        self.ratings_written = self.reasons_written = 0  # ids handed out in this round
        for start in range(0, requests, CHUNK):
            with transaction.atomic():
                self.skip_foreign_key_checks()
                self.write_chunk(ids, start, min(start + CHUNK, requests), rated, contacts)
        self.finish()

    def write_chunk(self, ids, start, stop, rated, contacts):
        rng, now = self.rng, self.now
        conversations, links, closes, requests, ratings, reasons = [], [], [], [], [], []
        for n in range(start, stop):
            conversation_id = ids["conversations_conversation"] + n
            request_id = ids["ratings_ratingrequest"] + n
            contact = rng.randrange(contacts)
            contact_id = ids["conversations_contact"] + contact
            teammate = rng.choices(self.teammate_ids, cum_weights=self.teammate_cumulative)[0]
            sent_at = now - timedelta(seconds=self.ages[n])
            closed_at = sent_at - timedelta(seconds=rng.uniform(2, 30))
            last_reply_at = closed_at - timedelta(seconds=rng.uniform(60, 7200))
            created_at = last_reply_at - timedelta(seconds=rng.uniform(60, 3 * 86400))
            channel = "email" if rng.random() < 0.4 else "messenger"
            characters = rng.randint(260, 4000)
            conversations.append(
                (
                    conversation_id,
                    f"Question about {TOPICS[n % len(TOPICS)]}",
                    channel,
                    "customer",
                    "closed",
                    created_at,
                    closed_at,
                    last_reply_at,
                    closed_at,
                    characters,
                    rng.randint(1, 4),
                    1,
                    teammate,
                    teammate,
                    # The inbox's columns (I1, I2), as the services leave them.
                    last_reply_at,
                    "teammate",
                    PREVIEW,
                    f"Question about {TOPICS[n % len(TOPICS)]}",
                )
            )
            links.append((ids["conversations_conversation_contacts"] + n, conversation_id,
                          contact_id))  # fmt: skip
            closes.append(
                (
                    ids["conversations_conversationclose"] + n,
                    conversation_id,
                    teammate,
                    closed_at,
                    False,
                    characters,
                    last_reply_at,
                    True,
                    teammate,
                    1,
                    contact_role(contact),
                )
            )
            requests.append(
                (
                    request_id,
                    conversation_id,
                    ids["conversations_conversationclose"] + n,
                    teammate,
                    contact_id,
                    channel,
                    sent_at,
                    sent_at,
                    1,
                    sent_at,
                    "",
                    "",
                )
            )
            if n not in rated:
                continue
            rating_id = ids["ratings_rating"] + self.ratings_written
            self.ratings_written += 1
            value = rng.choices(range(1, 6), self.value_weights[teammate])[0]
            delay = rng.expovariate(1 / 3600) if rng.random() < 0.7 else rng.uniform(0, 2 * 86400)
            rated_at = min(sent_at + timedelta(seconds=60 + delay), now - timedelta(seconds=1))
            changed_at = rated_at
            if rng.random() < CHANGED_SHARE:
                changed_at = min(rated_at + timedelta(minutes=rng.uniform(1, 600)), now)
            comment, picked, commented_at = "", [], None
            if rng.random() < COMMENT_SHARE[value]:
                commented_at = min(changed_at + timedelta(seconds=rng.uniform(10, 300)), now)
                comment = rng.choice(COMMENTS[value])
                if value <= 2:
                    picked = rng.sample(REASONS, rng.choice((1, 1, 2)))
                    if rng.random() < REASONS_ONLY_SHARE:
                        comment = ""
            followed_at = followed_by = None
            if value <= 2 and rng.random() < FOLLOWED_UP_SHARE:
                followed_at = min(rated_at + timedelta(hours=rng.uniform(1, 48)), now)
                followed_by = self.manager.pk
            ratings.append(
                (
                    rating_id,
                    request_id,
                    teammate,
                    conversation_id,
                    value,
                    comment,
                    json.dumps(picked),
                    rated_at,
                    changed_at,
                    commented_at,
                    followed_at,
                    followed_by,
                )
            )
            for reason in picked:
                reasons.append((ids["ratings_ratingreason"] + self.reasons_written, rating_id,
                                reason))  # fmt: skip
                self.reasons_written += 1
        self.write("conversations_conversation", CONVERSATION_COLUMNS, conversations)
        self.write(
            "conversations_conversation_contacts", ["id", "conversation_id", "contact_id"], links
        )
        self.write("conversations_conversationclose", CLOSE_COLUMNS, closes)
        self.write("ratings_ratingrequest", REQUEST_COLUMNS, requests)
        self.write("ratings_rating", RATING_COLUMNS, ratings)
        self.write("ratings_ratingreason", ["id", "rating_id", "reason"], reasons)

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
        write_rows(self.connection, table, columns, rows, FIXED_COLUMNS.get(table))

    def finish(self) -> None:
        """Sequences after explicit ids, and fresh statistics (autovacuum would do it in time;
        index-only scans need the visibility map it sets)."""
        from django.apps import apps
        from django.core.management.color import no_style

        connection = self.connection
        models = [
            apps.get_model(label)
            for label in (
                "conversations.Contact",
                "conversations.Conversation",
                "conversations.ConversationClose",
                "ratings.RatingRequest",
                "ratings.Rating",
                "ratings.RatingReason",
            )
        ]
        models.append(models[1].contacts.through)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
        # G5: the teammate key each request and rating keeps (save() sets it; raw rows not).
        with connection.cursor() as cursor:
            for table in ("ratings_ratingrequest", "ratings_rating"):
                cursor.execute(
                    f"UPDATE {table} SET teammate_key = teammate_id WHERE teammate_id IS NOT NULL"
                )
        # The rows went in around the services, which keep the reports' daily figures: add
        # them up once, as `manage.py figures_rebuild` does.
        from ratings.figures import figures_rebuild

        figures_rebuild()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def contact_role(number: int) -> str:
    return "lead" if number % 5 == 0 else "user"


FIRST = ["Ann", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gus", "Hana", "Ivo", "Jade"]
# The columns whose value on every benchmark row is not their default (`write_rows` gives
# the others theirs): the ratings came in by the survey email's links (K12).
FIXED_COLUMNS = {"ratings_rating": {"source": "email"}}
CONVERSATION_COLUMNS = [
    "id",
    "subject",
    "channel",
    "origin",
    "state",
    "created_at",
    "updated_at",
    "last_reply_at",
    "closed_at",
    "reply_characters",
    "teammate_reply_count",
    "contact_count",
    "assignee_id",
    "last_teammate_replier_id",
    "last_message_at",
    "last_message_from",
    "preview",
    "first_line",
]
CLOSE_COLUMNS = [
    "id",
    "conversation_id",
    "closed_by_id",
    "closed_at",
    "quiet",
    "reply_characters",
    "last_reply_at",
    "teammate_replied",
    "last_teammate_replier_id",
    "contact_count",
    "contact_role",
]
REQUEST_COLUMNS = [
    "id",
    "conversation_id",
    "close_id",
    "teammate_id",
    "contact_id",
    "channel",
    "created_at",
    "delivered_at",
    "delivery_attempts",
    "last_attempt_at",
    "last_error",
    "bounce",
]
RATING_COLUMNS = [
    "id",
    "request_id",
    "teammate_id",
    "conversation_id",
    "value",
    "comment",
    "reasons",
    "rated_at",
    "changed_at",
    "commented_at",
    "followed_up_at",
    "followed_up_by_id",
]


# --- what is measured -----------------------------------------------------------------------------

PAGE_SIZE = 50


def hand_summary(period, vendor):
    """From the daily figures, as the page: sums per day (the totals are their sums, the
    chart's points too), with requests and answered, then the reasons."""
    sums = ", ".join(f"sum(v{v})" for v in range(1, 6))
    sql = f"""
        SELECT 'day', CAST(day AS TEXT), {sums}, sum(requests), sum(answered)
          FROM ratings_dailyfigures WHERE day >= %s AND day <= %s GROUP BY day
        UNION ALL
        SELECT 'reason', reason, sum(count), 0, 0, 0, 0, 0, 0
          FROM ratings_dailyreasons WHERE day >= %s AND day <= %s GROUP BY reason
    """
    return sql, [period.first_day, period.last_day] * 2


def hand_teammates(period, vendor):
    sums = ", ".join(f"sum(v{v}) AS v{v}" for v in range(1, 6))
    sql = f"""
        SELECT t.id, t.name, f.requests, f.v1, f.v2, f.v3, f.v4, f.v5
          FROM (SELECT teammate_key, sum(requests) AS requests, {sums}
                  FROM ratings_dailyfigures
                 WHERE day >= %s AND day <= %s AND teammate_key <> 0
                 GROUP BY teammate_key) f
          JOIN conversations_teammate t ON t.id = f.teammate_key
         ORDER BY t.name
    """
    return sql, [period.first_day, period.last_day]


def day_sql(vendor: str) -> str:
    """The local day of `rated_at` in SQL, as `csat_trend` groups by it."""
    from django.utils import timezone

    if vendor == "postgresql":
        zone = timezone.get_current_timezone_name().replace("'", "")
        return f"date_trunc('day', rated_at AT TIME ZONE '{zone}')"
    return "date(rated_at)"  # SQLite stores UTC; the bench runs with TIME_ZONE=UTC


def scan_summary(period, vendor):
    """Without the daily figures, straight from the ratings and requests: counts per value
    and day, requests and answered (a rating comes after its request: only ratings from a day
    before the period can answer one), reasons."""
    day = day_sql(vendor)
    counts = ", ".join(f"count(*) FILTER (WHERE value = {v})" for v in range(1, 6))
    sql = f"""
        SELECT 'day', CAST({day} AS TEXT), {counts}
          FROM ratings_rating WHERE rated_at >= %s AND rated_at < %s GROUP BY {day}
        UNION ALL
        SELECT 'requests', NULL, count(*), count(r.id), 0, 0, 0
          FROM ratings_ratingrequest q
          LEFT JOIN ratings_rating r ON r.request_id = q.id AND r.rated_at >= %s
         WHERE q.created_at >= %s AND q.created_at < %s
        UNION ALL
        SELECT 'reason', rr.reason, count(*), 0, 0, 0, 0
          FROM ratings_ratingreason rr JOIN ratings_rating r ON r.id = rr.rating_id
         WHERE r.rated_at >= %s AND r.rated_at < %s GROUP BY rr.reason
    """
    span = [period.start, period.end]
    return sql, span + [period.start - timedelta(days=1)] + span * 2


def scan_teammates(period, vendor):
    """Without the daily figures: per teammate from the ratings and the requests."""
    counts = ", ".join(f"count(*) FILTER (WHERE value = {v}) AS v{v}" for v in range(1, 6))
    sql = f"""
        SELECT t.id, t.name, COALESCE(q.n, 0), r.v1, r.v2, r.v3, r.v4, r.v5
          FROM conversations_teammate t
          LEFT JOIN (SELECT teammate_id, {counts} FROM ratings_rating
                      WHERE rated_at >= %s AND rated_at < %s GROUP BY teammate_id) r
                 ON r.teammate_id = t.id
          LEFT JOIN (SELECT teammate_id, count(*) AS n FROM ratings_ratingrequest
                      WHERE created_at >= %s AND created_at < %s GROUP BY teammate_id) q
                 ON q.teammate_id = t.id
         WHERE r.teammate_id IS NOT NULL OR q.teammate_id IS NOT NULL
         ORDER BY t.name
    """
    return sql, [period.start, period.end] * 2


def hand_comments(
    period, vendor, *, values=(), followed_up=None, teammate_id=None, achievements=False, kind=None
):
    """One page of rated conversations, newest first, with the number of all of them (R3 is of
    the teammates' ratings by default, B6: `kind`)."""

    def where(alias):
        sql = f"{alias}rated_at >= %s AND {alias}rated_at < %s" if period else "TRUE"
        if kind:
            sql += f" AND {alias}kind = '{kind}'"
        if values:
            sql += f" AND {alias}value IN ({', '.join(str(int(v)) for v in values)})"
        if followed_up is not None:
            sql += f" AND {alias}followed_up_at IS {'NOT ' if followed_up else ''}NULL"
        if teammate_id:
            sql += f" AND {alias}teammate_id = {int(teammate_id)}"
        if achievements:
            sql += f" AND {alias}value IN (4, 5) AND {alias}comment <> ''"
        return sql

    sql = f"""
        SELECT r.id, r.value, r.comment, r.reasons, r.rated_at, r.followed_up_at,
               t.name, c.name, c.email, v.id, v.subject, u.username,
               (SELECT count(*) FROM ratings_rating WHERE {where("")})
          FROM ratings_rating r
          LEFT JOIN conversations_teammate t ON t.id = r.teammate_id
          JOIN ratings_ratingrequest q ON q.id = r.request_id
          JOIN conversations_contact c ON c.id = q.contact_id
          JOIN conversations_conversation v ON v.id = r.conversation_id
          LEFT JOIN auth_user u ON u.id = r.followed_up_by_id
         WHERE {where("r.")}
         ORDER BY r.rated_at DESC, r.id DESC
         LIMIT {PAGE_SIZE}
    """
    return sql, [period.start, period.end] * 2 if period else []


def run_sql(sql_and_params) -> None:
    from django.db import connection

    sql, params = sql_and_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()


def timed(function, repeat: int) -> float:
    """Median milliseconds of `repeat` calls, after one warm-up call."""
    return timed_cpu(function, repeat)[0]


def timed_cpu(function, repeat: int) -> tuple[float, float]:
    """Median wall and median CPU milliseconds (this process: Django, the driver; not the
    database server) of `repeat` calls, after one warm-up call."""
    function()
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(times), statistics.median(cpu)


def fetch(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    if response.streaming:
        for _ in response.streaming_content:  # the whole stream, as a download would
            pass
    else:
        assert response.content


FLOOR_URL = "/bench/reports-floor/"
YEAR_DAYS = 365


def periods():
    """The default period (last 30 days) and a year (365 days to today, as `from`/`to`)."""
    from datetime import timedelta as days

    from reports.selectors import Period, period_last

    month = period_last(30)
    year = Period(first_day=month.last_day - days(days=YEAR_DAYS - 1), last_day=month.last_day)
    return {"30 d": (month, ""), "year": (year, f"from={year.first_day}&to={year.last_day}")}


def page_list(busiest_teammate: int) -> list:
    """(name, url, key of the hand-written statement, period key): the real pages, each over
    the default 30 days and over a year; R4 all time. The query strings are the pages' own
    (`reaction` for R3's filter)."""
    pages = []
    for span, (_, query) in periods().items():
        amp = f"&{query}" if query else ""
        question = f"?{query}" if query else ""
        pages += [
            (f"R1 summary, {span}", f"/reports/{question}", "summary", span),
            (f"R2 teammates, {span}", f"/reports/teammates/{question}", "teammates", span),
            (f"R3 low, {span}", f"/reports/comments/?reaction=1&reaction=2{amp}", "low", span),
            (
                f"R3 to follow up, {span}",
                f"/reports/comments/?reaction=1&reaction=2&followed=no{amp}",
                "to follow up",
                span,
            ),
            (f"R3 comments, {span}", f"/reports/comments/{question}", "comments", span),
            (f"R2 teammates.csv, {span}", f"/reports/teammates.csv{question}", "teammates", span),
        ]
    pages.insert(
        6,
        (
            "R4 achievements, all time",
            f"/reports/achievements/?teammate={busiest_teammate}",
            "achievements",
            "30 d",
        ),
    )
    return pages


def page_cases(manager, busiest_teammate: int) -> list:
    """The real pages through Django's test Client, as a manager."""
    from django.test import Client

    client = Client()
    client.force_login(manager)
    return [
        (name, lambda url=url: fetch(client, url), key, span)
        for name, url, key, span in page_list(busiest_teammate)
    ]


def floor_case(manager):
    """The floor: an empty page through the same decorators (login, the reports'
    permission), session, middleware and base template (`bench/reports_urls.py`)."""
    from django.test import Client

    client = Client()
    client.force_login(manager)
    return lambda: fetch(client, FLOOR_URL)


def selector_cases(busiest_teammate: int) -> list:
    """The selectors the pages call, for when the pages cannot be fetched."""
    from django.core.paginator import Paginator

    from reports import selectors

    def page_of(queryset):
        page = Paginator(queryset, PAGE_SIZE).page(1)
        return list(page.object_list), page.paginator.count

    def summary(period):
        selectors.csat_summary(period=period)
        selectors.csat_trend(period=period)
        selectors.teammates_for_filter()

    rows = []
    for span, (period, _) in periods().items():
        rows += [
            (f"csat_summary + csat_trend, {span}", lambda p=period: summary(p), "summary", span),
            (
                f"teammates_table, {span}",
                lambda p=period: selectors.teammates_table(period=p),
                "teammates",
                span,
            ),
            (
                f"comments(values=(1, 2)), {span}",
                lambda p=period: page_of(selectors.comments(period=p, values=(1, 2))),
                "low",
                span,
            ),
            (
                f"comments(values=(1, 2), followed_up=False), {span}",
                lambda p=period: page_of(
                    selectors.comments(period=p, values=(1, 2), followed_up=False)
                ),
                "to follow up",
                span,
            ),
            (
                f"comments(), {span}",
                lambda p=period: page_of(selectors.comments(period=p)),
                "comments",
                span,
            ),
        ]
    rows.append(
        (
            "achievements(all time)",
            lambda: page_of(selectors.achievements(teammate_id=busiest_teammate)),
            "achievements",
            "30 d",
        )
    )
    return rows


def cases(manager, busiest_teammate: int):
    """(mode, floor or None, [(name, run the page once, the hand-written statement, the
    scan statement or None)])."""
    from django.db import connection

    vendor = connection.vendor
    statements, scans = {}, {}
    for span, (period, _) in periods().items():
        statements[span] = {
            "summary": hand_summary(period, vendor),
            "teammates": hand_teammates(period, vendor),
            "low": hand_comments(period, vendor, values=(1, 2), kind="teammate"),
            "to follow up": hand_comments(
                period, vendor, values=(1, 2), followed_up=False, kind="teammate"
            ),
            "comments": hand_comments(period, vendor, kind="teammate"),
            "achievements": hand_comments(
                None, vendor, teammate_id=busiest_teammate, achievements=True
            ),
        }
        scans[span] = {
            "summary": scan_summary(period, vendor),
            "teammates": scan_teammates(period, vendor),
        }
    mode, rows = "pages", page_cases(manager, busiest_teammate)
    floor = floor_case(manager)
    logging.disable(logging.ERROR)  # a page that fails is reported below, not with its trace
    try:
        floor()
        for _, run_page, _, _ in rows:
            run_page()
    except Exception as error:  # noqa: BLE001 - any failure: measure the selectors instead
        mode = f"selectors, not the pages ({type(error).__name__}: {error})"
        rows, floor = selector_cases(busiest_teammate), None
    finally:
        logging.disable(logging.NOTSET)
    return (
        mode,
        floor,
        [
            (name, run, statements[span][key], scans[span].get(key) if "csv" not in name else None)
            for name, run, key, span in rows
        ],
    )


def page_queries(run_page) -> list[tuple[float, str]]:
    """The queries of one run of the page: (ms, SQL), in the order they ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run_page()
    return [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]


PAGE_AIM_MS = 250
FLOOR_AIM = 1.5


def measure(size: int, manager, busiest_teammate: int, repeat: int, queries: bool) -> None:
    from django.db import connection

    from ratings.models import Rating, RatingRequest

    mode, floor, rows = cases(manager, busiest_teammate)
    spans = []
    for span, (period, _) in periods().items():
        in_period = Rating.objects.filter(rated_at__gte=period.start, rated_at__lt=period.end)
        sent = RatingRequest.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        spans.append(f"{span}: {in_period.count():,} ratings, {sent.count():,} requests")
    print(
        f"\n{size:,} ratings on {connection.vendor}; {'; '.join(spans)}; median of {repeat};"
        f" measuring {mode}; machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    floor_ms, floor_cpu = timed_cpu(floor, repeat) if floor else (None, None)
    if floor_ms:
        print(
            "floor, an empty page through the same session, permission and base template:"
            f" {floor_ms:.1f} ms, {floor_cpu:.1f} ms CPU"
        )
    print(
        f"{'page':<34} {'page ms':>8} {'÷ floor':>7} {'CPU ms':>7} {'÷ floor':>7}"
        f" {'SQL ms':>7} {'÷ SQL':>7} {'scan ms':>8}"
    )
    misses = []
    for name, run_page, statement, scan in rows:
        page_ms, page_cpu = timed_cpu(run_page, repeat)
        sql_ms = timed(lambda statement=statement: run_sql(statement), repeat)
        scan_ms = f"{timed(lambda scan=scan: run_sql(scan), repeat):8.1f}" if scan else f"{'—':>8}"
        over_floor = page_ms / floor_ms if floor_ms else None
        cpu_over = page_cpu / floor_cpu if floor_cpu else None
        shown = f"{over_floor:7.2f}" if over_floor else f"{'—':>7}"
        cpu_shown = f"{cpu_over:7.2f}" if cpu_over else f"{'—':>7}"
        print(
            f"{name:<34} {page_ms:8.1f} {shown} {page_cpu:7.1f} {cpu_shown}"
            f" {sql_ms:7.1f} {page_ms / sql_ms:7.2f} {scan_ms}",
            flush=True,
        )
        if page_ms > PAGE_AIM_MS or (over_floor or 0) > FLOOR_AIM:
            misses.append(name)
        if queries:
            for ms, sql in page_queries(run_page):
                print(f"    {ms:8.1f} ms  {' '.join(sql.split())[:110]}")
    aims = f"aims: ≤ {PAGE_AIM_MS} ms a page, ≤ {FLOOR_AIM}× the floor"
    print(f"{aims}; missed by: {', '.join(misses)}" if misses else f"{aims}: all met")


def main():
    args = parse()
    setup_django(args)
    from django.contrib.auth.models import User
    from django.db.models import Count

    from ratings.models import Rating

    now = datetime.now(UTC)
    if args.no_seed:
        manager = User.objects.get(username="bench-manager")
    else:
        seeder = Seeder(teammates=args.teammates, now=now)
        manager = seeder.manager
    total = 0
    for size in args.sizes if not args.no_seed else [Rating.objects.count()]:
        if not args.no_seed:
            started = time.perf_counter()
            seeder.grow(size - total)
            total = size
            print(f"seeded up to {size:,} ratings in {time.perf_counter() - started:.0f} s")
        busiest = (
            Rating.objects.values("teammate_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("teammate_id", flat=True)
            .first()
        )
        measure(size, manager, busiest, args.repeat, args.queries)


if __name__ == "__main__":
    main()
