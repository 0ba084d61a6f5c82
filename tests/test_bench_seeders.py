"""The benches that write rows straight into the tables (`bench/inbox.py`, `bench/reports.py`)
still run on the current schema, at a small size, on SQLite: a column added without a value
for them (L1's language, K19's links epoch, K12's source) once stopped both, unnoticed until
someone measured. Their figures are the benches' business; here each must seed, measure
every page and print its table."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench(tmp_path, script: str, *args: str) -> str:
    database = tmp_path / f"{Path(script).stem}.sqlite3"
    done = subprocess.run(
        [sys.executable, script, *args, "--repeat", "1", "--database-url", f"sqlite:///{database}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    ("script", "args", "marks"),
    [
        ("bench/inbox.py", ("--conversations", "2000"), ("Closed, page 50", "aim: each page")),
        ("bench/reports.py", ("--sizes", "500"), ("R3 to follow up, year", "aims:")),
    ],
)
def test_a_seeding_bench_runs_on_the_current_schema(tmp_path, script, args, marks):
    printed = _bench(tmp_path, script, *args)

    for mark in marks:
        assert mark in printed
