"""The production topology on real processes, under load and faults (DESIGN.md D4, D5).

    .venv/bin/python bench/topology.py [--short] [--database-url postgres://…/csat_topology]

On loopback only, it builds a FRESH PostgreSQL database (dropped and created again, then
migrated), starts its own redis-server on a free port, an SMTP sink (aiosmtpd, a subprocess that
logs every message by the rating request its links name, and can refuse mail with 451),
gunicorn (3 gthread workers: 2 cores) and two `manage.py worker` processes (django-q2's qcluster
with the fast sweeps, D8) on that Redis. It
then drives them over HTTP only: a teammate's API token creates conversations, replies and
closes them (REST API); customers open the rating links of the emails the sink received, let
the page post its click (with the CSRF cookie and token, as a browser), and sometimes comment.

Scenarios, one row each, with the same accounting once the system has settled:
  steady     load as fast as the API takes it (closes/s decided, rating-click latency)
  kill -9    one qcluster's whole process group killed mid-run, restarted seconds later
  redis      Redis stopped mid-run (its queued tasks are gone) and started again
  smtp 451   the sink refuses every message for a while, then accepts again
  pg cut     every PostgreSQL backend of the database terminated mid-run (three times)
Then the side-by-side ratios: rating clicks (and the page, the POST and the page after the
303 apart) vs a bare Django view under the same gunicorn, closes through the API vs a bare DRF
view (`api closes`, a row of its own), and decisions/s of the two clusters vs their floor (a
task that inserts one row).

It exits non-zero when any row has a duplicate, a lost close, a wrong decision, a rating click
accepted but not recorded (or the other way), or did not settle within its bound. Every
process it started is stopped by its pid in `finally`; their logs stay in the printed folder.
See bench/README.md for the columns.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from benchkit import free_port, redis_server_argv  # bench/, the scripts' folder

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/csat_topology"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
API = "/api/v1"
SWEEP_GRACE = 10  # RATING_SWEEP_GRACE_SECONDS of the processes
LATE = SWEEP_GRACE  # a close decided later than this after it was made waited for the sweep


@dataclass(frozen=True)
class Mode:
    closes: int  # per scenario
    paced_rate: float  # closes/s in the fault scenarios (the load spans the fault)
    fault_at: float  # seconds into the load when the fault starts
    kill_down: float  # seconds a killed cluster stays down
    redis_down: float  # seconds Redis stays down
    smtp_refuse: float  # seconds the sink refuses mail
    settle: float  # bound, seconds after the load, for everything to be decided and delivered
    teammates: int  # concurrent API clients
    customers: int  # concurrent rating-link clickers
    ratio_seconds: float  # each side of the click/bare ratio
    throughput_closes: int  # closes queued for the decisions/s measure
    floor_tasks: int  # floor tasks queued for the floor measure


MODES = {
    "short": Mode(
        closes=300,
        paced_rate=30.0,
        fault_at=3.0,
        kill_down=3.0,
        redis_down=2.0,
        smtp_refuse=10.0,
        settle=150.0,
        teammates=6,
        customers=4,
        ratio_seconds=6.0,
        throughput_closes=400,
        floor_tasks=3000,
    ),
    "full": Mode(
        closes=2000,
        paced_rate=25.0,
        fault_at=12.0,
        kill_down=5.0,
        redis_down=3.0,
        smtp_refuse=30.0,
        settle=300.0,
        teammates=8,
        customers=6,
        ratio_seconds=20.0,
        throughput_closes=2000,
        floor_tasks=6000,
    ),
}

# --- what the teammates make: the plan of every ten closes -----------------------------------

BOT = "Hello from the billing team: we saw a question about your invoice and opened this thread."
LONG = (
    "Thanks for writing in. I looked at your account and the second charge this month was a "
    "duplicate made by our payment provider during a retry. I have refunded it in full; the "
    "money is back on your card within three to five working days. Nothing else is needed on "
    "your side, and the next invoice will show the correction — sorry for the trouble!"
)
SHORT = "Done: refunded. Anything else?"
assert len(LONG) > 260 and len(SHORT) * 3 < 250  # E3 holds even if a reply is retried twice


@dataclass(frozen=True)
class Kind:
    channel: str
    origin: str
    first: str  # the first message: a bot message (api) or the teammate's (direct_outbound)
    reply: str | None  # the teammate's reply, if any
    quiet: bool
    outcome: str  # the decision the rules must record: "sent" or the skip's rule
    contact: str = "user"


PLAN = [
    Kind("email", "api", BOT, LONG, False, "sent"),
    Kind("messenger", "api", BOT, LONG, False, "sent", contact="lead"),
    Kind("email", "direct_outbound", LONG, None, False, "sent"),
    Kind("email", "api", BOT, SHORT, False, "E3"),
    Kind("email", "api", BOT, LONG, False, "sent", contact="lead"),
    Kind("messenger", "api", BOT, LONG, False, "sent"),
    Kind("email", "api", BOT, LONG, True, "E8"),
    Kind("email", "api", BOT, LONG, False, "sent"),
    Kind("email", "api", BOT, None, False, "E2", contact="lead"),
    Kind("email", "api", BOT, LONG, False, "sent"),
]
REACTION_WEIGHTS = {5: 35, 4: 30, 3: 15, 2: 12, 1: 8}
COMMENT_SHARE = 0.3
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REASON_INPUT = re.compile(r'name="reasons" value="([^"]+)"')


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


CPU_GROUPS = [
    ("qcluster", "qcluster"),
    ("qcluster", "manage.py worker"),  # a cluster's main process, with the fast sweeps (D8)
    ("gunicorn", "gunicorn"),
    ("postgres", "postgres"),
    ("redis", "redis-server"),
    ("smtp sink", "topology_sink"),
    ("harness", "bench/topology.py"),
    ("py-spy", "py-spy"),
]


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """Each process's command line and CPU seconds so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    snapshot = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            snapshot[int(entry.name)] = (cmdline, (int(fields[11]) + int(fields[12])) / tick)
    return snapshot


def cpu_by_group(before: dict, after: dict, dbname: str) -> collections.Counter:
    """CPU seconds between two snapshots by kind of process; "postgres" is the backends of
    `dbname` only; everything else on the machine is "other"."""
    spent: collections.Counter = collections.Counter()
    for pid, (cmdline, seconds) in after.items():
        used = seconds - before.get(pid, (cmdline, 0.0))[1]
        group = next((name for name, mark in CPU_GROUPS if mark in cmdline), "other")
        if group == "postgres" and f" {dbname} " not in cmdline:
            group = "other"
        spent[group] += used
    return spent


