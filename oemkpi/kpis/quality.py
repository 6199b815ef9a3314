"""Data quality of a month across feeds: feed status (loaded, rejected, missing,
late), partners missing from a delivered feed, and cross-feed reconciliation."""

from __future__ import annotations

from datetime import date

import duckdb

from oemkpi.ingest.contract import FEED_NAMES, OPTIONAL_FEEDS
from oemkpi.months import add_months, month_start
from oemkpi.warehouse import sql, transaction

#: The cross-feed reconciliations of SPEC section 3 by check name (the names
#: ``insert_reconciliation_month.sql`` writes), with what each compares.
RECONCILIATIONS: dict[str, str] = {
    "shipments_vs_windows_share": "of pc_shipments non-server units with windows_share units",
    "windows_share_vs_premium_mix": "of windows_share Windows units with premium_mix units",
    "windows_vs_office_base": "of windows_share Windows units with Office base units",
    "server_vs_windows_server_base": "of server shipments with Windows Server base units",
}
#: The feeds those reconciliations read: without one of them, not every check can be made.
RECONCILED_FEEDS = ("pc_shipments", "windows_share", "premium_mix", "attach_rate")


#: The day of the next month after which a missing feed-month is late (SPEC 3.5), unless
#: the oemkpi resource sets another.
DEFAULT_LATE_AFTER_DAY = 10


def due_date(month: str, late_after_day: int) -> date:
    """The day after which a missing feed-month counts as late (the Nth of the next month)."""
    return month_start(add_months(month, 1)).replace(day=late_after_day)


def is_late(month: str, today: date, late_after_day: int) -> bool:
    return today > due_date(month, late_after_day)


def record_quality(
    con: duckdb.DuckDBPyConnection,
    month: str,
    partner_ids: list[str],
    *,
    late: bool,
    tolerance: float,
) -> None:
    """Replace the month's feed_status, missing_partner_data and reconciliation rows.

    Reconciliation reads ``kpi_sums``, so the month's sums must be computed first.
    """
    with transaction(con):
        for table in ("feed_status", "missing_partner_data", "reconciliation"):
            con.execute(sql(f"quality/delete_{table}_month"), {"month": month})
        con.execute(
            sql("quality/insert_feed_status_month"),
            {
                "month": month,
                "feeds": list(FEED_NAMES),
                "optional": list(OPTIONAL_FEEDS),
                "late": late,
            },
        )
        con.execute(
            sql("quality/insert_missing_partner_data_month"),
            {"month": month, "partner_ids": partner_ids},
        )
        con.execute(
            sql("quality/insert_reconciliation_month"), {"month": month, "tolerance": tolerance}
        )
