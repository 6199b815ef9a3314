"""The workarounds in pipelines/dagster_patches.py: in force, still needed, version-guarded."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import pytest
from dagster._core.events.log import EventLogEntry
from dagster._core.execution import compute_logs
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

import pipelines.definitions  # noqa: F401  (applies the patches, as every run does)
from pipelines import dagster_patches, sqlite_events


def _context(seconds_ahead: float) -> SimpleNamespace:
    """The two fields the interval is computed from: one step waiting for a slot."""
    return SimpleNamespace(
        _pending_claims={"kpis"}, _pending_timeouts={"kpis": time.time() + seconds_ahead}
    )


def test_the_pool_interval_patch_is_in_force_once_definitions_load() -> None:
    assert dagster_patches.in_force()


def test_a_waiting_step_sleeps_until_its_next_claim_check() -> None:
    waiting = _context(5.0)
    assert 4.0 < dagster_patches.seconds_to_next_claim_check(waiting) <= 5.0  # type: ignore[arg-type]
    overdue = _context(-3.0)
    assert dagster_patches.seconds_to_next_claim_check(overdue) == 0.0  # type: ignore[arg-type]


def test_upstream_still_busy_waits_so_the_patch_is_still_needed() -> None:
    """Dagster's own interval is never positive: a waiting step polls without sleeping.
    When this fails, upstream has fixed it: drop the patch."""
    assert dagster_patches.UPSTREAM_INTERVAL(_context(5.0)) <= 0  # type: ignore[arg-type]


def test_the_compute_log_mirrors_watcher_runs_in_a_process_group_of_its_own(
    tmp_path: Path,
) -> None:
    """Ctrl-C in a terminal reaches the run's whole process group: the Python watcher of
    Dagster's mirror got it too and printed a traceback. The patched mirror starts the
    watcher in a group of its own (``tail`` stays in the terminal's), and ends both as
    Dagster's does. When the upstream half fails, Dagster does this itself: drop the patch."""
    log = tmp_path / "compute.out"
    log.write_text("", encoding="utf-8")
    with dagster_patches.UPSTREAM_POSIX_TAIL(str(log), sys.stdout) as pids:
        assert {os.getpgid(pid) for pid in pids} == {os.getpgrp()}
    with compute_logs.execute_posix_tail(str(log), sys.stdout) as pids:  # what runs use
        tail, watcher = pids
        assert (os.getpgid(tail), os.getpgid(watcher)) == (os.getpgrp(), watcher)
    for pid in pids:  # ended and reaped when the capture ends
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_patches_refuse_a_dagster_they_were_not_written_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dg, "__version__", "1.14.0")
    with pytest.raises(RuntimeError, match=r"written for Dagster 1\.13\.x, not 1\.14\.0"):
        dagster_patches.apply()


@pytest.fixture(autouse=True)
def _sqlite_patched() -> None:
    """What every run does on opening the embedded (SQLite) instance."""
    dagster_patches.apply_to_sqlite_event_log()


def test_the_sqlite_workaround_is_in_force_once_an_sqlite_instance_is_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oemkpi.home import Home
    from pipelines.instance import ensure_instance

    monkeypatch.setattr(SqliteEventLogStorage, "_connect", sqlite_events.UPSTREAM_CONNECT)
    assert not dagster_patches.in_force()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("OEMKPI_INSTANCE_PG_URL", raising=False)
    ensure_instance(Home.at(tmp_path / "home"))
    assert dagster_patches.in_force() and sqlite_events.in_force()


def test_loading_the_code_location_does_not_import_the_sqlite_event_log() -> None:
    """The UI's and the workers' code location load stays free of it (and of alembic)."""
    import subprocess
    import sys

    code = (
        "import sys; import pipelines.definitions; "
        "print(sorted(m for m in ('alembic', 'sqlalchemy', dagster_mod) if m in sys.modules))"
    ).replace("dagster_mod", repr(dagster_patches.SQLITE_EVENT_LOG))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def _log_entry(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level=20,
        user_message=message,
        run_id=run_id,
        timestamp=time.time(),
        step_key=None,
        job_name="monthly_update",
        dagster_event=None,
    )


def _count_engines(monkeypatch: pytest.MonkeyPatch, module: object) -> list[str]:
    """The engines ``module`` builds from now on, by connection string (counted, still built)."""
    built: list[str] = []
    real = module.create_engine  # type: ignore[attr-defined]

    def counting(url: str, *args: object, **kwargs: object) -> object:
        built.append(str(url))
        return real(url, *args, **kwargs)

    monkeypatch.setattr(module, "create_engine", counting)
    return built


