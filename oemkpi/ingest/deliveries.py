"""Take each feed-month delivery from landing into the warehouse, or into quarantine.

The steps of SPEC section 3: parse against the contract, validate with the
feed's Great Expectations suite, then either replace the feed-month in one
transaction or reject the delivery whole (files copied to quarantine with a
``<file>.errors.json`` each; whatever was in force for the month stays).
Every outcome is recorded in ``deliveries`` and ``delivery_checks``.
Landing files are only ever read.

Each delivery folder is listed first (:mod:`oemkpi.ingest.folder`): only its
regular files are read, and a folder that is a link, or holds more bytes than a
delivery may (:mod:`oemkpi.ingest.limits`), is rejected without reading
anything. Then two ways lead on. A clean delivery goes the clean load
(:mod:`oemkpi.ingest.clean_load`): read straight into the feed's table inside a
transaction and judged there by the suite before it commits. Everything else
goes the diagnosing way (:func:`diagnose_deliveries`): staged in a scratch file
with each row's file and line, validated, and loaded or quarantined with every
problem named. Both ways reach the same verdict.

The listing is the delivery's snapshot: both ways list the folder again after
reading, before anything is written, and a delivery that changed meanwhile (a
file still being written or replaced) is neither loaded nor quarantined nor
recorded: its outcome is ``changed``, the month's earlier delivery stays in
force, and the run says so. The fingerprint recorded is the one that was read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from oemkpi.home import Home
from oemkpi.ingest import suite_worker
from oemkpi.ingest.batches import validate_staged
from oemkpi.ingest.clean_load import load_clean_deliveries
from oemkpi.ingest.contract import FEED_NAMES, Feed, get_feed
from oemkpi.ingest.diagnose import StagedDelivery, remove_scratch_db, stage_delivery
from oemkpi.ingest.folder import (
    DeliveryFolder,
    display_name,
    printable,
    read_folder,
    stray_entries,
)
from oemkpi.ingest.landing import sql_string_literal
from oemkpi.ingest.limits import Limits
from oemkpi.ingest.outcomes import Checked, DeliveryOutcome, checked, contract_outcome
from oemkpi.ingest.problems import Problem
from oemkpi.ingest.quarantine import quarantine_delivery
from oemkpi.ingest.record import count_in_force, record_delivery
from oemkpi.ingest.suite_runs import import_suite_engine_in_background
from oemkpi.ingest.workbooks import Workbooks
from oemkpi.reference import Reference
from oemkpi.warehouse import render_sql, transaction, unordered_inserts


def ingest_delivery(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed_name: str,
    month: str,
    reference: Reference,
    *,
    log: Callable[[str], None] = lambda _msg: None,
) -> DeliveryOutcome:
    """Check the delivery in ``landing/<feed>/<month>/`` and load or reject it."""
    return ingest_deliveries(con, home, feed_name, [month], reference, log=log)[0]


def ingest_deliveries(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed_name: str,
    months: list[str],
    reference: Reference,
    *,
    log: Callable[[str], None] = lambda _msg: None,
) -> list[DeliveryOutcome]:
    """Check each month's delivery of a feed, then load or reject each: the clean ones
    by the clean load, the rest (and every month of a batch the suite fails) by
    :func:`diagnose_deliveries`; a delivery that cannot be read at all is rejected as is."""
    feed = get_feed(feed_name)
    limits = Limits.from_env()
    sweep_staging(home.staging)
    folders = {m: read_folder(home.landing_dir(feed.name, m)) for m in months}
    delivered = {m: f for m, f in folders.items() if f.delivered}
    if delivered and not suite_worker.started():
        import_suite_engine_in_background()
    before = {m: f.problems(home.root, limits) for m, f in delivered.items()}
    # A folder refused as a whole, or too large, is not read at all.
    unread = {m for m, f in delivered.items() if not f.readable(limits)}
    workbooks = Workbooks(home.staging / f"xlsx-{uuid.uuid4().hex[:8]}", limits, feed.column_names)
    try:
        workbooks.prepare(
            [path for m, f in delivered.items() if m not in unread for path in f.files]
        )
        with unordered_inserts(con):
            settled = load_clean_deliveries(
                con,
                home,
                feed,
                {m: f for m, f in delivered.items() if not before[m]},
                reference,
                limits=limits,
                workbooks=workbooks,
            )
            settled.update(
                diagnose_deliveries(
                    con,
                    home,
                    feed,
                    {m: f for m, f in delivered.items() if m not in settled and m not in unread},
                    reference,
                    limits=limits,
                    workbooks=workbooks,
                )
            )
            for month in unread:
                settled[month] = _reject_unread(
                    con, home, feed, month, delivered[month], before[month]
                )
    finally:
        workbooks.close()
    outcomes = []
    for month in months:
        outcome = settled.get(month) or DeliveryOutcome(feed.name, month, "missing")
        count_in_force(con, outcome)
        log(outcome.summary())
        for warning in outcome.warnings:
            log(f"warning: {warning.message}")
        outcomes.append(outcome)
    # Once per run and feed: what lies in landing where no month's run reads it.
    for warning in stray_entries(home.landing, feed.name, FEED_NAMES, home.root):
        log(f"warning: {warning.message}")
    return outcomes


#: What lies in staging longer than this was left by a process that was killed.
STALE_STAGING_SECONDS = 3600


def sweep_staging(staging: Path, now: float | None = None) -> None:
    """Remove what killed runs left in ``staging`` (sheets of workbooks as Parquet, staging
    databases: copies of a partner's data), once it is an hour old; a running step's own
    files are younger."""
    cutoff = (time.time() if now is None else now) - STALE_STAGING_SECONDS
    try:
        entries = list(os.scandir(staging))
    except FileNotFoundError:
        return
    for entry in entries:
        with contextlib.suppress(FileNotFoundError):
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)


def diagnose_deliveries(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    folders: dict[str, DeliveryFolder],
    reference: Reference,
    *,
    limits: Limits,
    workbooks: Workbooks,
) -> dict[str, DeliveryOutcome]:
    """Stage, validate and load or quarantine each delivery, naming every problem; a
    delivery that changed while it was staged is left as it is (``changed``)."""
    if not folders:
        return {}
    parse_seconds: dict[str, float] = {}
    scratch: list[Path] = []

    def stage(month: str) -> StagedDelivery:
        started = time.perf_counter()
        staging_db = home.staging / f"{feed.name}-{month}-{uuid.uuid4().hex[:8]}.duckdb"
        scratch.append(staging_db)
        folder = folders[month]
        try:
            return stage_delivery(
                feed,
                month,
                folder.files,
                staging_db,
                base=home.root,
                limits=limits,
                workbooks=workbooks,
                problems=folder.problems(home.root, limits),
                warnings=folder.warnings(home.root),
            )
        finally:
            parse_seconds[month] = time.perf_counter() - started

    staged: list[StagedDelivery] = []
    try:
        # DuckDB does the parsing and lets go of the GIL meanwhile: a backfill stages
        # its months in parallel, one thread per core; one month is staged directly.
        if len(folders) > 1:
            with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
                staged.extend(pool.map(stage, folders))
        else:
            staged.extend(stage(month) for month in folders)
        outcomes = {}
        for one, (checks, validate_seconds) in zip(
            staged, validate_staged(feed, staged, reference), strict=True
        ):
            folder = folders[one.month]
            if folder.changed():
                outcomes[one.month] = DeliveryOutcome(feed.name, one.month, "changed")
                continue
            result = checked(
                one, checks, {"parse": parse_seconds[one.month], "validate": validate_seconds}
            )
            outcomes[one.month] = _settle(con, home, feed, one.month, folder, result)
        return outcomes
    finally:
        for path in scratch:
            remove_scratch_db(path)


def _settle(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    month: str,
    folder: DeliveryFolder,
    result: Checked,
) -> DeliveryOutcome:
    """Load an accepted delivery, or quarantine a rejected one; record either."""
    files = folder.files
    outcome = DeliveryOutcome(
        feed.name,
        month,
        "loaded" if result.accepted else "rejected",
        fingerprint=folder.fingerprint(),
        files=[printable(p.name) for p in files],
        rows=result.staged.rows,
        problems=result.problems,
        warnings=result.staged.warnings,
        checks=result.checks,
        seconds=dict(result.seconds),
    )
    started = time.perf_counter()
    if result.accepted:
        _load_staged(con, feed, month, result.staged.staging_db, outcome, files)
    else:
        outcome.quarantine = quarantine_delivery(
            home,
            feed,
            month,
            files,
            result,
            unread=[display_name(p, home.root) for p in folder.unread],
        )
        record_delivery(con, outcome, files)
    outcome.seconds["load"] = time.perf_counter() - started
    return outcome


def _reject_unread(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    month: str,
    folder: DeliveryFolder,
    problems: list[Problem],
) -> DeliveryOutcome:
    """Reject a delivery none of which is read (its folder refused, or too large)."""
    staged = StagedDelivery(feed, month, [], [], home.staging / "unread", problems=problems)
    result = Checked(staged, [contract_outcome(0, problems)], problems)
    outcome = DeliveryOutcome(
        feed.name,
        month,
        "rejected",
        fingerprint=folder.fingerprint(),
        files=[printable(e.path.name) for e in folder.entries],
        problems=problems,
        checks=result.checks,
    )
    outcome.quarantine = quarantine_delivery(
        home,
        feed,
        month,
        [],
        result,
        unread=[display_name(e.path, home.root) for e in folder.entries],
    )
    record_delivery(con, outcome, folder.files)
    return outcome


def _load_staged(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    month: str,
    staging_db: Path,
    outcome: DeliveryOutcome,
    files: list[Path],
) -> None:
    """Replace the feed-month by the staged delivery and record it, in one transaction."""
    con.execute(
        render_sql("feeds/attach_staged", path=sql_string_literal(str(staging_db)), alias="staged")
    )
    try:
        with transaction(con):
            con.execute(render_sql("feeds/delete_feed_month", feed=feed.name), {"month": month})
            con.execute(
                render_sql(
                    "feeds/insert_feed_month", feed=feed.name, columns=", ".join(feed.column_names)
                )
            )
            record_delivery(con, outcome, files)
    finally:
        con.execute(render_sql("feeds/detach_staged", alias="staged"))
