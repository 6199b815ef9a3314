"""Dagster's SQLite event log without an SQLAlchemy engine per event (a workaround,
put in force by :func:`pipelines.dagster_patches.apply_to_sqlite_event_log`).

``SqliteEventLogStorage._connect`` builds an SQLAlchemy engine, connects, and
disposes of the engine for every connection it hands out, and it hands out one
to three per event: a month's run writes ~310 events, so building engines was
~1.7 ms of the ~3.6 ms of CPU each event cost (bench/, a run's other work aside).
Each asset check event also asks ``has_table`` whether the index has the asset
check table (a schema migration check), building another engine and reading the
schema: 162 times a month. The replacements keep one engine per shard (database
file) and storage object, with the same busy timeout and first-use ``_initdb``:
each use still runs in its own transaction, so what reaches the files is the
same; and a table found once is known to be there (a table missing is asked
again each time, as before).

The kept engine also keeps its SQLite connection (a small queue pool instead of
``NullPool``): opening a connection, with its WAL index and schema read, was
another ~1 ms of the ~2,500 a month's run opens. Each use still checks one out
alone (the storage's lock), in its own transaction, so other processes see
every event at its commit as before; an idle pooled connection holds no
transaction and blocks no writer. A process forked with kept engines (a Celery
pool, a multiprocessing fork) starts its own: connections are never shared
across processes. The kept connections write with ``synchronous=NORMAL``, which
SQLite recommends with its write-ahead log (Dagster's mode): a commit no longer
waits for the disk (~0.4 s of a demo month's ~1,300 commits); a killed process
loses nothing, and a power loss can lose the last events, never the database's
consistency (the warehouse, DuckDB's file, keeps its own durability). Upstream code:
https://github.com/dagster-io/dagster/blob/1.13.27/python_modules/dagster/dagster/_core/storage/event_log/sqlite/sqlite_event_log.py
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster._check as check
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

#: Dagster's own methods, kept to show the cost is still there (tests/test_dagster_patches.py).
UPSTREAM_CONNECT = SqliteEventLogStorage._connect
UPSTREAM_HAS_TABLE = SqliteEventLogStorage.has_table
UPSTREAM_WIPE = SqliteEventLogStorage.wipe

#: Engines kept per storage object: the index shard and the runs written lately.
ENGINES_KEPT = 8
#: Connections an engine keeps open between uses, and how many more it may open at once
#: (the storage's lock lets one use at a time; ``has_table`` may come in beside it).
POOL_SIZE, POOL_OVERFLOW = 1, 4
_ENGINES_LOCK = threading.Lock()


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
    """The storage's engine for ``shard``, built on first use in this process; the newest
    few are kept, and one evicted closes its connections."""
    with _ENGINES_LOCK:  # not the storage's own lock: has_table may run while it is held
        if self.__dict__.get("_oemkpi_pid") != os.getpid():
            # First use, or a forked child: the parent's connections stay the parent's.
            for inherited in self.__dict__.get("_oemkpi_engines", {}).values():
                inherited.dispose(close=False)
            self.__dict__["_oemkpi_engines"] = {}
            self.__dict__["_oemkpi_pid"] = os.getpid()
        engines: dict[str, Engine] = self.__dict__["_oemkpi_engines"]
        engine = engines.pop(shard, None)  # popped and put back: the newest is last
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=POOL_SIZE,
                max_overflow=POOL_OVERFLOW,
                # A pooled connection is used by one thread at a time, not always the one
                # that opened it.
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _write_ahead_sync)
        engines[shard] = engine
        while len(engines) > ENGINES_KEPT:
            engines.pop(next(iter(engines))).dispose()
        return engine


def _write_ahead_sync(dbapi_connection: Any, _record: object) -> None:
    """Each new connection syncs the write-ahead log at checkpoints, not at every commit."""
    dbapi_connection.execute("pragma synchronous = normal")


def wipe_closing_kept_engines(self: SqliteEventLogStorage) -> None:
    """Dagster's ``wipe`` (which deletes the run databases' files), after closing the kept
    connections to them: none may go on writing to a deleted file."""
    with _ENGINES_LOCK:
        for engine in self.__dict__.pop("_oemkpi_engines", {}).values():
            engine.dispose()
        self.__dict__.pop("_oemkpi_pid", None)
    UPSTREAM_WIPE(self)


def apply() -> None:
    SqliteEventLogStorage._connect = connect_with_kept_engine  # type: ignore[method-assign]
    SqliteEventLogStorage.has_table = has_table_remembered  # type: ignore[method-assign]
    SqliteEventLogStorage.wipe = wipe_closing_kept_engines  # type: ignore[method-assign]


def in_force() -> bool:
    return (
        SqliteEventLogStorage._connect is connect_with_kept_engine
        and SqliteEventLogStorage.has_table is has_table_remembered
        and SqliteEventLogStorage.wipe is wipe_closing_kept_engines
    )
