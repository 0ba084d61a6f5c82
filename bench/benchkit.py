"""What the benches share: a fresh database for each run, rows written straight into its
tables, a free loopback port, the command line of a redis-server of the run's own (imported
as `benchkit`, the bench scripts being run from this folder: `.venv/bin/python
bench/<name>.py`)."""

from __future__ import annotations

import socket
from datetime import datetime
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


def write_rows(connection, table: str, columns: list[str], rows, fixed: dict | None = None):
    """`rows` (tuples of `columns`) into `table`: one COPY on PostgreSQL, executemany
    elsewhere (datetimes as the backend stores them). Each column the rows do not give takes
    its value from `fixed`, else its model field's default: a column added since a bench was
    written (with a default, as a migration adds one) does not stop the bench."""
    from django.apps import apps

    model = next(m for m in apps.get_models(include_auto_created=True) if m._meta.db_table == table)
    extra = dict(fixed or {})
    for field in model._meta.concrete_fields:
        if field.column not in columns and field.column not in extra and field.has_default():
            extra[field.column] = field.get_db_prep_save(field.get_default(), connection)
    columns = [*columns, *extra]
    rows = [(*row, *extra.values()) for row in rows]
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        rows = [tuple(adapt(v) if isinstance(v, datetime) else v for v in row) for row in rows]
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
