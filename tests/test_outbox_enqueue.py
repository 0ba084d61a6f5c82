"""H8: a task whose outcome its own rows record (decisions, deliveries, alerts, webhooks,
replies by email) is queued without a success row in django-q2's table, so its monitor does
not read and lock the kept successes for each of them; a failure is still kept, and tasks
queued otherwise (the schedules') keep their success rows. Run through the real queue (sync
in the test settings: the worker's and the monitor's code, `save_task` included)."""

import pytest
from django.core import mail
from django_q.models import Failure, Success
from django_q.tasks import async_task

from conversations import services
from conversations.models import Channel
from conversations.outbox import outbox_enqueue
from tests.factories import start_conversation

pytestmark = pytest.mark.django_db


def test_H8_a_task_queued_otherwise_keeps_its_success_row():
    """The other side of the boundary: a task through `async_task` is kept (the test of
    the product's path below shows an outbox task runs and keeps none)."""
    async_task("builtins.dict", task_name="h8-kept", answer=42)

    kept = Success.objects.get(name="h8-kept")
    assert kept.result == {"answer": 42}


class _Transport:
    """Only the broker's transport stands in: it keeps the package `async_task` made."""

    list_key = "h8"

    def __init__(self):
        self.packages = []

    def enqueue(self, package):
        self.packages.append(package)
        return len(self.packages)


def _run_as_a_cluster_does(package) -> None:
    """The package through django-q2's own worker and monitor (as its sync mode does, without
    sync mode's raising of a task's error, which a cluster records instead)."""
    from multiprocessing import Queue, Value

    from django_q.monitor import monitor
    from django_q.signing import SignedPackage
    from django_q.worker import worker

    tasks, results = Queue(), Queue()
    tasks.put(SignedPackage.loads(package))
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results)
    for queue in (tasks, results):
        queue.close()
        queue.join_thread()


def test_H8_a_failed_outbox_task_is_still_kept():
    transport = _Transport()
    # math.floor takes no keywords: the task fails.
    outbox_enqueue("math.floor", task_name="h8-failed", x=2.5, sync=False, broker=transport)
    outbox_enqueue("builtins.dict", task_name="h8-done", x=2.5, sync=False, broker=transport)
    for package in transport.packages:
        _run_as_a_cluster_does(package)

    failed = Failure.objects.get(name="h8-failed")
    assert "keyword" in str(failed.result)
    assert not Success.objects.exists()


def test_H8_a_close_is_decided_and_its_survey_mailed_with_no_success_row(
    contact, teammate, django_capture_on_commit_callbacks
):
    """The product's own path: the close's decision task and its delivery run on the queue,
    the survey is mailed, and neither task left a success row."""
    conversation = start_conversation(
        contacts=[contact], started_by=contact, body="Where is my refund?", channel=Channel.EMAIL
    )
    services.conversation_reply(conversation=conversation, author=teammate, body="r" * 260)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_close(conversation=conversation, by=teammate)

    assert len(mail.outbox) == 1  # the decision and its delivery ran
    assert not Success.objects.exists()
