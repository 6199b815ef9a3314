"""Read a month's report data from the warehouse, once for every partner.

Everything a partner's update shows is read here with the ``sql/reports/``
files and split by partner, so each report is handed only its own partner's
rows (:meth:`MonthData.rows`); market figures are totals over all partners and
only for groups of at least :data:`MARKET_MIN_PARTNERS` partners, so no other
partner's figures can be read off them. :mod:`oemkpi.reports.build` turns this
into each partner's report model and JSON export.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.ingest.contract import FEED_NAMES, OPTIONAL_FEEDS
from oemkpi.ingest.problems import for_stakeholders
from oemkpi.kpis.red_flags import load_thresholds
from oemkpi.months import (
    DEFAULT_FY_START_MONTH,
    add_months,
    fiscal_quarter,
    quarter_to_date,
)
from oemkpi.reference import Reference
from oemkpi.reports.model import CompetitiveItem, FeedState, Table
from oemkpi.reports.tables import Column, Group, make_table
from oemkpi.reports.words import column_words
from oemkpi.warehouse import sql

#: A market total is shown only when at least this many partners make it up.
MARKET_MIN_PARTNERS = 3
TREND_MONTHS = 13


def _rows(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    result = con.execute(sql(name), params)
    columns = [d[0] for d in result.description or []]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC).isoformat(timespec="seconds")
    return str(value)


@dataclass
class MonthData:
    """What every partner's update of one month shares."""

    month: str
    fiscal_quarter: str
    fy_start_month: int
    generated_at: str
    data_as_of: str | None
    feeds: list[FeedState]
    market_by_country: Table
    market_by_segment: Table
    country_names: dict[str, str]
    #: Query name -> partner id -> that partner's rows (see :func:`_partner_rows`).
    partner_rows: dict[str, dict[str, list[dict[str, Any]]]]
    #: The units a SKU needs to count as a win or loss (red_flags.yaml's assortment.min_units).
    assortment_min_units: float
    #: red_flags.yaml's target_gap thresholds: (ratio_gap_pts, volume_gap_pts).
    target_gap_pts: tuple[float, float]

    def rows(self, query: str, partner_id: str) -> list[dict[str, Any]]:
        """``partner_id``'s own rows of a ``select_partner_*`` query; no other partner's."""
        return self.partner_rows[query].get(partner_id, [])

    def competitive_watch(self, partner_id: str) -> list[CompetitiveItem]:
        """Every SKU of the partner that went from Windows last month to another OS family
        this month, whatever its units (SPEC 5), its country named."""
        names = self.country_names
        return [
            CompetitiveItem(
                r["country"],
                names.get(r["country"], r["country"]),
                r["segment"],
                r["sku"],
                r["to_os"],
                r["units"],
                r["prior_units"],
            )
            for r in self.rows("select_partner_competitive_watch", partner_id)
        ]


def report_quarters(month: str, fy_start_month: int) -> list[str]:
    """The fiscal quarters of the trend charts' months and the quarter before ``month``'s."""
    months = [add_months(month, -i) for i in range(max(TREND_MONTHS, 4))]
    return sorted({fiscal_quarter(m, fy_start_month) for m in months})


#: The market tables' columns: units (MoM, YoY) and Windows share (MoM in points).
MARKET_COLUMNS = (Column("units", "units"), Column("windows_share", "windows_units", "ws_units"))


def _market_table(rows: list[dict[str, Any]], names: dict[str, str], scope: str) -> Table:
    """All partners together; every group shown has enough partners, and so do the
    "all other" and total rows, which add up only groups that are shown."""
    groups = [
        Group(
            names.get(r["code"], r["code"]) if scope == "country" else r["code"],
            {"units": r["units"], "windows_units": r["windows_units"], "ws_units": r["ws_units"]},
            {
                "units": r["prior_units"],
                "windows_units": r["prior_windows_units"],
                "ws_units": r["prior_ws_units"],
            },
            {"units": r["prior_year_units"]},
        )
        for r in rows
        if r["scope"] == scope
    ]
    label = "All countries shown" if scope == "country" else "All segments"
    # Without the month's PC shipments the largest rows are those with most SKU units
    # (by name they put the United States among "all other").
    size = "units" if any((g.now or {}).get("units") is not None for g in groups) else "ws_units"
    return make_table(groups, MARKET_COLUMNS, size=size, total_label=label, complete_priors=True)


