"""Landing files: each file of a delivery opened as text for DuckDB.

A delivery is every regular file in ``landing/<feed>/<YYYY-MM>/`` (SPEC section
3; :mod:`oemkpi.ingest.folder` lists them): CSV, Parquet or XLSX. Both ways into
the warehouse read the files through :func:`open_text_source`: DuckDB sees each
file as a relation of text columns ``c0..cN`` in file order, and
:func:`match_header` maps the contract's columns onto them (case-insensitive,
spaces trimmed). Landing files are only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from oemkpi.ingest.contract import Feed, header_key
from oemkpi.ingest.csv_files import (
    Unreadable,
    crlf_to_lf,
    csv_header,
    csv_options,
    has_long_line,
    line_endings,
    mask_long_lines,
)
from oemkpi.ingest.limits import Limits, env_name, size_text
from oemkpi.ingest.problems import Problem, problem
from oemkpi.ingest.workbooks import Workbooks
from oemkpi.warehouse import Generated, sql


@dataclass
class TextSource:
    """One file opened as a relation of text columns ``c0..cN``."""

    relation: Generated  # SQL text of a relation whose columns are c0..cN, in file order
    params: list[object]
    header: list[str]
    rejects: str | None = None  # name of the CSV rejects table, if any
    #: The file DuckDB reads (a CSV's copy with its long lines masked), and those lines.
    read_path: Path | None = None
    masked: set[int] = field(default_factory=set)
    skip: int = 0  # a CSV's blank lines before its header


def short_error(err: BaseException) -> str:
    """The first line of an error, at most 160 characters, for a problem sentence."""
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def open_text_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    index: int | str,
    *,
    strict: bool = False,
    limits: Limits,
    workbooks: Workbooks,
    scratch: Path | None = None,
) -> TextSource:
    """``path`` as a relation of text columns ``c0..cN``, with its header.

    ``strict``: a CSV record that cannot be read raises when the relation is read (and a
    file with a line longer than the record limit raises :class:`Unreadable` at once,
    since DuckDB can lose such a record); otherwise such records go to a rejects table,
    to be listed as problems, and a file with such lines is read from a copy in
    ``scratch`` with them masked (:func:`~oemkpi.ingest.csv_files.mask_long_lines`), as is
    a file whose lines end in CRLF and LF by turns, with every CRLF made LF.
    XLSX sheets come from ``workbooks``.
    """
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise Unreadable("file_empty", "the file is empty")
    if suffix == ".csv":
        header, skip = csv_header(path, limits.record_bytes)
        columns = {f"c{i}": "VARCHAR" for i in range(len(header))}
        long_line = has_long_line(path, limits.record_bytes)
        if strict:
            if long_line:
                raise Unreadable(
                    "record_too_long",
                    f"a record is longer than {size_text(limits.record_bytes)} "
                    f"({env_name('record_bytes')})",
                )
            return TextSource(
                Generated(f"read_csv(?, {csv_options(limits, skip)})"),
                [str(path), columns],
                header,
                skip=skip,
            )
        read_path, masked = path, set()
        mixed = line_endings(path) == "mixed"
        if mixed or long_line:
            if scratch is None:
                raise ValueError("a CSV file read from a copy needs a scratch folder")
            scratch.mkdir(parents=True, exist_ok=True)
            if mixed:
                read_path = scratch / f"lf-{index}.csv"
                crlf_to_lf(path, read_path)
            if long_line:
                masked_path = scratch / f"masked-{index}.csv"
                masked = mask_long_lines(read_path, masked_path, limits.record_bytes)
                read_path = masked_path
        rejects = f"rejects_{index}"
        relation = Generated(
            f"read_csv(?, {csv_options(limits, skip)}, store_rejects = true, "
            f"rejects_table = '{rejects}', rejects_scan = 'rejects_scan_{index}')"
        )
        return TextSource(
            relation, [str(read_path), columns], header, rejects, read_path, masked, skip
        )
    if suffix == ".parquet":
        try:
            described = con.execute(sql("feeds/describe_parquet"), [str(path)]).fetchall()
        except duckdb.Error as err:
            raise Unreadable(
                "file_unreadable", f"it is not a readable Parquet file ({short_error(err)})"
            ) from None
        exposed = [row[0] for row in described]
        # The header as written: two names that differ only in case are two columns, where
        # read_parquet exposes the second as 'name_1' (and its first would win in silence).
        written = _parquet_names(con.execute(sql("feeds/select_parquet_schema"), [str(path)]))
        header = written if len(written) == len(exposed) else exposed
        largest = con.execute(sql("feeds/select_parquet_largest_column"), [str(path)]).fetchone()
        if largest is not None and int(largest[1]) > limits.parquet_column_bytes:
            raise Unreadable(
                "parquet_too_large",
                f"its column {largest[0]} decompresses to {size_text(int(largest[1]))} in one "
                f"row group, more than the limit of {size_text(limits.parquet_column_bytes)} "
                f"({env_name('parquet_column_bytes')}), so it is not read",
            )
        casts = ", ".join(
            f"cast({_utc(_quote_identifier(name), kind)} as varchar) as c{i}"
            for i, (name, kind) in enumerate((row[0], str(row[1])) for row in described)
        )
        return TextSource(Generated(f"(select {casts} from read_parquet(?))"), [str(path)], header)
    if suffix == ".xlsx":
        sheet = workbooks.sheet(path)
        return TextSource(
            Generated("(select * from read_parquet(?))"), [str(sheet.parquet)], sheet.header
        )
    raise Unreadable(
        "file_format", f"files of type {suffix or '(no extension)'!r} are not accepted"
    )


def _utc(column: str, kind: str) -> str:
    """A time-zone-aware timestamp (Spark's default) as the UTC time it is, so a month
    written as 2026-11-01 00:00 UTC reads as that month whatever the machine's zone."""
    return f"timezone('UTC', {column})" if kind.startswith("TIMESTAMP WITH TIME ZONE") else column


def _parquet_names(schema: duckdb.DuckDBPyConnection) -> list[str]:
    """The top-level column names of a ``parquet_schema`` tree (depth first, root first)."""
    nodes = schema.fetchall()
    names: list[str] = []
    index = 1
    for _ in range(int(nodes[0][1]) if nodes else 0):
        if index >= len(nodes):
            break
        names.append(str(nodes[index][0]))
        pending = int(nodes[index][1])  # nodes of its subtree still to skip
        index += 1
        while pending and index < len(nodes):
            pending += int(nodes[index][1]) - 1
            index += 1
    return names


def match_header(
    feed: Feed, header: list[str], name: str
) -> tuple[dict[str, int], list[Problem], list[Problem]]:
    """Map contract columns to positions; report duplicates, missing and extra columns."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    positions: dict[str, int] = {}
    wanted = set(feed.column_names)
    for i, raw in enumerate(header):
        key = header_key(raw)
        if not key:
            # Trailing commas from a spreadsheet: a column without a name carries nothing.
            warnings.append(
                problem(
                    name,
                    1,
                    None,
                    None,
                    "extra_column",
                    f"column {i + 1} of the header has no name",
                    severity="warning",
                )
            )
            continue
        if key in positions and key not in wanted:
            continue  # an extra column named twice: ignored, and said once
        if key in positions:
            problems.append(
                problem(
                    name,
                    1,
                    raw.strip(),
                    None,
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
                    "names a column the contract does not have",
                    severity="warning",
                )
            )
    for col in feed.columns:
        if col.name not in positions:
            problems.append(
                problem(name, 1, col.name, None, "required_column", "the header has no such column")
            )
    return {k: v for k, v in positions.items() if k in wanted}, problems, warnings


def text_columns(feed: Feed, positions: dict[str, int], *, trim: bool = True) -> Generated:
    """The select list that takes each contract column's trimmed text (blank as NULL) from
    its position; a column the header lacks is NULL. Untrimmed with ``trim=False`` (the
    clean load trims what needs it: :mod:`oemkpi.ingest.typing_rules`)."""
    return Generated(
        ", ".join(
            (
                f"nullif(trim(c{positions[c.name]}), '') as {c.name}"
                if trim
                else f"nullif(c{positions[c.name]}, '') as {c.name}"
            )
            if c.name in positions
            else f"null as {c.name}"
            for c in feed.columns
        )
    )


def every_column_read(header: list[str], positions: dict[str, int]) -> Generated:
    """A condition that is always true but names every column no contract column is taken
    from. DuckDB's CSV reader checks only the columns a query reads (for UTF-8 among other
    things), and fails with an internal error, which ends the connection's database, when
    an unread column lies between read ones and holds a bad byte: so every column is read."""
    taken = set(positions.values())
    unused = [i for i in range(len(header)) if i not in taken]
    if not unused:
        return Generated("true")
    return Generated(" and ".join(f"(c{i} is null or c{i} is not null)" for i in unused))


def all_blank(feed: Feed) -> Generated:
    """The condition that a row's contract columns are all blank (a blank line of a sheet)."""
    return Generated(" and ".join(f"{c.name} is null" for c in feed.columns))


def sql_string_literal(text: str) -> Generated:
    """A path of our own (a scratch file) as an SQL string literal, for ATTACH."""
    return Generated("'" + text.replace("'", "''") + "'")
