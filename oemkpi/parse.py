"""Parse a delivery against the feed contract into a typed staging table.

Every file of a delivery (CSV, Parquet or XLSX) is read by DuckDB as text,
its header matched to the contract (case-insensitive, spaces trimmed), and
its values converted in one SQL pass that also lists every value that breaks
a parsing rule: strict numbers, whole numbers, the month format, printable
SKUs. The result is a staging table ``delivery`` (contract columns, typed,
plus ``_file`` and ``_row``) that the Great Expectations suite then judges.

Row numbers count the header as row 1, as a spreadsheet shows them.

:func:`insert_clean` is the short way for a delivery with nothing to report: the
same reading and typing, straight into the warehouse's feed table, failing at the
first value this module would name.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from oemkpi.contract import Column, Feed
from oemkpi.problems import MAX_LISTED_PER_RULE, Problem, problem, summary_problem
from oemkpi.warehouse import DUCKDB_CONFIG, first_row, render_sql

# Plain numbers only (SPEC section 3): no thousands separators, currency, exponents.
_PLAIN_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
_WHOLE_NUMBER = r"-?[0-9]+(\.0+)?"
# A month cell may also be a date on the first of the month (XLSX/Parquet dates).
_MONTH_VALUE = r"[0-9]{4}-(0[1-9]|1[0-2])(-01([ T]00:00:00(\.0+)?)?)?"
_CONTROL_CHAR = r"[\x00-\x1f\x7f]"


@dataclass
class StagedDelivery:
    """A delivery read into ``staging_db`` (table ``delivery``), with what parsing found."""

    feed: Feed
    month: str
    files: list[Path]
    names: list[str]
    staging_db: Path
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: Contract columns present in every file (the staging table has just these).
    present_columns: list[str] = field(default_factory=list)


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


@dataclass
class _Source:
    """One file opened as a relation of text columns ``c0..cN``."""

    relation: str  # SQL text of a relation whose columns are c0..cN, in file order
    params: list[object]
    header: list[str]
    rejects: str | None = None  # name of the CSV rejects table, if any
    view: str | None = None  # name of the registered Arrow view (XLSX), if any


class _Unreadable(Exception):
    def __init__(self, rule: str, what: str) -> None:
        super().__init__(what)
        self.rule = rule
        self.what = what


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_header(path: Path) -> list[str]:
    """The header record: the file's first line (a header never spans lines)."""
    with path.open("rb") as raw:
        first = raw.readline(1 << 20)
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Unreadable("encoding", "the header is not UTF-8 text") from None
    try:
        return next(csv.reader(io.StringIO(line)))
    except StopIteration:
        raise _Unreadable("file_empty", "the file is empty") from None
    except csv.Error as err:
        raise _Unreadable("file_unreadable", f"the header cannot be read ({err})") from None


def _open_source(
    con: duckdb.DuckDBPyConnection, path: Path, index: int | str, *, strict: bool = False
) -> _Source:
    """``path`` as a relation of text columns ``c0..cN``, with its header.

    ``strict``: a CSV record that cannot be read raises when the relation is read;
    otherwise such records go to a rejects table, to be listed as problems.
    """
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise _Unreadable("file_empty", "the file is empty")
    if suffix == ".csv":
        header = _csv_header(path)
        columns = {f"c{i}": "VARCHAR" for i in range(len(header))}
        options = (
            "header = true, auto_detect = false, columns = ?, delim = ',', quote = '\"', "
            "escape = '\"', strict_mode = true, null_padding = false"
        )
        if strict:
            return _Source(f"read_csv(?, {options})", [str(path), columns], header)
        rejects = f"rejects_{index}"
        relation = (
            f"read_csv(?, {options}, store_rejects = true, rejects_table = '{rejects}', "
            f"rejects_scan = 'rejects_scan_{index}')"
        )
        return _Source(relation, [str(path), columns], header, rejects)
    if suffix == ".parquet":
        try:
            described = con.execute(
                "describe select * from read_parquet(?)", [str(path)]
            ).fetchall()
        except duckdb.Error as err:
            raise _Unreadable(
                "file_unreadable", f"it is not a readable Parquet file ({_short(err)})"
            ) from None
        header = [row[0] for row in described]
        casts = ", ".join(
            f"cast({_quote_identifier(name)} as varchar) as c{i}" for i, name in enumerate(header)
        )
        return _Source(f"(select {casts} from read_parquet(?))", [str(path)], header)
    if suffix == ".xlsx":
        import fastexcel

        try:
            sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string")
            frame = sheet.to_arrow()
        except Exception as err:  # fastexcel raises its own error types for broken workbooks
            raise _Unreadable(
                "file_unreadable", f"it is not a readable XLSX workbook ({_short(err)})"
            ) from None
        if frame.num_rows == 0:
            raise _Unreadable("file_empty", "the first sheet is empty")
        first = frame.slice(0, 1).to_pylist()[0]
        header = ["" if v is None else str(v) for v in first.values()]
        frame = frame.slice(1).rename_columns([f"c{i}" for i in range(frame.num_columns)])
        view = f"xlsx_{index}"
        con.register(view, frame)
        return _Source(f"(select * from {view})", [], header, view=view)
    raise _Unreadable(
        "file_format", f"files of type {suffix or '(no extension)'!r} are not accepted"
    )


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


