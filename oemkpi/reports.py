"""Write a month's updates: ``reports/<YYYY-MM>/<partner_id>.html|.md|.json`` and ``index.html``."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.commentary import load_commentary
from oemkpi.home import Home
from oemkpi.months import DEFAULT_FY_START_MONTH
from oemkpi.reference import load_reference
from oemkpi.render import render_html, render_index, render_markdown
from oemkpi.report_data import build_index, build_report, load_month
from oemkpi.report_model import MonthlyReport


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
