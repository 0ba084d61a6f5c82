"""How many closes per second one worker decides (and delivers).

    .venv/bin/python bench/decisions.py [--closes 500] [--database-url URL] [--redis-url URL]

Makes N eligible closed conversations through the services in a fresh database (SQLite file
under /tmp by default; pass a PostgreSQL URL for the production figure), then measures
  1. inline:  the task body, `rating_request_send`, called in a loop in this process (the
              first calls decide batches of RATING_DECISION_BATCH, D6; the rest find nothing);
  2. cluster: a real `manage.py qcluster` with ONE worker draining N queued tasks
              (rate taken between the first and last decision it recorded; "inf" when
              N <= RATING_DECISION_BATCH: one batch decided them all at one moment).
The inline loop queues the surveys beyond a task's first RATING_DELIVERY_CHUNK (D6) for
a cluster: with the ORM broker they wait in the database for the cluster run.
Mail goes to Django's dummy backend (no server), so the figure is the decision and the
delivery bookkeeping, not an SMTP round trip.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--closes", type=int, default=500)
    parser.add_argument("--database-url", default="sqlite:////tmp/csat_bench_decisions.sqlite3")
    parser.add_argument("--redis-url", default="", help="use the Redis broker for the cluster run")
    return parser.parse_args()


def setup_django(args):
    if args.database_url.startswith("sqlite:///"):
        path = Path(args.database_url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "csat_project.settings",
            "DEBUG": "true",
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DATABASE_URL": args.database_url,
            "EMAIL_URL": "dummymail://",
            "REDIS_URL": args.redis_url,
            "Q_WORKERS": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    if not args.database_url.startswith("sqlite"):
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def make_closed_conversations(count):
    from conversations import services
    from conversations.signals import conversation_closed

    # The bench enqueues by itself; the receiver stays out of the way while we build.
    conversation_closed.disconnect(dispatch_uid="ratings.enqueue")
    teammate = services.teammate_create(
        name="Bench Teammate", email=f"bench{time.time_ns()}@example.com"
    )
    ids = []
    for number in range(count):
        contact = services.contact_create(
            role="user", name=f"Customer {number}", email=f"c{number}@example.com"
        )
        conversation = services.conversation_start(
            channel="email" if number % 2 else "messenger",
            origin="customer",
            contacts=[contact],
            started_by=contact,
            subject=f"Question {number}",
            body="Hello, my invoice shows a charge twice this month. " * 4,
        )
        services.conversation_reply(
            conversation=conversation,
            author=teammate,
            body="Thanks for writing in — I refunded the second charge. " * 2,
        )
        services.conversation_close(conversation=conversation, by=teammate)
        ids.append(conversation.pk)
    return ids


def bench_inline(ids):
    from ratings.services import rating_request_send

    started = time.perf_counter()
    for conversation_id in ids:
        rating_request_send(conversation_id=conversation_id)
    elapsed = time.perf_counter() - started
    return len(ids) / elapsed


def bench_cluster(ids):
    from django.db import connection
    from django.db.models import Max, Min

    from ratings.models import RatingDecision
    from ratings.services import rating_request_enqueue

    for conversation_id in ids:
        rating_request_enqueue(conversation_id=conversation_id)
    connection.close()
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        decided = RatingDecision.objects.filter(conversation_id__in=ids)
        while decided.count() < len(ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"cluster decided only {decided.count()} of {len(ids)} in 600 s")
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGINT)  # SIGINT to the group stops a cluster cleanly
        worker.wait(timeout=60)
    span = decided.aggregate(first=Min("decided_at"), last=Max("decided_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    return (len(ids) - 1) / seconds if seconds else float("inf")


def main():
    args = parse()
    setup_django(args)
    from django.db import connection

    print(f"database: {connection.vendor}; broker: {'redis' if args.redis_url else 'orm'}")
    # One set after the other: a task decides a batch of whatever is undecided (D6), so the
    # cluster's closes must not exist yet while the inline loop runs.
    inline_rate = bench_inline(make_closed_conversations(args.closes))
    cluster_rate = bench_cluster(make_closed_conversations(args.closes))
    print(f"closes decided and delivered, {args.closes} each run:")
    print(f"  inline (task body in a loop):      {inline_rate:8.1f} closes/s")
    print(f"  qcluster with one worker:          {cluster_rate:8.1f} closes/s")


if __name__ == "__main__":
    main()
