"""How fast `manage.py seed_demo` makes the demo's conversations (issue 15, item 6: 100k in
at most 5 minutes on PostgreSQL, 2 cores).

    .venv/bin/python bench/seed.py                                  # 100k, 2 processes
    .venv/bin/python bench/seed.py --conversations 5000 --processes 1 2

Each run gets a fresh database (`--database-url`, wiped: a database of its own), migrated, then
`seed_demo --conversations N --processes P --seed S` in a process of its own, as a person runs
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
import subprocess
import sys
import time
from pathlib import Path

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


def run(url: str, conversations: int, processes: int, seed: int) -> dict:
    benchkit.fresh_database(url)
    manage(url, "migrate", "--noinput", "-v0")
    before = load()
    began = time.monotonic()
    out = manage(
        url,
        "seed_demo",
        f"--conversations={conversations}",
        f"--processes={processes}",
        f"--seed={seed}",
    )
    seconds = time.monotonic() - began
    played = re.search(r"\(([\d.]+) s for the conversations", out)
    return {
        "conversations": conversations,
        "processes": processes,
        "seconds": seconds,
        "rate": conversations / seconds,
        "played": float(played.group(1)) if played else float("nan"),
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
    parser.add_argument("--summary", action="store_true", help="also print seed_demo's summary")
    options = parser.parse_args()

    print(f"seed_demo --conversations {options.conversations} on {options.database_url}")
    print(
        f"{'processes':>9} {'total s':>8} {'conv/s':>7} {'played s':>9} {'100k at this rate':>18}"
        f"  {'aim':<5} load (1, 5, 15 min: before → after)"
    )
    for processes in options.processes:
        row = run(options.database_url, options.conversations, processes, options.seed)
        at_100k = 100_000 / row["rate"]
        aim = "ok" if at_100k <= AIM_SECONDS_100K else "MISS"
        print(
            f"{processes:>9} {row['seconds']:>8.1f} {row['rate']:>7.0f} {row['played']:>9.1f} "
            f"{at_100k / 60:>14.1f} min  {aim:<5} {row['load']}",
            flush=True,
        )
        if options.summary:
            print("\n".join(f"    {line}" for line in row["summary"]))
    print(f"aim: 100k conversations in at most {AIM_SECONDS_100K / 60:.0f} minutes")


if __name__ == "__main__":
    main()
