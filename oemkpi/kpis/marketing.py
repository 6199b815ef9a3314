"""Which marketing activities count for a month (SPEC section 9).

Each marketing delivery is the state of the partner's activities as of its month.
Month M is served, per partner, by the latest delivery up to M within M's fiscal
quarter, and only rows whose ``fiscal_quarter`` is M's quarter count: so a quarter's
picture never mixes in an earlier quarter's delivery, and a month without a delivery
keeps the quarter's latest state. The rows are in ``sql/kpis/``; this module says which
months and quarter they are.
"""

from __future__ import annotations

import duckdb

from oemkpi.kpis.compute import replace_month
from oemkpi.months import DEFAULT_FY_START_MONTH, fiscal_quarter, quarter_to_date


def marketing_quarter_parameters(
    month: str, fy_start_month: int = DEFAULT_FY_START_MONTH
) -> dict[str, object]:
    """The bound parameters of ``insert_marketing_quarter_month.sql`` for ``month``."""
    return {
        "month": month,
        "qtd_months": quarter_to_date(month, fy_start_month),
        "fiscal_quarter": fiscal_quarter(month, fy_start_month),
    }


def compute_marketing_quarter(
    con: duckdb.DuckDBPyConnection, month: str, fy_start_month: int = DEFAULT_FY_START_MONTH
) -> int:
    """Replace ``marketing_quarter`` of ``month``; returns the activities that count."""
    return replace_month(
        con, "marketing_quarter", month, marketing_quarter_parameters(month, fy_start_month)
    )
