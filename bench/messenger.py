"""What the Messenger widget's poll costs (W6): requests per second of the threads endpoint under
gunicorn, next to a bare Django view through the same middleware.

    .venv/bin/python bench/messenger.py                       # SQLite under /tmp
    .venv/bin/python bench/messenger.py --database-url postgresql://postgres@127.0.0.1:5432/csat_bench_messenger

Builds a FRESH database (a SQLite file under /tmp, deleted first; a PostgreSQL database is
created if missing, else its public schema is dropped), migrates it and seeds one verified
user (W1) with N conversations of M parts each (the contact's first message, then the contact
and a teammate in turn), each closed with its survey card delivered in the Messenger (D1), plus
an internal note each (not shown, W5). Then it starts gunicorn on a free loopback port
(`csat_project.wsgi`, gthread workers, DEBUG off, settings `bench/topology_settings.py`: the
product's own plus `/bench/ok`, a bare view, from `bench/topology_urls.py`), gets a session
over HTTP as the widget does (POST /messenger/w/session/ with user_id and user_hash), and
measures with C client threads, each on its own keep-alive connection (http.client), S
seconds of each kind a round, the best of three rounds:

  bare      GET /bench/ok: a view that answers "ok" (no database, no template)
  poll 304  GET /messenger/w/threads/ with If-None-Match: the current ETag (what an open widget
            sends every MESSENGER_POLL_SECONDS while nothing changed); a thread that gets a
            200 (the minute turned: the version changes each minute) takes the new ETag, as
            frame.js does, and the 200s are counted
  poll 200  GET /messenger/w/threads/ without If-None-Match: the whole threads HTML

The shared cache is a redis-server of the run's own (a free loopback port, no persistence,
THROTTLE_REDIS_URL), as a production deployment has it: the poll's version cache (H4) is on
and a 304 reads no database; `--cache database` runs without Redis (the version cache off:
each poll runs the version query).

It prints req/s, latency p50/p99 and the ratio to the bare view (aim: poll 304 >= 0.6x), the
queries of each request (counted in-process with Django's test Client on the same database),
and what one widget costs per minute: one poll every MESSENGER_POLL_SECONDS while open, five
times less often while closed (frame.js), at least one of them a 200 each minute. Every
process it starts is stopped by its pid at the end; gunicorn's log stays in the printed folder.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchkit import free_port, fresh_database, redis_server_argv  # bench/, the scripts' folder

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
USER_ID = "bench-user-1"
IDENTITY_SECRET = "bench-messenger-identity-secret"
THREADS_URL = "/messenger/w/threads/"
BARE_URL = "/bench/ok"
LONG_REPLY = (
    "Thanks for writing in. I looked at your order and the parcel left our warehouse on "
    "Monday; the carrier lost track of it on the way. I have sent a new one by express, it "
    "reaches you tomorrow, and the tracking link is in your account. Sorry for the trouble!"
)
assert len(LONG_REPLY) > 250  # E3: the conversation qualifies for a survey


def parse():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", default="sqlite:////tmp/csat_bench_messenger.sqlite3")
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--parts", type=int, default=8, help="replies per conversation")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--seconds", type=float, default=8.0, help="of each kind, a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument(
        "--cache",
        choices=["redis", "database"],
        default="redis",
        help="the shared cache: its own redis-server on a free port, as a production deployment"
        " (THROTTLE_REDIS_URL: the poll's version cache on, H4), or the database's (no Redis:"
        " the version cache off, each poll runs the version query)",
    )
    return parser.parse_args()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the database -------------------------------------------------------------------------------


def start_redis(folder: Path) -> tuple[subprocess.Popen, int]:
    """A redis-server of this run only (no persistence), on a free loopback port."""
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not on the PATH (or run with --cache database)")
    port = free_port()
    with open(folder / "redis.log", "ab") as out:
        proc = subprocess.Popen(
            redis_server_argv(port),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return proc, port
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    raise SystemExit(f"redis-server did not start; see {folder}/redis.log")


def environment(args, port: int, static_root: Path, redis_url: str = "") -> dict:
    """The environment of gunicorn and of this process's Django: the production settings,
    plain http on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "topology_settings",
            # The project first: `messenger` is the app, not this file (bench/ is only there
            # for topology_settings and topology_urls).
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH)]),
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-messenger",
            # K3: outside DEBUG the encrypted fields need a key (a Fernet key: 32 random bytes).
            "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "DATABASE_URL": args.database_url,
            "REDIS_URL": "",
            # The shared cache (throttles, H4's poll versions): Redis, or the database's.
            "THROTTLE_REDIS_URL": redis_url,
            "EMAIL_URL": "dummymail://",
            "MESSENGER_IDENTITY_SECRET": IDENTITY_SECRET,
            "MESSENGER_ALLOWED_ORIGINS": "http://host.example",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
            "SECURE_HSTS_PRELOAD": "false",
            "BEHIND_TLS_PROXY": "false",
            "LOG_LEVEL": "WARNING",
            "CSAT_TOPOLOGY_STATIC_ROOT": str(static_root),  # bench/topology_settings.py
        }
    )
    return env


