"""`seed_demo --processes N`: the demo's conversations played by N processes at once, each its
own slice of the timeline, each through the same services as one process (every conversation,
part, close, decision and answer made by the service a live action calls).

The parent has made the cast and the plans (so every process plays the same conversations one
process would) and played the first ones (`demo.play.LEAD`); then it forks N children, one
database connection each, and waits. Each child plays its slice in time order, `batch` at a
time, and sends the parent how far it got and, at the end, the ids it made. A slice is
contiguous in time, so two processes rarely touch the same day's report figures at once; when
they do and PostgreSQL breaks a deadlock, the batch that lost is played again
(`demo.play.play_batches`).

PostgreSQL only: SQLite takes one writer at a time. Forking needs the data made so far to be
committed (the children have their own connections), so it is refused inside a transaction.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable

from django.db import connection, connections

from demo.steps import Plan

# How long the parent waits for a word from the children before checking they are alive.
POLL_SECONDS = 0.5


class ParallelRefused(Exception):
    """Several processes cannot seed this database (the message says why)."""


def check(processes: int) -> None:
    """Refuse what a run in `processes` processes cannot do, before anything is written."""
    if processes < 1:
        raise ParallelRefused("--processes must be 1 or more.")
    if processes == 1:
        return
    if connection.vendor != "postgresql":
        raise ParallelRefused(
            f"--processes {processes} needs PostgreSQL ({connection.vendor} takes one writer "
            "at a time): use --processes 1."
        )
    if connection.in_atomic_block:
        raise ParallelRefused(
            "--processes needs its data committed (each process has its own connection): "
            "it cannot run inside a transaction."
        )
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ParallelRefused("--processes needs os.fork.")


def slices(plans: list[Plan], processes: int) -> list[list[Plan]]:
    """`plans` (in time order) cut into `processes` contiguous slices of nearly equal size."""
    size, extra = divmod(len(plans), processes)
    out, start = [], 0
    for i in range(processes):
        end = start + size + (i < extra)
        out.append(plans[start:end])
        start = end
    return [s for s in out if s]


def play(
    plans: list[Plan],
    *,
    processes: int,
    progress: Callable[[int], None] | None = None,
    batches: Callable | None = None,
    **play_options,
) -> list[int]:
    """Play `plans` in `processes` child processes; return the ids made, in time order. A child
    that fails stops the run: the others are stopped too and its traceback is raised here (the
    batches committed so far stay, as with one process)."""
    from demo.play import play_batches  # noqa: PLC0415 - demo.play imports this module

    # `batches`: how a child plays its slice (`demo.play.play_batches` through the services,
    # or the set-based `demo.bulk.play_batches`).
    play_batches = batches or play_batches

    context = multiprocessing.get_context("fork")
    messages = context.Queue()
    parts = slices(plans, processes)
    # Each child opens its own connection; none may share the parent's.
    connections.close_all()
    children = []
    for number, part in enumerate(parts):
        child = context.Process(
            target=_child,
            args=(number, part, messages, play_batches, play_options),
            name=f"seed_demo-{number}",
            daemon=True,
        )
        child.start()
        children.append(child)

    made: dict[int, list[int]] = {}
    failure = None
    try:
        while len(made) < len(children) and failure is None:
            try:
                number, kind, value = messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [c for i, c in enumerate(children) if i not in made and not c.is_alive()]
                if dead and messages.empty():
                    failure = f"{dead[0].name} exited ({dead[0].exitcode}) without a word."
                continue
            if kind == "progress":
                if progress:
                    progress(value)
            elif kind == "made":
                made[number] = value
            else:
                failure = value
    finally:
        if failure is not None:
            for child in children:
                if child.is_alive():
                    child.terminate()
        for child in children:
            child.join()
        messages.close()
    if failure is not None:
        raise RuntimeError(f"A seeding process failed:\n{failure}")
    return [pk for number in range(len(children)) for pk in made[number]]


def _child(number: int, plans: list[Plan], messages, play_batches, play_options) -> None:
    """One child's run: its slice, then the ids it made."""
    try:
        ids = play_batches(
            plans, progress=lambda n: messages.put((number, "progress", n)), **play_options
        )
        messages.put((number, "made", ids))
    except BaseException:  # noqa: BLE001 - any failure is the parent's to report
        messages.put((number, "failed", f"{os.getpid()}: {traceback.format_exc()}"))
    finally:
        connections.close_all()
