"""Write a month's updates: ``reports/<YYYY-MM>/<partner_id>.html|.md|.json`` and ``index.html``."""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.home import Home
from oemkpi.months import DEFAULT_FY_START_MONTH
from oemkpi.reference import load_reference
from oemkpi.reports.build import build_index, build_report
from oemkpi.reports.commentary import load_commentary
from oemkpi.reports.data import load_month
from oemkpi.reports.model import MonthlyReport
from oemkpi.reports.render import render_html, render_index, render_markdown
from oemkpi.warehouse import home_warehouse


@dataclass
class WrittenMonth:
    reports: list[MonthlyReport]
    index: Path


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_json(report: MonthlyReport) -> str:
    return (
        json.dumps(_without_noise(report.export), indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )


def _without_noise(value: Any) -> Any:
    """Floats to 12 significant digits: sums of doubles end in noise such as
    ``91167857.71999998``, which a spreadsheet user would read as a real figure."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _without_noise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_noise(v) for v in value]
    return value


def write_month_reports(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    month: str,
    *,
    fy_start_month: int = DEFAULT_FY_START_MONTH,
) -> WrittenMonth:
    """Render every reference partner's update for ``month`` and the month's index."""
    reference = load_reference(home.reference)
    data = load_month(con, month, reference, fy_start_month=fy_start_month)
    folder = home.reports_dir(month)
    reports = []
    files: dict[str, dict[str, str]] = {}
    for partner in reference.partners:
        commentary = load_commentary(home.commentary_file(month, partner.partner_id))
        report = build_report(data, partner, commentary)
        pid = partner.partner_id
        write_atomically(folder / f"{pid}.html", render_html(report))
        write_atomically(folder / f"{pid}.md", render_markdown(report))
        write_atomically(folder / f"{pid}.json", export_json(report))
        files[pid] = {"html": f"{pid}.html", "markdown": f"{pid}.md", "json": f"{pid}.json"}
        reports.append(report)
    index = folder / "index.html"
    write_atomically(index, render_index(build_index(data, reports, files)))
    return WrittenMonth(reports, index)


@dataclass(frozen=True)
class ReportSummary:
    """What a run says of one partner's update (small, so it crosses processes cheaply)."""

    partner_id: str
    partner_name: str
    flag_counts: dict[str, int]
    summary: list[str]


@dataclass(frozen=True)
class MonthWritten:
    month: str
    index: Path
    reports: list[ReportSummary]


#: Below this many months a range is rendered in this process: starting a worker
#: (its imports) costs about what a month of reports does.
PARALLEL_FROM_MONTHS = 4


def write_reports(
    home: Home,
    months: list[str],
    *,
    fy_start_month: int = DEFAULT_FY_START_MONTH,
    workers: int | None = None,
) -> list[MonthWritten]:
    """Every month's updates (:func:`write_month_reports`), in month order.

    Rendering is Python-bound, so a range of months is split over worker processes,
    one per core; each opens the
    warehouse read-only. Workers are spawned, not forked: the caller holds DuckDB and
    Dagster state a forked child must not share. As with any spawned worker, a script
    that calls this must keep its top-level code under ``if __name__ == "__main__":``.
    A daemonic process (a Celery worker's pool process) may not start children: it
    renders every month itself.
    """
    workers = min(len(months), os.cpu_count() or 1) if workers is None else workers
    if multiprocessing.current_process().daemon:
        workers = 1
    if workers <= 1 or len(months) < PARALLEL_FROM_MONTHS:
        return _write_months(str(home.root), months, fy_start_month)
    chunks = [months[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = [
            written
            for part in pool.map(
                _write_months, [str(home.root)] * workers, chunks, [fy_start_month] * workers
            )
            for written in part
        ]
    return sorted(done, key=lambda w: w.month)


def _write_months(root: str, months: list[str], fy_start_month: int) -> list[MonthWritten]:
    home = Home.at(root)
    out = []
    with home_warehouse(home, read_only=True) as con:
        for month in months:
            written = write_month_reports(con, home, month, fy_start_month=fy_start_month)
            out.append(
                MonthWritten(
                    month,
                    written.index,
                    [
                        ReportSummary(
                            r.partner.partner_id,
                            r.partner.partner_name,
                            dict(r.flag_counts),
                            list(r.summary),
                        )
                        for r in written.reports
                    ],
                )
            )
    return out
