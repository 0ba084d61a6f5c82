"""What the task worker says on the console (LOGGING in the settings).

django-q2 logs at INFO both the life of the cluster (starting, each process ready, running,
stopping) and the routine of every task: enqueued, created from a schedule, processing,
processed. At idle the schedules alone make that 20 lines a minute, so `RoutineTaskLines`
logs the routine at DEBUG: it shows only when Q_LOG_LEVEL=DEBUG. A failed task is an ERROR
and always shows.

`StartedFile` lets `scripts/run` print its banner once the worker has started: each process
of the cluster appends a line to a file when it logs that it is up (see `ready`).
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
