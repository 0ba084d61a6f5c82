"""D8 on real processes: `manage.py worker` (django-q2's cluster on the ORM broker, SQLite, as
`make run` runs it) finds a close whose task was lost within seconds, decides it once, and
stops on SIGINT to its process group as a cluster does."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LOSE_A_CLOSE = textwrap.dedent(
    """
    from django_q.models import OrmQ, Schedule
    from conversations import services
    from conversations.models import Contact, Conversation
    teammate = services.teammate_create(name="T", email="t@example.com", username="t")
    contact = Contact.objects.create(role="user", name="C", email="c@example.com")
    conversation = services.conversation_start(
        channel="messenger", origin="customer", contacts=[contact], body="Help!",
        started_by=contact,
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="x" * 260)
    services.conversation_close(conversation=conversation, by=teammate)
    OrmQ.objects.all().delete()  # the queued task is lost (a worker died with it)
    Schedule.objects.all().delete()  # and no minute sweep: only the fast one can find it
    print(conversation.pk)
    """
)
DECISIONS = "from ratings.models import RatingDecision; print(RatingDecision.objects.count())"


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "Q_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        DEBUG="true",
        SECRET_KEY="worker-test",
        REDIS_URL="",
        RATING_SWEEP_GRACE_SECONDS="1",
        FAST_SWEEP_SECONDS="0.5",
        Q_WORKERS="1",
        LOG_LEVEL="WARNING",
        Q_LOG_LEVEL="WARNING",
    )
    return env


def manage(env, *args):
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_D8_the_worker_decides_a_lost_close_within_seconds_and_stops_on_sigint(env):
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "shell", "-v0", "-c", LOSE_A_CLOSE)
    assert manage(env, "shell", "-v0", "-c", DECISIONS) == "0"

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while manage(env, "shell", "-v0", "-c", DECISIONS) != "1":
            assert worker.poll() is None, worker.stderr.read()
            assert time.monotonic() < deadline, "the lost close was not decided in 30 s"
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        code = worker.wait(timeout=60)
    assert code == 0, worker.stderr.read()
    assert manage(env, "shell", "-v0", "-c", DECISIONS) == "1"
