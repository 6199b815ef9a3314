"""Great Expectations in a second process, for runs whose deliveries are small.

Importing GX costs ~2 s of CPU (pydantic models of every data source and
expectation it knows), more than reading and validating a month of small
deliveries. On a machine with two cores another process can pay it while this
one starts the run: :func:`start` spawns that process (spawned, so it shares
none of this process's DuckDB or Dagster state) when the deliveries of the
run's months are small (:data:`SMALL_BYTES` in all, :func:`landing_bytes`), and
it imports GX at once. Each clean batch's rows are then copied from the open
transaction to a Parquet file in staging and judged there by the same suite
through the same code (:func:`~oemkpi.ingest.suite_runs.suite_failures`, over
the copy in an in-memory DuckDB): the transaction commits or rolls back on that
verdict as before (:func:`batch_failures`).

A delivery that goes the diagnosing way (staged, every problem named) is judged
there too, from its staging database, which that process opens read-only
(:func:`judged_there`): judged here, the first rejected delivery of a small
month imported GX in this process while the run waited (a demo month with one
rejected delivery took 5.7-6.0 s that way, 4.8-5.0 s judged there).

A large month is validated in this process, where the import hides behind the
read (:func:`~oemkpi.ingest.suite_runs.import_suite_engine_in_background`) and
copying its rows would cost more than it saves. So is every batch when no
process was started here (a daemonic Celery pool process, a run of large
months), when this process has imported GX already, and when the process is
gone: its answer is only ever the in-process answer computed elsewhere.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

import duckdb

from oemkpi.helper_process import HelperProcess
from oemkpi.home import Home
from oemkpi.ingest.contract import FEED_NAMES, FEEDS
from oemkpi.ingest.suite_runs import engine_imported, suite_failures
from oemkpi.ingest.suites import Suite, load_suite
from oemkpi.warehouse import DUCKDB_CONFIG, interrupted_query, render_sql, sql

#: The most bytes of deliveries (every feed's landing files of the run's months) for which
#: the suite process is started. Above it the rows a batch would copy cost more than the
#: import the process saves (bench/: a 2M-row month is ~80 MB).
SMALL_BYTES = 32 * 1024 * 1024
#: The longest this process waits for a verdict before judging the rows itself (a small
#: delivery takes well under a second).
VERDICT_SECONDS = 300.0
T = TypeVar("T")


def landing_bytes(home: Home, months: Iterable[str]) -> int:
    """The size of every file delivered for ``months``, all feeds (a file's own size; what
    is not a regular file is not counted)."""
    total = 0
    for month in months:
        for feed in FEED_NAMES:
            try:
                with os.scandir(home.landing_dir(feed, month)) as entries:
                    total += sum(
                        e.stat(follow_symlinks=False).st_size
                        for e in entries
                        if e.is_file(follow_symlinks=False)
                    )
            except OSError:  # no delivery (yet), or not a folder: nothing to read
                continue
    return total


def start(home: Home, months: Iterable[str]) -> bool:
    """Start the suite process for a run of ``months`` of ``home``, if their deliveries are
    small, GX is not imported here already, and this process may start children;
    whether one is there for the run."""
    if engine_imported() or landing_bytes(home, months) > SMALL_BYTES:
        return False
    return _HELPER.start()


def started() -> bool:
    """Whether this process has a suite process to validate with."""
    return _HELPER.pool() is not None


class JudgeHere(Exception):
    """The rows could not be copied for the suite process (staging not writable, disk
    full): the copy's error aborted the transaction, so the caller rolls back and reads
    the batch again, and this process judges it (the suite process is stopped)."""


def batch_failures(
    suite: Suite,
    con: duckdb.DuckDBPyConnection,
    staging: Path,
    *,
    feed: str,
    months: list[str],
    partner_ids: list[str],
    countries: list[str],
) -> list[str]:
    """The checks of ``suite`` that ``months`` of table ``feed`` fail, read inside ``con``'s
    open transaction (:func:`~oemkpi.ingest.suite_runs.suite_failures`): judged by the
    suite process when there is one for this process, else here. Either way the list is
    empty exactly when every expectation holds (which checks are named may differ: here a
    failing check's SQL aborts the transaction, and every later check fails with it)."""
    if _HELPER.pool() is not None and not engine_imported():
        copy = staging / f"validating-{feed}-{uuid.uuid4().hex[:12]}.parquet"
        try:
            try:
                staging.mkdir(parents=True, exist_ok=True)
                con.execute(sql("feeds/set_validating_months"), [list(months)])
                con.execute(
                    render_sql(
                        "feeds/copy_validating_rows",
                        feed=feed,
                        columns=", ".join(FEEDS[feed].column_names),
                    ),
                    {"path": str(copy)},
                )
            except (OSError, duckdb.Error) as err:
                if interrupted_query(err):
                    raise  # Ctrl-C: the run stops, nothing is judged again
                _HELPER.stop()
                raise JudgeHere(str(err)) from err
            verdict = _verdict(copy, suite, feed, months, partner_ids, countries)
            if verdict is not None:
                return verdict
        finally:
            with contextlib.suppress(OSError):  # not there, or staging is not a folder
                copy.unlink(missing_ok=True)
    return suite_failures(
        suite, con, feed=feed, months=months, partner_ids=partner_ids, countries=countries
    )


def judged_there(job: Callable[[], T]) -> T:
    """``job`` (a suite run that reads only files this process has closed, such as
    :func:`~oemkpi.ingest.suite_runs.run_suite` on a staging database) done by the suite
    process when there is one for this process and GX is not imported here, else here:
    its answer is the same either way."""
    if _HELPER.pool() is not None and not engine_imported():
        answer = _answer(job)
        if answer is not None:
            return answer
    return job()


def _verdict(
    copy: Path,
    suite: Suite,
    feed: str,
    months: list[str],
    partner_ids: list[str],
    countries: list[str],
) -> list[str] | None:
    """The suite process's answer for the copied rows; None when it has none to give: they
    are judged here."""
    return _answer(
        functools.partial(_failures, str(copy), suite, feed, months, partner_ids, countries)
    )


def _answer(job: Callable[[], T]) -> T | None:
    """``job`` done by the suite process; None when it has no answer to give (it died, was
    shut down, or took over :data:`VERDICT_SECONDS`), and the caller does it here. An
    error ``job`` raises there is raised here, as it would be had it run here."""
    future = _HELPER.submit(job)
    if future is None:
        return None
    try:
        return future.result(timeout=VERDICT_SECONDS)
    except (BrokenProcessPool, TimeoutError):
        _HELPER.stop()
        return None


def _failures(
    path: str,
    suite: Suite,
    feed: str,
    months: list[str],
    partner_ids: list[str],
    countries: list[str],
) -> list[str]:
    """In the suite process: the copied rows as table ``feed`` of an in-memory DuckDB,
    judged as :func:`suite_failures` judges them in the loading process."""
    con = duckdb.connect(config=DUCKDB_CONFIG)
    try:
        con.execute(render_sql("feeds/create_validated_copy", feed=feed), {"path": path})
        return suite_failures(
            suite, con, feed=feed, months=months, partner_ids=partner_ids, countries=countries
        )
    finally:
        con.close()


def _warm() -> None:
    """Import GX, and load the suites, in the suite process as it starts."""
    from oemkpi.ingest import gx_engine, suite_runs

    gx_engine.ephemeral_context()
    for feed in FEED_NAMES:
        suite_runs.gx_suite(load_suite(feed))


_HELPER = HelperProcess(_warm)
#: Ends the suite process (at exit, and by tests).
stop = _HELPER.stop
