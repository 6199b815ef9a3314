"""Take one feed-month delivery from landing into the warehouse, or into quarantine.

The steps of SPEC section 3: parse against the contract, validate with the
feed's Great Expectations suite, then either replace the feed-month in one
transaction or reject the delivery whole (files copied to quarantine with a
``<file>.errors.json`` each; whatever was in force for the month stays).
Every outcome is recorded in ``deliveries`` and ``delivery_checks``.
Landing files are only ever read.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from oemkpi.contract import Feed, get_feed
from oemkpi.home import Home
from oemkpi.parse import (
    StagedDelivery,
    delivered_at,
    delivery_files,
    fingerprint,
    stage_delivery,
)
from oemkpi.problems import Problem
from oemkpi.reference import Reference
from oemkpi.suites import CheckOutcome, load_suite, run_suite
from oemkpi.warehouse import first_row, render_sql, sql, transaction

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
    parsed = time.perf_counter()
    suite_checks = run_suite(
        load_suite(feed.name),
        staging_db,
        month=month,
        partner_ids=reference.partner_ids,
        countries=reference.country_codes,
        present_columns=staged.present_columns,
        folder=folder or (staged.names[0].rsplit("/", 1)[0] if staged.names else ""),
    )
    validated = time.perf_counter()
    contract = CheckOutcome(
        check=CONTRACT_CHECK,
        passed=not staged.problems,
        description="files readable as CSV, Parquet or XLSX; header has the contract columns; "
        "plain numbers; whole units; months as YYYY-MM; printable SKUs",
        element_count=staged.rows,
        unexpected_count=len(staged.problems),
        sample=[p.message for p in staged.problems[:5]],
        problems=list(staged.problems),
    )
    return Checked(
        staged,
        [contract, *suite_checks],
        merge_problems(staged.problems, suite_checks),
        {"parse": parsed - started, "validate": validated - parsed},
    )


def merge_problems(parsed: list[Problem], checks: list[CheckOutcome]) -> list[Problem]:
    """Parser problems first, then suite problems not already said of the same cell."""
    seen = {(p.file, p.row, p.column) for p in parsed if p.row is not None}
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
    feed = get_feed(feed_name)
    folder = home.landing_dir(feed.name, month)
    files = delivery_files(folder)
    if not files:
        outcome = DeliveryOutcome(feed.name, month, "missing")
        _count_in_force(con, outcome)
        return outcome

    staging_db = home.staging / f"{feed.name}-{month}-{uuid.uuid4().hex[:8]}.duckdb"
    try:
        checked = check_delivery(
            feed,
            month,
            files,
            reference,
            staging_db,
            base=home.root,
            folder=folder.relative_to(home.root).as_posix(),
        )
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
            _load(con, feed, month, staging_db, outcome, files)
        else:
            outcome.quarantine = _quarantine(home, feed, month, files, checked)
            _record(con, outcome, files)
        outcome.seconds["load"] = time.perf_counter() - started
    finally:
        for leftover in (staging_db, Path(f"{staging_db}.wal"), Path(f"{staging_db}.tmp")):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
    _count_in_force(con, outcome)
    log(outcome.summary())
    for warning in outcome.warnings:
        log(f"warning: {warning.message}")
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
    con.executemany(
        sql("insert_delivery_check"),
        [
            {
                **key,
                "check_name": c.check,
                "passed": c.passed,
                "unexpected_count": c.unexpected_count,
                "detail": c.error or (None if c.passed else c.description),
            }
            for c in outcome.checks
        ],
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
