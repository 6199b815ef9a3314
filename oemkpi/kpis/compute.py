"""The month's KPI tables, computed in DuckDB from ``sql/kpis/``.

Python here only says which months a computation needs (fiscal calendar) and
runs the statements; every definition lives in SQL, as a ratio of sums. Each
step replaces its month in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from oemkpi.kpis.definitions import VOLUME_KPIS
from oemkpi.months import (
    DEFAULT_FY_START_MONTH,
    add_months,
    fiscal_quarter,
    quarter_to_date,
)
from oemkpi.reference import Reference
from oemkpi.warehouse import first_row, sql, transaction


def replace_month(
    con: duckdb.DuckDBPyConnection, table: str, month: str, params: Mapping[str, object]
) -> int:
    """Replace ``table``'s rows of ``month`` in one transaction: ``kpis/delete_<table>_month``,
    then ``kpis/insert_<table>_month`` with ``params``; returns the rows it reports written."""
    with transaction(con):
        con.execute(sql(f"kpis/delete_{table}_month"), {"month": month})
        (written,) = first_row(con, sql(f"kpis/insert_{table}_month"), dict(params))
    return int(written)


def compute_sums(con: duckdb.DuckDBPyConnection, month: str) -> int:
    """Replace ``kpi_sums`` of ``month`` from the feed tables; returns the groups written."""
    return replace_month(con, "kpi_sums", month, {"month": month})


def load_targets(con: duckdb.DuckDBPyConnection, reference: Reference) -> None:
    """Replace the ``targets`` table with reference/targets.csv."""
    with transaction(con):
        con.execute(sql("kpis/delete_targets"))
        if reference.targets:
            con.executemany(
                sql("kpis/insert_target"),
                [
                    {
                        "partner_id": t.partner_id,
                        "fiscal_quarter": t.fiscal_quarter,
                        "kpi": t.kpi,
                        "target": t.target,
                    }
                    for t in reference.targets
                ],
            )


def kpi_parameters(month: str, fy_start_month: int = DEFAULT_FY_START_MONTH) -> dict[str, object]:
    """The months and labels ``insert_kpi_values_month.sql`` needs for ``month``."""
    return {
        "month": month,
        "prior_month": add_months(month, -1),
        "prior_year_month": add_months(month, -12),
        "qtd_months": quarter_to_date(month, fy_start_month),
        "fiscal_quarter": fiscal_quarter(month, fy_start_month),
        "volume_kpis": VOLUME_KPIS,
    }


def compute_kpis(
    con: duckdb.DuckDBPyConnection, month: str, fy_start_month: int = DEFAULT_FY_START_MONTH
) -> int:
    """Replace ``kpi_values`` of ``month``; returns the rows written."""
    return replace_month(con, "kpi_values", month, kpi_parameters(month, fy_start_month))


def compute_assortment(con: duckdb.DuckDBPyConnection, month: str, min_units: int) -> int:
    """Replace ``assortment`` of ``month`` (wins, losses, discontinued SKUs against M-1)."""
    return replace_month(
        con,
        "assortment",
        month,
        {"month": month, "prior_month": add_months(month, -1), "min_units": min_units},
    )
