"""`make run` that reads well (issue 13): the worker's routine below INFO, the worker saying
when each of its processes is up, and the one banner at the end with every login.

`scripts/run` itself is not run here (a migrate on a fresh database alone takes long); the
pieces it calls are: the logging of the worker (csat_project.logs), the logins file that
`ensure_admin` and `seed_demo` write and the banner (`run_banner`) that takes it.
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings
from django_q import cluster, monitor, pusher, worker
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.humanhash import humanize
from django_q.models import Schedule
from django_q.scheduler import scheduler
from django_q.tasks import async_task

from conversations.logins_made import login_made, logins_take
from csat_project.logs import ROUTINE, StartedFile, ready
from tests.factories import TeammateFactory
from tests.report_helpers import make_manager

Q_LOGGER = "django-q"


def q_lines(caplog, level=logging.INFO) -> list[tuple[str, str]]:
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == Q_LOGGER and record.levelno >= level
    ]


def a_bit_of_everything():
    """What a worker logs for tasks: a scheduled one, a queued one, a run (the test settings
    run tasks in the caller, through the worker's and the monitor's own code) and a failure,
    logged as the monitor logs it (a task failing in the caller raises instead)."""
    Schedule.objects.all().delete()
    Schedule.objects.create(
        name="Floor", func="math.floor", args="1.5", schedule_type=Schedule.MINUTES, minutes=1
    )
    scheduler(broker=get_broker())  # "created task … from schedule", run at once
    async_task("math.floor", 2.5, sync=False)  # "Enqueued [csat] 1"
    async_task("math.floor", 3.5)  # ready for work, processing, processed
    logging.getLogger(Q_LOGGER).error("Failed 'math.sqrt' (a-task) - math domain error")


# --- the worker's log -------------------------------------------------------------------------


def test_the_settings_filter_the_worker_routine():
    """The level is INFO unless Q_LOG_LEVEL says otherwise (tests/test_settings.py, in a
    clean environment)."""
    config = settings.LOGGING
    assert config["loggers"]["django-q"]["filters"] == ["routine_tasks"]
    assert config["filters"]["routine_tasks"]["()"] == "csat_project.logs.RoutineTaskLines"


@pytest.mark.django_db
def test_at_info_the_worker_says_when_it_starts_and_what_failed_not_each_task(caplog):
    with caplog.at_level(logging.INFO, logger=Q_LOGGER):
        a_bit_of_everything()

    lines = q_lines(caplog)
    assert not [message for _, message in lines if ROUTINE.match(message)]
    for _, message in lines:
        assert not re.search(r"Enqueued|[Pp]rocess(ed|ing) |created task", message), message
    assert any(re.search(r"ready for work at \d+$", m) for _, m in lines)
    assert any(re.search(r"monitoring at \d+$", m) for _, m in lines)
    # A failed task is an error, and shows.
    assert [m for level, m in lines if level == "ERROR" and m.startswith("Failed 'math.sqrt'")]


@pytest.mark.django_db
def test_at_debug_each_task_shows_as_a_debug_line(caplog):
    with caplog.at_level(logging.DEBUG, logger=Q_LOGGER):
        a_bit_of_everything()

    routine = [(level, m) for level, m in q_lines(caplog, logging.DEBUG) if ROUTINE.match(m)]
    assert {level for level, _ in routine} == {"DEBUG"}
    kinds = {m.split()[0] if m.startswith(("Enqueued", "Processed")) else m.split()[1]
             for _, m in routine}  # fmt: skip
    assert kinds == {"Enqueued", "Processed", "processing", "created"}


def test_the_start_lines_are_django_q2s_own():
    """The lines the banner waits for, as django-q2 writes them (a new version of it that
    words them otherwise fails here, not in `make run`)."""
    assert '"Q Cluster %(cluster_name)s running."' in inspect.getsource(cluster.Sentinel.guard)
    assert '"%(proc_name)s ready for work at %(id)s"' in inspect.getsource(worker.worker)
    assert '"%(name)s monitoring at %(id)s"' in inspect.getsource(monitor.monitor)
    assert '"%(name)s pushing tasks at %(id)s"' in inspect.getsource(pusher.pusher)


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord(Q_LOGGER, logging.INFO, __file__, 1, message, None, None)


def test_the_worker_is_ready_once_each_of_its_processes_is_up(tmp_path):
    path = tmp_path / "worker-started"
    handler = StartedFile(str(path))
    name = humanize(uuid.uuid4().hex) + " [csat]"
    process = "Process-" + uuid.uuid4().hex
    assert Conf.WORKERS == 2

    assert not ready(str(path))
    handler.emit(record(f"Q Cluster {name.split()[0]} starting."))
    handler.emit(record(f"{process} ready for work at 101"))
    handler.emit(record(f"{process} ready for work at 102"))
    handler.emit(record(f"{process} pushing tasks at 104"))
    handler.emit(record(f"{process} guarding cluster {name}"))
    handler.emit(record(f"Q Cluster {name} running."))
    assert not ready(str(path))  # the monitor has not said it is up yet
    handler.emit(record(f"{process} processing some-task 'math.floor'"))
    assert not ready(str(path))
    handler.emit(record(f"{process} monitoring at 103"))
    assert ready(str(path))
    assert path.read_text().splitlines()[-2] == "running 4"  # two workers, monitor, pusher


# --- the logins and the banner ----------------------------------------------------------------


def test_the_logins_file_is_taken_once(tmp_path):
    path = tmp_path / "run" / "logins"
    login_made(path, username="admin", password="pw-1")
    login_made(path, username="ann.lee", password="pw 2")

    assert path.stat().st_mode & 0o777 == 0o600
    assert logins_take(path) == {"admin": "pw-1", "ann.lee": "pw 2"}
    assert not path.exists()
    assert logins_take(path) == {}


def run_banner(path, port=8790) -> str:
    out = StringIO()
    call_command("run_banner", port=port, logins_file=str(path), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@override_settings(MESSENGER_DEMO_HOST=True, EMAIL_BACKEND="mail.devbox.DevboxBackend")
def test_the_banner_lists_every_login_with_the_passwords_made_now(tmp_path):
    path = tmp_path / "logins"
    out = StringIO()
    call_command("ensure_admin", logins_file=str(path), stdout=out)
    admin_password = re.search(r"Admin login: admin / (\S+)", out.getvalue()).group(1)
    ann = TeammateFactory(name="Ann Lee", username="ann.lee", email="ann@example.com")
    login_made(path, username="ann.lee", password="ann-password")
    make_manager(name="Mia Manager", username="mia.manager", email="mia@example.com")
    TeammateFactory(name="Gone Away", username="gone", email="gone@example.com")
    ann.user.__class__.objects.filter(username="gone").update(is_active=False)

    first = run_banner(path)

    lines = first.splitlines()
    site = "http://127.0.0.1:8790"
    assert f"  csat is running at {site}/  (the inbox: {site}/admin/)" in lines
    admin, manager, teammate = (
        next(i for i, line in enumerate(lines) if line.strip().startswith(name))
        for name in ("admin ", "mia.manager ", "ann.lee ")
    )
    assert admin < manager < teammate  # admins, managers, teammates
    assert lines[admin].split()[:2] == ["admin", "admin"]
    assert lines[admin].endswith(f"  {admin_password}")
    assert lines[manager].split()[:2] == ["mia.manager", "manager"]
    assert lines[manager].endswith("Mia Manager")  # made before this run: no password
    assert lines[teammate].split()[:4] == ["ann.lee", "teammate", "Ann", "Lee"]
    assert lines[teammate].endswith("  ann-password")
    assert "gone" not in first  # inactive: no login
    assert "  Logins, with the passwords this run made (shown this once: keep them):" in lines
    assert "  Messenger on a demo company's site: http://localhost:8790/demo/host/" in lines
    assert "  Sent mail: http://127.0.0.1:8790/admin/mail/sentmail/" in first
    assert "  Health:    http://127.0.0.1:8790/healthz" in lines
    assert lines[-1] == "  Press Ctrl-C to stop."
    assert not path.exists()  # shown once

    again = run_banner(path)

    assert admin_password not in again and "ann-password" not in again
    assert "  Logins:" in again.splitlines()
    assert "  A password is shown once, when it is made; to set one:" in again.splitlines()
    assert "    .venv/bin/python manage.py changepassword USERNAME" in again.splitlines()


@pytest.mark.django_db
@override_settings(MESSENGER_DEMO_HOST=False)
def test_without_the_devbox_the_banner_says_where_mail_goes(tmp_path):
    TeammateFactory(name="Ann Lee", username="ann.lee", email="ann@example.com")

    out = run_banner(tmp_path / "logins")

    assert "Sent mail" not in out
    assert "Mail goes out through django.core.mail.backends.locmem.EmailBackend" in out
    assert "/demo/host/" not in out  # MESSENGER_DEMO_HOST off: no demo host page


@pytest.mark.django_db
def test_the_banner_counts_logins_beyond_fifteen(tmp_path):
    for number in range(17):
        TeammateFactory(name=f"Mate {number}", username=f"mate{number:02}")

    out = run_banner(tmp_path / "logins")

    assert "mate14" in out and "mate15" not in out
    assert "… and 2 more: http://127.0.0.1:8790/admin/auth/user/" in out


@pytest.mark.django_db
def test_seed_demo_notes_every_login_it_makes_with_the_password_it_prints(tmp_path):
    path = tmp_path / "logins"
    out = StringIO()

    call_command(
        "seed_demo", conversations=0, seed=1, logins_file=str(path), stdout=out, stderr=StringIO()
    )

    password = re.search(r"password for the new logins: (\S+)", out.getvalue()).group(1)
    made = logins_take(path)
    teammates = Group.objects.get(name="Teammates").user_set.values_list("username", flat=True)
    assert set(made) == set(teammates) and made
    assert set(made.values()) == {password}

    call_command("seed_demo", conversations=0, logins_file=str(path), stdout=StringIO())

    assert logins_take(path) == {}  # they existed: nothing made, nothing shown
