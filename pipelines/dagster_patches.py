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

An SQLAlchemy engine per event written (SQLite instance)
    ``SqliteEventLogStorage._connect`` builds an SQLAlchemy engine, connects, and
    disposes of the engine for every connection it hands out, and it hands out one
    to three per event: a month's run writes ~310 events, so building engines was
    ~1.7 ms of the ~3.6 ms of CPU each event cost (bench/, a run's other work aside).
    Each asset check event also asks ``has_table`` whether the index has the asset
    check table (a schema migration check), building another engine and reading the
    schema: 162 times a month. The replacements keep one engine per shard (database
    file) and storage object, with the same ``NullPool``, busy timeout and first-use
    ``_initdb``: each use still opens its own SQLite connection and transaction, so
    what reaches the files is the same; and a table found once is known to be there
    (a table missing is asked again each time, as before). Upstream code:
    https://github.com/dagster-io/dagster/blob/1.13.27/python_modules/dagster/dagster/_core/storage/event_log/sqlite/sqlite_event_log.py
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import dagster._check as check
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._utils.interrupts import check_captured_interrupt
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

#: The Dagster minor version these workarounds were written against (uv.lock pins it).
WRITTEN_FOR = "1.13"

#: Dagster's own method, kept to show the bug is still there (tests/test_dagster_patches.py).
UPSTREAM_INTERVAL = InstanceConcurrencyContext.interval_to_next_pending_claim_check
UPSTREAM_SLEEP = ActiveExecution.sleep_til_ready
UPSTREAM_CONNECT = SqliteEventLogStorage._connect
UPSTREAM_HAS_TABLE = SqliteEventLogStorage.has_table

#: Engines kept per storage object: the index shard and the runs written lately.
ENGINES_KEPT = 8
_ENGINES_LOCK = threading.Lock()


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
def connect_with_kept_engine(self: SqliteEventLogStorage, shard: str) -> Iterator[Connection]:
    """Dagster's ``_connect`` (one connection and transaction on ``shard``'s database),
    with the shard's engine built once instead of for every connection."""
    with self._db_lock:
        check.str_param(shard, "shard")
        engine = _kept_engine(self, shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn


def has_table_remembered(self: SqliteEventLogStorage, table_name: str) -> bool:
    """Dagster's ``has_table`` on the index shard, answered from memory once the table
    was found (tables are created by migrations, never dropped while a run writes)."""
    found: set[str] = self.__dict__.setdefault("_oemkpi_tables", set())
    if table_name in found:
        return True
    engine = _kept_engine(self, INDEX_SHARD_NAME)
    with engine.connect() as conn:
        there = bool(engine.dialect.has_table(conn, table_name))
    if there:
        found.add(table_name)
    return there


def _kept_engine(self: SqliteEventLogStorage, shard: str) -> Engine:
    """The storage's engine for ``shard``, built on first use; the newest few are kept."""
    with _ENGINES_LOCK:  # not the storage's own lock: has_table may run while it is held
        engines: dict[str, Engine] = self.__dict__.setdefault("_oemkpi_engines", {})
        engine = engines.pop(shard, None)  # popped and put back: the newest is last
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
        engines[shard] = engine
        while len(engines) > ENGINES_KEPT:
            engines.pop(next(iter(engines)))
        return engine


def apply() -> None:
    """Put every workaround in force; refuse a Dagster they were not written for."""
    minor = ".".join(dg.__version__.split(".")[:2])
    if minor != WRITTEN_FOR:
        raise RuntimeError(
            f"pipelines/dagster_patches.py was written for Dagster {WRITTEN_FOR}.x, not "
            f"{dg.__version__}; check whether each workaround is still needed, then update it."
        )
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = seconds_to_next_claim_check  # type: ignore[method-assign]
    ActiveExecution.sleep_til_ready = sleep_til_ready_or_interrupted  # type: ignore[method-assign]
    SqliteEventLogStorage._connect = connect_with_kept_engine  # type: ignore[method-assign]
    SqliteEventLogStorage.has_table = has_table_remembered  # type: ignore[method-assign]


def in_force() -> bool:
    """Whether :func:`apply` has put every workaround in force."""
    return (
        InstanceConcurrencyContext.interval_to_next_pending_claim_check
        is seconds_to_next_claim_check
        and ActiveExecution.sleep_til_ready is sleep_til_ready_or_interrupted
        and SqliteEventLogStorage._connect is connect_with_kept_engine
        and SqliteEventLogStorage.has_table is has_table_remembered
    )
