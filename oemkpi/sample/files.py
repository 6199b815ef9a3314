"""Writing files: each delivery split by region into CSV, Parquet and XLSX files.

CSV files use the legal variations of SPEC section 3 (header spellings, BOM,
line endings, an extra column). A file is rewritten only when its bytes
change, so re-running keeps modification times (the landing sensor watches them).
"""

from __future__ import annotations

import datetime as dt
import filecmp
import io
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import polars.selectors as cs

from oemkpi.home import Home
from oemkpi.ingest.contract import FEEDS
from oemkpi.months import add_months
from oemkpi.sample.catalogue import REGIONS
from oemkpi.sample.plan import Plan
from oemkpi.sample.tables import Table

#: XLSX only for files up to this many rows (the rest are CSV or Parquet).
_XLSX_MAX_ROWS = 100_000
#: A feed's smallest file goes to XLSX in every n-th month (XLSX writing is slow).
_XLSX_EVERY = {"pc_shipments": 2, "windows_share": 6, "premium_mix": 3, "attach_rate": 1}
#: Files with more rows are written through a temporary file rather than memory.
_BIG_FILE_ROWS = 250_000

_SOURCE_SYSTEMS = ("sap-bw", "oracle-ebs", "oem-portal")


def _stamp(path: Path, month: str, feed_index: int, region_index: int) -> None:
    """Give a landing file the time a partner would have delivered it: a few days into the
    next month, a feed a day apart and a region an hour apart (never later than now), so
    an update's "data as of" reads as a delivery (the demo's 2023 updates said "data as of"
    the day the demo ran). The nanoseconds come from the file's bytes: a file rewritten
    with other bytes of the same size still changes the delivery's fingerprint, which the
    landing sensor and the run compare."""
    year, mon = (int(x) for x in add_months(month, 1).split("-"))
    planned = dt.datetime(year, mon, 3 + feed_index, 6 + region_index, tzinfo=dt.UTC)
    seconds = min(int(planned.timestamp()), int(dt.datetime.now(dt.UTC).timestamp()) - 1)
    with path.open("rb") as f:
        crc = zlib.crc32(b"")
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    ns = seconds * 1_000_000_000 + crc % 1_000_000_000
    os.utime(path, ns=(ns, ns))