def setup_django(args, env: dict) -> None:
    url = args.database_url
    fresh_database(url)
    os.environ.update(env)
    sys.path[:0] = [str(ROOT), str(BENCH)]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(args):
    """One verified user with N conversations × M replies, each closed and surveyed in the
    Messenger; returns the contact."""
    from conversations import services
    from conversations.identity import user_hash
    from conversations.models import Channel, Origin
    from ratings.models import RatingRequest
    from ratings.services import rating_request_send

    teammate = services.teammate_create(name="Tess Mate", email="tess@example.com")
    contact = services.messenger_user(
        user_id=USER_ID,
        user_hash_given=user_hash(USER_ID),
        email="ada@example.com",
        name="Ada Lovelace",
    )
    for number in range(args.conversations):
        conversation = services.conversation_start(
            channel=Channel.MESSENGER,
            origin=Origin.CUSTOMER,
            contacts=[contact],
            started_by=contact,
            body=f"Order #{1000 + number} never arrived. Could you look into it?",
        )
        for reply in range(1, args.parts):
            if reply % 2:
                author, body = teammate, LONG_REPLY
            else:
                author, body = contact, f"Thanks. One more question ({reply}): when?"
            services.conversation_reply(conversation=conversation, author=author, body=body)
        services.conversation_note(
            conversation=conversation, author=teammate, body="Refund approved by Bo."
        )
        services.conversation_close(conversation=conversation, by=teammate)
        rating_request_send(conversation_id=conversation.pk)
    delivered = RatingRequest.objects.filter(
        conversation__contacts=contact, channel="messenger", delivered_at__isnull=False
    ).count()
    if delivered != args.conversations:
        raise SystemExit(f"{delivered} survey cards delivered of {args.conversations}")
    return contact


def count_queries(contact) -> dict[str, int]:
    """The queries of one request of each kind, through Django's test Client in this process
    (a 304 as an open widget sends them: after another one)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from conversations.identity import session_token

    client = Client(HTTP_HOST="127.0.0.1")
    token = {"HTTP_X_MESSENGER_SESSION": session_token(contact)}
    etag = client.get(THREADS_URL, **token)["ETag"]
    counts = {}
    for name, url, headers, status in (
        ("bare", BARE_URL, {}, 200),
        ("poll 304", THREADS_URL, {**token, "HTTP_IF_NONE_MATCH": etag}, 304),
        ("poll 200", THREADS_URL, token, 200),
    ):
        if status == 304:  # H4: the first 304 after a 200 may still run the version query
            client.get(url, **headers)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        if response.status_code != status:
            raise SystemExit(f"{name}: {response.status_code} in-process, expected {status}")
        counts[name] = len(queries)
    return counts


# --- gunicorn -----------------------------------------------------------------------------------


def start_gunicorn(args, env: dict, port: int, folder: Path) -> subprocess.Popen:
    with open(folder / "gunicorn.log", "ab") as out:
        proc = subprocess.Popen(
            [
                str(Path(PY).with_name("gunicorn")),
                "csat_project.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.web_workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(args.web_threads),
                "--keep-alive",
                "30",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: pgid == pid
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}); see {folder}/gunicorn.log")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return proc
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {folder}/gunicorn.log")


def stop(proc: subprocess.Popen) -> None:
    """Stop gunicorn by its pid; its group (its own workers) only if it hangs."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- the clients --------------------------------------------------------------------------------