def profile_summary(path: Path, top: int = 14) -> str:
    """The folded stacks of py-spy: where the samples were (inclusive), for frames of this
    project, Django, DRF, django-q2 and psycopg, and the busiest leaf frames."""
    inclusive, leaves, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [
            re.sub(r":\d+\)$", ")", frame)  # a function, whatever its line
            for frame in stack.split(";")
            if not frame.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        total += int(count)
        leaves[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        return "  (no samples)"
    wanted = ("/work/", "django/", "rest_framework/", "django_q/", "psycopg/", "smtplib")
    lines = [f"  {total} samples; inclusive:"]
    ours = [(f, n) for f, n in inclusive.most_common() if any(w in f for w in wanted)]
    lines += [f"  {n / total:6.1%}  {f[:130]}" for f, n in ours[:top]]
    lines.append("  leaves:")
    lines += [f"  {n / total:6.1%}  {f[:130]}" for f, n in leaves.most_common(top // 2)]
    return "\n".join(lines)


# --- one scenario's bookkeeping -------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    fault: str = ""
    closes: int = 0  # closes the API acknowledged
    plan: dict[int, Kind] = field(default_factory=dict)  # conversation id -> what it should decide
    http_errors: int = 0  # 5xx and broken connections the clients retried
    close_errors: list[str] = field(default_factory=list)  # closes that could not be made
    clicks_ok: set[int] = field(default_factory=set)  # requests whose click was accepted (303)
    clicks_refused: int = 0
    comments_ok: set[int] = field(default_factory=set)
    click_seconds: list[float] = field(default_factory=list)
    # API call -> seconds of each (create, reply, close)
    api_seconds: dict[str, list[float]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    clicks_pending: int = 0
    load_started: float = 0.0
    load_ended: float = 0.0
    fault_ended: float | None = None
    settled_at: float | None = None
    accounting: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def recovery(self) -> float | None:
        if self.settled_at is None:
            return None
        return max(0.0, self.settled_at - max(self.fault_ended or 0.0, self.load_ended))

    @property
    def failures(self) -> list[str]:
        a = self.accounting
        problems = []
        if self.settled_at is None:
            problems.append("did not settle")
        for key in ("duplicates", "lost", "wrong"):
            if a.get(key):
                problems.append(f"{a[key]} {key}")
        if a.get("ratings") != len(self.clicks_ok):
            problems.append("ratings != clicks accepted")
        if a.get("comments") != len(self.comments_ok):
            problems.append("comments != comments accepted")
        if self.closes != a.get("closes_db"):
            problems.append("closes acknowledged != closes in the database")
        if self.close_errors:
            problems.append(f"{len(self.close_errors)} closes not made ({self.close_errors[0]})")
        return problems


@dataclass
class Mail:
    """What the sink received: messages per rating request, refusals."""

    counts: collections.Counter = field(default_factory=collections.Counter)
    refused: int = 0
    offset: int = 0


# --- the harness ----------------------------------------------------------------------------


class Topology:
    def __init__(self, args, mode: Mode):
        self.args = args
        self.mode = mode
        self.tmp = Path(tempfile.mkdtemp(prefix="csat_topology_"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.database_url = args.database_url
        url = urlsplit(self.database_url)
        if url.scheme not in ("postgres", "postgresql") or url.hostname not in LOOPBACK:
            raise SystemExit("--database-url must be a PostgreSQL database on 127.0.0.1")
        self.dbname = url.path.lstrip("/")
        self.dsn = f"host={url.hostname} port={url.port or 5432} user={url.username or 'postgres'}"
        if url.password:
            self.dsn += f" password={url.password}"
        self.web_port, self.redis_port, self.smtp_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.secret = secrets.token_urlsafe(50)
        self.sink_log = self.tmp / "mail.jsonl"
        self.refuse_flag = self.tmp / "refuse-mail"
        self.slow_flag = self.tmp / "slow-mail"
        self.mail = Mail()
        self.env = self._env()
        self.cluster_names = ["qcluster-1", "qcluster-2"]
        self.conversation_scenario: dict[int, Scenario] = {}
        self.click_queue: asyncio.Queue | None = None
        self.clicks_allowed = asyncio.Event()
        self.contacts: dict[str, list[int]] = {}
        self.links: dict[int, dict[str, str]] = {}  # request id -> reaction links
        self.scenarios: list[Scenario] = []
        self.ratios: list[str] = []
        self.random = random.Random(args.seed)

    def _env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "topology_settings",
                "PYTHONPATH": os.pathsep.join(
                    [str(ROOT), str(BENCH)]
                ),  # ROOT first: bench/reports.py
                "DEBUG": "false",
                "SECRET_KEY": self.secret,
                # K3: outside DEBUG the encrypted fields need a key (a Fernet key: 32 random bytes).
                "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SITE_URL": self.base,
                "DATABASE_URL": self.database_url,
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}",
                # Plain http on loopback: the HTTPS hardening that DEBUG=false turns on is off.
                "SECURE_SSL_REDIRECT": "false",
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                "SECURE_HSTS_SECONDS": "0",
                "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
                "SECURE_HSTS_PRELOAD": "false",
                "BEHIND_TLS_PROXY": "false",
                # D5 within the run: a close undecided for 10 s is swept (every few seconds by
                # the fast sweep, D8), and a refused survey is tried again after 10, 20, 40 … s
                # instead of minutes (or at once once a survey went out again, D7).
                "RATING_SWEEP_GRACE_SECONDS": str(SWEEP_GRACE),
                "RATING_DELIVERY_RETRY_SECONDS": "5",
                "Q_WORKERS": str(self.args.q_workers),
                "Q_TIMEOUT": "30",
                "Q_RETRY": "60",
                "LOG_LEVEL": "WARNING",
                # bench/topology_settings.py: collectstatic writes here.
                "CSAT_TOPOLOGY_STATIC_ROOT": str(self.tmp / "static"),
            }
        )
        env.update(extra)
        return env

    # --- processes ---------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        with open(self.tmp / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env or self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: pgid == pid
            )
        self.procs[name] = proc
        return proc

    def stop(self, name: str, sig=signal.SIGTERM, timeout: float = 40.0) -> None:
        """Stop one process we started, by its pid; its group is killed only if it hangs."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {timeout:.0f} s: SIGKILL to its group")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if name.startswith("qcluster"):
            # Children left behind by a cluster that stopped (or was killed) are ours too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def kill_group(self, name: str) -> None:
        """kill -9 of a process and every process of its group (a cluster's workers)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for name in [n for n in self.procs if n.startswith("qcluster")]:
            self.stop(name, signal.SIGTERM)
        for name in ("gunicorn", "smtp-sink", "redis"):
            self.stop(name, signal.SIGTERM)
        for name in list(self.procs):
            self.stop(name, signal.SIGTERM)

    def manage(self, *args: str, env: dict | None = None) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def django(self, *args: str) -> dict:
        result = subprocess.run(
            [PY, str(BENCH / "topology_django.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise SystemExit(f"topology_django {args[0]} failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def sql(self, query: str, params=(), *, dbname: str | None = None):
        import psycopg

        with psycopg.connect(
            f"{self.dsn} dbname={dbname or self.dbname}", autocommit=True, connect_timeout=5
        ) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else None

    def create_database(self) -> None:
        log(f"fresh database {self.dbname}")
        self.sql(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)', dbname="postgres")
        self.sql(f'CREATE DATABASE "{self.dbname}"', dbname="postgres")
        self.manage("migrate", "--noinput", "-v", "0")
        # As a deployment does: the pages link the hashed stylesheets of the manifest.
        self.manage("collectstatic", "--noinput", "-v", "0")
        prepared = self.django("prepare")
        self.teammate_token = prepared["teammate_token"]
        self.manager_token = prepared["manager_token"]

    def start_redis(self) -> None:
        self.spawn("redis", redis_server_argv(self.redis_port))
        self.wait_port(self.redis_port, "redis")

    def start_sink(self) -> None:
        self.spawn(
            "smtp-sink",
            [
                PY,
                str(BENCH / "topology_sink.py"),
                "--port",
                str(self.smtp_port),
                "--log",
                str(self.sink_log),
                "--refuse-flag",
                str(self.refuse_flag),
                "--slow-flag",
                str(self.slow_flag),
            ],
        )
        self.wait_port(self.smtp_port, "smtp sink")

    def start_web(self) -> None:
        self.spawn(
            "gunicorn",
            [
                str(Path(PY).with_name("gunicorn")),
                "csat_project.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                str(self.args.web_workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.args.web_threads),
                "--keep-alive",
                "30",
                "--graceful-timeout",
                "20",
                "--log-level",
                "warning",
            ],
        )
        deadline = time.monotonic() + 60
        import httpx

        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    def start_cluster(self, name: str, env: dict | None = None) -> None:
        # qcluster with the fast sweeps in its main process (D8)
        self.spawn(name, [PY, "manage.py", "worker"], env=env)

    def wait_clusters(self, count: int, timeout: float = 60.0) -> None:
        """Until `count` clusters report their status in Redis (a key each, renewed each 0.5 s)."""
        import redis

        client = redis.Redis(port=self.redis_port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if len(client.keys("django_q:csat:cluster:*")) >= count:
                    return
            time.sleep(0.2)
        raise SystemExit(f"{count} clusters did not start within {timeout:.0f} s")

    def wait_port(self, port: int, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return
            time.sleep(0.1)
        raise SystemExit(f"{what} did not listen on {port} within {timeout:.0f} s")

    # --- HTTP --------------------------------------------------------------------------------

    def clients(self):
        import http.cookiejar

        import httpx

        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.api_client = httpx.AsyncClient(
            base_url=self.base,
            headers={"Authorization": f"Token {self.teammate_token}"},
            timeout=30,
            limits=limits,
        )
        self.browser = httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits)
        # Each click is a new customer: cookies are sent by hand, never kept between clicks.
        self.browser.cookies.jar.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    async def api(self, sc: Scenario | None, method: str, path: str, body=None, headers=None):
        """One API call, tried again after a 5xx or a broken connection (bounded)."""
        import httpx

        for attempt in range(10):
            try:
                response = await self.api_client.request(
                    method, API + path, json=body, headers=headers
                )
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code < 500:
                return response, attempt
            if sc is not None:
                sc.http_errors += 1
            await asyncio.sleep(min(2.0, 0.2 * 2**attempt))
        raise RuntimeError(f"{method} {path}: no answer after 10 tries")

    async def make_close(self, sc: Scenario, index: int) -> int:
        """One close of the PLAN through the API (create, reply unless E2's, close); returns
        how many calls it took (retries left out)."""
        kind = PLAN[index % len(PLAN)]
        contacts = self.contacts[kind.contact]
        contact = contacts[index % len(contacts)]

        async def call(name: str, path: str, body, headers=None):
            started = time.perf_counter()
            answer = await self.api(sc, "POST", path, body, headers=headers)
            sc.api_seconds[name].append(time.perf_counter() - started)
            return answer

        response, _ = await call(
            "create",
            "/conversations/",
            {
                "channel": kind.channel,
                "origin": kind.origin,
                "contacts": [contact],
                "body": kind.first,
                "subject": f"{sc.name} #{index}: invoice charged twice",
            },
            headers={"Idempotency-Key": f"{sc.name}-{index}"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"create: {response.status_code} {response.text[:300]}")
        conversation_id = response.json()["id"]
        sc.plan[conversation_id] = kind
        self.conversation_scenario[conversation_id] = sc
        if kind.reply:
            response, _ = await call(
                "reply", f"/conversations/{conversation_id}/replies/", {"body": kind.reply}
            )
            if response.status_code != 201:
                raise RuntimeError(f"reply: {response.status_code} {response.text[:300]}")
        response, retried = await call(
            "close", f"/conversations/{conversation_id}/close/", {"quiet": kind.quiet}
        )
        # A close whose answer was lost on the way and then tried again finds it closed.
        already = retried and response.status_code == 400 and "already closed" in response.text
        if response.status_code != 200 and not already:
            raise RuntimeError(f"close: {response.status_code} {response.text[:300]}")
        sc.closes += 1
        return 3 if kind.reply else 2

    async def make_contacts(self) -> None:
        self.contacts = {"user": [], "lead": []}
        for number in range(40):
            role = "user" if number % 2 else "lead"
            response, _ = await self.api(
                None,
                "POST",
                "/contacts/",
                {"role": role, "name": f"Customer {number}", "email": f"c{number}@topology.test"},
            )
            self.contacts[role].append(response.json()["id"])

    async def load(self, sc: Scenario, closes: int, rate: float | None, workers: int) -> None:
        """`closes` closes by `workers` teammates, paced at `rate` per second (None: flat out)."""
        tickets: asyncio.Queue = asyncio.Queue(maxsize=workers * 2)

        async def teammate():
            while (index := await tickets.get()) is not None:
                try:
                    await self.make_close(sc, index)
                except Exception as error:  # noqa: BLE001 - the row fails and says why
                    sc.close_errors.append(f"close #{index}: {error}")

        tasks = [asyncio.create_task(teammate()) for _ in range(workers)]
        sc.load_started = time.monotonic()
        for index in range(closes):
            if rate:
                delay = sc.load_started + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await tickets.put(index)
        for _ in tasks:
            await tickets.put(None)
        await asyncio.gather(*tasks)
        sc.load_ended = time.monotonic()

    # --- customers: the sink's mail, the rating links ----------------------------------------

    def read_mail(self) -> None:
        """New lines of the sink's log: count messages per request, queue each first one."""
        if not self.sink_log.exists():
            return
        with open(self.sink_log, encoding="utf-8") as f:
            f.seek(self.mail.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.mail.offset += len(complete.encode())
        for line in complete.splitlines():
            record = json.loads(line)
            if record.get("refused"):
                self.mail.refused += 1
                continue
            request_id = record["request"]
            if request_id is None:  # a teammate's reply or a bot message mailed: no survey
                continue
            self.mail.counts[request_id] += 1
            if self.mail.counts[request_id] > 1:
                continue
            self.links[request_id] = record["links"]
            sc = self.conversation_scenario.get(record["conversation"])
            if sc is not None:
                sc.clicks_pending += 1
                self.click_queue.put_nowait((sc, request_id))

    async def mail_reader(self) -> None:
        while True:
            self.read_mail()
            await asyncio.sleep(0.1)

    async def customer(self) -> None:
        while True:
            sc, request_id = await self.click_queue.get()
            await self.clicks_allowed.wait()
            try:
                await self.click(sc, request_id)
            except Exception as error:  # noqa: BLE001 - counted, shown in the row
                sc.notes.append(f"click failed: {error}")
            finally:
                sc.clicks_pending -= 1

    async def browser_get(self, url: str, cookie: str | None = None):
        headers = {"Cookie": f"csrftoken={cookie}"} if cookie else {}
        return await self.browser.get(url, headers=headers)

    async def browser_post(self, url: str, data: dict, cookie: str, referer: str):
        headers = {"Cookie": f"csrftoken={cookie}", "Origin": self.base, "Referer": referer}
        return await self.browser.post(url, data=data, headers=headers)

    async def rate_once(self, url: str, value: int) -> tuple[int, str, str, str]:
        """A customer's click: open the link (GET), the page posts the reaction (POST with the
        CSRF cookie and token), the browser follows the 303. Returns (POST status, page after,
        cookie, page address)."""
        page = await self.browser_get(url)
        if page.status_code != 200:
            return page.status_code, "", "", ""
        cookie = page.cookies.get("csrftoken")
        token = CSRF_INPUT.search(page.text).group(1)
        path = urlsplit(url).path
        posted = await self.browser_post(
            path, {"csrfmiddlewaretoken": token, "value": str(value)}, cookie, url
        )
        if posted.status_code != 303:
            return posted.status_code, "", cookie, ""
        location = posted.headers["Location"]
        after = await self.browser_get(location, cookie)
        return (303 if after.status_code == 200 else after.status_code), after.text, cookie, path

    async def click(self, sc: Scenario, request_id: int) -> None:
        import httpx

        value = self.random.choices(list(REACTION_WEIGHTS), list(REACTION_WEIGHTS.values()))[0]
        url = self.links[request_id][str(value)]
        comment = self.random.random() < COMMENT_SHARE
        for attempt in range(8):
            started = time.perf_counter()
            try:
                status, html, cookie, path = await self.rate_once(url, value)
            except httpx.TransportError:
                status = 599
            if status == 303:
                sc.click_seconds.append(time.perf_counter() - started)
                sc.clicks_ok.add(request_id)
                break
            if status < 500:
                sc.clicks_refused += 1
                sc.notes.append(f"click refused: {status}")
                return
            sc.http_errors += 1
            await asyncio.sleep(min(2.0, 0.2 * 2**attempt))
        else:
            sc.notes.append(f"click on request {request_id} never answered")
            return
        if not comment:
            return
        data = {
            "csrfmiddlewaretoken": CSRF_INPUT.search(html).group(1),
            "comment": f"Request {request_id}: {'quick and kind' if value > 2 else 'too slow'}.",
        }
        reasons = REASON_INPUT.findall(html)
        if value <= 2 and reasons:
            data["reasons"] = reasons[:1]
        for attempt in range(8):
            try:
                posted = await self.browser_post(f"{path}comment/", data, cookie, url)
                status = posted.status_code
            except httpx.TransportError:
                status = 599
            if status == 303:
                sc.comments_ok.add(request_id)
                return
            if status == 409 and attempt:  # the first try was recorded, its answer lost
                sc.comments_ok.add(request_id)
                return
            if status < 500:
                sc.notes.append(f"comment refused: {status}")
                return
            sc.http_errors += 1
            await asyncio.sleep(min(2.0, 0.2 * 2**attempt))

    # --- accounting --------------------------------------------------------------------------

    def account(self, sc: Scenario) -> dict:
        ids = list(sc.plan)
        closes = self.sql(
            """SELECT c.conversation_id, d.outcome, d.rule, c.closed_at, d.decided_at
               FROM conversations_conversationclose c
               LEFT JOIN ratings_ratingdecision d ON d.close_id = c.id
               WHERE c.conversation_id = ANY(%s)""",
            [ids],
        )
        requests = self.sql(
            """SELECT id, channel, delivered_at IS NOT NULL, delivery_attempts,
                      extract(epoch FROM delivered_at - created_at)
               FROM ratings_ratingrequest WHERE conversation_id = ANY(%s)""",
            [ids],
        )
        cards = self.sql(
            """SELECT conversation_id, count(*) FROM conversations_part
               WHERE event = 'rating_requested' AND conversation_id = ANY(%s)
               GROUP BY conversation_id""",
            [ids],
        )
        ratings = self.sql(
            """SELECT count(*), count(commented_at) FROM ratings_rating
               WHERE conversation_id = ANY(%s)""",
            [ids],
        )[0]
        self.read_mail()
        undecided = sum(1 for row in closes if row[1] is None)
        undelivered = sum(1 for row in requests if not row[2])
        email_requests = [row[0] for row in requests if row[1] == "email"]
        unreceived = sum(1 for rid in email_requests if self.mail.counts[rid] == 0)
        mailed_twice = sum(1 for rid in email_requests if self.mail.counts[rid] > 1)
        posted_twice = sum(1 for _, count in cards if count > 1)
        skips = collections.Counter(row[2] for row in closes if row[1] == "skipped")
        wrong = 0
        for conversation_id, outcome, rule, _, _ in closes:
            if outcome is None:
                continue
            expected = sc.plan[conversation_id].outcome
            if (outcome == "sent" and expected != "sent") or (
                outcome == "skipped" and rule != expected
            ):
                wrong += 1
        decided_at = [row[4] for row in closes if row[4] is not None]
        late = sum(1 for row in closes if row[4] and (row[4] - row[3]).total_seconds() > LATE)
        closed_at = [row[3] for row in closes]
        return {
            "closes_db": len(closes),
            "decided": len(closes) - undecided,
            "requests": len(requests),
            "skips": dict(sorted(skips.items())),
            "emails": sum(self.mail.counts[rid] for rid in email_requests),
            "duplicates": mailed_twice + posted_twice,
            "lost": undecided + undelivered + unreceived,
            "undecided": undecided,
            "undelivered": undelivered,
            "unreceived": unreceived,
            "wrong": wrong,
            "retried_deliveries": sum(1 for row in requests if row[3] > 1),
            "late": late,
            "late_deliveries": sum(1 for row in requests if row[4] and row[4] > LATE),
            # The longest a close waited for its decision, and a survey for its delivery: what
            # a lost task or a refusal cost, whether or not the load outlasted it.
            "longest_decision": max(
                ((row[4] - row[3]).total_seconds() for row in closes if row[4]), default=0.0
            ),
            "longest_delivery": max((float(row[4]) for row in requests if row[4]), default=0.0),
            "ratings": ratings[0],
            "comments": ratings[1],
            "span": ((max(decided_at) - min(closed_at)).total_seconds() if decided_at else None),
        }

    async def settle(self, sc: Scenario) -> None:
        """Until every close is decided, every survey delivered and received, every received
        link clicked — or the bound."""
        deadline = time.monotonic() + self.mode.settle
        while True:
            sc.accounting = await asyncio.to_thread(self.account, sc)
            a = sc.accounting
            if a["lost"] == 0 and a["closes_db"] == sc.closes and sc.clicks_pending == 0:
                sc.settled_at = time.monotonic()
                sc.accounting = await asyncio.to_thread(self.account, sc)
                return
            if time.monotonic() > deadline:
                log(f"{sc.name}: not settled after {self.mode.settle:.0f} s: {a}")
                return
            await asyncio.sleep(1.0)

    # --- scenarios ---------------------------------------------------------------------------

    async def scenario(self, name: str, fault=None, rate: float | None = None) -> Scenario:
        sc = Scenario(name)
        self.scenarios.append(sc)
        log(f"scenario {name}: {self.mode.closes} closes")
        load = asyncio.create_task(self.load(sc, self.mode.closes, rate, self.mode.teammates))
        if fault is not None:
            await asyncio.sleep(self.mode.fault_at)
            await fault(sc)
            sc.fault_ended = time.monotonic()
        await load
        await self.settle(sc)
        a = sc.accounting
        log(
            f"scenario {name}: settled={sc.settled_at is not None} dup={a['duplicates']} "
            f"lost={a['lost']} wrong={a['wrong']} recovery={sc.recovery}"
        )
        return sc

    async def steady(self) -> None:
        sc = await self.scenario("steady")
        a = sc.accounting
        if a["span"]:
            sc.notes.insert(0, f"{a['decided'] / a['span']:.0f} closes/s decided")
        sc.fault = "none (flat out)"

    async def kill_cluster(self) -> None:
        async def fault(sc):
            # The kill must find work in hand: the sink holds every mail before its data for
            # a moment, so the workers are mid-send and the pusher keeps taking tasks.
            name = self.cluster_names[1]
            self.slow_flag.touch()
            await asyncio.sleep(1.5)
            self.kill_group(name)
            self.slow_flag.unlink()
            log(f"kill -9 of {name}'s process group, its workers mid-send")
            await asyncio.sleep(self.mode.kill_down)
            self.start_cluster(name)
            sc.fault = (
                f"kill -9 qcluster-2 mid-send at +{self.mode.fault_at + 1.5:.0f}s, "
                f"back {self.mode.kill_down:.0f}s later"
            )

        await self.scenario("kill -9", fault, self.mode.paced_rate)

    async def restart_redis(self) -> None:
        async def fault(sc):
            import redis

            queued = redis.Redis(port=self.redis_port).llen("django_q:csat:q")
            self.stop("redis")
            log(f"redis stopped ({queued} tasks queued in it are gone)")
            await asyncio.sleep(self.mode.redis_down)
            self.start_redis()
            sc.fault = (
                f"redis down at +{self.mode.fault_at:.0f}s for {self.mode.redis_down:.0f}s; "
                f"{queued} queued tasks lost"
            )

        await self.scenario("redis restart", fault, self.mode.paced_rate)

    async def refuse_mail(self) -> None:
        async def fault(sc):
            before = self.mail.refused
            self.refuse_flag.touch()
            log("smtp sink refusing mail")
            await asyncio.sleep(self.mode.smtp_refuse)
            self.refuse_flag.unlink()
            self.read_mail()
            sc.fault = (
                f"smtp 451 from +{self.mode.fault_at:.0f}s for {self.mode.smtp_refuse:.0f}s; "
                f"{self.mail.refused - before} refused"
            )

        sc = await self.scenario("smtp 451", fault, self.mode.paced_rate)
        sc.notes.insert(0, f"{sc.accounting['retried_deliveries']} surveys delivered on a retry")

    async def cut_postgres(self) -> None:
        async def fault(sc):
            cut = 0
            for _ in range(3):
                rows = await asyncio.to_thread(
                    self.sql,
                    """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                       WHERE datname = %s AND pid <> pg_backend_pid()""",
                    [self.dbname],
                )
                cut += len(rows)
                await asyncio.sleep(1.5)
            log(f"postgres: {cut} backends terminated")
            sc.fault = f"3 cuts from +{self.mode.fault_at:.0f}s, 1.5 s apart: {cut} backends"

        await self.scenario("pg cut", fault, self.mode.paced_rate)

    # --- ratios ------------------------------------------------------------------------------

    async def timed_loop(self, seconds: float, workers: int, once) -> tuple[int, float]:
        """Run `once()` (which returns how many requests it made) in `workers` loops for
        `seconds`; returns (requests, elapsed)."""
        done = 0
        stop_at = time.monotonic() + seconds

        async def loop():
            nonlocal done
            while time.monotonic() < stop_at:
                made = await once()  # not `done += await …`: that reads `done` before awaiting
                done += made

        started = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(workers)))
        return done, time.monotonic() - started

    async def measured(self, label: str, workers: int, once) -> dict:
        """`once()` (which makes requests and returns how many) in `workers` loops for the
        ratio's seconds: requests/s, the p50 of one `once()`, and gunicorn's and the database
        backends' CPU per request (/proc: the part of a ratio that hardly moves with whatever
        else the machine runs)."""
        latencies: list[float] = []

        async def timed():
            started = time.perf_counter()
            made = await once()
            latencies.append(time.perf_counter() - started)
            return made

        profilers = self.ratio_profilers(label)
        sampler = asyncio.create_task(self.pg_waits(label)) if self.args.profile else None
        before = cpu_snapshot()
        made, elapsed = await self.timed_loop(self.mode.ratio_seconds, workers, timed)
        spent = cpu_by_group(before, cpu_snapshot(), self.dbname)
        if sampler:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            log(f"CPU s during {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in spent.items()))
        for profiler in profilers:
            await asyncio.to_thread(profiler.wait)
        return {
            "rate": made / elapsed,
            "made": made,
            "p50": percentile(latencies, 0.5) * 1000,
            "cpu": (spent["gunicorn"] + spent["postgres"]) / max(made, 1) * 1000,
        }

    async def click_ratio(self) -> None:
        """Rating clicks (GET the link, POST the reaction, follow the 303: 3 requests), then
        each of the three alone, against GET of a bare view, each with the same number of
        concurrent clients."""
        commented = set().union(*(sc.comments_ok for sc in self.scenarios))
        candidates = [rid for rid in self.links if rid not in commented]
        workers = self.args.ratio_clients
        posted: dict[int, int] = {}  # request id -> the reaction last posted

        def link(request_id: int, value: int | None = None) -> str:
            value = value or self.random.randint(1, 5)
            return self.links[request_id][str(value)]

        async def click_once():
            request_id = self.random.choice(candidates)
            value = self.random.randint(1, 5)
            status, *_ = await self.rate_once(link(request_id, value), value)
            if status != 303:
                raise RuntimeError(f"ratio click answered {status}")
            posted[request_id] = value
            return 3

        async def page_once():
            response = await self.browser_get(link(self.random.choice(candidates)))
            if response.status_code != 200:
                raise RuntimeError(f"rating page answered {response.status_code}")
            return 1

        # The POSTs of a browser that has opened a page: its CSRF cookie and the page's token.
        page = await self.browser_get(link(candidates[0]))
        cookie = page.cookies.get("csrftoken")
        csrf = CSRF_INPUT.search(page.text).group(1)

        async def post_once():
            request_id = self.random.choice(candidates)
            value = posted.get(request_id, self.random.randint(1, 5)) % 5 + 1  # a change (A2)
            url = link(request_id, value)
            response = await self.browser_post(
                urlsplit(url).path, {"csrfmiddlewaretoken": csrf, "value": str(value)}, cookie, url
            )
            if response.status_code != 303:
                raise RuntimeError(f"rating post answered {response.status_code}")
            posted[request_id] = value
            return 1

        async def after_once():
            url = link(self.random.choice(candidates))
            response = await self.browser_get(f"{urlsplit(url).path}?done=rated", cookie)
            if response.status_code != 200:
                raise RuntimeError(f"the page after the 303 answered {response.status_code}")
            return 1

        async def bare_once():
            response = await self.browser.get("/bench/ok")
            if response.status_code != 200:
                raise RuntimeError(f"bare view answered {response.status_code}")
            return 1

        await self.timed_loop(1.0, workers, bare_once)  # warm up every gunicorn thread
        click = await self.measured("clicks", workers, click_once)
        parts = {
            "page GET": await self.measured("page", workers, page_once),
            "POST": await self.measured("post", workers, post_once),
            "GET after 303": await self.measured("after", workers, after_once),
        }
        bare = await self.measured("bare", workers, bare_once)
        lines = [
            f"rating clicks {click['rate']:.0f} req/s vs bare view {bare['rate']:.0f} req/s: "
            f"{click['rate'] / bare['rate']:.2f}x (aim >= 0.6x; {workers} clients; click "
            f"p50 {click['p50']:.0f} ms, CPU {click['cpu'] * 3:.1f} ms a click; bare p50 "
            f"{bare['p50']:.1f} ms, CPU {bare['cpu']:.1f} ms)"
        ]
        for name, part in parts.items():
            lines.append(
                f"  {name:<13} {part['rate']:5.0f} req/s: {part['rate'] / bare['rate']:.2f}x "
                f"(aim >= 0.6x), p50 {part['p50']:.1f} ms; CPU {part['cpu']:.1f} ms vs bare "
                f"{bare['cpu']:.1f} ms: {bare['cpu'] / part['cpu']:.2f}x"
            )
        self.ratios.append("\n".join(lines))
        log(self.ratios[-1])

    async def api_ratio(self) -> None:
        """Closes through the API as the teammates make them (create, reply, close: PLAN),
        flat out by `--ratio-clients` teammates, against POSTs to a bare DRF view (the API's
        authentication, permissions, parser and renderer, no product code) by as many
        clients. The clusters are stopped meanwhile (the closes' tasks wait in Redis), so both
        sides have the machine to themselves; then they are started again and the row is
        settled and accounted as every other (0 duplicates, 0 lost)."""
        workers = self.args.ratio_clients
        self.clicks_allowed.clear()
        for name in self.cluster_names:
            self.stop(name)
        sc = Scenario("api closes", fault="none (clusters stopped while timed)")
        self.scenarios.append(sc)
        numbers = iter(range(10**9))
        calls = [0]

        async def close_once():
            index = next(numbers)
            try:
                made = await self.make_close(sc, index)  # not `+= await`: read after the await
                calls[0] += made
            except Exception as error:  # noqa: BLE001 - the row fails and says why
                sc.close_errors.append(f"close #{index}: {error}")
            return 1

        async def bare_once():
            response = await self.api_client.post("/bench/api-ok", json={"quiet": False})
            if response.status_code != 200:
                raise RuntimeError(f"bare DRF view answered {response.status_code}")
            return 1

        await self.timed_loop(1.0, workers, bare_once)  # warm up every gunicorn thread
        sc.load_started = time.monotonic()
        closes = await self.measured("api", workers, close_once)
        sc.load_ended = time.monotonic()
        bare = await self.measured("api-bare", workers, bare_once)
        for name in self.cluster_names:
            self.start_cluster(name)
        await asyncio.to_thread(self.wait_clusters, len(self.cluster_names))
        self.clicks_allowed.set()
        await self.settle(sc)
        per_close = calls[0] / max(closes["made"], 1)  # 3, or 2 without a reply (E2)
        api_rate = closes["rate"] * per_close
        sc.notes.insert(0, f"{closes['rate']:.0f} closes/s through the API")
        p50 = ", ".join(
            f"{kind} {percentile(seconds, 0.5) * 1000:.0f} ms"
            for kind, seconds in sc.api_seconds.items()
        )
        self.ratios.append(
            f"API closes {closes['rate']:.0f}/s (aim >= 100/s): {api_rate:.0f} API req/s "
            f"({per_close:.1f} a close) vs bare DRF view {bare['rate']:.0f} req/s: "
            f"{api_rate / bare['rate']:.2f}x; {workers} clients, clusters stopped while timed; "
            f"p50 {p50}, bare {bare['p50']:.1f} ms; CPU (gunicorn, database) "
            f"{closes['cpu'] / per_close:.1f} ms an API request vs bare {bare['cpu']:.1f} ms: "
            f"{bare['cpu'] * per_close / closes['cpu']:.2f}x"
        )
        log(self.ratios[-1])

    async def pg_waits(self, label: str) -> None:
        """--profile: what the database's backends are doing, sampled every 20 ms until
        cancelled (a lock queue shows as Lock/transactionid or Lock/tuple, fsync as IO/WAL…)."""
        import psycopg

        seen: collections.Counter = collections.Counter()
        samples = 0
        conn = await psycopg.AsyncConnection.connect(
            f"{self.dsn} dbname={self.dbname}", autocommit=True
        )
        try:
            while True:
                cursor = await conn.execute(
                    """SELECT state, coalesce(wait_event_type || '/' || wait_event, 'on CPU')
                       FROM pg_stat_activity
                       WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'""",
                    [self.dbname],
                )
                for state, wait in await cursor.fetchall():
                    seen[f"{state}: {wait}"] += 1
                samples += 1
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            top = ", ".join(f"{k} {v / samples:.2f}" for k, v in seen.most_common(8))
            log(f"postgres during {label}, busy backends per sample: {top}")
        finally:
            await conn.close()

    def ratio_profilers(self, label: str) -> list[subprocess.Popen]:
        """--profile: py-spy on gunicorn during a ratio, and on the clusters during the
        POSTs (the alerts of their terrible and bad ratings are the clusters' work)."""
        if not self.args.profile:
            return []
        seconds = max(1, self.mode.ratio_seconds - 1)
        names = ["gunicorn", *(self.cluster_names if label == "post" else [])]
        return [self.py_spy(f"{label}-{name}", self.procs[name].pid, seconds) for name in names]

    async def drain(self, label: str, table: str, where: str, params: list, expected: int, env):
        """Start both clusters on a full queue. Returns (rate, CPU ms per task): the rate over
        the middle 80 % of the rows' timestamps, and the CPU the clusters, Redis, the sink and
        the database's backends spent per row between 10 % and 90 % of them (the clusters'
        start-up and whatever else the machine runs left out)."""
        column = "decided_at" if table == "ratings_ratingdecision" else "at"
        for name in self.cluster_names:
            self.start_cluster(name, env)
        profilers = []
        if self.args.profile:
            seconds = 8 if self.args.mode == "short" else 15
            for name in self.cluster_names:
                profilers.append(self.py_spy(f"{label}-{name}", self.procs[name].pid, seconds))
        sampler = asyncio.create_task(self.pg_waits(label)) if self.args.profile else None
        marks = {}  # share of rows -> (rows, CPU snapshot)
        deadline = time.monotonic() + self.mode.settle
        while True:
            rows = (
                await asyncio.to_thread(
                    self.sql, f"SELECT count(*) FROM {table} WHERE {where}", params
                )
            )[0][0]
            for share in (0.1, 0.9):
                if share not in marks and rows >= expected * share:
                    marks[share] = (rows, cpu_snapshot())
            if rows >= expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        if sampler:
            sampler.cancel()
        if len(marks) == 2:
            (rows_a, cpu_a), (rows_b, cpu_b) = marks[0.1], marks[0.9]
            spent = cpu_by_group(cpu_a, cpu_b, self.dbname)
            ours = sum(spent[group] for group in ("qcluster", "postgres", "redis", "smtp sink"))
            cpu_ms = ours / max(rows_b - rows_a, 1) * 1000
            log(
                f"CPU seconds during {label} (10-90 %): "
                + ", ".join(f"{k} {v:.1f}" for k, v in spent.most_common() if v >= 0.05)
            )
        else:
            cpu_ms = float("nan")
        await asyncio.to_thread(self.wait_clusters, len(self.cluster_names))
        for profiler in profilers:
            await asyncio.to_thread(profiler.wait)
        times = sorted(
            row[0]
            for row in await asyncio.to_thread(
                self.sql, f"SELECT {column} FROM {table} WHERE {where}", params
            )
        )
        low, high = int(len(times) * 0.1), int(len(times) * 0.9) - 1
        seconds = (times[high] - times[low]).total_seconds()
        return ((high - low) / seconds if seconds > 0 else float("nan")), cpu_ms

    async def decisions_ratio(self) -> None:
        """Closes queued while the clusters are stopped, then drained by both; the floor: the
        same with one-row-insert tasks. Each rate over the middle 80 % of its rows."""
        self.clicks_allowed.clear()  # customers wait: the clusters get the machine
        for name in self.cluster_names:
            self.stop(name)
        sc = Scenario("throughput")
        self.scenarios.append(sc)
        log(f"throughput: {self.mode.throughput_closes} closes queued while the clusters are off")
        await self.load(sc, self.mode.throughput_closes, None, self.mode.teammates)
        # No sweep while draining: the closes are older than the usual grace already.
        drain_env = self._env(RATING_SWEEP_GRACE_SECONDS="600")
        decisions_rate, decision_cpu = await self.drain(
            "decisions",
            "ratings_ratingdecision",
            "conversation_id = ANY(%s)",
            [list(sc.plan)],
            sc.closes,
            drain_env,
        )
        sc.load_ended = time.monotonic()
        self.clicks_allowed.set()
        await self.settle(sc)
        sc.fault = "queued with the clusters off, then drained"
        sc.notes.insert(0, f"{decisions_rate:.0f} decisions/s")

        for name in self.cluster_names:
            self.stop(name)
        queued = self.django("floor-enqueue", str(self.mode.floor_tasks))
        log(f"floor: {queued['queued']} tasks queued")
        floor_rate, floor_cpu = await self.drain(
            "floor",
            "bench_floor",
            "key LIKE %s",
            [f"{queued['run']}-%"],
            self.mode.floor_tasks,
            drain_env,
        )
        self.ratios.append(
            f"decisions {decisions_rate:.0f}/s vs queue floor {floor_rate:.0f}/s: "
            f"{decisions_rate / floor_rate:.2f}x (aim >= 0.6x and >= 300/s; 2 clusters x "
            f"{self.args.q_workers} workers; {sc.closes} closes, "
            f"{self.mode.floor_tasks} floor tasks); CPU per task (clusters, Redis, sink, "
            f"database): decision {decision_cpu:.1f} ms, floor {floor_cpu:.1f} ms: "
            f"{floor_cpu / decision_cpu:.2f}x"
        )
        log(self.ratios[-1])

    def py_spy(self, label: str, pid: int, seconds: float) -> subprocess.Popen:
        """--profile: py-spy samples a process and its children; the folded stacks go to the
        log folder (flamegraph.pl or speedscope read them) and a summary to stderr."""
        out = self.tmp / f"profile-{label.replace(' ', '-')}.txt"
        proc = subprocess.Popen(
            [
                str(Path(PY).with_name("py-spy")),
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--duration",
                str(int(seconds)),
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc.wait = self._summarize_after(proc.wait, label, out)
        return proc

    @staticmethod
    def _summarize_after(wait, label: str, out: Path):
        def wait_then_summarize(*args, **kwargs):
            result = wait(*args, **kwargs)
            if out.exists():
                log(f"profile {label} ({out}):\n" + profile_summary(out))
            return result

        return wait_then_summarize

    # --- the run -----------------------------------------------------------------------------

    async def drive(self) -> None:
        self.clients()
        self.click_queue = asyncio.Queue()
        self.clicks_allowed.set()
        background = [asyncio.create_task(self.mail_reader())]
        background += [asyncio.create_task(self.customer()) for _ in range(self.mode.customers)]
        try:
            await self.make_contacts()
            steps = {
                "steady": self.steady,
                "kill": self.kill_cluster,
                "redis": self.restart_redis,
                "smtp": self.refuse_mail,
                "pg": self.cut_postgres,
                "clicks": self.click_ratio,
                "api": self.api_ratio,
                "decisions": self.decisions_ratio,
            }
            for step in self.args.only or list(steps):
                await steps[step]()
        finally:
            for task in background:
                task.cancel()
            await self.api_client.aclose()
            await self.browser.aclose()

    def run(self) -> int:
        started = time.monotonic()
        # SIGTERM (a CI timeout, say) stops the run as Ctrl-C does: `finally` stops the processes.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        log(f"logs in {self.tmp}")
        try:
            self.create_database()
            self.start_redis()
            self.start_sink()
            self.start_web()
            for name in self.cluster_names:
                self.start_cluster(name)
            self.wait_clusters(len(self.cluster_names))
            if self.args.serve:
                return self.serve()
            asyncio.run(self.drive())
        finally:
            self.stop_all()
        return self.report(time.monotonic() - started)

    def serve(self) -> int:
        """--serve: the topology up, its addresses printed, until SIGINT or SIGTERM (to poke
        at it by hand or profile it)."""
        print(
            json.dumps(
                {
                    "site": self.base,
                    "teammate_token": self.teammate_token,
                    "manager_token": self.manager_token,
                    "redis": self.env["REDIS_URL"],
                    "smtp": self.smtp_port,
                    "mail_log": str(self.sink_log),
                    "pids": {name: proc.pid for name, proc in self.procs.items()},
                    "env": {k: self.env[k] for k in ("DATABASE_URL", "SECRET_KEY", "SITE_URL")},
                }
            ),
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
        return 0

    def report(self, elapsed: float) -> int:
        header = [
            "scenario",
            "fault",
            "closes",
            "decided",
            "requests",
            "skips by rule",
            "emails",
            "dup",
            "lost",
            "wrong",
            "ratings/clicks",
            "comments",
            "recovery s",
            "notes",
        ]
        rows = []
        failed = False
        for sc in self.scenarios:
            a = sc.accounting
            problems = sc.failures
            failed |= bool(problems)
            notes = list(sc.notes[:1])
            # The throughput and API rows stop the clusters on purpose: late is no news there.
            quiet = sc.name in ("throughput", "api closes")
            if not quiet and (a.get("late") or a.get("late_deliveries")):
                notes.append(
                    f"by the sweep (> {LATE} s late): {a['late']} decisions, "
                    f"{a['late_deliveries']} surveys"
                )
            if sc.name != "throughput" and "longest_decision" in a:
                notes.append(
                    f"longest wait: decision {a['longest_decision']:.1f} s, "
                    f"survey {a['longest_delivery']:.1f} s"
                )
            if sc.click_seconds:
                notes.append(
                    f"click p50 {percentile(sc.click_seconds, 0.5) * 1000:.0f} ms "
                    f"p99 {percentile(sc.click_seconds, 0.99) * 1000:.0f} ms"
                )
            if sc.http_errors:
                notes.append(f"{sc.http_errors} HTTP 5xx/resets retried")
            extra = [n for n in sc.notes[1:] if n.startswith(("click", "comment"))]
            if extra:
                notes.append(f"{len(extra)} click problems, first: {extra[0]}")
            if problems:
                notes.append("FAILED: " + ", ".join(problems))
            rows.append(
                [
                    sc.name,
                    sc.fault,
                    str(sc.closes),
                    str(a.get("decided", "?")),
                    str(a.get("requests", "?")),
                    " ".join(f"{k}:{v}" for k, v in a.get("skips", {}).items()) or "-",
                    str(a.get("emails", "?")),
                    str(a.get("duplicates", "?")),
                    str(a.get("lost", "?")),
                    str(a.get("wrong", "?")),
                    f"{a.get('ratings', '?')}/{len(sc.clicks_ok)}",
                    f"{a.get('comments', '?')}/{len(sc.comments_ok)}",
                    "timeout" if sc.recovery is None else f"{sc.recovery:.1f}",
                    "; ".join(notes),
                ]
            )
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"\nproduction topology, {self.args.mode} mode ({elapsed:.0f} s in all; load average "
            f"at the end {load} on {os.cpu_count()} CPUs: other work on the machine skews rates)"
        )
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        print(line)
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        print(line)
        for ratio in self.ratios:
            print(ratio)
        print(
            f"gunicorn {self.args.web_workers} gthread workers x {self.args.web_threads} threads; "
            f"2 qclusters x {self.args.q_workers} workers; Redis, PostgreSQL, SMTP sink on "
            f"loopback; logs: {self.tmp}"
        )
        print("RESULT: " + ("FAILED" if failed else "ok: 0 duplicates, 0 lost in every row"))
        return 1 if failed else 0


def parse():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="a few hundred closes a scenario")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--q-workers", type=int, default=2, help="workers per qcluster")
    parser.add_argument("--ratio-clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--serve", action="store_true", help="start it all, then wait for Ctrl-C")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the clusters and gunicorn during the ratios"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["steady", "kill", "redis", "smtp", "pg", "clicks", "api", "decisions"],
        help="run these steps only (in this order)",
    )
    args = parser.parse_args()
    args.mode = "short" if args.short else "full"
    return args


def main() -> int:
    args = parse()
    try:
        import httpx  # noqa: F401
    except ImportError:
        raise SystemExit("bench/topology.py needs httpx: .venv/bin/pip install httpx") from None
    return Topology(args, MODES[args.mode]).run()


if __name__ == "__main__":
    sys.exit(main())
