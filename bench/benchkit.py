"""What the benches share: a fresh database for each run, a free loopback port, the command
line of a redis-server of the run's own (imported as `benchkit`, the bench scripts being run
from this folder: `.venv/bin/python bench/<name>.py`)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit


def fresh_postgres(url: str) -> None:
    """The database `url` names, empty: created if missing, else its public schema dropped."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
            return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP SCHEMA public CASCADE")
        db.execute("CREATE SCHEMA public")


def fresh_database(url: str) -> None:
    """A SQLite file (and its journal files) deleted, or a PostgreSQL database emptied."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    elif url.startswith(("postgres://", "postgresql://")):
        fresh_postgres(url)
    else:
        raise SystemExit("--database-url: sqlite:////path or postgresql://…")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_argv(port: int) -> list[str]:
    """A redis-server of the run only: on loopback, nothing written to disk."""
    return [
        "redis-server",
        *("--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no"),
    ]
