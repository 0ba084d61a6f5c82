"""`manage.py worker`: django-q2's cluster (`qcluster`) and, in its main process, the fast
sweeps (D8) every FAST_SWEEP_SECONDS.

django-q2 runs its scheduler from the cluster's guard loop every 30 seconds, and a schedule at
most once a minute, so a task lost with a killed worker or a Redis restart, or a survey the mail
server refused, would wait about a minute. The fast sweeps (dotted paths in FAST_SWEEPS, each a
few indexed queries) find that work within seconds and queue it; the minute schedules stay,
the backstop. Every cluster runs them: each sweep only queues tasks that are safe to run twice.
The main process only waits for the cluster otherwise, and the sweeps run there after the
cluster's processes are started (forked), so none of them inherits its database connection.
Stop it as a cluster: SIGTERM to this process, or SIGINT to its process group.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as QclusterCommand

logger = logging.getLogger(__name__)


class Command(QclusterCommand):
    help = "Starts a django-q2 cluster with the fast sweeps (D8) in its main process."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 - as qcluster: signing needs it
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = Cluster()
        stopped = threading.Event()

        def on_signal(signum, frame):
            stopped.set()
            cluster.sig_handler(signum, frame)  # stops the cluster, as qcluster does

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        sweeps = [import_string(path) for path in settings.FAST_SWEEPS]
        while not stopped.is_set() and cluster.sentinel.is_alive():
            fast_sweeps_run(sweeps)
            stopped.wait(settings.FAST_SWEEP_SECONDS)
        cluster.sentinel.join()


def fast_sweeps_run(sweeps) -> int:
    """Run each sweep once; one that fails (the database or the broker away) is logged and
    tried again at the next tick. Returns how many tasks they queued."""
    queued = 0
    for sweep in sweeps:
        close_old_connections()
        try:
            queued += sweep() or 0
        except Exception:  # noqa: BLE001 - the next tick tries again; the minute sweep remains
            logger.warning("Fast sweep %s failed; trying again shortly.", sweep, exc_info=True)
    return queued
