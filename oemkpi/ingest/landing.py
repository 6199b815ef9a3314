"""Landing files: what a delivery folder holds, and each file opened as text for DuckDB.

A delivery is every file in ``landing/<feed>/<YYYY-MM>/`` (SPEC section 3):
CSV, Parquet or XLSX. Both ways into the warehouse read the files through
:func:`open_text_source`: DuckDB sees each file as a relation of text columns
``c0..cN`` in file order, and :func:`match_header` maps the contract's columns
onto them (case-insensitive, spaces trimmed). Landing files are only read.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from oemkpi.ingest.contract import Feed
from oemkpi.ingest.problems import Problem, problem
from oemkpi.warehouse import Generated, sql


def delivery_files(folder: Path) -> list[Path]:
    """Files of a delivery folder, sorted; hidden files and Office lock files are skipped."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def fingerprint(files: list[Path]) -> str:
    """Identity of a delivery version: file names, sizes and modification times."""
    digest = hashlib.sha256()
    for path in files:
        st = path.stat()
        digest.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def delivered_at(files: list[Path]) -> datetime | None:
    """Newest modification time of the files (UTC, naive for DuckDB)."""
    if not files:
        return None
    newest = max(p.stat().st_mtime for p in files)
    return datetime.fromtimestamp(newest, UTC).replace(tzinfo=None)


def display_names(files: list[Path], base: Path | None) -> list[str]:
    """How problems name ``files``: relative to ``base`` (e.g. the data home) where they can be,
    so a problem names ``landing/pc_shipments/2026-10/emea.csv``, not an absolute path."""
    names = []
    for path in files:
        name = str(path)
        if base is not None:
            with contextlib.suppress(ValueError):
                name = path.resolve().relative_to(base).as_posix()
        names.append(name)
    return names


@dataclass
class TextSource:
    """One file opened as a relation of text columns ``c0..cN``."""

    relation: Generated  # SQL text of a relation whose columns are c0..cN, in file order
    params: list[object]
    header: list[str]
    rejects: str | None = None  # name of the CSV rejects table, if any
    view: str | None = None  # name of the registered Arrow view (XLSX), if any


class Unreadable(Exception):
    """A file that cannot be read as a delivery file at all: the rule and what is wrong."""

    def __init__(self, rule: str, what: str) -> None:
        super().__init__(what)
        self.rule = rule
        self.what = what


def short_error(err: BaseException) -> str:
    """The first line of an error, at most 160 characters, for a problem sentence."""
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_header(path: Path) -> list[str]:
    """The header record: the file's first line (a header never spans lines)."""
    with path.open("rb") as raw:
        first = raw.readline(1 << 20)
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("encoding", "the header is not UTF-8 text") from None
    try:
        return next(csv.reader(io.StringIO(line)))
    except StopIteration:
        raise Unreadable("file_empty", "the file is empty") from None
    except csv.Error as err:
        raise Unreadable("file_unreadable", f"the header cannot be read ({err})") from None


#: How every CSV is read: the contract's dialect, every column as text, nothing guessed.
_CSV_OPTIONS = (
    "header = true, auto_detect = false, columns = ?, delim = ',', quote = '\"', "
    "escape = '\"', strict_mode = true, null_padding = false"
)


def open_text_source(
    con: duckdb.DuckDBPyConnection, path: Path, index: int | str, *, strict: bool = False
) -> TextSource:
    """``path`` as a relation of text columns ``c0..cN``, with its header.

    ``strict``: a CSV record that cannot be read raises when the relation is read;
    otherwise such records go to a rejects table, to be listed as problems.
    """
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise Unreadable("file_empty", "the file is empty")
    if suffix == ".csv":
        header = _csv_header(path)
        columns = {f"c{i}": "VARCHAR" for i in range(len(header))}
        if strict:
            return TextSource(
                Generated(f"read_csv(?, {_CSV_OPTIONS})"), [str(path), columns], header
            )
        rejects = f"rejects_{index}"
        relation = Generated(
            f"read_csv(?, {_CSV_OPTIONS}, store_rejects = true, rejects_table = '{rejects}', "
            f"rejects_scan = 'rejects_scan_{index}')"
        )
        return TextSource(relation, [str(path), columns], header, rejects)
    if suffix == ".parquet":
        try:
            described = con.execute(sql("feeds/describe_parquet"), [str(path)]).fetchall()
        except duckdb.Error as err:
            raise Unreadable(
                "file_unreadable", f"it is not a readable Parquet file ({short_error(err)})"
            ) from None
        header = [row[0] for row in described]
        casts = ", ".join(
            f"cast({_quote_identifier(name)} as varchar) as c{i}" for i, name in enumerate(header)
        )
        return TextSource(Generated(f"(select {casts} from read_parquet(?))"), [str(path)], header)
    if suffix == ".xlsx":
        import fastexcel

        try:
            sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string")
            frame = sheet.to_arrow()
        except Exception as err:  # fastexcel raises its own error types for broken workbooks
            raise Unreadable(
                "file_unreadable", f"it is not a readable XLSX workbook ({short_error(err)})"
            ) from None
        if frame.num_rows == 0:
            raise Unreadable("file_empty", "the first sheet is empty")
        first = frame.slice(0, 1).to_pylist()[0]
        header = ["" if v is None else str(v) for v in first.values()]
        frame = frame.slice(1).rename_columns([f"c{i}" for i in range(frame.num_columns)])
        view = f"xlsx_{index}"
        con.register(view, frame)
        return TextSource(Generated(f"(select * from {view})"), [], header, view=view)
    raise Unreadable(
        "file_format", f"files of type {suffix or '(no extension)'!r} are not accepted"
    )


def match_header(
    feed: Feed, header: list[str], name: str
) -> tuple[dict[str, int], list[Problem], list[Problem]]:
    """Map contract columns to positions; report duplicates, missing and extra columns."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    positions: dict[str, int] = {}
    wanted = set(feed.column_names)
    for i, raw in enumerate(header):
        key = raw.strip().lower()
        if key in positions:
            problems.append(
                problem(
                    name,
                    1,
                    raw.strip(),
                    raw,
                    "duplicate_column",
                    f"the header names column {key} twice (also column {positions[key] + 1})",
                )
            )
            continue
        positions[key] = i
        if key not in wanted:
            warnings.append(
                problem(
                    name,
                    1,
                    None,
                    raw,
                    "extra_column",
                    "is a header column the contract does not have",
                    severity="warning",
                )
            )
    for col in feed.columns:
        if col.name not in positions:
            problems.append(
                problem(name, 1, col.name, None, "required_column", "the header has no such column")
            )
    return {k: v for k, v in positions.items() if k in wanted}, problems, warnings


def text_columns(feed: Feed, positions: dict[str, int]) -> Generated:
    """The select list that takes each contract column's trimmed text (blank as NULL) from
    its position; a column the header lacks is NULL."""
    return Generated(
        ", ".join(
            f"nullif(trim(c{positions[c.name]}), '') as {c.name}"
            if c.name in positions
            else f"null as {c.name}"
            for c in feed.columns
        )
    )


def all_blank(feed: Feed) -> Generated:
    """The condition that a row's contract columns are all blank (a blank line of a sheet)."""
    return Generated(" and ".join(f"{c.name} is null" for c in feed.columns))


def sql_string_literal(text: str) -> Generated:
    """A path of our own (a scratch file) as an SQL string literal, for ATTACH."""
    return Generated("'" + text.replace("'", "''") + "'")