class Writer:
    """Writes files only when their bytes change; remembers what belongs to the home."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.landing_files = 0
        self._delivery_files: dict[Path, set[str]] = {}

    # -- bytes -------------------------------------------------------------
    def put_bytes(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` unless the file already holds exactly that."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def put_text(self, path: Path, text: str) -> None:
        self.put_bytes(path, text.encode("utf-8"))

    def put_via_file(self, path: Path, write: Any) -> None:
        """For big files: ``write(tmp_path)``, then keep the old file if identical."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        write(tmp)
        if path.is_file() and filecmp.cmp(tmp, path, shallow=False):
            tmp.unlink()
        else:
            os.replace(tmp, path)

    # -- deliveries --------------------------------------------------------
    def write_delivery(self, plan: Plan, feed: str, month: str, mi: int, table: Table) -> None:
        """Write one month of ``feed``: one file per region, formats varying by month."""
        folder = self.home.landing_dir(feed, month)
        names = self._delivery_files.setdefault(folder, set())
        fi = list(FEEDS).index(feed)
        regions = table.regions()
        rows = {ri: np.flatnonzero(regions == ri) for ri in range(len(REGIONS))}
        rows = {ri: r for ri, r in rows.items() if r.size}
        # XLSX is slow to write: the smallest file of the delivery, every few months.
        smallest = min(rows, key=lambda ri: (rows[ri].size, ri))
        xlsx = (mi + fi) % _XLSX_EVERY[feed] == 0 and rows[smallest].size <= _XLSX_MAX_ROWS
        for ri, part_rows in rows.items():
            region = REGIONS[ri]
            if xlsx and ri == smallest:
                fmt = "xlsx"
            else:
                fmt = "csv" if (fi + mi + ri) % 2 == 0 else "parquet"
            name = f"{region.lower()}.{fmt}"
            names.add(name)
            self.landing_files += 1
            path = folder / name
            flavour = zlib.crc32(f"{feed}/{month}/{region}".encode())
            part = table.frame(part_rows)
            if fmt == "csv":
                self._csv(path, part, flavour, plan)
            elif fmt == "parquet":
                self._parquet(path, part)
            else:
                self._xlsx(path, part, flavour, feed, month)
            del part
            _stamp(path, month, fi, ri)

    def write_frame(
        self, plan: Plan, feed: str, month: str, name: str, frame: pl.DataFrame
    ) -> None:
        """Write one file of a delivery, its format by ``name``'s extension (dates in XLSX as
        YYYY-MM-DD text, as a partner types them)."""
        folder = self.home.landing_dir(feed, month)
        self._delivery_files.setdefault(folder, set()).add(name)
        self.landing_files += 1
        path = folder / name
        flavour = zlib.crc32(f"{feed}/{month}/{name}".encode())
        if name.endswith(".csv"):
            self._csv(path, frame, flavour, plan)
        elif name.endswith(".parquet"):
            self._parquet(path, frame)
        else:
            self._xlsx(
                path, frame.with_columns(cs.date().dt.to_string("%Y-%m-%d")), flavour, feed, month
            )
        _stamp(path, month, list(FEEDS).index(feed), 0)

    def _csv(self, path: Path, frame: pl.DataFrame, flavour: int, plan: Plan) -> None:
        style = (flavour >> 4) % 4
        frame = frame.rename(
            {c: _header(c, style, i) for i, c in enumerate(frame.columns)}, strict=True
        )
        if (flavour >> 6) % 4 == 0:
            systems = pl.Series(
                [_SOURCE_SYSTEMS[i % len(_SOURCE_SYSTEMS)] for i in range(len(plan.partners))]
            )
            frame = frame.with_columns(
                source_system=systems.gather(frame.get_column(frame.columns[1]).to_physical())
            )
        options: dict[str, Any] = {
            "include_bom": flavour % 3 == 0,
            "line_terminator": "\r\n" if (flavour >> 2) % 3 == 0 else "\n",
            "float_precision": 2,
            "float_scientific": False,
        }
        if frame.height > _BIG_FILE_ROWS:
            self.put_via_file(path, lambda tmp: frame.write_csv(tmp, **options))
        else:
            buffer = io.BytesIO()
            frame.write_csv(buffer, **options)
            self.put_bytes(path, buffer.getvalue())

    def _parquet(self, path: Path, frame: pl.DataFrame) -> None:
        frame = frame.with_columns(cs.enum().cast(pl.String))
        if frame.height > _BIG_FILE_ROWS:
            self.put_via_file(path, lambda tmp: frame.write_parquet(tmp, statistics=True))
        else:
            buffer = io.BytesIO()
            frame.write_parquet(buffer, statistics=True)
            self.put_bytes(path, buffer.getvalue())

    def _xlsx(self, path: Path, frame: pl.DataFrame, flavour: int, feed: str, month: str) -> None:
        import xlsxwriter

        style = 2 if (flavour >> 4) % 2 else 0
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        # A fixed creation date keeps the bytes identical between runs.
        delivered = dt.datetime.fromisoformat(add_months(month, 1) + "-05T06:00:00")
        workbook.set_properties(
            {"title": f"{feed} {month}", "author": "oemkpi sample", "created": delivered}
        )
        sheet = workbook.add_worksheet(feed)
        sheet.write_row(0, 0, [_header(c, style, i) for i, c in enumerate(frame.columns)])
        for j, column in enumerate(frame.columns):
            series = frame.get_column(column)
            if series.dtype == pl.Enum:
                series = series.cast(pl.String)
            sheet.write_column(1, j, series.to_list())
        workbook.close()
        self.put_bytes(path, buffer.getvalue())

    def remove_stale(self) -> None:
        """Delete files a previous run left in the delivery folders this run wrote."""
        for folder, names in self._delivery_files.items():
            for path in folder.iterdir():
                ours = not path.name.startswith(".") or path.name.endswith(".tmp")
                if ours and path.is_file() and path.name not in names:
                    path.unlink()


_HEADER_WORDS = {"id": "ID", "sku": "SKU", "usd": "USD", "os": "OS"}


def _header(column: str, style: int, position: int) -> str:
    """Legal spellings of a header: exact, UPPER, Title_Case, or a mix with padding."""
    title = "_".join(_HEADER_WORDS.get(w, w.capitalize()) for w in column.split("_"))
    if style == 1:
        return column.upper()
    if style == 2:
        return title
    if style == 3:
        return (column, title, f" {title} ", column.upper())[position % 4]
    return column
