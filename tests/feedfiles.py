"""Build small, valid feed deliveries in every format, and break them on purpose."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl

from oemkpi.home import Home
from oemkpi.ingest.contract import FEEDS

PARTNERS = ("acme", "bolt-pc")
COUNTRIES = ("DE", "JP")
SEGMENTS = ("consumer", "commercial")


def header(feed: str) -> list[str]:
    return list(FEEDS[feed].column_names)


def good_rows(feed: str, month: str = "2026-10") -> list[list[str]]:
    """A valid delivery of ``feed`` for ``month``: 8-16 rows over two partners and countries."""
    rows: list[list[str]] = []
    n = 0
    for partner in PARTNERS:
        for country in COUNTRIES:
            for segment in SEGMENTS:
                n += 1
                if feed == "pc_shipments":
                    rows.append(
                        [month, partner, country, segment, "notebook", str(1000 + n), str(1100 + n)]
                    )
                    rows.append([month, partner, country, segment, "desktop", str(200 + n), ""])
                elif feed == "windows_share":
                    rows.append(
                        [month, partner, country, segment, f"NB-{n:02d}", "windows", str(900 + n)]
                    )
                    rows.append(
                        [month, partner, country, segment, f"CB-{n:02d}", "chromeos", str(100 + n)]
                    )
                elif feed == "premium_mix":
                    rows.append(
                        [
                            month,
                            partner,
                            country,
                            segment,
                            "pro",
                            "premium",
                            str(300 + n),
                            f"{(300 + n) * 120.5:.2f}",
                        ]
                    )
                    rows.append(
                        [
                            month,
                            partner,
                            country,
                            segment,
                            "home",
                            "entry",
                            str(600 + n),
                            f"{(600 + n) * 65:.2f}",
                        ]
                    )
                elif feed == "marketing":
                    kind = ("jma", "launch", "campaign", "event")[n % 4]
                    rows.append(
                        [
                            month,
                            partner,
                            f"ACT-{n:02d}",
                            f"{kind.upper()} {country} {segment}",
                            kind,
                            country if segment == "consumer" else "",
                            "FY27-Q2",
                            f"{1000 * n:.2f}",
                            f"{400 * n:.2f}",
                            ("planned", "running", "done", "cancelled")[n % 4],
                            ("none", "submitted", "approved", "rejected")[n % 4],
                            f"2026-10-{10 + n:02d}" if n % 2 else "",
                        ]
                    )
                elif feed == "attach_rate":
                    rows.append(
                        [
                            month,
                            partner,
                            country,
                            segment,
                            "office",
                            str(900 + n),
                            str(400 + n),
                            str(50 + n),
                        ]
                    )
                    rows.append(
                        [
                            month,
                            partner,
                            country,
                            segment,
                            "windows_server",
                            str(20 + n),
                            str(10 + n),
                            "",
                        ]
                    )
    return rows


def csv_text(head: list[str], rows: list[list[str]], *, crlf: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(head)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(
    path: Path, head: list[str], rows: list[list[str]], *, bom: bool = False, crlf: bool = False
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = csv_text(head, rows, crlf=crlf).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _typed_frame(feed: str, head: list[str], rows: list[list[str]]) -> pl.DataFrame:
    """A frame with integer/float columns where the contract has numbers (as a partner's export would)."""
    contract = FEEDS[feed]
    columns: dict[str, list[object]] = {}
    for i, name in enumerate(head):
        values: list[object] = [r[i] if i < len(r) else None for r in rows]
        kind = (
            contract.column(name.strip().lower()).type
            if name.strip().lower() in contract.column_names
            else "text"
        )
        if kind == "int":
            values = [int(v) if v not in ("", None) else None for v in values]
        elif kind == "number":
            values = [float(v) if v not in ("", None) else None for v in values]
        elif kind == "date":
            values = [date.fromisoformat(str(v)) if v not in ("", None) else None for v in values]
        else:
            values = [v if v != "" else None for v in values]
        columns[name] = values
    return pl.DataFrame(columns, strict=False)


def write_parquet(path: Path, feed: str, head: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _typed_frame(feed, head, rows).write_parquet(path)
    return path


def write_xlsx(path: Path, feed: str, head: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _typed_frame(feed, head, rows).write_excel(path, worksheet="data")
    return path


def landing(home: Home, feed: str, month: str = "2026-10") -> Path:
    folder = home.landing_dir(feed, month)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and modification time of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read_file(path: Path) -> pl.DataFrame:
    """A landing file as text columns named as the contract names them."""
    if path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False)
    elif path.suffix == ".parquet":
        frame = pl.read_parquet(path)
    else:
        frame = pl.read_excel(path)
    frame = frame.rename({c: c.strip().lower().lstrip("\ufeff") for c in frame.columns})
    return frame.select(pl.all().cast(pl.String))


def read_feed(root: Path, feed: str) -> pl.DataFrame:
    """Every file of a feed, typed, with the folder month and file name."""
    spec = FEEDS[feed]
    parts = []
    for path in sorted((root / "landing" / feed).glob("*/*")):
        frame = read_file(path)
        assert set(spec.column_names) <= set(frame.columns), path
        parts.append(
            frame.select(spec.column_names).with_columns(
                _folder=pl.lit(path.parent.name), _file=pl.lit(path.name)
            )
        )
    frame = pl.concat(parts)
    casts = [pl.col(c.name).cast(pl.Int64) for c in spec.columns if c.type == "int"]
    casts += [pl.col(c.name).cast(pl.Float64) for c in spec.columns if c.type == "number"]
    return frame.with_columns(casts)
