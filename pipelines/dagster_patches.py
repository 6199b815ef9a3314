"""Workarounds for bugs in the pinned Dagster, each applied explicitly and checked.

:func:`apply` is called once by ``pipelines.definitions``; it refuses to patch a
Dagster other than the minor version the workarounds were written against (a
newer Dagster may have fixed the bug, or changed the code the patch replaces),
so an upgrade fails loudly here instead of misbehaving quietly.
tests/test_dagster_patches.py fails when a patch is not in force.

The pool wait interval
    ``InstanceConcurrencyContext.interval_to_next_pending_claim_check`` returns
    ``min([0, *timeouts])``, never positive, so a step waiting for a pool slot
    (``duckdb_warehouse``) polls the instance in a busy loop instead of sleeping
    until its next claim check: four concurrent ``oemkpi run`` on two cores took
    more than twice as long as they do patched. The replacement returns the time to the next pending
    check, never negative. Upstream code:
    https://github.com/dagster-io/dagster/blob/1.13.27/python_modules/dagster/dagster/_core/execution/plan/instance_concurrency_context.py
    (an upstream attempt to fix it, closed unmerged:
    https://github.com/dagster-io/dagster/pull/20367).

Ctrl-C and SIGTERM while a step waits for a pool slot
    During a run Dagster only records SIGINT and SIGTERM (``capture_interrupts``)
    and acts on them when the next step starts; the in-process executor's wait
    for a pool slot (``ActiveExecution.sleep_til_ready``) never looks, so a run
    waiting behind another run's slot ignored both for as long as the wait lasted
    (for ever behind a dead run's slot). The replacement raises Dagster's own
    ``DagsterExecutionInterruptedError`` when an interrupt was recorded, before and
    after each sleep, so the run ends as an interrupted run does. Upstream code:
    https://github.com/dagster-io/dagster/blob/1.13.27/python_modules/dagster/dagster/_core/execution/plan/active.py

The compute-log mirror's watcher and Ctrl-C
    Dagster's local compute-log manager copies a run's output to the terminal with
    ``tail -F`` and a Python watcher per stream (``execute_posix_tail``; the watcher
    ends ``tail`` if this process dies), both started in the run's process group.
    Ctrl-C in a terminal reaches the whole group, so each watcher printed a
    ``KeyboardInterrupt`` traceback under the command's "interrupted". The
    replacement starts the watcher, which writes nothing, in a process group of its
    own, and is otherwise Dagster's code: ``tail`` stays in the terminal's group
    (Ctrl-C ends it quietly, as before; a process group of its own would be stopped
    by a terminal set to ``tostop`` as soon as it wrote), and both end as before.
    Upstream code:
    https://github.com/dagster-io/dagster/blob/1.13.27/python_modules/dagster/dagster/_core/execution/compute_logs.py

An SQLAlchemy engine per event written (SQLite instance)
    See :mod:`pipelines.sqlite_events`; put in force by :func:`apply_to_sqlite_event_log`
    where an SQLite instance is opened (``pipelines.instance``), and by :func:`apply`
    when Dagster's SQLite event log is imported already, so that loading the code
    location does not import it (nor alembic and SQLAlchemy with it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.execution import compute_logs
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._utils.interrupts import check_captured_interrupt

#: Dagster's SQLite event log, imported only where an SQLite instance is used.
SQLITE_EVENT_LOG = "dagster._core.storage.event_log.sqlite.sqlite_event_log"

#: The Dagster minor version these workarounds were written against (uv.lock pins it).
WRITTEN_FOR = "1.13"

#: Dagster's own method, kept to show the bug is still there (tests/test_dagster_patches.py).
UPSTREAM_INTERVAL = InstanceConcurrencyContext.interval_to_next_pending_claim_check
UPSTREAM_SLEEP = ActiveExecution.sleep_til_ready
UPSTREAM_POSIX_TAIL = compute_logs.execute_posix_tail


def seconds_to_next_claim_check(self: InstanceConcurrencyContext) -> float:
    """How long to sleep before asking for a pool slot again: never negative."""
    if not self._pending_claims or not self._pending_timeouts:
        return 0.0
    return max(0.0, min(self._pending_timeouts.values()) - time.time())


def sleep_til_ready_or_interrupted(self: ActiveExecution) -> None:
    """Dagster's wait between steps, ended by a recorded Ctrl-C or SIGTERM."""
    if check_captured_interrupt():
        raise DagsterExecutionInterruptedError("Interrupted while waiting for a pool slot.")
    UPSTREAM_SLEEP(self)
    if check_captured_interrupt():
        raise DagsterExecutionInterruptedError("Interrupted while waiting for a pool slot.")


@contextmanager
def posix_tail_own_group(path: str, stream: Any) -> Iterator[tuple[int, int]]:
    """Dagster's ``execute_posix_tail`` (``tail -F`` of ``path`` to ``stream``, and a watcher
    that ends it if this process dies), the watcher in a process group of its own."""
    stream = stream if compute_logs._fileno(stream) else None
    tail_process = None
    watcher_process = None
    try:
        tail_process = subprocess.Popen(["tail", "-F", "-c", "+0", path], stdout=stream)
        watcher = os.path.abspath(compute_logs.watch_orphans.__file__)
        watcher_process = subprocess.Popen(
            [sys.executable, watcher, str(os.getpid()), str(tail_process.pid)], process_group=0
        )
        yield (tail_process.pid, watcher_process.pid)
    finally:
        time.sleep(float(os.getenv("DAGSTER_COMPUTE_LOG_TAIL_WAIT_AFTER_FINISH", "0")))
        for process in (tail_process, watcher_process):
            compute_logs._clean_up_subprocess(process)


def apply() -> None:
    """Put every workaround in force; refuse a Dagster they were not written for."""
    _refuse_other_versions()
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = seconds_to_next_claim_check  # type: ignore[method-assign]
    ActiveExecution.sleep_til_ready = sleep_til_ready_or_interrupted  # type: ignore[method-assign]
    compute_logs.execute_posix_tail = posix_tail_own_group
    if SQLITE_EVENT_LOG in sys.modules:
        apply_to_sqlite_event_log()


def apply_to_sqlite_event_log() -> None:
    """Put :mod:`pipelines.sqlite_events` in force (imports Dagster's SQLite event log)."""
    _refuse_other_versions()
    from pipelines import sqlite_events

    sqlite_events.apply()


def _refuse_other_versions() -> None:
    minor = ".".join(dg.__version__.split(".")[:2])
    if minor != WRITTEN_FOR:
        raise RuntimeError(
            f"pipelines/dagster_patches.py was written for Dagster {WRITTEN_FOR}.x, not "
            f"{dg.__version__}; check whether each workaround is still needed, then update it."
        )


def in_force() -> bool:
    """Whether :func:`apply` has put every workaround in force."""
    return (
        InstanceConcurrencyContext.interval_to_next_pending_claim_check
        is seconds_to_next_claim_check
        and ActiveExecution.sleep_til_ready is sleep_til_ready_or_interrupted
        and compute_logs.execute_posix_tail is posix_tail_own_group
    ) and (SQLITE_EVENT_LOG not in sys.modules or _sqlite_in_force())


def _sqlite_in_force() -> bool:
    from pipelines import sqlite_events

    return sqlite_events.in_force()