def test_the_sqlite_event_log_builds_one_engine_per_database_and_loses_no_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SqliteEventLogStorage(str(tmp_path / "events"))
    built = _count_engines(monkeypatch, sqlite_events)
    for i in range(30):
        storage.store_event(_log_entry("run-a", f"a{i}"))
        storage.store_event(_log_entry("run-b", f"b{i}"))
    assert [e.user_message for e in storage.get_logs_for_run("run-a")] == [
        f"a{i}" for i in range(30)
    ]
    assert [e.user_message for e in storage.get_logs_for_run("run-b")] == [
        f"b{i}" for i in range(30)
    ]
    assert sorted(Path(url).name for url in built) == ["run-a.db", "run-b.db"]
    # A second storage object on the same files (another process) reads every event.
    again = SqliteEventLogStorage(str(tmp_path / "events"))
    assert len(again.get_logs_for_run("run-a")) == 30


def test_a_found_table_is_remembered_and_a_missing_one_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SqliteEventLogStorage(str(tmp_path / "events"))
    asked: list[str] = []
    dialect = type(sqlite_events._kept_engine(storage, "index").dialect)
    real = dialect.has_table

    def counting(self: object, conn: object, name: str, *args: object, **kwargs: object) -> bool:
        asked.append(name)
        return bool(real(self, conn, name, *args, **kwargs))

    monkeypatch.setattr(dialect, "has_table", counting)
    assert all(storage.has_table("asset_check_executions") for _ in range(5))
    assert not any(storage.has_table("no_such_table") for _ in range(3))
    assert asked == ["asset_check_executions", *["no_such_table"] * 3]
    assert storage.supports_asset_checks


def test_upstream_still_builds_an_engine_per_event_so_the_patch_is_still_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When this fails, upstream keeps its engines: drop the patch."""
    storage = SqliteEventLogStorage(str(tmp_path / "events"))
    built = _count_engines(monkeypatch, sqlite_event_log)
    monkeypatch.setattr(SqliteEventLogStorage, "_connect", sqlite_events.UPSTREAM_CONNECT)
    for i in range(5):
        storage.store_event(_log_entry("run-a", f"a{i}"))
    assert len(built) >= 5


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """The SQLite connections SQLAlchemy's pools open during the test, by database file."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    names: list[str] = []

    def count(dbapi_connection: Any, _record: object) -> None:
        (_, _, path) = dbapi_connection.execute("pragma database_list").fetchone()
        names.append(Path(path).name)

    event.listen(Pool, "connect", count)
    yield names
    event.remove(Pool, "connect", count)


def test_the_kept_engine_reuses_its_connection_and_another_process_sees_each_commit(
    tmp_path: Path, opened: list[str]
) -> None:
    storage = SqliteEventLogStorage(str(tmp_path / "events"))
    storage.store_event(_log_entry("run-a", "first"))
    assert "run-a.db" in opened
    opened.clear()
    for i in range(20):
        storage.store_event(_log_entry("run-a", f"a{i}"))
    assert opened == []  # twenty events more, no new connection
    # Every event is committed as it is stored: a reader of its own sees all of them.
    with sqlite3.connect(tmp_path / "events" / "run-a.db") as reader:
        (count,) = reader.execute("select count(*) from event_logs").fetchone()
    assert count == 21


def test_a_forked_process_opens_its_own_connections(tmp_path: Path, opened: list[str]) -> None:
    storage = SqliteEventLogStorage(str(tmp_path / "events"))
    storage.store_event(_log_entry("run-a", "parent"))
    parent_engine = sqlite_events._kept_engine(storage, "run-a")
    # What a forked child finds: the parent's engines, under the parent's process id.
    storage.__dict__["_oemkpi_pid"] = -1
    opened.clear()
    storage.store_event(_log_entry("run-a", "child"))
    assert opened == ["run-a.db"]
    assert sqlite_events._kept_engine(storage, "run-a") is not parent_engine
    assert [e.user_message for e in storage.get_logs_for_run("run-a")] == ["parent", "child"]


def test_a_wipe_closes_the_kept_connections_before_it_deletes_their_files(
    tmp_path: Path, opened: list[str]
) -> None:
    storage = SqliteEventLogStorage(str(tmp_path / "events"))
    storage.store_event(_log_entry("run-a", "before"))
    storage.wipe()
    assert not (tmp_path / "events" / "run-a.db").exists()
    opened.clear()
    storage.store_event(_log_entry("run-a", "after"))
    assert "run-a.db" in opened  # a new file, a new connection: the event is not lost
    assert [e.user_message for e in storage.get_logs_for_run("run-a")] == ["after"]
    another = SqliteEventLogStorage(str(tmp_path / "events"))  # another process's view
    assert [e.user_message for e in another.get_logs_for_run("run-a")] == ["after"]


def test_the_kept_connections_commit_without_waiting_for_the_disk(tmp_path: Path) -> None:
    """synchronous=NORMAL on the write-ahead log (journal_mode=wal, as Dagster sets it)."""
    storage = SqliteEventLogStorage(str(tmp_path / "events"))
    storage.store_event(_log_entry("run-a", "one"))
    with sqlite_events._kept_engine(storage, "run-a").connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        assert raw.execute("pragma synchronous").fetchone() == (1,)  # NORMAL
        assert raw.execute("pragma journal_mode").fetchone() == ("wal",)
