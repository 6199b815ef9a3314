"""The diagnosing parse: a delivery staged in a scratch DuckDB file, every problem named.

A delivery that the clean load would not take comes here. Every file is read
as text (CSV records DuckDB cannot read go to a rejects table instead of
stopping the read), each record numbered with the line a user sees (the header
is row 1, as a spreadsheet shows it), every value that breaks its column's
typing rule listed, and the values typed by the same rule table
(:mod:`oemkpi.ingest.typing_rules`). The result is the scratch table
``delivery`` (``_file``, ``_row`` and the typed contract columns) that the
Great Expectations suite then judges.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from oemkpi.ingest.contract import Feed
from oemkpi.ingest.csv_files import (
    Unreadable,
    blank_runs,
    record_after_blank_lines,
    split_value,
    trailing_empty_records,
    trailing_empty_rows,
)
from oemkpi.ingest.folder import display_names
from oemkpi.ingest.landing import (
    TextSource,
    all_blank,
    every_column_read,
    match_header,
    open_text_source,
    short_error,
    text_columns,
)
from oemkpi.ingest.limits import Limits, env_name, size_text
from oemkpi.ingest.problems import MAX_LISTED_PER_RULE, Problem, problem, summary_problem
from oemkpi.ingest.typing_rules import WHAT, problem_conditions, staged_expression
from oemkpi.ingest.workbooks import Workbooks
from oemkpi.warehouse import DUCKDB_CONFIG, Generated, first_row, render_sql, sql


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
    #: Files that could not be read at all (their problems explain any missing rows).
    files_unread: int = 0


def stage_delivery(
    feed: Feed,
    month: str,
    files: list[Path],
    staging_db: Path,
    *,
    base: Path | None = None,
    limits: Limits | None = None,
    workbooks: Workbooks | None = None,
    problems: list[Problem] | None = None,
    warnings: list[Problem] | None = None,
) -> StagedDelivery:
    """Read ``files`` into ``staging_db`` and list every parsing problem.

    ``base`` makes file names in problems relative (e.g. to the data home). ``problems``
    and ``warnings`` found before reading (entries of the folder that are not files) come
    first. Limits default to the environment's; XLSX sheets are read by ``workbooks``, or
    by a reader of this staging file's own.
    """
    names = display_names(files, base)
    staged = StagedDelivery(
        feed,
        month,
        files,
        names,
        staging_db,
        problems=list(problems or []),
        warnings=list(warnings or []),
    )
    staging_db.parent.mkdir(parents=True, exist_ok=True)
    config = {
        **DUCKDB_CONFIG,
        # Rows keep file order, so numbering them needs no sort (see create_typed_delivery).
        "preserve_insertion_order": True,
        "temp_directory": f"{staging_db}.tmp",
    }
    limits = limits or Limits.from_env()
    own = workbooks is None
    books = (
        Workbooks(Path(f"{staging_db}.xlsx"), limits, feed.column_names)
        if workbooks is None
        else workbooks
    )
    con = duckdb.connect(str(staging_db), config=config)
    try:
        _stage(con, staged, limits, books)
    finally:
        con.close()
        if own:
            books.close()
    return staged


def remove_scratch_db(path: Path) -> None:
    """Delete a scratch DuckDB file with its WAL and spill folder."""
    suffixes = (".wal", ".tmp", ".xlsx", ".csv")
    for leftover in (path, *(Path(f"{path}{suffix}") for suffix in suffixes)):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _stage(
    con: duckdb.DuckDBPyConnection, staged: StagedDelivery, limits: Limits, books: Workbooks
) -> None:
    feed = staged.feed
    definitions = Generated(", ".join(f"{c.name} varchar" for c in feed.columns))
    con.execute(render_sql("feeds/create_raw_rows", column_definitions=definitions))
    con.execute(render_sql("feeds/create_raw_rescued", column_definitions=definitions))
    con.execute(sql("feeds/create_raw_shift"))
    headers_ok: list[set[str]] = []
    for index, (path, name) in enumerate(zip(staged.files, staged.names, strict=True)):
        try:
            source = open_text_source(
                con,
                path,
                index,
                limits=limits,
                workbooks=books,
                scratch=Path(f"{staged.staging_db}.csv"),
            )
        except Unreadable as err:
            staged.problems.append(
                problem(name, err.row, err.column, err.value, err.rule, err.what)
            )
            staged.files_unread += 1
            continue
        positions, header_problems, header_warnings = match_header(feed, source.header, name)
        staged.problems.extend(header_problems)
        staged.warnings.extend(header_warnings)
        # A column named twice is a problem; its first occurrence is staged so the
        # rest of the file is still checked and every problem is listed.
        headers_ok.append(set(positions))
        before = int(first_row(con, sql("feeds/select_raw_row_count"))[0])
        try:
            con.execute(
                render_sql(
                    "feeds/insert_raw_rows",
                    text_columns=text_columns(feed, positions),
                    relation=source.relation,
                    every_column=every_column_read(source.header, positions),
                ),
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
                    f"the file cannot be read ({short_error(err)})",
                )
            )
            continue
        if source.rejects:
            _collect_rejects(con, source, name, staged, positions, limits)
            _collect_trailing_empty(con, source, name, staged, positions, limits)
    staged.present_columns = [
        c.name for c in feed.columns if headers_ok and all(c.name in h for h in headers_ok)
    ]
    _number_rows(con)
    _value_problems(con, staged)
    _build_typed(con, staged)


def _collect_rejects(
    con: duckdb.DuckDBPyConnection,
    source: TextSource,
    name: str,
    staged: StagedDelivery,
    positions: dict[str, int],
    limits: Limits,
) -> None:
    """CSV records DuckDB could not split into the header's columns, not decode, or that
    were too long (a record after a run of blank lines is read here after all)."""
    assert source.rejects is not None and source.read_path is not None
    width = len(source.header)
    rows = con.execute(render_sql("feeds/select_csv_rejects", rejects=source.rejects)).fetchall()
    _shift_rows(con, name, source, [int(row[0]) for row in rows])
    for line, error_type, csv_line, message, position in rows:
        if error_type == "MISSING COLUMNS" and csv_line is not None and not csv_line.strip():
            continue  # a line of spaces is a blank line, ignored wherever it is
        shown = (csv_line or "").strip()[:200] or None
        if int(line) in source.masked or error_type == "LINE SIZE OVER MAXIMUM":
            try:
                values = (
                    None
                    if int(line) in source.masked
                    else record_after_blank_lines(source.read_path, int(position), limits)
                )
            except Unreadable as err:
                staged.problems.append(problem(name, int(line), None, None, err.rule, err.what))
                continue
            if values is None:
                staged.problems.append(
                    problem(
                        name,
                        int(line),
                        None,
                        None,
                        "record_too_long",
                        f"the record is longer than the limit of "
                        f"{size_text(limits.record_bytes)} ({env_name('record_bytes')})",
                    )
                )
            elif len(values) != width:
                staged.problems.append(
                    problem(
                        name,
                        int(line),
                        None,
                        shown,
                        "csv_structure",
                        f"cannot be read as CSV ({len(values)} values)",
                    )
                )
            else:
                _insert_rescued(con, staged.feed, name, int(line), positions, values)
            continue
        rule = "encoding" if error_type == "INVALID ENCODING" else "csv_structure"
        split = _split_in_line(csv_line, width, positions) if rule == "csv_structure" else None
        if split is not None:
            staged.problems.append(problem(name, int(line), *split))
            continue
        what = (
            "is not UTF-8 text"
            if rule == "encoding"
            else f"cannot be read as CSV ({message.strip()})"
        )
        staged.problems.append(problem(name, int(line), None, shown, rule, what))


def _shift_rows(
    con: duckdb.DuckDBPyConnection, name: str, source: TextSource, rejected: list[int]
) -> None:
    """Where the records DuckDB read lie in the file: after each line it did not give as a
    record (an empty line, which it skips, or a rejected record), the records after it move
    down a line. Without the empty lines, a problem after one was named a line too early."""
    assert source.read_path is not None
    # The lines before the header (empty or spaces) are skipped as a whole.
    leading = [(1, source.skip)] if source.skip else []
    runs = [(line, count) for line, count in blank_runs(source.read_path) if line > source.skip]
    skipped = sorted([*leading, *runs, *((line, 1) for line in rejected)])
    shifts: dict[int, int] = {}
    before = 0
    for line, count in skipped:
        # Record k (0-based) is on line k + 2 + the lines skipped before it.
        before += count
        shifts[line - (before - count) - 2] = before
    if shifts:  # one statement: a double-spaced file has a run per record
        con.execute(sql("feeds/insert_raw_shift"), [name, list(shifts), list(shifts.values())])


def _collect_trailing_empty(
    con: duckdb.DuckDBPyConnection,
    source: TextSource,
    name: str,
    staged: StagedDelivery,
    positions: dict[str, int],
    limits: Limits,
) -> None:
    """Records with empty values beyond the header's last column, which DuckDB's reader
    takes without them (:func:`~oemkpi.ingest.csv_files.trailing_empty_rows`): each is a
    problem, named by the value an unquoted comma split where one explains it."""
    assert source.read_path is not None
    width = len(source.header)
    if not trailing_empty_rows(con, source.read_path, width, limits, source.skip):
        return
    listed = 0
    for line, values in trailing_empty_records(source.read_path, width):
        listed += 1
        if listed > MAX_LISTED_PER_RULE:
            continue
        split = _split_values(values, width, positions)
        if split is not None:
            staged.problems.append(problem(name, line, *split))
            continue
        shown = ",".join(values)[:200]
        empty = len(values) - width
        what = (
            f"has {len(values)} values where the header has {width}, the last "
            f"{'one' if empty == 1 else empty} empty (a comma too many, or a value "
            "holding one, shifts the values after it)"
        )
        staged.problems.append(problem(name, line, None, shown, "csv_structure", what))
    if listed > MAX_LISTED_PER_RULE:
        more = listed - MAX_LISTED_PER_RULE
        staged.problems.append(summary_problem(name, None, "csv_structure", more))


def _split_in_line(
    csv_line: str | None, width: int, positions: dict[str, int]
) -> tuple[str, str, str, str] | None:
    """:func:`_split_values` of a record's text as DuckDB gives it."""
    try:
        # DuckDB's text of a record after empty lines begins with their line breaks.
        values = next(csv.reader([(csv_line or "").lstrip("\r\n")], strict=True), [])
    except csv.Error:
        return None
    return _split_values(values, width, positions)


