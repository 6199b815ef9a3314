"""The helper process that reads XLSX sheets (see :mod:`oemkpi.ingest.workbooks`).

It caps its own memory first (``RLIMIT_DATA``), then, for each job it is sent,
reads each workbook's first sheet with fastexcel as text and writes it as a
Parquet file of text columns ``c0..cN`` (the header row apart), one JSON line
per workbook on standard output. fastexcel reads a cell holding a spreadsheet
error (``#N/A`` from a lookup that found nothing, ``#DIV/0!``) as an empty cell
(fastexcel#229), which an optional column such as ``forecast_units`` would take
as "no value" in silence: so the sheet's XML is searched for error cells
(``t="e"``, streamed, one search per megabyte when there are none), and the
answer lists, per column, its first error cell and how many it has (the parent
refuses the workbook for those of the columns the contract reads). It serves jobs until its standard input
closes (:func:`oemkpi.ingest.workbooks.helper` keeps it for the next feed). When
a sheet needs more memory than the cap, the reader fails or ends this process;
the parent then names the workbook in one sentence.
Imports only what reading needs, so it starts in a fraction of a second.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import zipfile
from typing import Any

#: A cell whose value is a spreadsheet error, its reference and its value (the text
#: Excel shows, e.g. ``#N/A``), in the sheet's XML.
_ERROR_MARKS = (b't="e"', b"t='e'")
_ERROR_CELL = re.compile(rb"""<(?:\w+:)?c\s[^>]*?\bt=(["'])e\1[^>]*>""")
_CELL_REF = re.compile(rb"""\br=(["'])([A-Z]{1,3})([0-9]{1,7})\1""")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]{1,64})</(?:\w+:)?v>")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
#: The sheet's first used cell, where its header row starts (column A when not given).
_DIMENSION = re.compile(rb"""<(?:\w+:)?dimension\s[^>]*?\bref=["']([A-Z]{1,3})[0-9]""")
#: The sheet's XML is searched this many bytes at a time, with this much of the bytes
#: before kept so a cell's tag cut by a read is found whole.
_CHUNK = 1 << 20
_OVERLAP = 4096


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _convert(source: str, target: str, record_bytes: int, member: str) -> dict[str, Any]:
    import fastexcel
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        sheet = fastexcel.read_excel(source).load_sheet(0, header_row=None, dtypes="string")
        frame = pa.Table.from_batches([sheet.to_arrow()])
    except MemoryError:
        raise
    except Exception as err:  # fastexcel raises its own error types for broken workbooks
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        return {"rule": "file_unreadable", "what": f"it is not a readable XLSX workbook ({first})"}
    del sheet
    if frame.num_rows == 0:
        return {
            "rule": "file_empty",
            "what": "the first sheet is empty (only the first sheet is read)",
        }
    header = ["" if v is None else str(v) for v in frame.slice(0, 1).to_pylist()[0].values()]
    frame = frame.slice(1).rename_columns([f"c{i}" for i in range(frame.num_columns)])
    for index, column in enumerate(frame.columns):
        lengths = pc.binary_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > record_bytes:
            row = pc.index(pc.greater(lengths, record_bytes), True).as_py()
            return {
                "rule": "record_too_long",
                "row": row + 2,  # the header is row 1
                "column": header[index] if index < len(header) else f"column {index + 1}",
                "size": longest,
            }
    pq.write_table(frame, target, compression="none")
    return {"header": header, "rows": frame.num_rows, "errors": _error_cells(source, member)}


def _error_cells(source: str, member: str) -> list[dict[str, Any]]:
    """The sheet's cells holding a spreadsheet error, per column (its position among the
    sheet's columns, as the reader gives them): the first such cell's row, reference and
    value, and how many the column has; in the order the sheet holds their first ones."""
    origin, tail = 0, b""
    columns: dict[str | None, dict[str, Any]] = {}
    cells: dict[str | None, _Cell] = {}
    with zipfile.ZipFile(source) as book, book.open(member) as xml:
        while chunk := xml.read(_CHUNK):
            for waiting in cells.values():
                waiting.read(chunk)
            data = tail + chunk
            if not tail and (found := _DIMENSION.search(data)):
                origin = _column_index(found.group(1))
            if any(mark in data for mark in _ERROR_MARKS):
                for match in _ERROR_CELL.finditer(data):
                    if match.end() <= len(tail):
                        continue  # found whole in the bytes before
                    ref = _CELL_REF.search(match.group(0))
                    letters = ref.group(2).decode() if ref else None
                    if letters in columns:
                        columns[letters]["count"] += 1
                        continue
                    row = int(ref.group(3)) if ref else None
                    cells[letters] = _Cell(match, data)
                    columns[letters] = {
                        "index": None if ref is None else _column_index(ref.group(2)) - origin,
                        "row": row,
                        "cell": None if ref is None else f"{letters}{row}",
                        "count": 1,
                    }
            tail = data[-_OVERLAP:]
    return [{**found, "value": cells[letters].value()} for letters, found in columns.items()]


class _Cell:
    """The value of an error cell, read on to the cell's end when a read cut the cell."""

    #: The most bytes kept after the tag (its formula comes first, then its value).
    KEPT = 1 << 14

    def __init__(self, tag: re.Match[bytes], data: bytes) -> None:
        self.after = (
            b"" if tag.group(0).endswith(b"/>") else data[tag.end() : tag.end() + self.KEPT]
        )
        self.shown: str | None = None
        self.whole = False
        self._settle(final=False)

    def read(self, chunk: bytes) -> None:
        if not self.whole:
            self.after = (self.after + chunk)[: self.KEPT]
            self._settle(final=False)

    def value(self) -> str | None:
        """The error text Excel shows (``#N/A``), as the cell holds it; None without one."""
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


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - ord("A") + 1
    return index - 1


def main() -> None:
    """Cap this process's memory at ``argv[1]`` bytes, then answer jobs from standard input,
    one JSON line each (record limit, [source, target, sheet] triples: the sheet the zip
    member of the first sheet), until it closes: a line per
    workbook, then ``{"done": true}``. After a workbook that ran out of memory it ends (the
    parent starts another)."""
    cap = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    for line in sys.stdin:
        job = json.loads(line)
        for number, (source, target, member) in enumerate(job["files"]):
            try:
                result = _convert(source, target, int(job["record_bytes"]), member)
            except MemoryError:
                _say(file=number, rule="memory")
                return
            _say(file=number, **result)
        _say(done=True)


if __name__ == "__main__":
    main()
