"""Input limits: the one place that bounds what a run takes in, and why.

Anything a partner or a PAM sends is read within these bounds; beyond them the
input is refused with one sentence (a delivery is rejected and quarantined, a
commentary file stops its month's reports) instead of running the machine out
of memory. The defaults keep a run's peak memory under 2 GB on the embedded
default (DuckDB's buffer pool is 1 GB, ``OEMKPI_DUCKDB_MEMORY_LIMIT``) and
still admit a 10M-row month: such a windows_share month is 0.5-0.7 GB of CSV.
README ("Input limits") lists them with the measurements behind them.

Each limit can be raised (or lowered) from the environment, for a machine with
more memory or a partner with bigger files: ``OEMKPI_MAX_<NAME>`` in bytes, for
example ``OEMKPI_MAX_DELIVERY_BYTES=4294967296``. They are read when a run reads
its inputs, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from oemkpi.errors import OemkpiError

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """The bounds on inputs, in bytes."""

    #: All files of one feed-month delivery together, as stored. DuckDB streams CSV and
    #: Parquet through its bounded buffer pool, so this bounds disk and time more than
    #: memory; 1 GiB admits a 10M-row month with room to spare (~16M windows_share rows).
    delivery_bytes: int = GIB
    #: The first sheet of an XLSX workbook plus its shared strings, decompressed, as the
    #: zip directory states them: XML is what the reader holds in memory, and a
    #: workbook of 400 KB can decompress to 400 MB. 256 MiB admits a sheet of about
    #: 900,000 rows of seven columns.
    xlsx_sheet_bytes: int = 256 * MIB
    #: One column of one Parquet row group, uncompressed, as the file's footer states it:
    #: DuckDB reads a column chunk at a time, and a 16 KB file can hold a 400 MB value.
    #: A 10M-row file written as a single row group has a ~150 MB SKU column.
    parquet_column_bytes: int = 256 * MIB
    #: Memory of the helper process that reads an XLSX sheet: the reader (calamine, via
    #: fastexcel) keeps every cell of the sheet's used range in memory and ends its
    #: process when an allocation fails, which a crafted 25 KB workbook achieves (one
    #: long shared string referenced by every cell, or one cell at XFD1048576). So it
    #: runs in a child process capped here, beside the run's own ~0.5-1 GB.
    xlsx_memory_bytes: int = GIB
    #: One CSV record (one line, or several when a quoted value holds line breaks) and
    #: one XLSX cell. A real record is about 100 bytes; DuckDB's own default is 2 MB.
    record_bytes: int = MIB
    #: One commentary file (``commentary/<YYYY-MM>/<partner_id>.md``): a PAM writes a
    #: few KB; a hundred pages of text is about 300 KB.
    commentary_bytes: int = MIB

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, with any ``OEMKPI_MAX_<NAME>`` from the environment instead."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            name = env_name(f.name)
            text = env.get(name)
            if text is None or not text.strip():
                continue
            try:
                value = int(text.strip())
            except ValueError:
                value = 0
            if value < 1:
                raise OemkpiError(
                    f"The environment variable {name} is {text!r}; give a whole number of "
                    "bytes greater than 0, or unset it for the default."
                )
            values[f.name] = value
        return cls(**values)


def env_name(field: str) -> str:
    """The environment variable that overrides a limit: ``OEMKPI_MAX_DELIVERY_BYTES``."""
    return f"OEMKPI_MAX_{field.upper()}"


def size_text(size: int) -> str:
    """A byte count for a sentence: ``400 MiB``, ``1.2 GiB``, ``512 bytes``."""
    for unit, step in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= step:
            value = size / step
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"
