"""D4, D5 on the production topology: `bench/topology.py --short` (PostgreSQL, its own Redis,
gunicorn, two qclusters, an SMTP sink; steady load, kill -9, Redis restart, SMTP 451, cut
database connections) must end every scenario with 0 duplicates and 0 lost closes.

It takes a few minutes, so it runs once per CI run: in the PostgreSQL pass (DATABASE_URL is
postgres://…), or wherever CSAT_TOPOLOGY=1 is set. It is skipped where PostgreSQL or
redis-server is not at hand (a laptop with SQLite)."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))
SERVER = urlsplit(DATABASE_URL if ON_POSTGRES else "postgres://postgres@127.0.0.1:5432/")


def _postgres_answers() -> bool:
    try:
        socket.create_connection((SERVER.hostname, SERVER.port or 5432), timeout=2).close()
    except OSError:
        return False
    return True


pytestmark = [
    pytest.mark.skipif(
        not (ON_POSTGRES or os.environ.get("CSAT_TOPOLOGY") == "1"),
        reason="runs in the PostgreSQL pass of CI, or with CSAT_TOPOLOGY=1",
    ),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server"),
    pytest.mark.skipif(not _postgres_answers(), reason="no PostgreSQL server"),
]


def test_D4_D5_production_topology_short_run_loses_nothing_and_sends_nothing_twice():
    user = SERVER.username or "postgres"
    password = f":{SERVER.password}" if SERVER.password else ""
    database_url = (
        f"postgres://{user}{password}@{SERVER.hostname}:{SERVER.port or 5432}/csat_topology_ci"
    )
    result = subprocess.run(
        [sys.executable, "bench/topology.py", "--short", "--database-url", database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = result.stdout + "\n--- stderr (tail) ---\n" + result.stderr[-4000:]
    print(report)
    assert result.returncode == 0, report
    assert "RESULT: ok" in result.stdout
