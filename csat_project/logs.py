"""What the task worker says on the console (LOGGING in the settings).

django-q2 logs at INFO both the life of the cluster (starting, each process ready, running,
stopping) and the routine of every task: enqueued, created from a schedule, processing,
processed. At idle the schedules alone make that 20 lines a minute, so `RoutineTaskLines`
logs the routine at DEBUG: it shows only when Q_LOG_LEVEL=DEBUG. A failed task is an ERROR
and always shows.

`StartedFile` lets `scripts/run` print its banner once the worker has started: each process
of the cluster appends a line to a file when it logs that it is up (see `ready`).

K18: a customer's signed link is a working credential, so no log line carries one.
`redact_paths` is the one rewrite (`/rate/<token>/` → `/rate/[redacted]/`, and every other
tokened customer path); `RedactTokens` applies it to Django's loggers (`django.request`'s
"Not Found: /rate/…/", `django.server`'s request lines) and the console handler, and
`csat_project.gunicorn_logs.Logger` to gunicorn's access and error logs.
"""

from __future__ import annotations

import logging
import os
import re

# django-q2 1.11's routine lines (its messages are English: commands run untranslated).
ROUTINE = re.compile(
    r"^(Enqueued \[|Processed '|\S+ processing \S+ '|\S+ created task \S+ from schedule )"
)
# A process of the cluster saying that it is up: each worker, the monitor, the pusher; the
# sentinel last says that the cluster runs (every process has been started by then).
PROCESS_UP = re.compile(r"^\S+ (ready for work|monitoring|pushing tasks) at \d+$")
CLUSTER_UP = re.compile(r"^Q Cluster \S+ \[.*\] running\.$")

# K18: the customer addresses whose next segment is a signed token (ratings/urls.py,
# messenger/urls.py, api/urls.py): the rating link and its comment page, the alert
# unsubscribe link, the Messenger link (not its fixed addresses: widget.js, frame/, w/…)
# and the Messenger card API. A slash may come percent-encoded (a `?next=` or a referer),
# and a resolver's path has no leading slash, so a prefix starts anywhere not inside a word.
REDACTED = "[redacted]"
_SLASH = r"(?:/|%2[fF])"
_CHAR = r"""[^/%?#&\s"'<>]"""  # a token's: base64url and colons, up to the next delimiter
_SEGMENT = rf"(?:{_CHAR}|%3[aA])+"  # a colon may come percent-encoded too
_FIXED = rf"(?:widget\.js|frame|w)(?!{_CHAR})"  # the Messenger's own addresses, whole
_PREFIX = "|".join(
    (
        "rate",
        rf"alerts{_SLASH}unsubscribe",
        rf"api{_SLASH}v1{_SLASH}messenger{_SLASH}ratings",
        rf"messenger(?!{_SLASH}{_FIXED})",
    )
)
TOKENED_PATH = re.compile(
    rf"(?:(?<=/)|(?<=%2[fF])|(?<![\w.~%-]))(?P<prefix>(?:{_PREFIX}){_SLASH})(?P<token>{_SEGMENT})"
)


def redact_paths(text: str) -> str:
    """K18: `text` with the token of every tokened customer path replaced by `[redacted]`:
    "Not Found: /rate/eyJ…:1v…:Xy…/comment/" → "Not Found: /rate/[redacted]/comment/"."""
    if "rate" not in text and "messenger" not in text and "unsubscribe" not in text:
        return text  # the common line, at no regex cost
    return TOKENED_PATH.sub(lambda m: m["prefix"] + REDACTED, text)


class RedactTokens(logging.Filter):
    """K18, on Django's request loggers and the console handler: the record's message, once
    formatted with its arguments, and its traceback text carry no customer token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_paths(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_paths(record.exc_text)
        return True


class RoutineTaskLines(logging.Filter):
    """On the django-q logger: its per-task INFO lines become DEBUG lines, kept only when the
    logger is set to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and ROUTINE.match(record.getMessage()):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


class StartedFile(logging.Handler):
    """On the django-q logger, when `scripts/run` names a file: a line `up <pid>` for each
    process that says it is up, and `running <n>` when the cluster runs, `n` being how many
    processes it started (workers, monitor and pusher). `ready(path)` tells when every one
    of them has said so."""

    def __init__(self, path: str):
        super().__init__(level=logging.INFO)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if PROCESS_UP.match(message):
            line = f"up {os.getpid()}\n"
        elif CLUSTER_UP.match(message):
            from django_q.conf import Conf

            line = f"running {Conf.WORKERS + 2}\n"
        else:
            return
        try:
            # One write with O_APPEND: the lines of several processes never mix.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError:
            self.handleError(record)


def ready(path: str) -> bool:
    """Whether the cluster that writes `path` (a `StartedFile`) runs and each of its
    processes has said that it is up."""
    try:
        with open(path) as file:
            words = [line.split() for line in file]
    except FileNotFoundError:
        return False
    expected = [int(w[1]) for w in words if len(w) == 2 and w[0] == "running"]
    up = sum(1 for w in words if w and w[0] == "up")
    return bool(expected) and up >= expected[-1]