def _partner_rows(
    con: duckdb.DuckDBPyConnection, month: str, fy_start_month: int
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every ``select_partner_*`` query of the month, run once for all partners and
    split by ``partner_id`` (dropped from the rows): ~14 queries a month instead of
    ~10 per partner, each costing milliseconds of DuckDB planning whatever its size."""
    first = add_months(month, -(TREND_MONTHS - 1))
    prior = add_months(month, -1)
    params: dict[str, dict[str, Any]] = {
        "select_partner_kpis": {"month": month},
        "select_partner_scope_kpis": {"month": month},
        "select_partner_assortment": {"month": month},
        "select_partner_red_flags": {"month": month},
        "select_partner_forecast_rows": {"month": month},
        "select_partner_reconciliation": {"month": month},
        "select_partner_missing_feeds": {"month": month},
        "select_partner_feed_rows": {"month": month},
        "select_partner_cells": {"month": month, "prior_month": prior},
        "select_partner_month_sums": {
            "month": month,
            "prior_month": prior,
            "prior_year_month": add_months(month, -12),
        },
        "select_partner_competitive_watch": {"month": month, "prior_month": prior},
        "select_partner_trend": {"first": first, "last": month},
        "select_partner_os_trend": {"first": first, "last": month},
        "select_partner_targets": {"quarters": report_quarters(month, fy_start_month)},
        "select_partner_marketing": {"month": month},
        "select_partner_qtd_missing": {
            "month": month,
            "qtd_months": quarter_to_date(month, fy_start_month),
        },
    }
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, values in params.items():
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in _rows(con, f"reports/{name}", values):
            grouped.setdefault(row.pop("partner_id"), []).append(row)
        out[name] = grouped
    return out


def load_month(
    con: duckdb.DuckDBPyConnection,
    month: str,
    reference: Reference,
    *,
    fy_start_month: int = DEFAULT_FY_START_MONTH,
    generated_at: datetime | None = None,
    red_flags_yaml: Path,
) -> MonthData:
    """What every partner's update of ``month`` shares; thresholds from ``red_flags_yaml``
    (the built-in defaults where it does not set them), as the KPI steps read them."""
    names = {c.country: c.country_name for c in reference.countries}
    failed: dict[str, list[str]] = {}
    for row in _rows(con, "reports/select_failed_checks_month", {"month": month}):
        failed.setdefault(row["feed"], []).append(row["check_name"])
    states = {
        r["feed"]: r for r in _rows(con, "reports/select_feed_states_month", {"month": month})
    }
    first_problems = _first_problems(states.values())
    feeds = []
    for feed in FEED_NAMES:
        state = states.get(feed)
        if state is None:
            # An optional feed may go undelivered; any other feed is missing.
            if feed in OPTIONAL_FEEDS:
                feeds.append(FeedState(feed, "not_delivered", 0, 0, 0, None))
            else:
                feeds.append(FeedState(feed, "missing", 0, 0, 0, None))
            continue
        feeds.append(
            FeedState(
                feed,
                state["status"],
                int(state["rows_in_force"]),
                int(state["problems"]),
                int(state["checks_failed"]),
                _iso(state["delivered_at"]),
                failed.get(feed, []) if state["status"] == "rejected" else [],
                first_problems.get(feed) if state["status"] == "rejected" else None,
            )
        )
    market = _rows(
        con,
        "reports/select_market",
        {
            "month": month,
            "prior_month": add_months(month, -1),
            "prior_year_month": add_months(month, -12),
            "min_partners": MARKET_MIN_PARTNERS,
        },
    )

    (as_of,) = con.execute(sql("reports/select_data_as_of"), {"month": month}).fetchall()[0]
    thresholds = load_thresholds(red_flags_yaml)
    return MonthData(
        month=month,
        fiscal_quarter=fiscal_quarter(month, fy_start_month),
        fy_start_month=fy_start_month,
        generated_at=(generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        data_as_of=_iso(as_of),
        feeds=feeds,
        market_by_country=_market_table(market, names, "country"),
        market_by_segment=_market_table(market, names, "segment"),
        country_names=names,
        partner_rows=_partner_rows(con, month, fy_start_month),
        assortment_min_units=thresholds.assortment_min_units,
        target_gap_pts=(thresholds.target_ratio_gap_pts, thresholds.target_volume_gap_pts),
    )


def _first_problems(states: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The first problem of each rejected feed, from its quarantine errors.json, as the
    report's reader sees it (the file by name, no advice for the supplier: SPEC 5)."""
    out: dict[str, str] = {}
    for row in states:
        if row["status"] != "rejected" or not row["quarantine"]:
            continue
        for errors in sorted(Path(row["quarantine"]).glob("*.errors.json")):
            try:
                problems = json.loads(errors.read_text(encoding="utf-8")).get("problems") or []
            except (OSError, ValueError):
                continue
            if problems:
                # A listed problem names its row; a summary entry only counts the rest.
                first = next((p for p in problems if p.get("row") is not None), problems[0])
                text = for_stakeholders(first)
                column = first.get("column")
                if isinstance(column, str) and column:  # the contract's id, in words
                    text = text.replace(f"column {column}:", f"column {column_words(column)}:", 1)
                out[row["feed"]] = text
                break
    return out
