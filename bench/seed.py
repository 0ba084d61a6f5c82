"""How fast `manage.py seed_demo` makes the demo's conversations (issue 15, item 6: 100k in
at most 5 minutes on PostgreSQL, 2 cores).

    .venv/bin/python bench/seed.py                                  # 100k, 2 processes
    .venv/bin/python bench/seed.py --conversations 5000 --processes 1 2
    .venv/bin/python bench/seed.py --conversations 2000 --path services   # the services' path

Each run gets a fresh database (`--database-url`, wiped: a database of its own), migrated, then
`seed_demo --conversations N --processes P --seed S --path PATH` in a process of its own
(`auto`, the default, is set-based from 2,000 conversations: `demo.bulk`), as a person runs
it (DEBUG=true, its summary captured). Printed per run: the conversations, the seconds in all
(from the command's start to its end: the cast, the contacts, the conversations and their
ratings, the mail and alert bookkeeping), the conversations a second over that, the seconds
the command itself gives for the conversations and their ratings, the time 100k would take at
that rate, the machine's load before and after (the machine is shared: the figures move with
it), and whether it is within the aim.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchkit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
AIM_SECONDS_100K = 300


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def manage(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "true"}
    done = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class BackendCpu:
    """The CPU seconds of the PostgreSQL backends serving database `url` while it runs: their
    pids from `pg_stat_activity`, their time from /proc, sampled twice a second (the last
    sample of each backend counts; a backend's last half second may be missed)."""

    def __init__(self, url: str):
        self.url = url
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    def _sample(self) -> None:
        import psycopg

        name = urlsplit(self.url).path.lstrip("/")
        tick = os.sysconf("SC_CLK_TCK")
        with psycopg.connect(self.url, autocommit=True) as db:
            while not self.stop.wait(0.5):
                pids = db.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                    "AND pid <> pg_backend_pid()",
                    [name],
                ).fetchall()
                for (pid,) in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue  # gone, or another machine's
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / tick


def run(url: str, conversations: int, processes: int, seed: int, path: str = "auto") -> dict:
    benchkit.fresh_database(url)
    manage(url, "migrate", "--noinput", "-v0")
    before = load()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    with BackendCpu(url) as backends:
        out = manage(
            url,
            "seed_demo",
            f"--conversations={conversations}",
            f"--processes={processes}",
            f"--seed={seed}",
            f"--path={path}",
        )
    seconds = time.monotonic() - began
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    python_cpu = (children.ru_utime + children.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    played = re.search(r"\(([\d.]+) s for the conversations", out)
    return {
        "conversations": conversations,
        "processes": processes,
        "seconds": seconds,
        "rate": conversations / seconds,
        "played": float(played.group(1)) if played else float("nan"),
        "python_ms": 1000 * python_cpu / conversations,
        "postgres_ms": 1000 * backends.seconds / conversations,
        "load": f"{before} → {load()}",
        "summary": out.splitlines()[:12],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[2])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/csat_bench_seed"
    )
    parser.add_argument("--path", choices=["auto", "services", "set-based"], default="auto")
    parser.add_argument("--summary", action="store_true", help="also print seed_demo's summary")
    options = parser.parse_args()

    print(
        f"seed_demo --conversations {options.conversations} --path {options.path} "
        f"on {options.database_url}"
    )
    print(
        f"{'processes':>9} {'total s':>8} {'conv/s':>7} {'played s':>9} {'100k at this rate':>18}"
        f"  {'aim':<5} {'CPU ms/conv (py + pg)':>22}  {'100k on 2 idle cores':>20}"
        "  load (1, 5, 15 min: before → after)"
    )
    for processes in options.processes:
        row = run(
            options.database_url, options.conversations, processes, options.seed, options.path
        )
        at_100k = 100_000 / row["rate"]
        aim = "ok" if at_100k <= AIM_SECONDS_100K else "MISS"
        cpu = row["python_ms"] + row["postgres_ms"]
        # The least 100k can take on 2 cores at this CPU a conversation, all of it in parallel.
        idle = 100_000 * cpu / 1000 / 2
        print(
            f"{processes:>9} {row['seconds']:>8.1f} {row['rate']:>7.0f} {row['played']:>9.1f} "
            f"{at_100k / 60:>14.1f} min  {aim:<5} "
            f"{cpu:>7.1f} ({row['python_ms']:.1f} + {row['postgres_ms']:.1f})"
            f"  {idle / 60:>16.1f} min  {row['load']}",
            flush=True,
        )
        if options.summary:
            print("\n".join(f"    {line}" for line in row["summary"]))
    print(f"aim: 100k conversations in at most {AIM_SECONDS_100K / 60:.0f} minutes")


if __name__ == "__main__":
    main()