def _split_values(
    values: list[str], width: int, positions: dict[str, int]
) -> tuple[str, str, str, str] | None:
    """A record with more values than the header, when one value an unquoted comma split
    explains them all ("43,548" in shipped_units): (column, value, rule, what); else None."""
    split = split_value(values, len(values) - width) if len(values) > width else None
    if split is None:
        return None
    start, value = split
    column = next((c for c, i in positions.items() if i == start), f"number {start + 1}")
    what = (
        f"holds an unquoted comma, the likely reason the row has {len(values)} values where "
        f"the header has {width}"
    )
    return column, value, "csv_split_value", what


def _insert_rescued(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    name: str,
    line: int,
    positions: dict[str, int],
    values: list[str],
) -> None:
    """Stage a record read by :func:`record_after_blank_lines` at its own line."""
    con.execute(
        render_sql(
            "feeds/insert_raw_rescued",
            text_columns=text_columns(feed, positions),
            record_values=Generated(", ".join(f"?::varchar as c{i}" for i in range(len(values)))),
        ),
        [name, line, *values],
    )


def _number_rows(con: duckdb.DuckDBPyConnection) -> None:
    """View ``rows``: the staged values with ``_row``, the line number users see."""
    shifted = int(first_row(con, sql("feeds/select_raw_shift_count"))[0]) > 0
    con.execute(sql("feeds/create_rows_view_shifted" if shifted else "feeds/create_rows_view"))