def session_over_http(port: int) -> str:
    from conversations.identity import user_hash

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"user_id": USER_ID, "user_hash": user_hash(USER_ID)})
    connection.request("POST", "/messenger/w/session/", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"session: {response.status} {data[:300]!r}")
    return json.loads(data)["session"]


def current_etag(port: int, token: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", THREADS_URL, headers={"X-Messenger-Session": token})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"threads: {response.status}")
    return response.getheader("ETag")


def run_round(port: int, clients: int, seconds: float, url: str, headers: dict, expect: int):
    """`clients` threads GET `url` on their keep-alive connections for `seconds`; returns
    (requests per second, latencies in seconds, 200s that answered a 304 poll)."""
    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    turned = [0] * clients
    errors: list[str] = []
    deadline = [0.0]

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = dict(headers)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        try:
            while time.perf_counter() < deadline[0]:
                started = time.perf_counter()
                connection.request("GET", url, headers=mine)
                response = connection.getresponse()
                response.read()
                latencies[number].append(time.perf_counter() - started)
                if response.status == expect:
                    continue
                if expect == 304 and response.status == 200:
                    turned[number] += 1  # the minute turned: take the new ETag, as frame.js
                    mine["If-None-Match"] = response.getheader("ETag")
                    continue
                raise RuntimeError(f"GET {url}: {response.status}")
        except Exception as error:  # noqa: BLE001 - reported below, the round fails
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{url}: {errors[0]} ({len(errors)} clients failed)")
    flat = [value for mine in latencies for value in mine]
    return len(flat) / elapsed, flat, sum(turned)


def server_cpu(master: int) -> float:
    """CPU seconds so far of gunicorn: its master and its workers (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(entry.name) == master or int(fields[1]) == master:
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    args = parse()
    folder = Path(tempfile.mkdtemp(prefix="csat_bench_messenger_"))
    (folder / "static").mkdir()
    port = free_port()
    redis = None
    redis_url = ""
    if args.cache == "redis":
        redis, redis_port = start_redis(folder)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
    try:
        run(args, folder, port, redis_url)
    finally:
        if redis is not None:
            stop(redis)


def run(args, folder: Path, port: int, redis_url: str):
    env = environment(args, port, folder / "static", redis_url)
    setup_django(args, env)
    from django.conf import settings
    from django.db import connection

    log(f"seeding {args.conversations} conversations × {args.parts} replies")
    contact = seed(args)
    queries = count_queries(contact)
    vendor = connection.vendor
    connection.close()

    log(f"gunicorn on 127.0.0.1:{port}, logs in {folder}")
    proc = start_gunicorn(args, env, port, folder)
    try:
        token = session_over_http(port)
        kinds = {
            "bare": (BARE_URL, {}, 200),
            "poll 304": (THREADS_URL, {"X-Messenger-Session": token}, 304),
            "poll 200": (THREADS_URL, {"X-Messenger-Session": token}, 200),
        }
        results: dict[str, list] = {name: [] for name in kinds}
        # Warm every worker thread and its database connection.
        for url, headers, _ in kinds.values():
            run_round(port, args.clients, 1.0, url, headers, 200)
        for round_number in range(args.rounds):
            for name, (url, headers, expect) in kinds.items():
                if expect == 304:
                    headers = {**headers, "If-None-Match": current_etag(port, token)}
                cpu = server_cpu(proc.pid)
                rate, latencies, turned = run_round(
                    port, args.clients, args.seconds, url, headers, expect
                )
                cpu_ms = (server_cpu(proc.pid) - cpu) * 1000 / len(latencies)
                results[name].append((rate, latencies, turned, cpu_ms))
                log(f"round {round_number + 1} {name}: {rate:.0f} req/s, {cpu_ms:.2f} CPU ms/req")
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        probe.request("GET", THREADS_URL, headers={"X-Messenger-Session": token})
        size = len(probe.getresponse().read())
    finally:
        stop(proc)

    best = {name: max(rounds, key=lambda r: r[0]) for name, rounds in results.items()}
    # The server's CPU per request hardly depends on what else the machine runs: the median of
    # the rounds, and the ratio it implies (bare CPU ÷ this CPU).
    cpu = {name: statistics.median(r[3] for r in rounds) for name, rounds in results.items()}
    bare = best["bare"][0]
    print(
        f"\nMessenger poll on {vendor}: {args.conversations} conversations × {args.parts}"
        f" replies, a card each ({size / 1024:.0f} KB of threads HTML); gunicorn"
        f" {args.web_workers} gthread workers × {args.web_threads} threads; {args.clients}"
        f" keep-alive clients for {args.seconds:g} s a kind, best of {args.rounds} rounds;"
        f" shared cache: {'Redis (the version cache on, H4)' if redis_url else 'the database'};"
        f" load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'request':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8} {'ratio':>7}"
        f" {'CPU ms':>8} {'CPU ratio':>10}"
    )
    for name, (rate, latencies, turned, _) in best.items():
        note = f"  ({turned} answered 200: the minute turned)" if turned else ""
        print(
            f"{name:<10} {rate:8.0f} {percentile(latencies, 0.5) * 1000:8.2f}"
            f" {percentile(latencies, 0.99) * 1000:8.2f} {queries[name]:8d}"
            f" {rate / bare:6.2f}x {cpu[name]:8.2f} {cpu['bare'] / cpu[name]:9.2f}x{note}"
        )
    spread = {
        name: statistics.pstdev([r[0] for r in rounds]) / statistics.mean([r[0] for r in rounds])
        for name, rounds in results.items()
    }
    print("spread between rounds: " + ", ".join(f"{n} {s:.0%}" for n, s in spread.items()))
    ratio = best["poll 304"][0] / bare
    cpu_ratio = cpu["bare"] / cpu["poll 304"]
    print(
        f"poll 304 vs bare view: {ratio:.2f}x req/s, {cpu_ratio:.2f}x by server CPU"
        f" (aim >= 0.6x) {'ok' if ratio >= 0.6 else 'MISSED'}"
    )

    poll = settings.MESSENGER_POLL_SECONDS
    r304, r200 = best["poll 304"][0], best["poll 200"][0]
    q304, q200 = queries["poll 304"], queries["poll 200"]
    print(f"\nPer widget (MESSENGER_POLL_SECONDS={poll}; closed: every {poll * 5} s, frame.js):")
    header = f"{'widget':<8} {'req/min':>8} {'of them 200':>12} {'queries/min':>12}"
    print(f"{header} {'CPU ms/min':>11} {'widgets/server':>15} {'widgets/CPU':>12}")
    for state, seconds in (("open", poll), ("closed", poll * 5)):
        per_minute = 60 / seconds
        full = 1  # the version changes each minute (W6): at least one 200 a minute
        not_modified = per_minute - full
        per_minute_queries = not_modified * q304 + full * q200
        # Server time one widget takes per minute at the rates measured (how many widgets this
        # server keeps polling with nothing else to do), and its CPU (how many one core keeps).
        busy = not_modified / r304 + full / r200
        cpu_ms = not_modified * cpu["poll 304"] + full * cpu["poll 200"]
        print(
            f"{state:<8} {per_minute:8.0f} {full:12d} {per_minute_queries:12.0f}"
            f" {cpu_ms:11.1f} {60 / busy:15.0f} {60_000 / cpu_ms:12.0f}"
        )
    print(
        "At least one 200 a minute per widget: the ETag carries the minute (W6); more when a"
        " conversation changes.\nwidgets/server = 60 s / the time one widget's polls take at"
        " the req/s above; widgets/CPU = 60 s / their gunicorn CPU time (one core)."
    )


if __name__ == "__main__":
    main()
