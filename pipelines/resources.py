"""The data home and the warehouse, chosen in one place.

``OemkpiResource`` is the only way assets reach files and the warehouse. Left
empty, ``home`` is taken from ``$OEMKPI_HOME`` (default ``./data``) when a run
starts, never at import time; the warehouse is the home's DuckDB file or
DuckLake, as the settings of the process running the step say
(:mod:`oemkpi.settings`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from oemkpi.errors import OemkpiError
from oemkpi.home import Home, use_home_caches
from oemkpi.kpis.quality import DEFAULT_LATE_AFTER_DAY
from oemkpi.months import DEFAULT_FY_START_MONTH
from oemkpi.warehouse import WarehouseConflict, home_warehouse

#: Every asset that opens the warehouse runs in this pool; the instance limits it to 1.
WAREHOUSE_POOL = "duckdb_warehouse"

#: A step whose DuckLake commit conflicted with a writer outside oemkpi (oemkpi's own
#: writers take turns on an advisory lock) is run again, up to this many times, after a
#: random wait of up to CONFLICT_FIRST_WAIT * 2**attempt seconds (capped). Sized for
#: the worst NOTES.md measured between unlocked writers: 9 conflicts in a row.
CONFLICT_RETRIES = 12
CONFLICT_FIRST_WAIT = 0.5
CONFLICT_MAX_WAIT = 30.0


def conflict_wait(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): full jitter, doubling, capped."""
    return random.uniform(0, min(CONFLICT_MAX_WAIT, CONFLICT_FIRST_WAIT * 2**attempt))


class OemkpiResource(dg.ConfigurableResource):
    """Where the data home is, and the settings that shape the monthly update."""

    home: str = ""
    fiscal_year_start_month: int = DEFAULT_FY_START_MONTH
    late_after_day: int = DEFAULT_LATE_AFTER_DAY
    #: landing_sensor starts a run for a delivery once nothing in its folder has changed
    #: for this long, so a delivery still being copied is not read half-way.
    landing_quiet_seconds: float = 60

    def get_home(self) -> Home:
        return Home.at(self.home) if self.home else Home.from_env()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Settings a month's steps would otherwise meet as a Python error half-way through
        # (a due day of 31 has no date in February; a 13th month starts no fiscal year).
        if not 1 <= self.late_after_day <= 28:
            raise OemkpiError(
                f"The oemkpi resource's late_after_day is {self.late_after_day}; the due day "
                "must be one every month has, 1 to 28: set it so and run again."
            )
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise OemkpiError(
                f"The oemkpi resource's fiscal_year_start_month is "
                f"{self.fiscal_year_start_month}; use a month from 1 to 12 and run again."
            )
        # A run started from the UI did not go through the CLI, which does this first.
        use_home_caches(self.get_home())

    @contextmanager
    def warehouse(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse for one step; a DuckLake commit conflict retries the whole step
        (each month is replaced in one transaction, so a retry starts from a clean state)."""
        try:
            with home_warehouse(self.get_home(), read_only=read_only) as con:
                yield con
        except WarehouseConflict as err:
            attempt = _retry_number()
            if attempt >= CONFLICT_RETRIES:
                raise WarehouseConflict(
                    f"The DuckLake warehouse kept changing under this step: {attempt + 1} "
                    "commits in a row conflicted with another writer, and none was kept; "
                    "stop the other writer or run the months again later."
                ) from err
            raise dg.RetryRequested(
                max_retries=CONFLICT_RETRIES, seconds_to_wait=conflict_wait(attempt)
            ) from err


def _retry_number() -> int:
    try:
        return dg.AssetExecutionContext.get().retry_number
    except Exception:  # not inside a step (a test, a script): count it as the first try
        return 0
