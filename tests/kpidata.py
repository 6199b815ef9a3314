"""Hand-made feed rows written straight into a real DuckDB warehouse, for KPI tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from oemkpi.ingest.contract import FEEDS
from oemkpi.kpis.compute import compute_assortment, compute_kpis, compute_sums
from oemkpi.kpis.quality import record_quality
from oemkpi.kpis.red_flags import Thresholds, evaluate_red_flags
from oemkpi.warehouse import connect, ensure_schema


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    ensure_schema(con)
    return con


def insert(con: duckdb.DuckDBPyConnection, feed: str, rows: Iterable[Sequence[object]]) -> None:
    columns = FEEDS[feed].column_names
    marks = ", ".join("?" for _ in columns)
    con.executemany(
        f"insert into {feed} ({', '.join(columns)}) values ({marks})", [list(r) for r in rows]
    )


def compute_month(
    con: duckdb.DuckDBPyConnection,
    month: str,
    partner_ids: list[str],
    *,
    thresholds: Thresholds | None = None,
    fy_start_month: int = 7,
    late: bool = False,
) -> None:
    """Everything downstream of the feed tables for one month, in pipeline order."""
    t = thresholds or Thresholds()
    compute_sums(con, month)
    compute_assortment(con, month, int(t.assortment_min_units))
    compute_kpis(con, month, fy_start_month)
    record_quality(con, month, partner_ids, late=late, tolerance=t.reconciliation_tolerance)
    evaluate_red_flags(con, month, partner_ids, t, fy_start_month)


def kpi(
    con: duckdb.DuckDBPyConnection,
    month: str,
    partner: str,
    name: str,
    *,
    scope: str = "partner",
    code: str | None = None,
) -> dict[str, object]:
    """One row of kpi_values as a dict."""
    rows = con.execute(
        """
        select value, prior_month, prior_year, mom_change, yoy_change, qtd, target
        from kpi_values
        where month = ? and partner_id = ? and kpi = ? and scope = ?
          and coalesce(country, segment, '') = coalesce(?, '')
        """,
        [month, partner, name, scope, code],
    ).fetchall()
    assert len(rows) <= 1
    keys = ("value", "prior_month", "prior_year", "mom_change", "yoy_change", "qtd", "target")
    return dict(zip(keys, rows[0], strict=True)) if rows else {}


def flags(
    con: duckdb.DuckDBPyConnection, month: str, partner: str, rule: str
) -> list[tuple[object, ...]]:
    return con.execute(
        """
        select severity, scope, kpi, value, threshold, message
        from red_flags where month = ? and partner_id = ? and rule = ?
        order by scope, kpi
        """,
        [month, partner, rule],
    ).fetchall()
