"""Validation pages: what the checks found in one feed-month delivery, as HTML.

``validation/<feed>/<YYYY-MM>.html`` under the data home lists the delivery
(files, rows, status, when) and every check with its expectation, counts,
sample failing values and problems; ``validation/index.html`` lists every
page there is. Pages are rendered by the report templates' autoescaped Jinja2
environment, so a value from a feed (a SKU like ``Aero&14 <Pro>``) is always
shown as text, and written atomically like the reports.
"""

from __future__ import annotations

import fcntl
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.contract import get_feed
from oemkpi.ingest.folder import delivered_at, printable, read_folder
from oemkpi.ingest.outcomes import CONTRACT_CHECK, DeliveryOutcome
from oemkpi.ingest.problems import Problem, problem_count
from oemkpi.ingest.suites import CheckOutcome, load_suite
from oemkpi.months import parse_month
from oemkpi.reports.render import environment
from oemkpi.reports.writing import write_atomically

#: Problems listed one by one per check (and warnings per page); the rest are counted.
MAX_PAGE_ROWS = 200
INDEX = "index.html"

_PAGE_NAME = re.compile(r"^(\d{4}-\d{2})\.html$")
# Each page's header carries its summary, so the index can be rebuilt from the folder alone.
_SUMMARY_ATTR = re.compile(r'data-oemkpi-validation="([^"]*)"')


def validation_page_path(home: Home, feed: str, month: str) -> Path:
    """Where the page of ``feed``'s ``month`` delivery is (or would be); writes nothing."""
    return home.validation_docs / get_feed(feed).name / f"{parse_month(month)}.html"


def validation_index_path(home: Home) -> Path:
    return home.validation_docs / INDEX


@dataclass(frozen=True)
class _CheckView:
    check: str
    passed: bool
    description: str
    expectation_type: str | None
    kwargs: str | None
    rule: str | None
    element_count: int | None
    unexpected_count: int | None
    sample: list[str]
    error: str | None
    problems: list[Problem]
    more_problems: int  # counted but not listed on the page
    problem_total: int = 0
    unread: int = 0  # failing cells the contract could not read, listed under it


@dataclass(frozen=True)
class _PageEntry:
    feed: str
    month: str
    href: str
    status: str
    rows: int | None
    checks_failed: int | None
    problems: int | None
    checked_at: str | None


def write_validation_page(
    home: Home, outcome: DeliveryOutcome, *, checked_at: datetime | None = None
) -> Path:
    """Write ``validation/<feed>/<month>.html`` for ``outcome`` and refresh the index."""
    return write_validation_pages(home, [outcome], checked_at=checked_at)[0]


def write_validation_pages(
    home: Home, outcomes: list[DeliveryOutcome], *, checked_at: datetime | None = None
) -> list[Path]:
    """One page per outcome (a backfill's months), then the index once."""
    checked = (checked_at or datetime.now(UTC)).isoformat(timespec="seconds")
    paths = []
    for outcome in outcomes:
        path = validation_page_path(home, outcome.feed, outcome.month)
        write_atomically(path, render_validation_page(home, outcome, checked_at=checked))
        paths.append(path)
    write_validation_index(home)
    return paths


def render_validation_page(home: Home, outcome: DeliveryOutcome, *, checked_at: str) -> str:
    """The HTML of one delivery's validation page."""
    summary = {
        "status": outcome.status,
        "rows": outcome.rows,
        "checks_failed": sum(not c.passed for c in outcome.checks),
        "problems": problem_count(outcome.problems),
        "checked_at": checked_at,
    }
    landing = home.landing_dir(outcome.feed, outcome.month)
    shown = set(outcome.files)
    present = [p for p in read_folder(landing).files if printable(p.name) in shown]
    newest = delivered_at(present)
    return (
        environment()
        .get_template("validation.html.j2")
        .render(
            outcome=outcome,
            problem_total=summary["problems"],
            summary_json=json.dumps(summary, separators=(",", ":")),
            checked_at=checked_at,
            delivered_at=newest.replace(tzinfo=UTC).isoformat(timespec="seconds")
            if newest
            else None,
            landing=_relative(home, landing),
            quarantine=_relative(home, outcome.quarantine) if outcome.quarantine else None,
            checks=[_check_view(outcome.feed, c) for c in outcome.checks],
            checks_failed=summary["checks_failed"],
            warnings=outcome.warnings[:MAX_PAGE_ROWS],
            more_warnings=max(0, len(outcome.warnings) - MAX_PAGE_ROWS),
            seconds=outcome.seconds,
            max_rows=MAX_PAGE_ROWS,
        )
    )


