"""The data home and the DuckDB warehouse, chosen in one place.

``OemkpiResource`` is the only way assets reach files and the warehouse. Left
empty, ``home`` is taken from ``$OEMKPI_HOME`` (default ``./data``) when a run
starts, never at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from oemkpi.home import Home
from oemkpi.months import DEFAULT_FY_START_MONTH
from oemkpi.warehouse import warehouse

#: Every asset that opens the warehouse runs in this pool; the instance limits it to 1.
WAREHOUSE_POOL = "duckdb_warehouse"


class OemkpiResource(dg.ConfigurableResource):
    """Where the data home is, and the settings that shape the monthly update."""

    home: str = ""
    fiscal_year_start_month: int = DEFAULT_FY_START_MONTH
    late_after_day: int = 10
    #: landing_sensor starts a run for a delivery once nothing in its folder has changed
    #: for this long, so a delivery still being copied is not read half-way.
    landing_quiet_seconds: float = 60

    def get_home(self) -> Home:
        return Home.at(self.home) if self.home else Home.from_env()

    @contextmanager
    def warehouse(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse(self.get_home().warehouse, read_only=read_only) as con:
            yield con
