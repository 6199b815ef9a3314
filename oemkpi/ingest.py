"""Take one feed-month delivery from landing into the warehouse, or into quarantine.

The steps of SPEC section 3: parse against the contract, validate with the
feed's Great Expectations suite, then either replace the feed-month in one
transaction or reject the delivery whole (files copied to quarantine with a
``<file>.errors.json`` each; whatever was in force for the month stays).
Every outcome is recorded in ``deliveries`` and ``delivery_checks``.
Landing files are only ever read.

Two ways lead there. The short way, for a clean delivery: DuckDB reads the files
straight into the feed's table inside a transaction and the suite judges those
rows before it commits (:func:`_load_clean`). The detailed way, for everything
else: the delivery is staged in a scratch file with each row's file and line,
validated, and loaded or quarantined with every problem named
(:func:`_ingest_detailed`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.contract import Feed, get_feed
from oemkpi.home import Home
from oemkpi.parse import (
    NotClean,
    StagedDelivery,
    delivered_at,
    delivery_files,
    display_names,
    fingerprint,
    insert_clean,
    stage_delivery,
)
from oemkpi.problems import Problem
from oemkpi.reference import Reference
from oemkpi.suites import (
    CheckOutcome,
    Suite,
    import_suite_engine_in_background,
    load_suite,
    run_suite,
    suite_failures,
)
from oemkpi.warehouse import (
    DUCKDB_CONFIG,
    first_row,
    render_sql,
    sql,
    transaction,
    unordered_inserts,
)

#: The check that stands for everything the parser enforces before the suite runs.
CONTRACT_CHECK = "contract"


@dataclass
class Checked:
    """A delivery parsed and validated, not yet loaded or rejected."""

    staged: StagedDelivery
    checks: list[CheckOutcome]
    problems: list[Problem]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def checks_failed(self) -> int:
        return sum(not c.passed for c in self.checks)


@dataclass
class DeliveryOutcome:
    """What happened to one feed-month: for the CLI, Dagster metadata and reports."""

    feed: str
    month: str
    status: str  # loaded | rejected | missing
    fingerprint: str | None = None
    files: list[str] = field(default_factory=list)
    rows: int = 0  # rows in the delivery as parsed
    rows_in_force: int = 0  # rows of the month in the warehouse afterwards
    partners: int = 0  # partners with rows in force
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    quarantine: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if self.status == "missing":
            return f"{self.month}: no delivery in landing ({self.rows_in_force} rows in force)"
        if self.status == "loaded":
            return f"{self.month}: loaded {self.rows} rows from {len(self.files)} files"
        return (
            f"{self.month}: REJECTED, {len(self.problems)} problems "
            f"(first: {self.problems[0].message}) see {self.quarantine}"
        )


def check_delivery(
    feed: Feed,
    month: str,
    files: list[Path],
    reference: Reference,
    staging_db: Path,
    *,
    base: Path | None = None,
    folder: str = "",
) -> Checked:
    """Parse ``files`` into ``staging_db`` and run the feed's suite over them."""
    started = time.perf_counter()
    staged = stage_delivery(feed, month, files, staging_db, base=base)
    parsed = time.perf_counter() - started
    checks, validated = validate_staged(feed, [staged], reference, folders=[folder])[0]
    return _checked(staged, checks, {"parse": parsed, "validate": validated})


def _contract_outcome(rows: int, problems: list[Problem]) -> CheckOutcome:
    return CheckOutcome(
        check=CONTRACT_CHECK,
        passed=not problems,
        description="files readable as CSV, Parquet or XLSX; header has the contract columns; "
        "plain numbers; whole units; months as YYYY-MM; printable SKUs",
        element_count=rows,
        unexpected_count=len(problems),
        sample=[p.message for p in problems[:5]],
        problems=list(problems),
    )


def _checked(
    staged: StagedDelivery, suite_checks: list[CheckOutcome], seconds: dict[str, float]
) -> Checked:
    contract = _contract_outcome(staged.rows, staged.problems)
    return Checked(
        staged,
        [contract, *suite_checks],
        merge_problems(staged.problems, suite_checks),
        seconds,
    )


#: Deliveries validated together as one table hold at most this many rows in all (the
#: short way learns a month's rows only by reading it, so its last month may go over).
BATCH_MAX_ROWS = 4_000_000


