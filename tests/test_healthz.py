"""/healthz: 200 when the database answers, and when a task worker last finished a task."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings
from django_q.models import Task
from django_q.tasks import async_task

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _task_finished_at(moment):
    return Task.objects.create(
        id=f"task-{moment:%H%M%S}",
        name=f"task-{moment:%H%M%S}",
        func="math.floor",
        started=moment - timedelta(seconds=1),
        stopped=moment,
        success=True,
    )


def test_healthz_without_any_task(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "database": "ok",
        "worker_last_seen": None,
        "worker": "not seen in the last 5 minutes",
    }


def test_healthz_reports_a_worker_that_just_ran_a_task(client):
    with time_machine.travel(NOW, tick=False):
        async_task("math.floor", 1.5)  # runs at once in the tests, and keeps its result
        task = Task.objects.get(func="math.floor")
        assert task.success and task.result == 1

        body = client.get("/healthz").json()

    assert body["database"] == "ok"
    assert body["worker"] == "ok"
    assert datetime.fromisoformat(body["worker_last_seen"]) == task.stopped == NOW


@pytest.mark.parametrize(
    ("age", "worker"),
    [
        (timedelta(minutes=5), "ok"),
        (timedelta(minutes=5, seconds=1), "not seen in the last 5 minutes"),
        (timedelta(hours=2), "not seen in the last 5 minutes"),
    ],
    ids=["5 minutes ago", "5 minutes 1 second ago", "2 hours ago"],
)
def test_healthz_says_when_the_worker_was_last_seen(client, age, worker):
    _task_finished_at(NOW - timedelta(hours=3))
    _task_finished_at(NOW - age)

    with time_machine.travel(NOW, tick=False):
        body = client.get("/healthz").json()

    assert body["worker"] == worker
    assert datetime.fromisoformat(body["worker_last_seen"]) == NOW - age


@override_settings(SECURE_SSL_REDIRECT=True)
def test_healthz_is_served_over_plain_http_behind_the_ssl_redirect(client):
    assert client.get("/admin/login/").status_code == 301  # the redirect is on

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