def _value_problems(con: duckdb.DuckDBPyConnection, staged: StagedDelivery) -> None:
    branches = []
    for col in staged.feed.columns:
        for condition, rule in problem_conditions(col):
            branches.append(
                f"select _file, _row, '{col.name}' as col, {col.name} as value, '{rule}' as rule "
                f"from rows where {col.name} is not null and ({condition})"
            )
    if not branches:
        return
    found = con.execute(
        render_sql("feeds/select_value_problems", branches=Generated(" union all ".join(branches))),
        {"max_listed": MAX_LISTED_PER_RULE},
    ).fetchall()
    overflow: dict[tuple[str, str, str], int] = {}
    for file, row, col, value, rule, n in found:
        staged.problems.append(problem(file, int(row), col, value, rule, WHAT[rule]))
        if n > MAX_LISTED_PER_RULE:
            overflow[(file, col, rule)] = n - MAX_LISTED_PER_RULE
    for (file, column, rule), more in overflow.items():
        staged.problems.append(summary_problem(file, column, rule, more))


def _build_typed(con: duckdb.DuckDBPyConnection, staged: StagedDelivery) -> None:
    present = set(staged.present_columns)
    typed = [
        f"{staged_expression(c)}::{c.sql_type} as {c.name}"
        for c in staged.feed.columns
        if c.name in present
    ]
    con.execute(
        render_sql(
            "feeds/create_typed_delivery",
            typed_columns=Generated(", ".join(["_file", "_row", *typed])),
            all_blank=all_blank(staged.feed),
        )
    )
    con.execute(sql("feeds/drop_rows_view"))
    con.execute(sql("feeds/drop_raw_rows"))
    staged.rows = int(first_row(con, sql("feeds/select_delivery_row_count"))[0])
