"""The helper process that reads XLSX sheets (see :mod:`oemkpi.ingest.workbooks`).

It caps its own memory first (``RLIMIT_DATA``), then, for each job it is sent,
reads each workbook's first sheet with fastexcel as text and writes it as a
Parquet file of text columns ``c0..cN`` (the header row apart), one JSON line
per workbook on standard output. fastexcel reads a cell holding a spreadsheet
error (``#N/A`` from a lookup that found nothing, ``#DIV/0!``) as an empty cell
(fastexcel#229), which an optional column such as ``forecast_units`` would take
as "no value" in silence: so the sheet's XML is searched for error cells
(``t="e"``, streamed, one search per megabyte when there are none), and a
workbook with one is named by its first such cell instead. It serves jobs until its standard input
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
_ERROR_MARK = b't="e"'
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\bt="e"[^>]*>')
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]{1,64})</(?:\w+:)?v>")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
#: The sheet's first used cell, where its header row starts (column A when not given).
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s[^>]*?\bref="([A-Z]{1,3})[0-9]')
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
    errors = _error_cells(source, member, header)
    if errors is not None:
        return errors
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
    return {"header": header, "rows": frame.num_rows}


def _error_cells(source: str, member: str, header: list[str]) -> dict[str, Any] | None:
    """The sheet's first cell holding a spreadsheet error, as a ``xlsx_cell_error`` answer
    (its row, its column's header, its reference and value, how many there are); None
    when no cell holds one."""
    count, origin, tail = 0, 0, b""
    first: _Cell | None = None
    with zipfile.ZipFile(source) as book, book.open(member) as xml:
        while chunk := xml.read(_CHUNK):
            if first is not None:
                first.read(chunk)
            data = tail + chunk
            if not tail and (found := _DIMENSION.search(data)):
                origin = _column_index(found.group(1))
            if _ERROR_MARK in data:
                for cell in _ERROR_CELL.finditer(data):
                    if cell.end() <= len(tail):
                        continue  # found whole in the bytes before
                    count += 1
                    if first is None:
                        first = _Cell(cell, data)
            tail = data[-_OVERLAP:]
    if first is None:
        return None
    column = None
    if first.letters is not None:
        index = _column_index(first.letters.encode()) - origin
        column = header[index] if 0 <= index < len(header) and header[index] else first.letters
    return {
        "rule": "xlsx_cell_error",
        "row": first.row,
        "column": column,
        "cell": f"{first.letters}{first.row}" if first.letters is not None else None,
        "value": first.value(),
        "count": count,
    }


class _Cell:
    """An error cell: its column letters and row (None when the XML leaves its reference
    out), and the bytes after its tag up to its end, read on until the end arrives."""

    #: The most bytes kept after the tag (its formula comes first, then its value).
    KEPT = 1 << 16

    def __init__(self, cell: re.Match[bytes], data: bytes) -> None:
        ref = _CELL_REF.search(cell.group(0))
        self.letters = ref.group(1).decode() if ref else None
        self.row = int(ref.group(2)) if ref else None
        self.after = b"" if cell.group(0).endswith(b"/>") else data[cell.end() :]
        self.whole = not self.after or self._ended()

    def read(self, chunk: bytes) -> None:
        if not self.whole:
            self.after += chunk
            self.whole = self._ended()

    def _ended(self) -> bool:
        return _CELL_END.search(self.after) is not None or len(self.after) >= self.KEPT

    def value(self) -> str | None:
        """The error text Excel shows (``#N/A``), as the cell holds it; None without one."""
        closed = _CELL_END.search(self.after)
        shown = _VALUE.search(self.after, 0, closed.start() if closed else len(self.after))
        return shown.group(1).decode("utf-8", "replace") if shown else None


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
