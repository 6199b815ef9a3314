"""``oemkpi validate``: one file through the same parse and suite as a delivery.

Nothing is loaded and nothing in the data home changes except the scratch
staging file, which is removed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from oemkpi.contract import get_feed
from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest import check_delivery, remove_scratch_db
from oemkpi.months import parse_month
from oemkpi.problems import Problem
from oemkpi.reference import load_reference

_MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")


@dataclass
class ValidationReport:
    month: str
    rows: int
    problems: list[Problem]
    warnings: list[Problem]
    checks_failed: int


def validate_file(home: Home, path: Path, feed_name: str, month: str | None) -> ValidationReport:
    """Parse and validate ``path`` as a delivery of ``feed_name`` for ``month``."""
    feed = get_feed(feed_name)
    if not path.is_file():
        raise OemkpiError(f"There is no file {path}; give the path of a CSV, Parquet or XLSX file.")
    if month is None:
        month = _month_of(path)
    month = parse_month(month)
    reference = load_reference(home.reference)
    staging_db = home.staging / f"validate-{uuid.uuid4().hex[:8]}.duckdb"
    try:
        checked = check_delivery(
            feed, month, [path], reference, staging_db, base=Path.cwd(), folder=str(path)
        )
    finally:
        remove_scratch_db(staging_db)
    return ValidationReport(
        month, checked.staged.rows, checked.problems, checked.staged.warnings, checked.checks_failed
    )


def _month_of(path: Path) -> str:
    """The month a file is for, when it sits in a ``YYYY-MM`` folder as in landing."""
    if _MONTH_FOLDER.match(path.parent.name):
        return path.parent.name
    raise OemkpiError(f"Cannot tell which month {path} is for; give it with --month YYYY-MM.")
