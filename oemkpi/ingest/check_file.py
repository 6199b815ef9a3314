"""``oemkpi validate``: one file through the same diagnosing parse and suite as a delivery.

Nothing is loaded and nothing in the data home changes except the scratch
staging file, which is removed.
"""

from __future__ import annotations

import re
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.batches import validate_staged
from oemkpi.ingest.contract import Feed, get_feed
from oemkpi.ingest.diagnose import remove_scratch_db, stage_delivery
from oemkpi.ingest.folder import display_name, printable
from oemkpi.ingest.limits import Limits, env_name, size_text
from oemkpi.ingest.outcomes import Checked, checked
from oemkpi.ingest.problems import Problem, problem
from oemkpi.months import parse_month
from oemkpi.reference import Reference, load_reference

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
    shown = printable(str(path))
    try:
        st = path.stat()  # the file named on the command line: a link there is the user's
    except OSError:
        raise OemkpiError(
            f"There is no file {shown}; give the path of a CSV, Parquet or XLSX file."
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise OemkpiError(
            f"{shown} is not a regular file; give the path of a CSV, Parquet or XLSX file."
        )
    if month is None:
        month = _month_of(path)
    month = parse_month(month)
    reference = load_reference(home.reference)
    limits = Limits.from_env()
    if st.st_size > limits.delivery_bytes:
        too_large = problem(
            display_name(path, Path.cwd()),
            None,
            None,
            None,
            "delivery_too_large",
            f"the file holds {size_text(st.st_size)}, more than the limit of "
            f"{size_text(limits.delivery_bytes)} per delivery ({env_name('delivery_bytes')}), "
            "so it is not read",
        )
        return ValidationReport(month, 0, [too_large], [], 1)
    staging_db = home.staging / f"validate-{uuid.uuid4().hex[:8]}.duckdb"
    try:
        result = check_delivery(
            feed, month, [path], reference, staging_db, base=Path.cwd(), folder=str(path)
        )
    finally:
        remove_scratch_db(staging_db)
    return ValidationReport(
        month, result.staged.rows, result.problems, result.staged.warnings, result.checks_failed
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
    return checked(staged, checks, {"parse": parsed, "validate": validated})


def _month_of(path: Path) -> str:
    """The month a file is for, when it sits in a ``YYYY-MM`` folder as in landing."""
    if _MONTH_FOLDER.match(path.parent.name):
        return path.parent.name
    raise OemkpiError(
        f"Cannot tell which month {printable(str(path))} is for; give it with --month YYYY-MM."
    )
