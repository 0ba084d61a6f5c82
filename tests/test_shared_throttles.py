"""K9: the customer API's throttles hold across processes. Real processes: gunicorn with three
workers on a free 127.0.0.1 port, against a file-based SQLite database made by `migrate`
alone (the shared cache's table included), and its own redis-server for the Redis variant.
One token is sent more than its limit (30 a minute) from several threads at once, so the
requests land on several workers and race: exactly the limit passes, the rest are 429.
The same run with each process's memory as the cache lets more than the limit through (the
bug this fixes); the access log names the worker that served each request.

Statements (H): with the database cache each throttle costs its read and its write; with
Redis the throttles add no SQL at all."""

import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ratings.tokens import rating_token

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
LIMIT = 30  # THROTTLE_RATING_TOKEN's default, 30/minute
SENT = 45
WORKERS = 3

pytestmark = pytest.mark.skipif(not GUNICORN.exists(), reason="no gunicorn in the venv")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(folder: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CSAT_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "csat_project.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(folder)]),
            "DEBUG": "false",
            "SECRET_KEY": "k9-test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEY),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "REDIS_URL": "",
            "THROTTLE_REDIS_URL": "",
            "EMAIL_URL": "dummymail://",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A fresh file database, set up by `migrate` alone (no `createcachetable`)."""
    folder = tmp_path_factory.mktemp("k9")
    # The memory variant: the same settings, the shared cache in each process's memory.
    (folder / "memory_settings.py").write_text(
        "from csat_project.settings import *  # noqa: F403\n"
        "CACHES['shared'] = {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=_environment(folder),
        check=True,
        timeout=300,
    )
    return folder


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server")
    port = _free_port()
    folder = tmp_path_factory.mktemp("k9-redis")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.skip("redis-server did not start")
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _serve(folder: Path, name: str, env: dict):
    """gunicorn, `WORKERS` sync workers; its access log gives each request's worker pid."""
    port = _free_port()
    log = folder / f"{name}-access.log"
    log.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [str(GUNICORN), "csat_project.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(WORKERS), "--worker-class", "sync", "--log-level", "warning"]
        + ["--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / f"{name}-error.log", "ab"),  # noqa: SIM115
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError((folder / f"{name}-error.log").read_text())
        try:
            probe = HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("gunicorn did not answer /healthz within 60 s")
        time.sleep(0.2)
    return proc, port, log


def _stop(proc) -> None:
    proc.terminate()  # our own gunicorn, by its pid
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _burst(port: int, token: str) -> list[int]:
    """`SENT` reads of one token's card, from 9 threads at once, a connection each."""
    path = f"/api/v1/messenger/ratings/{token}/"

    def one(_):
        client = HTTPConnection("127.0.0.1", port, timeout=30)
        client.request("GET", path, headers={"Connection": "close"})
        status = client.getresponse().status
        client.close()
        return status

    with ThreadPoolExecutor(max_workers=9) as pool:
        return list(pool.map(one, range(SENT)))


def _run(folder: Path, name: str, env: dict, token: str):
    proc, port, log = _serve(folder, name, env)
    try:
        statuses = _burst(port, token)
    finally:
        _stop(proc)
    workers = {line.split()[0] for line in log.read_text().splitlines() if line.strip()}
    return statuses, workers


def _token(n: int) -> str:
    # A well-formed link that names no request: the throttle counts it before the view reads
    # it (each allowed read is a 404), as it counts a guesser's.
    return rating_token(request_id=900_000 + n, conversation_id=900_000 + n)


def test_K9_three_workers_with_the_database_cache_let_exactly_the_limit_through(folder):
    statuses, workers = _run(folder, "database", _environment(folder), _token(1))

    assert len(workers) >= 2, workers  # the burst really was served by several processes
    assert statuses.count(404) == LIMIT, statuses
    assert statuses.count(429) == SENT - LIMIT, statuses


SESSION_DATABASE = os.environ.get("DATABASE_URL", "")


@pytest.mark.skipif(
    not SESSION_DATABASE.startswith(("postgres://", "postgresql://")),
    reason="in the PostgreSQL pass: the rows' locks (SELECT … FOR UPDATE)",
)
def test_K9_three_workers_with_the_database_cache_on_postgresql(tmp_path):
    """The database cache on PostgreSQL, where the key's row lock serializes the counts: a
    database of this test's own (`<the session's>_k9`), made by `migrate` alone."""
    from urllib.parse import urlsplit

    import psycopg

    url = urlsplit(SESSION_DATABASE)
    name = f"{url.path.lstrip('/') or 'csat'}_k9"
    server = url._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = _environment(tmp_path, DATABASE_URL=url._replace(path=f"/{name}").geturl())
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    try:
        statuses, workers = _run(tmp_path, "postgresql", env, _token(6))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert len(workers) >= 2, workers
    assert statuses.count(404) == LIMIT, statuses
    assert statuses.count(429) == SENT - LIMIT, statuses


def test_K9_three_workers_with_redis_let_exactly_the_limit_through(folder, redis_url):
    env = _environment(folder, THROTTLE_REDIS_URL=redis_url)
    statuses, workers = _run(folder, "redis", env, _token(2))

    assert len(workers) >= 2, workers
    assert statuses.count(404) == LIMIT, statuses
    assert statuses.count(429) == SENT - LIMIT, statuses


def test_K9_each_processs_memory_lets_more_than_the_limit_through(folder):
    """The boundary (what main does, no CACHES): each worker keeps its own count."""
    env = _environment(folder, DJANGO_SETTINGS_MODULE="memory_settings")
    statuses, workers = _run(folder, "memory", env, _token(3))

    assert len(workers) >= 2, workers
    assert statuses.count(404) > LIMIT, statuses


# --- in process: the settings and the statements (H) ---------------------------------------


def test_K9_the_shared_cache_is_the_database_without_redis_and_redis_with_it():
    from django.core.cache.backends.db import DatabaseCache

    assert isinstance(caches["shared"], DatabaseCache)
    assert caches["shared"]._table == "csat_shared_cache"


@pytest.fixture
def card(db, client):
    caches["shared"].clear()
    url = f"/api/v1/messenger/ratings/{_token(4)}/"
    client.get(url)  # the first read of the settings and the throttles' first rows

    def read():
        with CaptureQueriesContext(connection) as queries:
            status = client.get(url).status_code
        return status, queries

    return read


def test_K9_H_with_the_database_cache_each_throttle_reads_and_writes_its_row(card):
    """Per throttle (token, address): its history read, the cache's row count (Django culls
    by it), the row's read and its update, in a transaction (here savepoints: 4 statements);
    then the view's one query (a link that names no request: the 404)."""
    status, queries = card()
    cache_sql = [q["sql"] for q in queries if "csat_shared_cache" in q["sql"]]
    # PostgreSQL: + the row's lock (SELECT … FOR UPDATE); SQLite's transaction is the lock.
    lock = 1 if connection.features.has_select_for_update else 0

    assert status == 404
    assert len(cache_sql) == 2 * (4 + lock), cache_sql
    assert len(queries) == 17 + 2 * lock, [q["sql"] for q in queries]


def test_K9_H_with_redis_the_throttles_add_no_sql(db, client, settings, redis_url):
    settings.CACHES = {
        **settings.CACHES,
        "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
    }
    caches["shared"].clear()
    url = f"/api/v1/messenger/ratings/{_token(5)}/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code

    assert status == 404
    assert [q["sql"] for q in queries if "csat_shared_cache" in q["sql"]] == []
    assert len(queries) == 1, [q["sql"] for q in queries]
    for _ in range(LIMIT - 2):
        assert client.get(url).status_code == 404
    refused = client.get(url)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    caches["shared"].clear()
