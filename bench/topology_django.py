"""The Django side of `bench/topology.py`: run in its own process with the harness's
environment (DJANGO_SETTINGS_MODULE=topology_settings, bench/ on PYTHONPATH).

    python bench/topology_django.py prepare         # users, API tokens, settings, floor table
    python bench/topology_django.py floor-enqueue N # queue N floor tasks (clusters stopped)

`floor_insert` is the queue's floor task: it inserts one row with a unique key and returns,
so a cluster's rate on it is what django-q2, Redis and one INSERT cost, with no product code.
"""

import json
import os
import sys
import uuid
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR_TASK = "topology_django.floor_insert"
FLOOR_TABLE = """
CREATE TABLE IF NOT EXISTS bench_floor (
    key text PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""


def floor_insert(key: str) -> str:
    """The floor: one row with a unique key (a repeated task inserts nothing)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (key) VALUES (%s) ON CONFLICT DO NOTHING", [key])
    return key


def prepare() -> dict:
    """A teammate and a manager with API tokens; the API/workflow switch on (E2), so API-started
    conversations with a teammate reply qualify; the floor table."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from conversations.services import teammate_create
    from ratings.models import RatingSettings

    def token(username):
        out = StringIO()
        call_command("api_token", username, stdout=out)
        return out.getvalue().strip()

    teammate = teammate_create(
        name="Topology Teammate", email="teammate@topology.test", username="topology-teammate"
    )
    manager = teammate_create(
        name="Topology Manager", email="manager@topology.test", username="topology-manager"
    )
    manager.user.groups.add(Group.objects.get(name="Managers"))
    settings = RatingSettings.load()
    settings.send_outbound_api_workflows = True
    settings.save()
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_TABLE)
    return {
        "teammate": teammate.pk,
        "teammate_token": token("topology-teammate"),
        "manager_token": token("topology-manager"),
    }


def floor_enqueue(count: int) -> dict:
    from django_q.tasks import async_task

    run = uuid.uuid4().hex[:8]
    for number in range(count):
        # Queued as the product's outbox tasks are (H8: no success row kept).
        async_task(FLOOR_TASK, f"{run}-{number}", task_name=f"floor-{run}-{number}", save=False)
    return {"run": run, "queued": count}


def main():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topology_settings")
    import django

    django.setup()
    command = sys.argv[1]
    if command == "prepare":
        result = prepare()
    elif command == "floor-enqueue":
        result = floor_enqueue(int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