def _match_header(
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


def _value_problem_sql(col: Column) -> list[tuple[str, str]]:
    """(condition on the text value, rule) pairs for one contract column."""
    name = col.name
    if col.type == "month":
        return [(f"not regexp_full_match({name}, '{_MONTH_VALUE}')", "month")]
    if col.type == "int":
        return [
            (f"not regexp_full_match({name}, '{_PLAIN_NUMBER}')", "plain_number"),
            (
                f"regexp_full_match({name}, '{_PLAIN_NUMBER}') "
                f"and not regexp_full_match({name}, '{_WHOLE_NUMBER}')",
                "integer",
            ),
            (
                f"regexp_full_match({name}, '{_WHOLE_NUMBER}') "
                f"and try_cast(regexp_replace({name}, '\\.0+$', '') as bigint) is null",
                "out_of_range",
            ),
        ]
    if col.type == "number":
        return [
            (f"not regexp_full_match({name}, '{_PLAIN_NUMBER}')", "plain_number"),
            (
                f"regexp_full_match({name}, '{_PLAIN_NUMBER}') and not isfinite(try_cast({name} as double))",
                "out_of_range",
            ),
        ]
    if name == "sku":
        return [(f"regexp_matches({name}, '{_CONTROL_CHAR}')", "sku")]
    return []


_WHAT = {
    "month": "is not a month; write it as YYYY-MM",
    "plain_number": "is not a plain number",
    "integer": "is not a whole number",
    "out_of_range": "is too large",
    "sku": "contains a control character",
}


def _typed_sql(col: Column) -> str:
    name = col.name
    if col.type == "month":
        return f"case when regexp_full_match({name}, '{_MONTH_VALUE}') then left({name}, 7) end"
    if col.type == "int":
        return (
            f"case when regexp_full_match({name}, '{_WHOLE_NUMBER}') "
            f"then try_cast(regexp_replace({name}, '\\.0+$', '') as bigint) end"
        )
    if col.type == "number":
        return (
            f"case when regexp_full_match({name}, '{_PLAIN_NUMBER}') "
            f"and isfinite(try_cast({name} as double)) then try_cast({name} as double) end"
        )
    return name


def stage_delivery(
    feed: Feed, month: str, files: list[Path], staging_db: Path, *, base: Path | None = None
) -> StagedDelivery:
    """Read ``files`` into ``staging_db`` and list every parsing problem.

    ``base`` makes file names in problems relative (e.g. to the data home), so a
    problem names ``landing/pc_shipments/2026-10/emea.csv`` rather than an
    absolute path.
    """
    names = display_names(files, base)
    staged = StagedDelivery(feed, month, files, names, staging_db)
    staging_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(staging_db), config=DUCKDB_CONFIG)
    try:
        _stage(con, staged)
    finally:
        con.close()
    return staged


def display_names(files: list[Path], base: Path | None) -> list[str]:
    """How problems name ``files``: relative to ``base`` (e.g. the data home) where they can be."""
    names = []
    for path in files:
        name = str(path)
        if base is not None:
            with contextlib.suppress(ValueError):
                name = path.resolve().relative_to(base).as_posix()
        names.append(name)
    return names


