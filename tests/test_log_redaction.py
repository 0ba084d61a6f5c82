"""K18: a customer's signed link is a working credential, so no log line carries one. Django's
request loggers ("Not Found: /rate/<token>/…", runserver's request lines) and gunicorn's
access and error logs write `/rate/[redacted]/` instead (`csat_project.logs.redact_paths`)."""

import http.client
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from csat_project.logs import RedactTokens, redact_paths
from ratings.alerts import unsubscribe_token
from ratings.tokens import messenger_token, rating_token
from tests.rating_pages.support import _requested

ROOT = Path(__file__).resolve().parents[1]


def _record_texts(records) -> list[str]:
    """Everything a handler could write of each record: its message with its arguments,
    the raw message and arguments, and its traceback."""
    texts = []
    for record in records:
        texts += [record.getMessage(), str(record.msg), repr(record.args)]
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        texts.append(record.exc_text or "")
    return texts


@pytest.fixture
def rating_request(teammate):
    return _requested(teammate)


def _token(rating_request):
    return rating_token(
        request_id=rating_request.pk, conversation_id=rating_request.conversation_id
    )


@pytest.mark.parametrize(
    ("method", "suffix", "data", "status", "logged"),
    [
        ("get", "comment/nope/", None, 404, "Not Found: /rate/[redacted]/comment/nope/"),
        ("get", "comment/", None, 405, "Method Not Allowed (GET): /rate/[redacted]/comment/"),
        ("post", "", {"value": "9"}, 400, "Bad Request: /rate/[redacted]/"),
    ],
    ids=["404", "405", "400"],
)
def test_K18_a_4xx_on_a_working_rating_link_logs_the_path_redacted(
    client, caplog, rating_request, method, suffix, data, status, logged
):
    token = _token(rating_request)
    url = reverse("ratings:rate", args=[token]) + suffix
    assert client.get(reverse("ratings:rate", args=[token])).status_code == 200  # it works
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    assert response.status_code == status
    request_records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in request_records] == [logged]
    texts = _record_texts(caplog.records)
    assert not [t for t in texts if token in t]
    assert not [t for t in texts if token.split(":")[0] in t]  # not even the payload part


def test_K18_a_4xx_on_a_messenger_link_and_the_card_api_and_unsubscribe_logs_no_token(
    client, caplog, rating_request
):
    contact_id = rating_request.conversation.contacts.get().pk
    link = messenger_token(contact_id=contact_id)
    card = _token(rating_request)
    unsubscribe = unsubscribe_token(rating_request.teammate.user_id)
    with caplog.at_level(logging.INFO):
        assert client.post(reverse("messenger:link", args=[link])).status_code == 405
        assert client.get(reverse("api:messenger-reaction", args=[card])).status_code == 405
        assert (
            client.put(reverse("ratings:alert_unsubscribe", args=[unsubscribe])).status_code == 405
        )
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert "Method Not Allowed (POST): /messenger/[redacted]/" in messages
    assert "Method Not Allowed: /api/v1/messenger/ratings/[redacted]/reaction/" in messages
    assert "Method Not Allowed (PUT): /alerts/unsubscribe/[redacted]/" in messages
    texts = _record_texts(caplog.records)
    for token in (link, card, unsubscribe):
        assert not [t for t in texts if token in t]


def test_K18_runserver_request_lines_go_through_the_filter():
    """`django.server` (runserver's "GET /rate/<token>/ HTTP/1.1" 404 …) carries the filter,
    and so does the console handler every other logger ends in."""
    assert any(isinstance(f, RedactTokens) for f in logging.getLogger("django.server").filters)
    assert any(isinstance(f, RedactTokens) for f in logging.getLogger("django.request").filters)
    for handler in logging.getLogger().handlers + logging.getLogger("django.server").handlers:
        if isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith(
            "_pytest"
        ):
            assert any(isinstance(f, RedactTokens) for f in handler.filters), handler
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /rate/t0k:en/ HTTP/1.1", 404, 9),
        None,
    )
    RedactTokens().filter(record)
    assert record.getMessage() == '"GET /rate/[redacted]/ HTTP/1.1" 404 9'


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Not Found: /rate/eyJy:1v:Ab-_/comment/", "Not Found: /rate/[redacted]/comment/"),
        ("GET /messenger/eyJr:1v:X/ HTTP/1.1", "GET /messenger/[redacted]/ HTTP/1.1"),
        ("/alerts/unsubscribe/MQ:1v:x/", "/alerts/unsubscribe/[redacted]/"),
        (
            "/api/v1/messenger/ratings/a:b:c/reaction/",
            "/api/v1/messenger/ratings/[redacted]/reaction/",
        ),
        (
            "https://csat.example.com/rate/a:b:c/?done=rated",
            "https://csat.example.com/rate/[redacted]/?done=rated",
        ),
        (
            "/accounts/login/?next=%2Frate%2Fa%3Ab%2F",
            "/accounts/login/?next=%2Frate%2F[redacted]%2F",
        ),
        ("{'path': 'rate/a:b:c/x/'}", "{'path': 'rate/[redacted]/x/'}"),
        # untouched: the Messenger's fixed addresses, addresses without a token, other words
        ("/messenger/widget.js /messenger/frame/?host=x /messenger/w/session/", None),
        ("/rate/ /messenger/ /alerts/ /reports/teammates/ /accelerate/x/ /api/v1/ratings/3/", None),
    ],
)
def test_K18_redact_paths_rewrites_only_the_token_segments(text, redacted):
    assert redact_paths(text) == (redacted or text)


# --- gunicorn ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_K18_gunicorn_with_the_project_config_writes_access_lines_without_the_token(tmp_path):
    """A real gunicorn, started as the README starts it (from the project's folder, so with
    its `gunicorn.conf.py`), plus an access log: the line of a request whose path and referer
    carry a signed token has `[redacted]` where the token was."""
    port = _free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csat_project.settings",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    token = rating_token(request_id=41, conversation_id=42)
    link = messenger_token(contact_id=43)
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "csat_project.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(access),
            "--error-logfile",
            str(errors),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request(
                    "GET",
                    f"/rate/{token}/comment/?x=1",
                    headers={"Referer": f"http://127.0.0.1:{port}/messenger/{link}/"},
                )
                status = connection.getresponse().status
                connection.close()
                break
            except OSError:
                assert proc.poll() is None, errors.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        assert status == 405  # GET on the comment address (require_POST), no database read
        deadline = time.monotonic() + 10
        while "comment" not in (access.read_text() if access.exists() else ""):
            assert time.monotonic() < deadline, "no access line"
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)
    lines = access.read_text()
    assert '"GET /rate/[redacted]/comment/?x=1 HTTP/1.1" 405' in lines
    assert "/messenger/[redacted]/" in lines  # the referer
    everything = lines + errors.read_text()
    assert token not in everything and link not in everything
    assert token.split(":")[0] not in everything
