"""Validating several staged deliveries of a feed as one batch.

Great Expectations costs about the same per validation whatever the size, so a
backfill validates its clean-looking staged deliveries of a feed as one table
(the union, with ``month`` bound to the batch's months) and only goes delivery
by delivery when that batch fails, so every problem is still found and named
per delivery.
"""

from __future__ import annotations

import functools
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.ingest.contract import Feed
from oemkpi.ingest.diagnose import StagedDelivery, remove_scratch_db
from oemkpi.ingest.landing import sql_string_literal
from oemkpi.ingest.suite_runs import run_suite
from oemkpi.ingest.suite_worker import judged_there
from oemkpi.ingest.suites import CheckOutcome, Suite, load_suite
from oemkpi.reference import Reference
from oemkpi.warehouse import DUCKDB_CONFIG, Generated, first_row, render_sql

#: Deliveries validated together as one table hold at most this many rows in all (the
#: clean load learns a month's rows only by reading it, so its last month may go over).
BATCH_MAX_ROWS = 4_000_000


def validate_staged(
    feed: Feed,
    staged: list[StagedDelivery],
    reference: Reference,
    *,
    folders: list[str] | None = None,
) -> list[tuple[list[CheckOutcome], float]]:
    """The suite's outcomes for each staged delivery, and the seconds spent on it.

    A delivery joins a batch only when its verdict cannot differ: it parsed without
    problems, its row count meets the suite's bounds, and every row's month is its
    folder's month (so keys, which include the month, are unique in the union exactly
    when they are unique in each delivery).
    """
    suite = load_suite(feed.name)
    folders = [
        f or _folder_of(s) for s, f in zip(staged, folders or [""] * len(staged), strict=True)
    ]
    bound: dict[str, Any] = {
        "partner_ids": reference.partner_ids,
        "countries": reference.country_codes,
    }
    results: dict[int, tuple[list[CheckOutcome], float]] = {}

    for batch in _batches(suite, staged):
        started = time.perf_counter()
        batch_db = batch[0].staging_db.with_name(f"batch-{uuid.uuid4().hex[:8]}.duckdb")
        try:
            members = _union(batch, batch_db)
            if len(members) < 2:
                continue
            outcomes = judged_there(
                functools.partial(
                    run_suite,
                    suite,
                    batch_db,
                    months=[s.month for s in members],
                    present_columns=list(feed.column_names),
                    folder="",
                    **bound,
                )
            )
        finally:
            remove_scratch_db(batch_db)
        if not all(o.passed for o in outcomes):
            continue  # each member is validated on its own below, to name its problems
        share = (time.perf_counter() - started) / max(1, sum(s.rows for s in members))
        for s in members:
            results[id(s)] = (passed_checks(suite, s.rows), share * s.rows)
    out = []
    for s, folder in zip(staged, folders, strict=True):
        if id(s) not in results:
            started = time.perf_counter()
            checks = judged_there(
                functools.partial(
                    run_suite,
                    suite,
                    s.staging_db,
                    months=[s.month],
                    present_columns=s.present_columns,
                    folder=folder,
                    **bound,
                )
            )
            results[id(s)] = (checks, time.perf_counter() - started)
        out.append(results[id(s)])
    return out


def passed_checks(suite: Suite, rows: int) -> list[CheckOutcome]:
    """Every expectation of ``suite`` passed over ``rows`` rows: a delivery judged within a
    batch that passed whole, where GX reports only on the batch."""
    return [
        CheckOutcome(spec.check, True, spec.description, rows, 0) for spec in suite.expectations
    ]


def _folder_of(staged: StagedDelivery) -> str:
    return staged.names[0].rsplit("/", 1)[0] if staged.names else ""


def _batches(suite: Suite, staged: list[StagedDelivery]) -> list[list[StagedDelivery]]:
    """Groups of two or more deliveries that may be validated as one table."""
    full = list(staged[0].feed.column_names) if staged else []
    eligible = [
        s
        for s in staged
        if not s.problems and s.present_columns == full and suite.admits_row_count(s.rows)
    ]
    batches: list[list[StagedDelivery]] = [[]]
    total = 0
    for s in eligible:
        if batches[-1] and total + s.rows > BATCH_MAX_ROWS:
            batches.append([])
            total = 0
        batches[-1].append(s)
        total += s.rows
    return [b for b in batches if len(b) >= 2]


def _union(batch: list[StagedDelivery], batch_db: Path) -> list[StagedDelivery]:
    """Copy the deliveries whose rows all carry their folder's month into one table."""
    con = duckdb.connect(str(batch_db), config=DUCKDB_CONFIG)
    members: dict[str, StagedDelivery] = {}  # attached alias -> delivery
    try:
        for i, s in enumerate(batch):
            alias = f"s{i}"
            con.execute(
                render_sql(
                    "feeds/attach_staged", path=sql_string_literal(str(s.staging_db)), alias=alias
                )
            )
            (other_months,) = first_row(
                con, render_sql("feeds/select_rows_of_other_months", alias=alias), [s.month]
            )
            if other_months == 0:
                members[alias] = s
            else:
                con.execute(render_sql("feeds/detach_staged", alias=alias))
        if len(members) >= 2:
            union = " union all ".join(f"select * from {alias}.delivery" for alias in members)
            con.execute(
                render_sql("feeds/create_batch_delivery", union_of_deliveries=Generated(union))
            )
        for alias in members:
            con.execute(render_sql("feeds/detach_staged", alias=alias))
    finally:
        con.close()
    return list(members.values())
