"""The clean load: a delivery with nothing to report goes straight into the warehouse.

DuckDB reads the files into the feed's table and types every value on the way
(:func:`insert_clean`), inside a transaction; the feed's suite then judges
exactly the rows that would be committed (:func:`load_clean_deliveries`).
Whatever the diagnosing parse would report stops the clean load instead
(:class:`NotClean`): the transaction is rolled back and the delivery goes the
diagnosing way (:mod:`oemkpi.ingest.diagnose`), which names every problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from oemkpi.home import Home
from oemkpi.ingest.batches import BATCH_MAX_ROWS, passed_checks
from oemkpi.ingest.contract import Feed
from oemkpi.ingest.csv_files import Unreadable, trailing_empty_rows
from oemkpi.ingest.folder import DeliveryFolder, display_names, printable
from oemkpi.ingest.landing import (
    all_blank,
    every_column_read,
    match_header,
    open_text_source,
    short_error,
    text_columns,
)
from oemkpi.ingest.limits import Limits
from oemkpi.ingest.outcomes import DeliveryOutcome, contract_outcome
from oemkpi.ingest.problems import Problem
from oemkpi.ingest.record import record_delivery
from oemkpi.ingest.suite_worker import JudgeHere, batch_failures
from oemkpi.ingest.suites import Suite, load_suite
from oemkpi.ingest.typing_rules import clean_expression
from oemkpi.ingest.workbooks import Workbooks
from oemkpi.reference import Reference
from oemkpi.warehouse import Generated, first_row, render_sql


class NotClean(Exception):
    """A delivery that needs the diagnosing parse: see :func:`insert_clean`."""


def insert_clean(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    month: str,
    files: list[Path],
    names: list[str],
    *,
    limits: Limits,
    workbooks: Workbooks,
    in_set: frozenset[str] = frozenset(),
) -> tuple[int, list[Problem]]:
    """Replace ``feed``'s ``month`` in the warehouse by this delivery, in the caller's transaction.

    Whatever the diagnosing parse would report raises :class:`NotClean` instead: a
    header without every contract column, an unreadable file or record, a value that
    breaks its typing rule (``error()`` in the insert aborts it), a row whose month is
    not the folder's, a blank key. The caller then rolls back and takes the diagnosing
    way. Returns the rows inserted and the header warnings (extra columns). ``in_set``: the
    columns the feed's suite holds to a set of values, taken untrimmed (the suite that
    judges the rows before the commit fails a padded one).
    """
    selects: list[str] = []
    params: list[object] = []
    warnings: list[Problem] = []
    try:
        for index, (path, name) in enumerate(zip(files, names, strict=True)):
            source = open_text_source(
                con, path, f"clean_{index}", strict=True, limits=limits, workbooks=workbooks
            )
            positions, problems, header_warnings = match_header(feed, source.header, name)
            if problems:
                raise NotClean(name)
            if path.suffix.lower() == ".csv" and trailing_empty_rows(
                con, path, len(source.header), limits, source.skip
            ):
                raise NotClean(f"{name}: a record has more values than the header")
            warnings.extend(header_warnings)
            typed = [clean_expression(c, month, in_set=c.name in in_set) for c in feed.columns]
            selects.append(
                render_sql(
                    "feeds/select_clean_file",
                    typed_columns=Generated(", ".join(sql for sql, _ in typed)),
                    text_columns=text_columns(feed, positions, trim=False),
                    relation=source.relation,
                    every_column=every_column_read(source.header, positions),
                    all_blank=all_blank(feed),
                )
            )
            params.extend(value for _, values in typed for value in values)
            params.extend(source.params)
        con.execute(render_sql("feeds/delete_feed_month", feed=feed.name), {"month": month})
        (rows,) = first_row(
            con,
            render_sql(
                "feeds/insert_clean_delivery",
                feed=feed.name,
                columns=", ".join(feed.column_names),
                typed_selects=Generated(" union all ".join(selects)),
            ),
            params,
        )
    except Unreadable as err:
        raise NotClean(err.what) from None
    except duckdb.Error as err:
        raise NotClean(short_error(err)) from None
    return int(rows), warnings


@dataclass
class _Inserted:
    """A month read by the clean load, inside the open transaction."""

    month: str
    rows: int
    warnings: list[Problem]
    seconds: float


def load_clean_deliveries(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    folders: dict[str, DeliveryFolder],
    reference: Reference,
    *,
    limits: Limits,
    workbooks: Workbooks,
) -> dict[str, DeliveryOutcome]:
    """Load the clean deliveries; the outcomes of those loaded, and of those that changed
    while they were read, by month.

    Months are read into the feed's table one after another in one transaction, up to
    :data:`~oemkpi.ingest.batches.BATCH_MAX_ROWS` rows, and the suite judges them
    together inside it: one Great Expectations validation per batch on exactly the rows
    that would be committed. A month that is not clean (:class:`NotClean`, or fewer
    rows than the suite allows) leaves the queue and the batch is read again without
    it; a batch the suite fails is rolled back whole. Those months go the diagnosing
    way. Every row of a month carries the month's folder (or the insert fails), so
    keys, which include the month, are unique in a batch exactly when unique in each
    delivery. Before the commit, each month's folder is listed again: a month whose
    files changed meanwhile leaves the batch as ``changed`` (nothing of it is written)
    and the batch is read again without it.
    """
    suite = load_suite(feed.name)
    settled: dict[str, DeliveryOutcome] = {}
    queue = list(folders)
    while queue:
        con.begin()
        committed = False
        try:
            batch, not_clean = _insert_batch(
                con, home, feed, suite, queue, folders, limits, workbooks
            )
            if not_clean is not None:
                queue.remove(not_clean)
                continue  # rolled back below; the batch is read again without that month
            started = time.perf_counter()
            try:
                failed = batch_failures(
                    suite,
                    con,
                    home.staging,
                    feed=feed.name,
                    months=[b.month for b in batch],
                    partner_ids=reference.partner_ids,
                    countries=reference.country_codes,
                )
            except JudgeHere:
                continue  # rolled back below; the batch is read again and judged here
            validated = time.perf_counter() - started
            if failed:
                del queue[: len(batch)]
                continue  # rolled back below; each month is diagnosed on its own
            moving = [b.month for b in batch if folders[b.month].changed()]
            if moving:
                for month in moving:
                    queue.remove(month)
                    settled[month] = DeliveryOutcome(feed.name, month, "changed")
                continue  # rolled back below; the batch is read again without them
            del queue[: len(batch)]
            started = time.perf_counter()
            total = max(1, sum(b.rows for b in batch))
            outcomes = [
                _clean_outcome(feed, suite, b, folders[b.month], home, validated * b.rows / total)
                for b in batch
            ]
            for outcome in outcomes:
                record_delivery(con, outcome, folders[outcome.month].files)
            con.commit()
            committed = True
            recorded = time.perf_counter() - started
            for outcome in outcomes:
                outcome.seconds["load"] = recorded * outcome.rows / total
                settled[outcome.month] = outcome
        finally:
            if not committed:
                con.rollback()
    return settled


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    suite: Suite,
    queue: list[str],
    folders: dict[str, DeliveryFolder],
    limits: Limits,
    workbooks: Workbooks,
) -> tuple[list[_Inserted], str | None]:
    """Read months from the front of ``queue`` until the batch is full; the months read,
    and the month that stopped the batch by not being clean (the transaction is then
    aborted), if one did."""
    batch: list[_Inserted] = []
    rows = 0
    for month in queue:
        if batch and rows >= BATCH_MAX_ROWS:
            break
        files = folders[month].files
        started = time.perf_counter()
        try:
            inserted, warnings = insert_clean(
                con,
                feed,
                month,
                files,
                display_names(files, home.root),
                limits=limits,
                workbooks=workbooks,
                in_set=suite.in_set_columns,
            )
        except NotClean:
            return batch, month
        if not suite.admits_row_count(inserted):
            return batch, month
        batch.append(_Inserted(month, inserted, warnings, time.perf_counter() - started))
        rows += inserted
    return batch, None


def _clean_outcome(
    feed: Feed,
    suite: Suite,
    inserted: _Inserted,
    folder: DeliveryFolder,
    home: Home,
    validated: float,
) -> DeliveryOutcome:
    checks = [contract_outcome(inserted.rows, []), *passed_checks(suite, inserted.rows)]
    return DeliveryOutcome(
        feed.name,
        inserted.month,
        "loaded",
        fingerprint=folder.fingerprint(),
        files=[printable(p.name) for p in folder.files],
        rows=inserted.rows,
        warnings=[*folder.warnings(home.root), *inserted.warnings],
        checks=checks,
        seconds={"parse": inserted.seconds, "validate": validated},
    )