def validate_staged(
    feed: Feed,
    staged: list[StagedDelivery],
    reference: Reference,
    *,
    folders: list[str] | None = None,
) -> list[tuple[list[CheckOutcome], float]]:
    """The suite's outcomes for each staged delivery, and the seconds spent on it.

    Great Expectations costs about 0.4 s per validation whatever the size, so a
    backfill validates its clean-looking deliveries of a feed as one table (the
    union, with ``month`` bound to the batch's months) and only goes delivery by
    delivery when that batch fails, so every problem is still found and named
    per delivery. A delivery joins a batch only when its verdict cannot differ:
    it parsed without problems, its row count meets the suite's bounds, and every
    row's month is its folder's month (so keys, which include the month, are
    unique in the union exactly when they are unique in each delivery).
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
            outcomes = run_suite(
                suite,
                batch_db,
                months=[s.month for s in members],
                present_columns=list(feed.column_names),
                folder="",
                **bound,
            )
        finally:
            remove_scratch_db(batch_db)
        if not all(o.passed for o in outcomes):
            continue  # each member is validated on its own below, to name its problems
        share = (time.perf_counter() - started) / max(1, sum(s.rows for s in members))
        for s in members:
            results[id(s)] = (
                _passed_checks(suite, s.rows),
                share * s.rows,
            )
    out = []
    for s, folder in zip(staged, folders, strict=True):
        if id(s) not in results:
            started = time.perf_counter()
            checks = run_suite(
                suite,
                s.staging_db,
                months=[s.month],
                present_columns=s.present_columns,
                folder=folder,
                **bound,
            )
            results[id(s)] = (checks, time.perf_counter() - started)
        out.append(results[id(s)])
    return out


def _passed_checks(suite: Suite, rows: int) -> list[CheckOutcome]:
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
            con.execute(f"attach '{_sql_string(str(s.staging_db))}' as {alias} (read_only)")
            (other_months,) = first_row(
                con,
                f"select count(*) from {alias}.delivery where month is distinct from ?",
                [s.month],
            )
            if other_months == 0:
                members[alias] = s
            else:
                con.execute(f"detach {alias}")
        if len(members) >= 2:
            con.execute(
                "create table delivery as "
                + " union all ".join(f"select * from {alias}.delivery" for alias in members)
            )
        for alias in members:
            con.execute(f"detach {alias}")
    finally:
        con.close()
    return list(members.values())


def remove_scratch_db(path: Path) -> None:
    """Delete a scratch DuckDB file with its WAL and spill folder."""
    for leftover in (path, Path(f"{path}.wal"), Path(f"{path}.tmp")):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def merge_problems(parsed: list[Problem], checks: list[CheckOutcome]) -> list[Problem]:
    """Parser problems first, then suite problems not already said of the same cell."""
    seen: set[tuple[str, int | None, str | None]] = {
        (p.file, p.row, p.column) for p in parsed if p.row is not None
    }
    unreadable_file = any(p.row is None for p in parsed)
    merged = list(parsed)
    for check in checks:
        for p in check.problems:
            if unreadable_file and p.rule == "row_count":
                continue  # a file that could not be read explains the missing rows already
            if p.row is not None and (p.file, p.row, p.column) in seen:
                continue
            seen.add((p.file, p.row, p.column))
            merged.append(p)
    merged.sort(key=lambda p: (p.file, p.row if p.row is not None else 0))
    return merged


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
    """Check each month's delivery of a feed, then load or reject each.

    Clean deliveries go the short way (:func:`_load_clean`): read straight into the
    warehouse and judged there by the suite before their transaction commits. Any
    other delivery, and every month of a batch the suite fails, goes the detailed way
    (:func:`_ingest_detailed`): staged, validated with each problem named by file, row,
    column and value, then loaded or quarantined. Both ways reach the same verdict.
    """
    feed = get_feed(feed_name)
    delivered: dict[str, list[Path]] = {}
    for month in months:
        files = delivery_files(home.landing_dir(feed.name, month))
        if files:
            delivered[month] = files
    if delivered:
        import_suite_engine_in_background()
    with unordered_inserts(con):
        settled = _load_clean(con, home, feed, delivered, reference)
        settled.update(
            _ingest_detailed(
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
        _count_in_force(con, outcome)
        log(outcome.summary())
        for warning in outcome.warnings:
            log(f"warning: {warning.message}")
        outcomes.append(outcome)
    return outcomes


@dataclass
class _Inserted:
    """A month read the short way, inside the open transaction."""

    month: str
    rows: int
    warnings: list[Problem]
    seconds: float


def _load_clean(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    delivered: dict[str, list[Path]],
    reference: Reference,
) -> dict[str, DeliveryOutcome]:
    """Load the clean deliveries the short way; the outcomes of those loaded, by month.

    Months are read into the feed's table one after another in one transaction, up to
    :data:`BATCH_MAX_ROWS` rows, and the suite judges them together inside it: one Great
    Expectations validation per batch (~0.3 s, whatever its size) on exactly the rows
    that would be committed. A month that is not clean (:class:`NotClean`, or fewer rows
    than the suite allows) leaves the queue and the batch is read again without it; a
    batch the suite fails is rolled back whole. Those months go the detailed way. Every
    row of a month carries the month's folder (or the insert fails), so keys, which
    include the month, are unique in a batch exactly when unique in each delivery.
    """
    suite = load_suite(feed.name)
    loaded: dict[str, DeliveryOutcome] = {}
    queue = list(delivered)
    while queue:
        con.execute("begin transaction")
        committed = False
        try:
            batch, not_clean = _insert_batch(con, home, feed, suite, queue, delivered)
            if not_clean is not None:
                queue.remove(not_clean)
                continue  # rolled back below; the batch is read again without that month
            del queue[: len(batch)]
            started = time.perf_counter()
            failed = suite_failures(
                suite,
                con,
                feed=feed.name,
                months=[b.month for b in batch],
                partner_ids=reference.partner_ids,
                countries=reference.country_codes,
            )
            validated = time.perf_counter() - started
            if failed:
                continue  # rolled back below; each month is validated on its own, in detail
            started = time.perf_counter()
            total = max(1, sum(b.rows for b in batch))
            outcomes = [
                _clean_outcome(feed, suite, b, delivered[b.month], validated * b.rows / total)
                for b in batch
            ]
            for outcome in outcomes:
                _record(con, outcome, delivered[outcome.month])
            con.execute("commit")
            committed = True
            recorded = time.perf_counter() - started
            for outcome in outcomes:
                outcome.seconds["load"] = recorded * outcome.rows / total
                loaded[outcome.month] = outcome
        finally:
            if not committed:
                con.execute("rollback")
    return loaded


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    feed: Feed,
    suite: Suite,
    queue: list[str],
    delivered: dict[str, list[Path]],
) -> tuple[list[_Inserted], str | None]:
    """Read months from the front of ``queue`` until the batch is full; the months read,
    and the month that stopped the batch by not being clean (the transaction is then
    aborted), if one did."""
    batch: list[_Inserted] = []
    rows = 0
    for month in queue:
        if batch and rows >= BATCH_MAX_ROWS:
            break
        files = delivered[month]
        started = time.perf_counter()
        try:
            inserted, warnings = insert_clean(
                con, feed, month, files, display_names(files, home.root)
            )
        except NotClean:
            return batch, month
        if not suite.admits_row_count(inserted):
            return batch, month
        batch.append(_Inserted(month, inserted, warnings, time.perf_counter() - started))
        rows += inserted
    return batch, None


def _clean_outcome(
    feed: Feed, suite: Suite, inserted: _Inserted, files: list[Path], validated: float
) -> DeliveryOutcome:
    checks = [_contract_outcome(inserted.rows, []), *_passed_checks(suite, inserted.rows)]
    return DeliveryOutcome(
        feed.name,
        inserted.month,
        "loaded",
        fingerprint=fingerprint(files),
        files=[p.name for p in files],
        rows=inserted.rows,
        warnings=inserted.warnings,
        checks=checks,
        seconds={"parse": inserted.seconds, "validate": validated},
    )


def _ingest_detailed(
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
            checked = _checked(
                one, checks, {"parse": parse_seconds[one.month], "validate": validate_seconds}
            )
            outcomes[one.month] = _settle(con, home, feed, one.month, delivered[one.month], checked)
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
    checked: Checked,
) -> DeliveryOutcome:
    """Load an accepted delivery, or quarantine a rejected one; record either."""
    outcome = DeliveryOutcome(
        feed.name,
        month,
        "loaded" if checked.accepted else "rejected",
        fingerprint=fingerprint(files),
        files=[p.name for p in files],
        rows=checked.staged.rows,
        problems=checked.problems,
        warnings=checked.staged.warnings,
        checks=checked.checks,
        seconds=dict(checked.seconds),
    )
    started = time.perf_counter()
    if checked.accepted:
        _load(con, feed, month, checked.staged.staging_db, outcome, files)
    else:
        outcome.quarantine = _quarantine(home, feed, month, files, checked)
        _record(con, outcome, files)
    outcome.seconds["load"] = time.perf_counter() - started
    return outcome


def _load(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    month: str,
    staging_db: Path,
    outcome: DeliveryOutcome,
    files: list[Path],
) -> None:
    con.execute(f"attach '{_sql_string(str(staging_db))}' as staged (read_only)")
    try:
        with transaction(con):
            con.execute(render_sql("delete_feed_month", feed=feed.name), {"month": month})
            con.execute(
                render_sql(
                    "insert_feed_month", feed=feed.name, columns=", ".join(feed.column_names)
                )
            )
            _record(con, outcome, files)
    finally:
        con.execute("detach staged")


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _record(con: duckdb.DuckDBPyConnection, outcome: DeliveryOutcome, files: list[Path]) -> None:
    con.execute(
        sql("insert_delivery"),
        {
            "feed": outcome.feed,
            "month": outcome.month,
            "fingerprint": outcome.fingerprint,
            "status": outcome.status,
            "files": json.dumps(outcome.files),
            "delivered_at": delivered_at(files),
            "checked_at": datetime.now(UTC).replace(tzinfo=None),
            "rows": outcome.rows,
            "problems": len(outcome.problems),
            "checks_failed": sum(not c.passed for c in outcome.checks),
            "warnings": json.dumps([w.message for w in outcome.warnings]),
            "quarantine": str(outcome.quarantine) if outcome.quarantine else None,
        },
    )
    key = {"feed": outcome.feed, "month": outcome.month, "fingerprint": outcome.fingerprint}
    con.execute(sql("delete_delivery_checks"), key)
    con.execute(
        sql("insert_delivery_checks"),
        {
            **key,
            "check_names": [c.check for c in outcome.checks],
            "passed": [c.passed for c in outcome.checks],
            "unexpected_counts": [c.unexpected_count for c in outcome.checks],
            "details": [c.error or (None if c.passed else c.description) for c in outcome.checks],
        },
    )


def _quarantine(home: Home, feed: Feed, month: str, files: list[Path], checked: Checked) -> Path:
    """Copy the rejected delivery to quarantine with one ``<file>.errors.json`` per file."""
    target = home.quarantine_dir(feed.name, month)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    names = checked.staged.names
    for path, name in zip(files, names, strict=True):
        shutil.copy2(path, target / path.name)
        (target / f"{path.name}.errors.json").write_text(
            _errors_document(feed.name, month, name, names, checked),
            encoding="utf-8",
        )
    return target


def _errors_document(feed: str, month: str, file: str, names: list[str], checked: Checked) -> str:
    """The body of ``<file>.errors.json``: this file's problems and the delivery's own."""
    own = [p for p in checked.problems if p.file == file or p.file not in names]
    body = {
        "feed": feed,
        "month": month,
        "file": file,
        "delivery": names,
        "status": "rejected",
        "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "problem_count": len(own),
        "problems": [p.to_json() for p in own],
        "delivery_problem_count": len(checked.problems),
        "checks_failed": [c.check for c in checked.checks if not c.passed],
        "warnings": [w.to_json() for w in checked.staged.warnings if w.file == file],
    }
    if not own:
        body["note"] = (
            "No problem was found in this file; the delivery is rejected as a whole because "
            "other files of it have problems. Fix those and deliver all files again."
        )
    return json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n"


def _count_in_force(con: duckdb.DuckDBPyConnection, outcome: DeliveryOutcome) -> None:
    rows, partners = first_row(
        con, render_sql("select_feed_month_counts", feed=outcome.feed), {"month": outcome.month}
    )
    outcome.rows_in_force, outcome.partners = int(rows), int(partners)
