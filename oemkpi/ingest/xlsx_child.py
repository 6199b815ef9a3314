"""The helper process that reads XLSX sheets (see :mod:`oemkpi.ingest.workbooks`).

It caps its own memory first (``RLIMIT_DATA``), then, for each job it is sent,
reads each workbook's first sheet with fastexcel as text and writes it as a
Parquet file of text columns ``c0..cN`` (the header row apart), one JSON line
per workbook on standard output, with the sheet's cells that hold a spreadsheet
error, which fastexcel reads as empty (:mod:`oemkpi.ingest.xlsx_error_cells`). It
serves jobs until its standard input closes (:func:`oemkpi.ingest.workbooks.helper` keeps it for the next feed). When
a sheet needs more memory than the cap, the reader fails or ends this process;
the parent then names the workbook in one sentence.
Imports only what reading needs, so it starts in a fraction of a second.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any


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
    from oemkpi.ingest.xlsx_error_cells import error_cells

    return {"header": header, "rows": frame.num_rows, "errors": error_cells(source, member)}


def main() -> None:
    """Cap this process's memory at ``argv[1]`` bytes, then answer jobs from standard input,
    one JSON line each (the record limit, and [source, target, sheet] triples, the sheet
    being the zip member of the workbook's first sheet), until it closes: a line per
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
