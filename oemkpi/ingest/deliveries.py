"""Take each feed-month delivery from landing into the warehouse, or into quarantine.

The steps of SPEC section 3: parse against the contract, validate with the
feed's Great Expectations suite, then either replace the feed-month in one
transaction or reject the delivery whole (files copied to quarantine with a
``<file>.errors.json`` each; whatever was in force for the month stays).
Every outcome is recorded in ``deliveries`` and ``delivery_checks``.
Landing files are only ever read.

Two ways lead there. A clean delivery goes the clean load
(:mod:`oemkpi.ingest.clean_load`): read straight into the feed's table inside a
transaction and judged there by the suite before it commits. Everything else
goes the diagnosing way (:func:`diagnose_deliveries`): staged in a scratch file
with each row's file and line, validated, and loaded or quarantined with every
problem named. Both ways reach the same verdict.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from oemkpi.home import Home
from oemkpi.ingest.batches import validate_staged
from oemkpi.ingest.clean_load import load_clean_deliveries
from oemkpi.ingest.contract import Feed, get_feed
from oemkpi.ingest.diagnose import StagedDelivery, remove_scratch_db, stage_delivery
from oemkpi.ingest.landing import delivery_files, fingerprint, sql_string_literal
from oemkpi.ingest.outcomes import Checked, DeliveryOutcome, checked
from oemkpi.ingest.quarantine import quarantine_delivery
from oemkpi.ingest.record import count_in_force, record_delivery
from oemkpi.ingest.suite_runs import import_suite_engine_in_background
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
    :func:`diagnose_deliveries`."""
    feed = get_feed(feed_name)
    delivered: dict[str, list[Path]] = {}
    for month in months:
        files = delivery_files(home.landing_dir(feed.name, month))
        if files:
            delivered[month] = files
    if delivered:
        import_suite_engine_in_background()
    with unordered_inserts(con):
        settled = load_clean_deliveries(con, home, feed, delivered, reference)
        settled.update(
            diagnose_deliveries(
                con,
                home,
                feed,
                {m: files for m, files in delivered.items() if m not in settled},
                reference,
            )
        )
    outcomes = []
    for month in months:
        outcome = settled.get(month) or DeliveryOutcome(feed.name, month, "missing")
        count_in_force(con, outcome)
        log(outcome.summary())
        for warning in outcome.warnings:
            log(f"warning: {warning.message}")
        outcomes.append(outcome)
    return outcomes


def diagnose_deliveries(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    delivered: dict[str, list[Path]],
    reference: Reference,
) -> dict[str, DeliveryOutcome]:
    """Stage, validate and load or quarantine each delivery, naming every problem."""
    if not delivered:
        return {}
    parse_seconds: dict[str, float] = {}
    scratch: list[Path] = []

    def stage(month: str) -> StagedDelivery:
        started = time.perf_counter()
        staging_db = home.staging / f"{feed.name}-{month}-{uuid.uuid4().hex[:8]}.duckdb"
        scratch.append(staging_db)
        try:
            return stage_delivery(feed, month, delivered[month], staging_db, base=home.root)
        finally:
            parse_seconds[month] = time.perf_counter() - started

    staged: list[StagedDelivery] = []
    try:
        # DuckDB does the parsing and lets go of the GIL meanwhile: a backfill stages
        # its months in parallel, one thread per core; one month is staged directly.
        if len(delivered) > 1:
            with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
                staged.extend(pool.map(stage, delivered))
        else:
            staged.extend(stage(month) for month in delivered)
        outcomes = {}
        for one, (checks, validate_seconds) in zip(
            staged, validate_staged(feed, staged, reference), strict=True
        ):
            result = checked(
                one, checks, {"parse": parse_seconds[one.month], "validate": validate_seconds}
            )
            outcomes[one.month] = _settle(con, home, feed, one.month, delivered[one.month], result)
        return outcomes
    finally:
        for path in scratch:
            remove_scratch_db(path)


def _settle(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    month: str,
    files: list[Path],
    result: Checked,
) -> DeliveryOutcome:
    """Load an accepted delivery, or quarantine a rejected one; record either."""
    outcome = DeliveryOutcome(
        feed.name,
        month,
        "loaded" if result.accepted else "rejected",
        fingerprint=fingerprint(files),
        files=[p.name for p in files],
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
        outcome.quarantine = quarantine_delivery(home, feed, month, files, result)
        record_delivery(con, outcome, files)
    outcome.seconds["load"] = time.perf_counter() - started
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