def write_validation_index(home: Home) -> Path:
    """Rebuild ``validation/index.html`` from the pages in the folder."""
    folder = home.validation_docs
    folder.mkdir(parents=True, exist_ok=True)
    path = validation_index_path(home)
    # Two feed steps finishing together must not each write an index missing the other's page.
    with (folder / ".index.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = _page_entries(folder)
        text = (
            environment()
            .get_template("validation_index.html.j2")
            .render(
                entries=entries,
                feeds=sorted({e.feed for e in entries}),
                generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        write_atomically(path, text)
    return path


def _page_entries(folder: Path) -> list[_PageEntry]:
    entries = []
    for feed_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            feed = get_feed(feed_dir.name).name
        except OemkpiError:
            continue  # not a feed's folder; nothing of ours
        for page in sorted(feed_dir.iterdir(), reverse=True):
            match = _PAGE_NAME.match(page.name)
            if not match or not page.is_file():
                continue
            summary = _read_summary(page)
            entries.append(
                _PageEntry(
                    feed=feed,
                    month=match.group(1),
                    href=f"{feed}/{page.name}",
                    status=str(summary.get("status") or "unknown"),
                    rows=_int_or_none(summary.get("rows")),
                    checks_failed=_int_or_none(summary.get("checks_failed")),
                    problems=_int_or_none(summary.get("problems")),
                    checked_at=summary.get("checked_at")
                    if isinstance(summary.get("checked_at"), str)
                    else None,
                )
            )
    return entries


def _read_summary(page: Path) -> dict[str, Any]:
    """The summary a page carries in its head; empty when the page has none."""
    try:
        with page.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(16_384)  # the header follows the ~8 KB stylesheet
    except OSError:
        return {}
    match = _SUMMARY_ATTR.search(head)
    if not match:
        return {}
    try:
        value = json.loads(html.unescape(match.group(1)))
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_view(feed: str, check: CheckOutcome) -> _CheckView:
    spec = _expectation(feed, check.check)
    problems = list(check.problems)
    return _CheckView(
        check=check.check,
        passed=check.passed,
        description=check.description,
        expectation_type=spec.type if spec else None,
        kwargs=json.dumps(spec.kwargs, ensure_ascii=False) if spec else None,
        rule=spec.rule if spec else None,
        element_count=check.element_count,
        unexpected_count=check.unexpected_count,
        sample=[_shown(v) for v in check.sample],
        error=check.error,
        problems=problems[:MAX_PAGE_ROWS],
        # Counted as the record counts them: a summary entry stands for the rows it counts.
        more_problems=problem_count(problems) - problem_count(problems[:MAX_PAGE_ROWS]),
        problem_total=problem_count(problems),
        unread=check.unread,
    )


def _expectation(feed: str, check: str) -> Any:
    if check == CONTRACT_CHECK:
        return None
    try:
        suite = load_suite(feed)
    except OemkpiError:
        return None
    return next((e for e in suite.expectations if e.check == check), None)


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, dict):  # a compound key: its values in column order
        text = ", ".join("(empty)" if v is None else str(v) for v in value.values())
    else:
        text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _relative(home: Home, path: Path) -> str:
    try:
        return path.resolve().relative_to(home.root).as_posix()
    except ValueError:
        return str(path)
