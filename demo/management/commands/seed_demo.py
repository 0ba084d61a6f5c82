"""Demo data made through the services: `manage.py seed_demo [--conversations N] [--if-empty]
[--seed S] [--processes P] [--progress] [--path auto|services|set-based]`.

The conversations come from `demo.play`; the rating side (a worker deciding on each close,
customers answering their surveys) from `demo.customers`, through the `after_close` hook;
`--processes` splits the timeline between processes (`demo.parallel`). A large run (from
`demo.bulk.SET_BASED_FROM` conversations, or `--path set-based`) makes the same plans in memory
by the services' own changes and rules and writes them in bulk (`demo.bulk`). What is written
through the services and what set-based: README.md, *Demo data*.
"""

import secrets
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max
from django.test.utils import override_settings
from django.utils import timezone
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from api.models import Webhook
from conversations import poll_versions
from conversations.logins_made import login_made
from conversations.models import Channel, Conversation, Origin, State
from conversations.services import TEAMMATES_GROUP
from conversations.signals import conversation_closed
from demo import alerted, bulk, customers, languages, mailed, parallel, play
from ratings.configure import rating_settings_update
from ratings.figures import figures_rebuild
from ratings.models import Rating, RatingSettings
from ratings.rules import RULE_WORDS
from ratings.services import on_conversation_closed
from reports.access import MANAGERS_GROUP

# The receiver that queues a decision after each close (ratings/apps.py).
RECEIVER_UID = "ratings.enqueue"

# For the length of the run: the surveys are built and handed to a backend that drops them
# (the demo customers are at example.* addresses, and a console backend would print thousands),
# and no SQL is kept in memory or logged (DEBUG=true, as `make run` sets it, does both for
# every query).
SEED_SETTINGS = {
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    "DEBUG": False,
    # Each close is decided at its own moment on the timeline, by its own task, as a quiet
    # installation decides it: a D6 batch would decide other conversations' closes at this
    # one's clock, and a slice seeded in another process at another clock.
    "RATING_DECISION_BATCH": 1,
}


