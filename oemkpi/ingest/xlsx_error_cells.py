"""Cells holding a spreadsheet error, found in a sheet's XML: a workaround for fastexcel.

fastexcel (calamine) reads a cell whose value is a spreadsheet error (``#N/A`` from a
lookup that found nothing, ``#DIV/0!``, ``#REF!``) as an empty cell and has no option to
keep it (ToucanToco/fastexcel#229, open when this was written; :data:`WRITTEN_FOR`,
checked by tests/test_feeds.py, which also fails once fastexcel keeps the error). An
optional column such as ``forecast_units`` would take it as "no value" in silence. The
XLSX reader process (:mod:`oemkpi.ingest.xlsx_child`) calls :func:`error_cells` on the
sheet it read, and :class:`~oemkpi.ingest.workbooks.Workbooks` refuses a workbook with
an error in a column the contract reads.

The sheet's XML is streamed a chunk at a time. A cell is an error when its tag says
``t="e"``; only the tags around such a mark are looked at, each within a bounded span, so
no XML, however hostile, makes the search slower than linear. Columns are placed as the
reader places them: its first column is the sheet's leftmost cell that holds something,
found in a second pass that only a sheet with error cells pays.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import Any

#: The versions this workaround was written and tested against.
WRITTEN_FOR = {"fastexcel": "0.21"}

#: ``t="e"`` as an attribute (either quote, spaces around ``=``), and the quoted value
#: without which a chunk holds none (a plain search, much faster than the pattern's).
_ERROR_MARK = re.compile(rb"""\st\s*=\s*(["'])e\1""")
_ERROR_VALUES = (b'"e"', b"'e'")
#: The longest cell tag looked at; a longer one is not a cell a writer writes.
_TAG_MAX = 2048
_CELL_TAG = re.compile(rb"<(?:\w{1,32}:)?c\s[^<>]*>")
_ANY_CELL = re.compile(rb"<(?:\w{1,32}:)?c\s[^<>]{0,%d}>" % _TAG_MAX)
_CELL_REF = re.compile(rb"""\sr\s*=\s*(["'])([A-Z]{1,3})([0-9]{1,7})\1""")
_VALUE = re.compile(rb"<(?:\w{1,32}:)?v>([^<]{1,64})</")
_CELL_END = re.compile(rb"</(?:\w{1,32}:)?c>")
#: What makes a cell hold something for the reader: a value with text, an inline string
#: (even empty), or a string formula's result (even empty). A format alone, a formula
#: without its result, or white space is an empty cell.
_HOLDS = re.compile(rb"<(?:\w{1,32}:)?v>[^<]|<(?:\w{1,32}:)?is[\s/>]")
_STRING_RESULT = re.compile(rb"""\st\s*=\s*(["'])str\1""")
#: The sheet's XML is read this many bytes at a time, with this much of the bytes before
#: kept, so a tag cut by a read is found whole in the next.
_CHUNK = 1 << 20
_OVERLAP = 2 * _TAG_MAX


def error_cells(source: str, member: str) -> list[dict[str, Any]]:
    """The cells of ``member`` (a sheet of the workbook ``source``) holding a spreadsheet
    error, per column, in the order the sheet holds the first of each: the column's
    position among the reader's columns (None when the cell has no reference), the first
    such cell's row, reference and value, and how many the column has."""
    columns: dict[str | None, dict[str, Any]] = {}  # by column letters: row, count, cell
    pending: list[_Cell] = []
    for data, seen in _chunks(source, member):
        for cell in pending:
            cell.read(data[seen:])
        pending = [c for c in pending if not c.whole]
        for tag_end, tag in _error_tags(data, seen):
            ref = _CELL_REF.search(tag)
            letters = ref.group(2).decode() if ref else None
            if letters in columns:
                columns[letters]["count"] += 1
                continue
            cell = _Cell(tag, data[tag_end : tag_end + _Cell.KEPT])
            if not cell.whole:
                pending.append(cell)
            columns[letters] = {"row": int(ref.group(3)) if ref else None, "count": 1, "cell": cell}
    if not columns:
        return []
    origin = _leftmost_column(source, member)
    return [
        {
            "index": None if letters is None else _column_index(letters) - origin,
            "row": c["row"],
            "cell": None if letters is None else f"{letters}{c['row']}",
            "count": c["count"],
            "value": c["cell"].value(),
        }
        for letters, c in columns.items()
    ]


def _chunks(source: str, member: str) -> Iterator[tuple[bytes, int]]:
    """The sheet's XML a chunk at a time, each after the end of the one before, and how many
    of its bytes were in the one before."""
    tail = b""
    with zipfile.ZipFile(source) as book, book.open(member) as xml:
        while chunk := xml.read(_CHUNK):
            data = tail + chunk
            yield data, len(tail)
            tail = data[-_OVERLAP:]


def _error_tags(data: bytes, seen: int) -> Iterator[tuple[int, bytes]]:
    """Each error cell's tag in ``data`` that ends after its first ``seen`` bytes (one that
    ends before was found in the chunk before), with where it ends."""
    if not any(value in data for value in _ERROR_VALUES):
        return
    after = 0  # the end of the last tag given: a mark before it is inside that tag
    for mark in _ERROR_MARK.finditer(data):
        if mark.start() < after:
            continue
        start = data.rfind(b"<", max(0, mark.start() - _TAG_MAX), mark.start())
        end = data.find(b">", mark.end(), mark.end() + _TAG_MAX)
        if start < 0 or end < seen or not _CELL_TAG.fullmatch(data, start, end + 1):
            continue
        after = end + 1
        yield end + 1, data[start : end + 1]


def _leftmost_column(source: str, member: str) -> int:
    """The column of the sheet's leftmost cell that holds something: the reader's first."""
    leftmost: int | None = None
    for data, _ in _chunks(source, member):
        for tag in _ANY_CELL.finditer(data):
            if tag.group(0).endswith(b"/>"):
                continue  # a format only
            closed = _CELL_END.search(data, tag.end(), tag.end() + _Cell.KEPT)
            if closed is None:
                continue  # its end is in the next chunk, which holds the tag again
            body = data[tag.end() : closed.start()]
            if not (_HOLDS.search(body) or (_STRING_RESULT.search(tag.group(0)) and b"<" in body)):
                continue  # an empty cell, for the reader
            ref = _CELL_REF.search(tag.group(0))
            if ref is not None:
                column = _column_index(ref.group(2).decode())
                leftmost = column if leftmost is None else min(leftmost, column)
    return leftmost or 0


class _Cell:
    """An error cell's value, read on to the cell's end when a read cut the cell."""

    #: The most bytes kept after the tag (its formula comes first, then its value).
    KEPT = 1 << 14

    def __init__(self, tag: bytes, after: bytes) -> None:
        self.after = b"" if tag.endswith(b"/>") else after
        self.shown: str | None = None
        self.whole = False
        self._settle(final=False)

    def read(self, more: bytes) -> None:
        if not self.whole:
            self.after = (self.after + more)[: self.KEPT]
            self._settle(final=False)

    def value(self) -> str | None:
        """The error text Excel shows (``#N/A``); None when the cell holds none."""
        self._settle(final=True)  # the sheet may end inside the cell
        return self.shown

    def _settle(self, *, final: bool) -> None:
        """Once the cell's end (or as much as is kept) was read: its value, bytes let go."""
        if self.whole:
            return
        closed = _CELL_END.search(self.after)
        if closed is None and 0 < len(self.after) < self.KEPT and not final:
            return
        shown = _VALUE.search(self.after, 0, closed.start() if closed else len(self.after))
        self.shown = shown.group(1).decode("utf-8", "replace") if shown else None
        self.after, self.whole = b"", True


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1