def _stage(con: duckdb.DuckDBPyConnection, staged: StagedDelivery) -> None:
    feed = staged.feed
    con.execute("set preserve_insertion_order = true")
    con.execute(f"set temp_directory = '{_sql_string(str(staged.staging_db) + '.tmp')}'")
    text_columns = ", ".join(f"{c.name} varchar" for c in feed.columns)
    # _base: the rowid of the file's first record, so numbering rows needs no join.
    con.execute(f"create or replace table raw_rows (_file varchar, _base bigint, {text_columns})")
    con.execute(
        "create or replace table raw_shift (_file varchar, k_threshold bigint, shift bigint)"
    )
    headers_ok: list[set[str]] = []
    for index, (path, name) in enumerate(zip(staged.files, staged.names, strict=True)):
        try:
            source = _open_source(con, path, index)
        except _Unreadable as err:
            staged.problems.append(problem(name, None, None, None, err.rule, err.what))
            continue
        positions, header_problems, header_warnings = _match_header(feed, source.header, name)
        staged.problems.extend(header_problems)
        staged.warnings.extend(header_warnings)
        # A column named twice is a problem; its first occurrence is staged so the
        # rest of the file is still checked and every problem is listed.
        headers_ok.append(set(positions))
        select = ", ".join(
            f"nullif(trim(c{positions[c.name]}), '') as {c.name}"
            if c.name in positions
            else f"null as {c.name}"
            for c in feed.columns
        )
        before = int(first_row(con, "select count(*) from raw_rows")[0])
        try:
            con.execute(
                f"insert into raw_rows select ? as _file, ? as _base, {select} "
                f"from {source.relation}",
                [name, before, *source.params],
            )
        except duckdb.Error as err:
            staged.problems.append(
                problem(
                    name,
                    None,
                    None,
                    None,
                    "file_unreadable",
                    f"the file cannot be read ({_short(err)})",
                )
            )
            continue
        if source.rejects:
            _collect_rejects(con, source.rejects, name, staged)
    staged.present_columns = [
        c.name for c in feed.columns if headers_ok and all(c.name in h for h in headers_ok)
    ]
    _number_rows(con)
    _value_problems(con, staged)
    _build_typed(con, staged)


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _collect_rejects(
    con: duckdb.DuckDBPyConnection, table: str, name: str, staged: StagedDelivery
) -> None:
    """CSV rows DuckDB could not split into the header's columns, or not decode."""
    rows = con.execute(
        f"select line, error_type, csv_line, error_message from {table} order by line"
    ).fetchall()
    for j, (line, error_type, csv_line, message) in enumerate(rows, start=1):
        rule = "encoding" if error_type == "INVALID ENCODING" else "csv_structure"
        what = (
            "is not UTF-8 text"
            if rule == "encoding"
            else f"cannot be read as CSV ({message.strip()})"
        )
        shown = (csv_line or "").strip()
        staged.problems.append(problem(name, int(line), None, shown or None, rule, what))
        # Accepted record k (0-based) lies after rejected record j once k >= line - j - 1.
        con.execute("insert into raw_shift values (?, ?, ?)", [name, int(line) - j - 1, j])


def _number_rows(con: duckdb.DuckDBPyConnection) -> None:
    """View ``rows``: the staged values with ``_row``, the line number users see.

    Record k (0-based) of a file is on line k + 2 (after the header), plus the CSV
    records before it that DuckDB rejected. A view, not a table: at 10M rows
    writing one more copy cost more than computing the number twice.
    """
    shifted = int(first_row(con, "select count(*) from raw_shift")[0]) > 0
    if not shifted:
        con.execute(
            "create or replace view rows as "
            "select r.* exclude (_base), r.rowid - r._base + 2 as _row from raw_rows as r"
        )
        return
    con.execute(
        """
        create or replace view rows as
        with numbered as (
            select r.* exclude (_base), r.rowid - r._base as _k
            from raw_rows as r
        )
        select n.* exclude (_k), n._k + 2 + coalesce(s.shift, 0) as _row
        from numbered as n
        asof left join raw_shift as s
          on n._file = s._file and n._k >= s.k_threshold
        """
    )


def _value_problems(con: duckdb.DuckDBPyConnection, staged: StagedDelivery) -> None:
    branches = []
    for col in staged.feed.columns:
        for condition, rule in _value_problem_sql(col):
            branches.append(
                f"select _file, _row, '{col.name}' as col, {col.name} as value, '{rule}' as rule "
                f"from rows where {col.name} is not null and ({condition})"
            )
    if not branches:
        return
    found = con.execute(
        f"""
        with found as ({" union all ".join(branches)}),
        ranked as (
            select *,
                   row_number() over (partition by _file, col, rule order by _row) as rn,
                   count(*) over (partition by _file, col, rule) as n
            from found
        )
        select _file, _row, col, value, rule, n from ranked
        where rn <= {MAX_LISTED_PER_RULE}
        order by _file, _row, col
        """
    ).fetchall()
    overflow: dict[tuple[str, str, str], int] = {}
    for file, row, col, value, rule, n in found:
        staged.problems.append(problem(file, int(row), col, value, rule, _WHAT[rule]))
        if n > MAX_LISTED_PER_RULE:
            overflow[(file, col, rule)] = n - MAX_LISTED_PER_RULE
    for (file, column, rule), more in overflow.items():
        staged.problems.append(summary_problem(file, column, rule, more))