class RateColumn(ProgressColumn):
    """Conversations a second, over rich's recent samples."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "  …/s", style="progress.data.speed")


class Bar:
    """The progress bar on stderr: conversations made out of the total, their rate, the time
    spent and the time left. On a terminal, rich.progress's bar, redrawn in place; off a
    terminal with `--progress` (a log, `make run` piped), one line at each tenth done and at
    the end ("Seeding: 40% (40,000/100,000 conversations), 410/s, 2:26 left"), so a log gets
    at most eleven lines; otherwise nothing, so that `make run`'s output and the tests' stay
    clean. It moves on as each batch is committed."""

    STEPS = 10  # lines off a terminal: one per tenth

    def __init__(self, out, *, enabled: bool):
        self.enabled = enabled
        self.progress = None
        self.out = getattr(out, "_out", out)  # the stream under Django's OutputWrapper
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()
        self.total = self.done = self.shown = 0
        self.began = 0.0

    def start(self, total: int) -> None:
        if not self.enabled or not total:
            return
        self.total, self.done, self.shown = total, 0, 0
        self.began = time.monotonic()
        if not self.tty:
            return
        console = Console(file=self.out)
        self.progress = Progress(
            TextColumn("Seeding"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("conversations"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task("seed", total=total)
        self.progress.start()

    def __call__(self, advance: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, advance)
        elif self.total:
            self.done += advance
            step = self.done * self.STEPS // self.total
            if step > self.shown:
                self.shown = step
                self.out.write(self.line() + "\n")
                self.out.flush()

    def line(self) -> str:
        seconds = time.monotonic() - self.began
        rate = self.done / seconds if seconds > 0 else 0
        left = (self.total - self.done) / rate if rate else 0
        return (
            f"Seeding: {100 * self.done // self.total}% ({self.done:,}/{self.total:,} "
            f"conversations), {rate:,.0f}/s, {int(left) // 60}:{int(left) % 60:02d} left"
        )

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        self.total = 0


def _counts(counter, choices) -> str:
    return ", ".join(f"{label.lower()} {counter.get(value, 0)}" for value, label in choices)


class Command(BaseCommand):
    help = (
        "Make demo data through the services: teammates with logins, a manager who reads the "
        "reports, contacts, workflows and "
        "conversations over the last 90 days in every state, on both channels, from every "
        "origin; each close decided by the rating rules, and a share of the surveys answered, "
        "changed and commented on. Every conversation, part, close, decision, rating, change "
        "and comment goes through its service; the contacts are written together by "
        "contacts_create (each checked as contact_create checks one), and the email threads' "
        "sent-mail records after the run. From 2,000 conversations (--path) the same plans "
        "are made in memory by the services' own changes and rules and written in bulk "
        "(demo.bulk), the same rows for the same seed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--conversations",
            type=int,
            default=200,
            metavar="N",
            help="how many conversations to make (default 200)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when there is any conversation already",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            metavar="S",
            help="random seed: the same seed makes the same conversations and answers "
            "(default: a new one, printed)",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            metavar="N",
            help="play the conversations in N processes at once, each its own slice of the "
            "timeline through the same services, so the same seed makes the same data "
            "(PostgreSQL only; default 1)",
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="draw the progress bar even when stderr is not a terminal (on a terminal it "
            "is drawn anyway)",
        )
        parser.add_argument(
            "--path",
            choices=["auto", "services", "set-based"],
            default="auto",
            help="services: every step through its service; set-based: the same plans made "
            "in memory by the services' changes and rules, written in bulk (demo.bulk); "
            f"auto (default): set-based from {bulk.SET_BASED_FROM:,} conversations",
        )
        parser.add_argument(
            "--french-survey",
            action="store_true",
            help="also close one French customer's email conversation now (L2): its survey, "
            "sent by the worker, is in French (make run)",
        )
        parser.add_argument(
            "--logins-file",
            metavar="PATH",
            help="also note each login made, with its password, in PATH (make run's banner)",
        )

    def handle(
        self,
        *args,
        conversations,
        if_empty,
        seed,
        verbosity,
        logins_file,
        processes=1,
        progress=False,
        french_survey=False,
        path="auto",
        **options,
    ):
        if conversations < 0:
            raise CommandError("--conversations must be 0 or more.")
        try:
            parallel.check(processes)
        except parallel.ParallelRefused as refused:
            raise CommandError(str(refused)) from None
        if if_empty and Conversation.objects.exists():
            self.stdout.write("Demo data skipped: there are conversations already (--if-empty).")
            return
        set_based = self._set_based(path, conversations)
        if seed is None:
            seed = secrets.randbelow(1_000_000)
        password = secrets.token_urlsafe(12)  # one per run, printed once, never stored in code

        began = time.monotonic()
        now = timezone.now()
        User = get_user_model()
        users_before = User.objects.aggregate(last=Max("pk"))["last"] or 0
        tty = self.stderr.isatty()
        bar = Bar(self.stderr, enabled=verbosity > 0 and (progress or tty))
        # The demo decides each close itself, at its past moment (demo.customers); the receiver
        # would queue a task per close to decide again at the real time, for nothing.
        connected = conversation_closed.disconnect(dispatch_uid=RECEIVER_UID)
        try:
            with override_settings(**SEED_SETTINGS), mailed.mail_off(), alerted.alerts_off():
                if conversations and not RatingSettings.current().ask_bot:
                    # B: the demo's bot closes some conversations alone; ask about it.
                    rating_settings_update(by=None, ask_bot=True)
                side = bulk.BulkCustomers if set_based else customers.Customers
                rating_side = side(seed=seed, now=now)
                bar.start(conversations)
                report = play.seed(
                    conversations=conversations,
                    seed=seed,
                    password=password,
                    progress=bar,
                    now=now,
                    after_close=rating_side.after_close,
                    before_play=rating_side.before_play,
                    after_lead=rating_side.after_lead,
                    processes=processes,
                    **({"batches": bulk.play_batches, "batch": bulk.BATCH} if set_based else {}),
                )
                bar.finish()
                if set_based:
                    # The daily figures the services move on with each request and answer,
                    # recounted from the rows (what they always equal).
                    figures_rebuild()
                    # H4: its rows went in without the signals that bump the Messenger poll's
                    # cached versions: every entry at once, as after a migration.
                    poll_versions.bump(everything=True)
                ratings = customers.figures([c.pk for c in report.conversations])
            if not set_based:  # the set-based path marks its batches as it writes them
                mailed.mark_mailed([c.pk for c in report.conversations])
            # N: the newest terrible rating's alert goes out now (the worker sends it to the
            # admin's Sent mail); the older ones are history, as if sent at their moment.
            alerted.alert_newest_terrible([c.pk for c in report.conversations])
        finally:
            if connected:
                conversation_closed.connect(on_conversation_closed, dispatch_uid=RECEIVER_UID)
            bar.finish()
        report.path = "set-based" if set_based else "services"
        self._summary(report, ratings, password, time.monotonic() - began)
        if french_survey and (contact := languages.french_survey()) is not None:
            self.stdout.write(
                f"  French:   {contact} closed a conversation now: the worker sends the survey "
                "in French (L2)"
            )
        if logins_file:
            # Every login this run made has the run's password.
            made = User.objects.filter(pk__gt=users_before).order_by("pk")
            for username in made.values_list("username", flat=True):
                login_made(logins_file, username=username, password=password)

    @staticmethod
    def _set_based(path: str, conversations: int) -> bool:
        """Whether this run takes the set-based path. Refused (and `auto` stays with the
        services) while a webhook is active: its receiver records a delivery for every
        rating event, which the set-based path does not send."""
        if path == "services" or (path == "auto" and conversations < bulk.SET_BASED_FROM):
            return False
        if Webhook.objects.filter(active=True).exists():
            if path == "set-based":
                raise CommandError(
                    "--path set-based sends no rating events to webhooks: deactivate the "
                    "active webhooks, or use --path services."
                )
            return False
        return True

    @staticmethod
    def _login(teammate, new) -> str:
        mark = "" if teammate.pk in new or not new else "  (existed: password unchanged)"
        return f"  {teammate.user.username:<16} {teammate.name}{mark}"

    def _summary(self, report, ratings, password, elapsed):
        write = self.stdout.write
        made = len(report.conversations)
        rate = made / report.seconds_conversations if report.seconds_conversations else 0
        f = report.figures
        write(
            self.style.SUCCESS(
                f"Demo data: {made} conversations in {report.seconds:.1f} s "
                f"({report.seconds_conversations:.1f} s for the conversations and their "
                f"ratings, {rate:.0f}/s), seed {report.seed}, "
                f"{getattr(report, 'path', 'services')}"
            )
        )
        write(f"  state:    {_counts(report.counts('state'), State.choices)}")
        write(f"  channel:  {_counts(report.counts('channel'), Channel.choices)}")
        write(f"  origin:   {_counts(report.counts('origin'), Origin.choices)}")
        parts = f["parts"]
        write(
            f"  parts:    {sum(parts.values())} ({parts.get('reply', 0)} replies, "
            f"{parts.get('note', 0)} notes, {parts.get('bot', 0)} bot messages, "
            f"{parts.get('event', 0)} events)"
        )
        write(
            f"  closes:   {f['closes']} ({f['quiet_closes']} quiet, {f['late_closes']} more "
            f"than 7 days after the last reply)"
        )
        skipped = ratings["skipped"]
        by_rule = ", ".join(f"{rule} {skipped[rule]}" for rule in RULE_WORDS if skipped.get(rule))
        write(
            f"  decided:  {ratings['decisions']} closes: {ratings['sent']} surveys sent, "
            f"{sum(skipped.values())} skipped ({by_rule or 'none'})"
        )
        values = ratings["ratings"]
        answered = sum(values.values())
        response = 100 * answered / ratings["requests"] if ratings["requests"] else 0
        write(
            f"  ratings:  {answered} (response rate {response:.0f} %): "
            f"{_counts(values, sorted(Rating.Value.choices, reverse=True))}; "
            f"{ratings['changes']} changed, {ratings['comments']} with a comment"
        )
        write(
            f"  group conversations: {f['groups']}; with 250 visible characters or fewer: "
            f"{f['short']}"
        )
        cast = report.cast
        leads = sum(1 for c in cast.contacts if c.role == "lead")
        write(
            f"  contacts: {len(cast.contacts)}, of which leads: {leads}, new: {cast.new_contacts}"
        )
        write(f"  workflows: {', '.join(w.name for w, _ in cast.workflows)}")
        write(f"  elapsed:  {elapsed:.1f} s")
        new = {t.pk for t in cast.new_teammates + cast.new_managers}
        write(f'Teammate logins (staff, group "{TEAMMATES_GROUP}"), at /admin/:')
        for teammate in cast.teammates:
            write(self._login(teammate, new))
        if cast.managers:
            write(
                f'Manager login (a teammate in the group "{MANAGERS_GROUP}"; '
                "the reports at /reports/):"
            )
            for manager in cast.managers:
                write(self._login(manager, new))
        for username in cast.skipped_usernames:
            write(f"  {username:<16} skipped: a user who is not a teammate has this username")
        if new:
            write(
                self.style.WARNING(
                    f"  password for the new logins: {password}  (shown once; "
                    "`manage.py changepassword USERNAME` sets another)"
                )
            )
        else:
            write(
                "  (they existed already and keep their passwords; "
                "`manage.py changepassword USERNAME` sets one)"
            )
