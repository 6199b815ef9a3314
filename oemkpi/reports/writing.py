"""Write a month's updates: ``reports/<YYYY-MM>/<partner_id>.html|.md|.json`` and ``index.html``.

A month's reports are one set: the index links every partner's files, and a
reader (or the mail step) must never find some partners' files new and others
last run's. So the month is rendered into a staging folder beside it
(:func:`replacing_folder`) and swapped in whole; everything the month holds,
``index.html`` and ``regions/`` included, is written inside that switch. Any
failure before the switch leaves the earlier complete set as it was and is one
sentence naming the path and the cause. Files and folders are created with the
process's umask, like any file a user's tools write.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.months import DEFAULT_FY_START_MONTH
from oemkpi.reference import load_reference
from oemkpi.reports import chart_worker
from oemkpi.reports.build import build_report
from oemkpi.reports.charts import MAIL_CHARTS
from oemkpi.reports.commentary import commentary_or_warning, unknown_commentary
from oemkpi.reports.data import load_month
from oemkpi.reports.index import build_index
from oemkpi.reports.model import Commentary, MonthlyReport
from oemkpi.reports.regional import (
    RegionPack,
    build_region_packs,
    render_region_html,
    render_region_json,
    render_region_markdown,
)
from oemkpi.reports.render import render_html, render_index, render_markdown
from oemkpi.warehouse import home_warehouse


@dataclass
class WrittenMonth:
    reports: list[MonthlyReport]
    index: Path
    warnings: list[str] = field(default_factory=list)
    packs: list[RegionPack] = field(default_factory=list)


#: A staging folder older than this is left over from a render that crashed.
_STALE_SECONDS = 3600


def write_atomically(
    path: Path, text: str, *, encoding: str = "utf-8", newline: str = "\n"
) -> None:
    """Replace ``path`` in one step, so a reader never sees half a file. The temporary
    file is created with mode 0666, so the file ends up with the umask's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "w", encoding=encoding, newline=newline) as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def replacing_folder(folder: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``folder``; when the block ends without an
    error it takes ``folder``'s place as a whole, else it is removed and ``folder`` stays
    as it was.

    The switch is two renames: the earlier folder steps aside to ``.<name>.old-*``, the
    staging folder takes its name, then the old one is removed. A reader sees the earlier
    complete set, the new complete set, or, for the instant between the renames, no
    folder: never a mix. A crash between the two renames leaves no ``<name>`` folder, the
    earlier set in ``.<name>.old-*`` and the new one in ``.<name>.new-*``; a crash while
    rendering leaves only a ``.<name>.new-*``. The next successful switch of that folder
    removes such leftovers (staging folders once they are an hour old, since another run
    may still be rendering into a newer one).
    """
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".{folder.name}.new-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        yield staging
        old = parent / f".{folder.name}.old-{uuid.uuid4().hex[:12]}"
        if os.path.lexists(folder):
            os.rename(folder, old)
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_leftovers(folder)


def _remove_leftovers(folder: Path) -> None:
    stale = time.time() - _STALE_SECONDS
    for path in folder.parent.glob(f".{folder.name}.*-*"):
        kind = path.name[len(folder.name) + 2 :].split("-", 1)[0]
        if kind == "old" or (kind == "new" and path.lstat().st_mtime < stale):
            shutil.rmtree(path, ignore_errors=True)


def _write(staging: Path, folder: Path, name: str, text: str) -> None:
    """Write ``name`` in the staging folder; an error names the file where it will be."""
    try:
        (staging / name).write_text(text, encoding="utf-8", newline="\n")
    except OSError as err:
        err.filename = str(folder / name)
        raise


def _not_written(month: str, folder: Path, err: OSError) -> OemkpiError:
    where = f"{err.filename}: " if err.filename else ""
    return OemkpiError(
        f"The reports of {month} were not written ({where}{err.strerror or err}); the earlier "
        f"reports in {folder} stay as they were: free space or fix the folder's permissions "
        "and run the month again."
    )


def export_json(report: MonthlyReport) -> str:
    return (
        json.dumps(without_noise(report.export), indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )


def without_noise(value: Any) -> Any:
    """Floats to 12 significant digits: sums of doubles end in noise such as
    ``91167857.71999998``, which a spreadsheet user would read as a real figure."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: without_noise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_noise(v) for v in value]
    return value


def write_month_reports(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    month: str,
    *,
    fy_start_month: int = DEFAULT_FY_START_MONTH,
) -> WrittenMonth:
    """Render every reference partner's update for ``month`` and the month's index, and
    put them in place as one set (:func:`replacing_folder`)."""
    reference = load_reference(home.reference)
    data = load_month(
        con,
        month,
        reference,
        fy_start_month=fy_start_month,
        red_flags_yaml=home.red_flags_yaml,
    )
    folder = home.reports_dir(month)
    warnings = unknown_commentary(home.commentary_dir(month), set(reference.partner_ids))
    reports = []
    files: dict[str, dict[str, str]] = {}
    commentaries: dict[str, Commentary | None] = {}
    try:
        with replacing_folder(folder) as staging:
            for partner in reference.partners:
                commentary = commentary_or_warning(
                    home.commentary_file(month, partner.partner_id), warnings
                )
                commentaries[partner.partner_id] = commentary
                report = build_report(data, partner, commentary)
                # Drawn by the drawing process while this one goes on (when one runs).
                chart_worker.prepare(report.charts.values(), png_keys=MAIL_CHARTS)
                pid = partner.partner_id
                _write(staging, folder, f"{pid}.md", render_markdown(report))
                _write(staging, folder, f"{pid}.json", export_json(report))
                files[pid] = {"html": f"{pid}.html", "markdown": f"{pid}.md", "json": f"{pid}.json"}
                reports.append(report)
            for report in reports:  # the pages with charts last: most are drawn by then
                pid = report.partner.partner_id
                _write(staging, folder, f"{pid}.html", render_html(report))
            (staging / "regions").mkdir()
            regions = []
            packs = build_region_packs(con, data, reference, commentaries)
            for pack in packs:
                stem = f"regions/{pack.file_stem}"
                _write(staging, folder, f"{stem}.html", render_region_html(pack))
                _write(staging, folder, f"{stem}.md", render_region_markdown(pack))
                _write(staging, folder, f"{stem}.json", render_region_json(pack))
                regions.append((pack.region, f"{stem}.html", f"{stem}.md", f"{stem}.json"))
            index = replace(build_index(data, reports, files), regions=regions)
            _write(staging, folder, "index.html", render_index(index))
    except OSError as err:
        raise _not_written(month, folder, err) from None
    return WrittenMonth(reports, folder / "index.html", warnings, packs)


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
    warnings: list[str] = field(default_factory=list)
    #: The month as written (every update and regional pack: what the delivery step builds
    #: its messages from) when rendered in this process; never sent back from a worker
    #: process (:func:`write_reports`).
    rendered: WrittenMonth | None = None


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
        chart_worker.start()  # unless it runs already: it draws while this process renders
        return _write_months(str(home.root), months, fy_start_month, keep_written=True)
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


def _write_months(
    root: str, months: list[str], fy_start_month: int, *, keep_written: bool = False
) -> list[MonthWritten]:
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
                    written.warnings,
                    written if keep_written else None,
                )
            )
    return out
