"""Files a careless or hostile supplier could deliver, written byte by byte.

XLSX workbooks are written here as the zip of XML they are (rather than through a
spreadsheet library), so a test can place what no library would write: a 400 MB
shared string in a 400 KB file, a thousand cells sharing one long string, a cell
at ``XFD1048576``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


class Shared(int):
    """A cell that refers to shared string number ``n``."""


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_raw_xlsx(
    path: Path,
    rows: Iterable[Sequence[str | Shared]],
    shared: Sequence[str | Callable[[BinaryIO], None]] = (),
    *,
    far_cell: str | None = None,
) -> Path:
    """A workbook whose first sheet holds ``rows`` (strings inline, :class:`Shared` cells
    by reference), with ``shared`` strings (text, or a function writing the text's bytes),
    and one more cell at ``far_cell`` (e.g. ``"XFD1048576"``) if given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            for text in shared:
                out.write(b"<si><t>")
                if callable(text):
                    text(out)
                else:
                    out.write(escape(text).encode())
                out.write(b"</t></si>")
            out.write(b"</sst>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            for number, row in enumerate(rows, start=1):
                cells = []
                for index, value in enumerate(row):
                    ref = f"{column_letters(index)}{number}"
                    if isinstance(value, Shared):
                        cells.append(f'<c r="{ref}" t="s"><v>{int(value)}</v></c>')
                    else:
                        cells.append(
                            f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
                        )
                out.write(f'<row r="{number}">{"".join(cells)}</row>'.encode())
            if far_cell is not None:
                row_number = "".join(c for c in far_cell if c.isdigit())
                out.write(
                    f'<row r="{row_number}"><c r="{far_cell}" t="inlineStr"><is><t>x</t></is>'
                    "</c></row>".encode()
                )
            out.write(b"</sheetData></worksheet>")
    return path


def repeated(byte: bytes, size: int) -> Callable[[BinaryIO], None]:
    """A shared string of ``size`` bytes, written a mebibyte at a time."""

    def write(out: BinaryIO) -> None:
        chunk = byte * (1 << 20)
        left = size
        while left > 0:
            out.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)

    return write
