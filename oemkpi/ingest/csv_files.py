"""CSV files as DuckDB reads them, and what its reader gets wrong about long records.

Every record longer than :attr:`~oemkpi.ingest.limits.Limits.record_bytes` is a
problem of its own (rule ``record_too_long``), named by its line. DuckDB's
``read_csv`` (1.5) enforces that limit (``max_line_size``) correctly for records
up to its read buffer (32 MB), but its parallel reader loses longer ones: in
the middle of a file it fails with "not implemented", and a last record beyond
the buffer is dropped without a word, in strict mode too; with
``store_rejects`` such a record is skipped without a rejects row. Read
single-threaded, it does name them, but holds the line in memory (a 400 MB line
took 700 MB) and may call it a ragged row. So before a file is read,
:func:`has_long_line` probes it for a line that long: the clean load then leaves
the delivery to the diagnosing parse, which reads a copy of the file in which
each such line is replaced by a short marker line (:func:`mask_long_lines`),
and names the marked lines itself.

DuckDB's reader also takes a file's line ending from its first line: a file whose
lines end in CRLF and in LF by turns (two exports pasted together) fails with "the
state machine reached an invalid state", naming no line. SPEC section 3 allows
either ending, so the diagnosing parse reads such a file from a copy with every
CRLF made LF (:func:`crlf_to_lf`; line numbers stay); a carriage return alone,
which no allowed ending has, is named by its line (:func:`line_endings`).

DuckDB also counts a run of blank lines into the size of the record after it,
so a good record after a megabyte of blank lines is rejected as too long,
although blank lines are ignored wherever they are (SPEC section 3):
:func:`record_after_blank_lines` reads such a record itself. Blank lines before the
header are skipped by :func:`csv_header` (DuckDB would take the first as the header,
and the header as a record), and since DuckDB gives no line numbers for the records it
reads, the diagnosing parse counts the empty lines (:func:`blank_runs`) to name each
record by its own line.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from oemkpi.ingest.limits import Limits
from oemkpi.warehouse import Generated, render_sql

#: Bytes read at each probe: a line break is almost always within the first few.
_PROBE_READ = 4096
#: Bytes read at a time where a whole file is scanned or copied.
_CHUNK = 1 << 24
#: A carriage return that does not end a CRLF.
_LONE_CR = re.compile(rb"\r(?!\n)")


#: A cell that continues the one before it across an unquoted comma: a thousands group after
#: digits ("10", "300"), or text after a comma and a space ("Borealis Systems", " Inc.").
_DIGITS, _GROUP = re.compile(r"\d{1,3}"), re.compile(r"\d{3}")


def split_value(row: list[str], extra: int) -> tuple[int, str] | None:
    """The value an unquoted comma split, when exactly one value could explain all ``extra``
    cells: (its first cell's index, the value as written); else None."""
    found = []
    for start in range(len(row) - extra):
        parts = row[start : start + extra + 1]
        digits = _DIGITS.fullmatch(parts[0].strip()) and all(_GROUP.fullmatch(p) for p in parts[1:])
        text = parts[0].strip() and all(p[:1] == " " and p.strip() for p in parts[1:])
        if digits or text:
            found.append((start, ",".join(parts)))
    return found[0] if len(found) == 1 else None


class Unreadable(Exception):
    """A file that cannot be read as a delivery file at all: the rule and what is wrong."""

    def __init__(
        self,
        rule: str,
        what: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        super().__init__(what)
        self.rule = rule
        self.what = what
        self.row = row
        self.column = column
        self.value = value


def csv_header(path: Path, limit: int = 1 << 20) -> tuple[list[str], int]:
    """The header record and the lines before it: the file's first line that holds
    something (a header never spans lines; blank lines are ignored wherever they are).
    Blank lines are skipped a block at a time (50 MB of them took 4.6 s line by line)."""
    skipped = 0
    with path.open("rb") as raw:
        if raw.read(3) != b"\xef\xbb\xbf":
            raw.seek(0)
        while True:
            block = raw.read(_PROBE_READ * 256)
            if not block:
                raise Unreadable("file_empty", "the file is empty")
            filled = len(block) - len(block.lstrip(b" \t\r\n"))
            if filled == len(block):
                skipped += block.count(b"\n")
                continue
            start = block.rfind(b"\n", 0, filled) + 1  # where the header's line begins
            skipped += block.count(b"\n", 0, start)
            raw.seek(raw.tell() - len(block) + start)
            break
        first = raw.readline(limit + 1)
    if len(first) > limit:
        raise Unreadable("record_too_long", "the header is longer than the limit per record")
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("encoding", "the header is not UTF-8 text") from None
    try:
        return next(csv.reader(io.StringIO(line))), skipped
    except StopIteration:
        raise Unreadable("file_empty", "the file is empty") from None
    except csv.Error as err:
        raise Unreadable("file_unreadable", f"the header cannot be read ({err})") from None


#: A run of empty lines: at a chunk's start (which follows a line break) or after one.
_EMPTY_LINES = re.compile(rb"(?:\A|(?<=\n))(?:\r?\n)+")


def blank_runs(path: Path) -> list[tuple[int, int]]:
    """The runs of empty lines of ``path``: (the first one's line number, how many).

    DuckDB's reader skips them and gives no line numbers for the records it reads, so the
    diagnosing parse counts them to name each record by its own line. Lines are numbered
    as DuckDB numbers them: a line break inside a quoted value starts no line, and an empty
    line there is part of the value. A line of spaces is not empty to DuckDB: it is
    rejected, and the diagnosing parse lets it be."""
    runs: list[tuple[int, int]] = []
    line = 1  # the number of the line the chunk's first byte is on
    quoted = False  # the chunk starts inside a quoted value
    carry = b""

    def add(first: int, count: int) -> None:
        if runs and runs[-1][0] + runs[-1][1] == first:  # one run across two chunks
            runs[-1] = (runs[-1][0], runs[-1][1] + count)
        else:
            runs.append((first, count))

    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            data = carry + chunk
            cut = data.rfind(b"\n") + 1  # a line cut short waits for the next chunk
            data, carry = data[:cut], data[cut:]
            if not quoted and b'"' not in data:
                counted = 0
                for found in _EMPTY_LINES.finditer(data):
                    line += data.count(b"\n", counted, found.start())
                    count = found.group().count(b"\n")
                    add(line, count)
                    line += count
                    counted = found.end()
                line += data.count(b"\n", counted)
                continue
            # Quotes: line by line, a line break counting only outside a quoted value.
            for text in data.split(b"\n")[:-1]:
                if not quoted and not text.strip(b"\r"):
                    add(line, 1)
                quoted ^= text.count(b'"') % 2 == 1
                if not quoted:
                    line += 1
    return runs


def csv_options(limits: Limits, skip: int = 0) -> str:
    """How every CSV is read: the contract's dialect, every column as text, nothing
    guessed, records up to the record limit; ``skip``: the blank lines before the header
    (read as the header otherwise, and the header as a record)."""
    return (
        "header = true, auto_detect = false, columns = ?, delim = ',', quote = '\"', "
        "escape = '\"', strict_mode = true, null_padding = false, "
        f"max_line_size = {int(limits.record_bytes)}, skip = {int(skip)}"
    )


#: What the check read takes as NULL instead of an empty value: a control character no
#: delivery holds as a whole value, so an empty value stays '' and only padding is NULL.
_NOT_A_VALUE = "\x01"


def trailing_empty_rows(
    con: duckdb.DuckDBPyConnection, path: Path, width: int, limits: Limits, skip: int = 0
) -> int:
    """How many records of ``path`` end in empty values beyond the header's ``width``.

    DuckDB's reader (1.5, strict mode too) drops empty values after a record's last
    column: ``2026-10,acme,DE,consumer,desktop,43,548,`` (an unquoted "43,548") loads
    as shipped 43 and forecast 548, where ``forecast_units`` was empty. Read again with
    one column more, such a record has '' there and every other record NULL (padding).
    Records that cannot be read are the main read's to name, so they are skipped here.
    """
    columns = {f"c{i}": "VARCHAR" for i in range(width + 1)}
    (count,) = con.execute(
        render_sql(
            "feeds/count_csv_trailing_empty",
            extra=f"c{width}",
            values=Generated(f"concat({', '.join(f'c{i}' for i in range(width))})"),
        ),
        [str(path), columns, _NOT_A_VALUE, int(limits.record_bytes), skip],
    ).fetchone() or (0,)
    return int(count)


def trailing_empty_records(path: Path, width: int) -> Iterator[tuple[int, list[str]]]:
    """(line, values) of each record of ``path`` with empty values beyond the header's
    ``width`` and something in it (see :func:`trailing_empty_rows`), numbered as DuckDB
    numbers lines (:func:`blank_runs`): one line per record and per empty line. Read only
    when there are such records: it parses the whole file in Python."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        # csv gives every record, and every empty line as [], one row each.
        for index, values in enumerate(csv.reader(handle)):
            if len(values) > width and not any(values[width:]) and any(v.strip() for v in values):
                yield index + 1, values


def line_endings(path: Path) -> str:
    """How the lines of ``path`` end: ``"lf"``, ``"crlf"`` or ``"mixed"`` (both, which
    DuckDB cannot read). Raises :class:`Unreadable` naming the first line that ends in a
    carriage return alone (a lone one as the file's last byte is let be)."""
    crlf = lf = 0
    line = 1  # the number of the line the next byte belongs to
    carry = b""
    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            data = carry + chunk
            carry = b"\r" if data.endswith(b"\r") else b""
            data = data[: len(data) - len(carry)]
            lone = _LONE_CR.search(data)
            if lone is not None:
                raise Unreadable(
                    "line_ending",
                    "the row ends in a carriage return alone (old Mac line endings), "
                    "which a CSV reader takes as part of the row",
                    row=line + data.count(b"\n", 0, lone.start()),
                )
            breaks, pairs = data.count(b"\n"), data.count(b"\r\n")
            crlf, lf, line = crlf + pairs, lf + breaks - pairs, line + breaks
    if crlf and lf:
        return "mixed"
    return "crlf" if crlf else "lf"


def crlf_to_lf(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` with every CRLF made LF, a chunk at a time."""
    carry = b""
    with source.open("rb") as inp, target.open("wb") as out:
        while chunk := inp.read(_CHUNK):
            data = carry + chunk
            carry = b"\r" if data.endswith(b"\r") else b""
            out.write(data[: len(data) - len(carry)].replace(b"\r\n", b"\n"))
        out.write(carry)


def has_long_line(path: Path, limit: int) -> bool:
    """Whether ``path`` has a line of at least ``limit`` bytes somewhere: some aligned
    window of ``limit`` bytes holds no line break.

    Each window is read only until its first line break, so a file of short lines
    costs one small read per ``limit`` bytes. A line of ``2 * limit`` bytes always
    fills a whole window; a shorter one may not, but DuckDB's reader handles lines
    up to its buffer (16 times that) itself.
    """
    size = path.stat().st_size
    with path.open("rb", buffering=0) as raw:
        descriptor = raw.fileno()
        for start in range(0, size, limit):
            end = min(start + limit, size)
            if end - start < limit:
                return False  # the tail window is not a whole one
            position = start
            while position < end:
                wanted = _PROBE_READ if position == start else _PROBE_READ << 4
                chunk = os.pread(descriptor, min(wanted, end - position), position)
                if not chunk:
                    break
                if b"\n" in chunk:
                    break
                position += len(chunk)
            else:
                return True
    return False


#: The line that stands in for a masked one: a single value, so DuckDB rejects it
#: (too few columns) at its own line number, which is all that is needed of it.
MASK = b"oemkpi: record too long"


def mask_long_lines(source: Path, target: Path, limit: int) -> set[int]:
    """Copy ``source`` to ``target`` with every line that spans a whole ``limit``-byte
    window without a line break (so every line of ``2 * limit`` bytes or more) replaced
    by :data:`MASK`; the numbers of the lines replaced (the header is line 1).

    Line numbers stay as they were, so DuckDB's rejects still name lines of the file as
    delivered. Reads and writes a window at a time: memory stays at two windows.
    """
    masked: set[int] = set()
    line = 1  # the number of the line the next byte belongs to
    pending = bytearray()  # the start of that line, while it may still be short
    long_line = False
    with source.open("rb") as inp, target.open("wb") as out:
        while chunk := inp.read(limit):
            first = chunk.find(b"\n")
            if first < 0:
                long_line = True
                pending.clear()
                continue
            if long_line:
                out.write(MASK + b"\n")
                masked.add(line)
                long_line = False
            else:
                out.write(pending)
                out.write(chunk[: first + 1])
            pending.clear()
            last = chunk.rfind(b"\n")
            out.write(chunk[first + 1 : last + 1])  # whole lines, each shorter than a window
            line += chunk.count(b"\n")
            pending += chunk[last + 1 :]
        if long_line:
            out.write(MASK + b"\n")
            masked.add(line)
        else:
            out.write(pending)
    return masked


def record_after_blank_lines(path: Path, position: int, limits: Limits) -> list[str] | None:
    """The record DuckDB rejected as too long at byte ``position``, if that was only the
    blank lines before it: its values, or None when the record itself is too long.
    Raises :class:`Unreadable` when the record is not UTF-8 text."""
    limit = limits.record_bytes
    with path.open("rb") as raw:
        raw.seek(position)
        while True:
            chunk = raw.read(1 << 16)
            if not chunk:
                return None
            kept = chunk.lstrip(b"\r\n")
            if kept:
                raw.seek(raw.tell() - len(kept))
                break
        data = raw.read(limit + 1)
    end = _record_end(data)
    if end is None:
        if len(data) > limit:
            return None
        end = len(data)  # the file's last record, without a line break
    if end > limit:
        return None
    try:
        text = data[:end].rstrip(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("encoding", "is not UTF-8 text") from None
    return next(csv.reader(io.StringIO(text)), [])


def _record_end(data: bytes) -> int | None:
    """Where the first record of ``data`` ends: its first line break outside quotes."""
    start, quoted = 0, False
    while True:
        newline = data.find(b"\n", start)
        if newline < 0:
            return None
        # A doubled quote inside a quoted value counts twice, so parity tells.
        quoted ^= data.count(b'"', start, newline) % 2 == 1
        if not quoted:
            return newline
        start = newline + 1
