"""Runs whose process is gone: found, marked failed, their pool slots freed.

A run killed with SIGKILL (or on a machine that was lost) keeps the
``duckdb_warehouse`` pool slot it held, and every later run waits for it for
ever. Dagster's run monitoring does not help a CLI run: it cannot tell whether
such a run's process is alive, and frees only the slots of runs that have
already ended (measured: 90 s after the kill the run was still STARTED and its
slot held). So every run says who runs it, and every run, before and while it
waits for a slot, frees the slots of runs that are provably dead:

* a run that has ended (success, failure, canceled) but still holds slots;
* a run tagged with this host whose process is gone (its pid and the pid's
  start time, against reuse of the pid);
* on a PostgreSQL instance, a run whose advisory lock nobody holds: the process
  orchestrating a run holds ``oemkpi-run:<run id>`` for the run's whole life in a
  session of its own, and PostgreSQL ends the session, and the lock, when the
  process dies, on any machine.

A run without our tags (started by other code) is left to the daemon.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import dagster as dg

from oemkpi.settings import INSTANCE_PG_URL, Settings

if TYPE_CHECKING:
    from oemkpi.postgres import Target

HOST_TAG = "oemkpi/host"
PID_TAG = "oemkpi/pid"
START_TAG = "oemkpi/pid_start"
#: Set (to "pg") only once the run's advisory lock is held.
LIVENESS_TAG = "oemkpi/liveness"

#: How often a run looks for dead runs while it executes (it also does at once).
RECOVERY_INTERVAL_SECONDS = 10.0

# Finished statuses by their public names (dagster._core keeps the set itself private).
_FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def _start_ticks(pid: int) -> str | None:
    """When process ``pid`` started (field 22 of /proc/PID/stat), or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_tags() -> dict[str, str]:
    """The tags that name this process: host, pid and the pid's start time."""
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), START_TAG: _start_ticks(pid) or ""}


def run_lock_key(run_id: str) -> str:
    return f"oemkpi-run:{run_id}"


def _instance_target(settings: Settings) -> Target | None:
    if not settings.instance_pg_url:
        return None
    # Imported here: psycopg2 costs ~0.1 s, which the embedded profile need not pay.
    from oemkpi.postgres import Target

    return Target.parse(INSTANCE_PG_URL, settings.instance_pg_url)


def is_alive(tags: dict[str, str], run_id: str, session: Any | None) -> bool | None:
    """Whether the run's process lives: True, False, or None when it cannot be told here."""
    if tags.get(LIVENESS_TAG) == "pg" and session is not None:
        from oemkpi.postgres import try_lock, unlock

        key = run_lock_key(run_id)
        if try_lock(session, key):
            unlock(session, key)
            return False
        return True
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return None
    return _start_ticks(int(tags[PID_TAG])) == tags.get(START_TAG)


def free_slots_of_dead_runs(
    instance: dg.DagsterInstance,
    settings: Settings,
    *,
    log: Callable[[str], None] = lambda _msg: None,
    skip: str | None = None,
) -> list[str]:
    """Mark runs whose process is gone failed and free their pool slots (and those of
    ended runs that still hold some); the run ids freed."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    freed: list[str] = []
    target = _instance_target(settings)
    session = target.connect() if target is not None else None
    try:
        for run_id in sorted(storage.get_concurrency_run_ids()):
            if run_id == skip:
                continue
            run = instance.get_run_by_id(run_id)
            if run is None or run.status.value in _FINISHED:
                storage.free_concurrency_slots_for_run(run_id)
                freed.append(run_id)
                log(f"Freed the warehouse pool slots that ended run {run_id} still held.")
                continue
            if is_alive(dict(run.tags), run_id, session) is False:
                where = f"pid {run.tags.get(PID_TAG)} on {run.tags.get(HOST_TAG)}"
                instance.report_run_failed(
                    run,
                    f"The process that ran this run ({where}) is gone; oemkpi marked the run "
                    "failed and freed its pool slots.",
                )
                storage.free_concurrency_slots_for_run(run_id)
                freed.append(run_id)
                log(
                    f"Run {run_id} died ({where} is gone) holding the warehouse pool; "
                    "marked it failed and freed its slots."
                )
    finally:
        if session is not None:
            session.close()
    return freed


@contextmanager
def run_presence(
    instance: dg.DagsterInstance,
    run_id: str,
    settings: Settings,
    *,
    log: Callable[[str], None] = lambda _msg: None,
) -> Iterator[dict[str, str]]:
    """For the life of run ``run_id`` in this process: its liveness lock held (PostgreSQL),
    dead runs' slots freed now and every :data:`RECOVERY_INTERVAL_SECONDS`. Yields the tags
    that say so, for the run to carry."""
    target = _instance_target(settings)
    session = None
    stop = threading.Event()
    try:
        tags = process_tags()
        if target is not None:
            from oemkpi.postgres import wait_for_lock

            session = target.connect()
            wait_for_lock(session, run_lock_key(run_id))
            tags[LIVENESS_TAG] = "pg"
        free_slots_of_dead_runs(instance, settings, log=log, skip=run_id)

        def sweep() -> None:
            while not stop.wait(RECOVERY_INTERVAL_SECONDS):
                try:
                    free_slots_of_dead_runs(instance, settings, log=log, skip=run_id)
                except Exception as err:  # a missed sweep is retried at the next interval
                    log(f"Looking for dead runs failed this time ({type(err).__name__}).")

        sweeper = threading.Thread(target=sweep, name="oemkpi-dead-run-sweep", daemon=True)
        sweeper.start()
        try:
            yield tags
        finally:
            stop.set()
            sweeper.join(timeout=RECOVERY_INTERVAL_SECONDS)
    finally:
        if session is not None:
            session.close()