def _build_typed(con: duckdb.DuckDBPyConnection, staged: StagedDelivery) -> None:
    present = set(staged.present_columns)
    select = ", ".join(
        f"{_typed_sql(c)}::{c.sql_type} as {c.name}"
        for c in staged.feed.columns
        if c.name in present
    )
    all_blank = " and ".join(f"{c.name} is null" for c in staged.feed.columns)
    # Files were staged in order and numbered in order; with preserve_insertion_order
    # the table keeps (_file, _row) order without a sort (a sort of 10M rows doubled
    # the peak memory).
    con.execute(
        f"create or replace table delivery as "
        f"select _file, _row{', ' + select if select else ''} from rows "
        f"where not ({all_blank})"
    )
    con.execute("drop view rows")
    con.execute("drop table raw_rows")
    staged.rows = int(first_row(con, "select count(*) from delivery")[0])


class NotClean(Exception):
    """A delivery that needs the detailed parse: see :func:`insert_clean`."""


def insert_clean(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    month: str,
    files: list[Path],
    names: list[str],
) -> tuple[int, list[Problem]]:
    """Replace ``feed``'s ``month`` in the warehouse by this delivery, in the caller's transaction.

    The way in for a clean delivery: DuckDB reads the files straight into the feed's
    table and types every value on the way, so nothing is staged or copied. Whatever
    the detailed parse (:func:`stage_delivery`) would report raises :class:`NotClean`
    instead: a header without every contract column, an unreadable file or record, a
    value that breaks a contract rule (``error()`` in the insert aborts it), a row whose
    month is not the folder's, a blank key. The caller then rolls back and takes the
    detailed way, which names each problem. Returns the rows inserted and the header
    warnings (extra columns).
    """
    selects: list[str] = []
    params: list[object] = []
    warnings: list[Problem] = []
    views: list[str] = []
    try:
        for index, (path, name) in enumerate(zip(files, names, strict=True)):
            source = _open_source(con, path, f"clean_{index}", strict=True)
            if source.view:
                views.append(source.view)
            positions, problems, header_warnings = _match_header(feed, source.header, name)
            if problems:
                raise NotClean(name)
            warnings.extend(header_warnings)
            text = ", ".join(
                f"nullif(trim(c{positions[c.name]}), '') as {c.name}" for c in feed.columns
            )
            all_blank = " and ".join(f"{c.name} is null" for c in feed.columns)
            typed = [_clean_sql(c, month) for c in feed.columns]
            selects.append(
                f"select {', '.join(sql for sql, _ in typed)} "
                f"from (select {text} from {source.relation}) where not ({all_blank})"
            )
            params.extend(value for _, values in typed for value in values)
            params.extend(source.params)
        con.execute(render_sql("delete_feed_month", feed=feed.name), {"month": month})
        columns = ", ".join(feed.column_names)
        (rows,) = first_row(
            con, f"insert into {feed.name} ({columns}) " + " union all ".join(selects), params
        )
    except _Unreadable as err:
        raise NotClean(err.what) from None
    except duckdb.Error as err:
        # The transaction is aborted; its rollback drops the XLSX views registered in it.
        raise NotClean(_short(err)) from None
    for view in views:
        con.unregister(view)
    return int(rows), warnings


def _clean_sql(col: Column, month: str) -> tuple[str, list[object]]:
    """The typed value of ``col`` from its trimmed text, or ``error()`` where the detailed
    parse would report a problem (:func:`_value_problem_sql`, by the same patterns, each
    matched once: the detailed conditions cost 2 s more over 10M values). A month must
    also be the folder's. Returns the SQL and the values of its ``?``, in order."""
    name = col.name
    broken = "error('oemkpi: not clean')"
    if col.type == "month":
        return (
            f"case when {name} = ? then {name} "
            f"when regexp_full_match({name}, '{_MONTH_VALUE}') and left({name}, 7) = ? "
            f"then left({name}, 7) else {broken} end as {name}",
            [month, month],
        )
    if col.type == "int":
        return (
            f"case when {name} is null then null "
            f"when regexp_full_match({name}, '{_WHOLE_NUMBER}') "
            f"then coalesce(try_cast(regexp_replace({name}, '\\.0+$', '') as bigint), {broken}) "
            f"else {broken} end as {name}",
            [],
        )
    if col.type == "number":
        return (
            f"case when {name} is null then null "
            f"when regexp_full_match({name}, '{_PLAIN_NUMBER}') "
            f"and isfinite(try_cast({name} as double)) then try_cast({name} as double) "
            f"else {broken} end as {name}",
            [],
        )
    if name == "sku":
        return (
            f"case when regexp_matches({name}, '{_CONTROL_CHAR}') then {broken} "
            f"else {name} end as {name}",
            [],
        )
    return name, []
