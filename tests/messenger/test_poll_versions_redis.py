"""H4 against a real Redis, as production runs it: the entry checked by the Lua script over
redis-py's EVALSHA (conversations.poll_versions._RedisStore), the script loaded again after a
SCRIPT FLUSH (a restarted server), a server gone (the poll falls back to the query, the writes
still commit) and back. A redis-server of this module's own on a free loopback port, stopped
by its pid; skipped without redis-server on the PATH."""

import contextlib
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from conversations import poll_versions, services
from tests.factories import start_conversation
from tests.messenger.test_widget_queries import THREADS_NOT_MODIFIED

T = datetime(2025, 3, 10, 12, 0, 5, tzinfo=UTC)
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="no redis-server"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return proc
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("redis-server did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def redis_server():
    port = _free_port()
    server = {"port": port, "proc": _start(port)}
    yield server
    _stop(server["proc"])


@pytest.fixture
def redis_cache(settings, redis_server):
    url = f"redis://127.0.0.1:{redis_server['port']}/3"  # not db 0
    settings.CACHES = {
        **settings.CACHES,
        "h4redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "test",
        },
    }
    settings.MESSENGER_VERSION_CACHE = "h4redis"
    store = poll_versions._cache()
    store.client.flushdb()
    poll_versions._HINTS.clear()
    yield store
    with contextlib.suppress(Exception):
        store.client.flushdb()
    poll_versions._HINTS.clear()


def _threads(client, token, etag=None):
    headers = {"HTTP_X_MESSENGER_SESSION": token}
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return client.get(reverse("messenger:threads"), **headers)


def _warm(client, token, django_assert_num_queries):
    etag = _threads(client, token)["ETag"]
    assert _threads(client, token, etag).status_code == 304
    with django_assert_num_queries(0):
        assert _threads(client, token, etag).status_code == 304
    return etag


def test_H4_redis_the_hit_is_checked_in_redis_and_a_change_is_a_200(
    client,
    contact,
    teammate,
    redis_cache,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    with time_machine.travel(T - timedelta(minutes=5), tick=False):
        conversation = start_conversation(contacts=[contact], started_by=contact, body="Hi")
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _warm(client, token, django_assert_num_queries)
        minute = int(T.timestamp() // 60)
        assert redis_cache.hit(contact.pk, minute) is not None  # the Lua script's answer
        assert redis_cache.hit(contact.pk, minute + 1) is None  # another minute: no entry
        redis_cache.client.script_flush()  # a restarted server: the script is loaded again
        with django_assert_num_queries(0):
            assert _threads(client, token, etag).status_code == 304
    with time_machine.travel(T + timedelta(seconds=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_reply(conversation=conversation, author=teammate, body="Yes")
        response = _threads(client, token, etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_H4_redis_gone_the_poll_runs_the_query_and_the_writes_commit(
    client,
    contact,
    teammate,
    redis_server,
    redis_cache,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    with time_machine.travel(T - timedelta(minutes=5), tick=False):
        conversation = start_conversation(contacts=[contact], started_by=contact, body="Hi")
    with time_machine.travel(T, tick=False):
        token = services.session_token(contact)
        etag = _warm(client, token, django_assert_num_queries)
        _stop(redis_server["proc"])
        try:
            started = time.monotonic()
            with django_assert_num_queries(THREADS_NOT_MODIFIED):
                response = _threads(client, token, etag)
            assert response.status_code == 304 and response["ETag"] == etag
            assert time.monotonic() - started < 2  # the socket's timeout, not a hang
            with django_capture_on_commit_callbacks(execute=True):
                part = services.conversation_reply(
                    conversation=conversation, author=teammate, body="Still here"
                )
            assert part.pk is not None
        finally:
            redis_server["proc"] = _start(redis_server["port"])
    with time_machine.travel(T + timedelta(seconds=2), tick=False):
        # Back, and empty (no persistence): nothing matches, the query answers, then the cache.
        response = _threads(client, token, etag)
        assert response.status_code == 200
        etag = response["ETag"]
        assert _threads(client, token, etag).status_code == 304
        with django_assert_num_queries(0):
            assert _threads(client, token, etag).status_code == 304
