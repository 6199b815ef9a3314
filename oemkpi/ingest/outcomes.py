"""What checking a delivery found, and what happened to it, as the other stages read it.

:class:`Checked` is a delivery parsed and judged, not yet loaded or rejected;
:class:`DeliveryOutcome` is the end of the road for one feed-month (loaded,
rejected or missing), which the Dagster checks, the validation pages, the CLI
and the delivery record all read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from oemkpi.formats import counted
from oemkpi.ingest.diagnose import StagedDelivery
from oemkpi.ingest.problems import Problem, problem_count
from oemkpi.ingest.suites import CheckOutcome

#: The check that stands for everything the parse enforces before the suite runs.
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
    #: loaded | rejected | missing, or changed: the files changed while they were read, so
    #: nothing of them was loaded, quarantined or recorded (it is moving, not bad)
    status: str
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

    @property
    def checked(self) -> bool:
        """Whether the delivery was judged (loaded or rejected), so it has check results."""
        return self.status in ("loaded", "rejected")

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if self.status == "missing":
            return f"{self.month}: no delivery in landing ({self.rows_in_force} rows in force)"
        if self.status == "changed":
            return (
                f"{self.month}: the delivery changed while it was read, so nothing of it was "
                f"loaded or quarantined and the {self.rows_in_force} rows in force stay; run the "
                "month again once its files are complete"
            )
        if self.status == "loaded":
            return f"{self.month}: loaded {self.rows} rows from {len(self.files)} files"
        return (
            f"{self.month}: REJECTED, {counted(problem_count(self.problems), 'problem')} "
            f"(first: {self.problems[0].message}) see {self.quarantine}"
        )


def contract_outcome(rows: int, problems: list[Problem]) -> CheckOutcome:
    """The contract check's outcome: passed unless the parse found problems."""
    return CheckOutcome(
        check=CONTRACT_CHECK,
        passed=not problems,
        description="files readable as CSV, Parquet or XLSX; header has the contract columns; "
        "plain numbers; whole units; months as YYYY-MM; printable SKUs",
        element_count=rows,
        unexpected_count=problem_count(problems),
        sample=[p.message for p in problems[:5]],
        problems=list(problems),
    )


def checked(
    staged: StagedDelivery, suite_checks: list[CheckOutcome], seconds: dict[str, float]
) -> Checked:
    """A staged delivery with its suite's outcomes: the contract check first."""
    contract = contract_outcome(staged.rows, staged.problems)
    said = _said_cells(staged.problems)
    return Checked(
        staged,
        [contract, *(_without_unread(c, said) for c in suite_checks)],
        merge_problems(staged.problems, suite_checks, files_unread=staged.files_unread),
        seconds,
    )


def _said_cells(parsed: list[Problem]) -> set[tuple[str, int | None, str | None]]:
    """The cells (file, row, column) the parser already named a problem of."""
    return {(p.file, p.row, p.column) for p in parsed if p.row is not None}


def _without_unread(
    check: CheckOutcome, said: set[tuple[str, int | None, str | None]]
) -> CheckOutcome:
    """A suite check without the cells the contract could not read (``said``): "abc" in a
    unit column reaches the suite as empty, and its not-null check listed "row 2 ... is
    empty" of a cell that holds "abc" (the contract lists it, with its value)."""
    kept = [p for p in check.problems if p.row is None or (p.file, p.row, p.column) not in said]
    if len(kept) == len(check.problems):
        return check
    return replace(check, problems=kept, unread=len(check.problems) - len(kept))


def merge_problems(
    parsed: list[Problem], checks: list[CheckOutcome], *, files_unread: int = 0
) -> list[Problem]:
    """Parser problems first, then suite problems not already said of the same cell."""
    seen = _said_cells(parsed)
    unreadable_file = files_unread > 0 or any(p.row is None for p in parsed)
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
