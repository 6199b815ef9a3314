"""Fill the report model and the JSON export from the warehouse.

Everything a partner's update shows is read here with the ``select_*`` files,
filtered to that partner; market figures are totals over all partners and
only for groups of at least :data:`MARKET_MIN_PARTNERS` partners, so no other
partner's figures can be read off them.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from oemkpi.ingest.contract import FEED_NAMES
from oemkpi.kpis.compute import KPIS
from oemkpi.months import (
    DEFAULT_FY_START_MONTH,
    add_months,
    elapsed_share,
    fiscal_quarter,
    quarter_months,
)
from oemkpi.reference import Partner, Reference
from oemkpi.reports.model import (
    AssortmentItem,
    Chart,
    Commentary,
    FeedState,
    ForecastRow,
    IndexRow,
    KpiFigure,
    MarketRow,
    MonthIndex,
    MonthlyReport,
    ReconciliationRow,
    RedFlag,
    ScopeRow,
    Series,
)
from oemkpi.reports.narrative import summary_sentences
from oemkpi.warehouse import sql

SCHEMA_VERSION = 1
#: A market total is shown only when at least this many partners make it up.
MARKET_MIN_PARTNERS = 3
#: KPIs on the executive summary tiles, in order.
TILE_KPIS = (
    "shipped_units",
    "forecast_attainment",
    "windows_share",
    "pro_mix",
    "premium_mix",
    "license_revenue_usd",
    "office_attach",
    "server_attach",
)
TREND_MONTHS = 13


def month_label(month: str) -> str:
    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


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
    market_by_country: list[MarketRow]
    market_by_segment: list[MarketRow]
    country_names: dict[str, str]
    #: Query name -> partner id -> that partner's rows (see :func:`_partner_rows`).
    partner_rows: dict[str, dict[str, list[dict[str, Any]]]]

    def rows(self, query: str, partner_id: str) -> list[dict[str, Any]]:
        """``partner_id``'s own rows of a ``select_partner_*`` query; no other partner's."""
        return self.partner_rows[query].get(partner_id, [])


def _partner_rows(
    con: duckdb.DuckDBPyConnection, month: str
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every ``select_partner_*`` query of the month, run once for all partners and
    split by ``partner_id`` (dropped from the rows): ~10 queries a month instead of
    ~10 per partner, each costing milliseconds of DuckDB planning whatever its size."""
    first = add_months(month, -(TREND_MONTHS - 1))
    params: dict[str, dict[str, Any]] = {
        "select_partner_kpis": {"month": month},
        "select_partner_scope_kpis": {"month": month},
        "select_partner_assortment": {"month": month},
        "select_partner_red_flags": {"month": month},
        "select_partner_forecast_rows": {"month": month},
        "select_partner_reconciliation": {"month": month},
        "select_partner_missing_feeds": {"month": month},
        "select_partner_contributions": {"month": month, "prior_month": add_months(month, -1)},
        "select_partner_trend": {"first": first, "last": month},
    }
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, values in params.items():
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in _rows(con, name, values):
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
) -> MonthData:
    names = {c.country: c.country_name for c in reference.countries}
    failed: dict[str, list[str]] = {}
    for row in _rows(con, "select_failed_checks_month", {"month": month}):
        failed.setdefault(row["feed"], []).append(row["check_name"])
    states = {r["feed"]: r for r in _rows(con, "select_feed_states_month", {"month": month})}
    first_problems = _first_problems(states.values())
    feeds = []
    for feed in FEED_NAMES:
        state = states.get(feed)
        if state is None:
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
        "select_market",
        {
            "month": month,
            "prior_month": add_months(month, -1),
            "prior_year_month": add_months(month, -12),
            "min_partners": MARKET_MIN_PARTNERS,
        },
    )

    def market_rows(scope: str) -> list[MarketRow]:
        return [
            MarketRow(
                r["code"],
                names.get(r["code"], r["code"]) if scope == "country" else r["code"],
                r["units"],
                r["mom_change"],
                r["yoy_change"],
                r["windows_share"],
                r["windows_share_change"],
            )
            for r in market
            if r["scope"] == scope
        ]

    (as_of,) = con.execute(sql("reports/select_data_as_of"), {"month": month}).fetchall()[0]
    return MonthData(
        month=month,
        fiscal_quarter=fiscal_quarter(month, fy_start_month),
        fy_start_month=fy_start_month,
        generated_at=(generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        data_as_of=_iso(as_of),
        feeds=feeds,
        market_by_country=market_rows("country"),
        market_by_segment=market_rows("segment"),
        country_names=names,
        partner_rows=_partner_rows(con, month),
    )


def _first_problems(states: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The first problem sentence of each rejected feed, from its quarantine errors.json."""
    from pathlib import Path

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
                out[row["feed"]] = str(problems[0].get("message"))
                break
    return out


def _figures(
    rows: list[dict[str, Any]], month: str, fy_start_month: int, flagged: set[str]
) -> list[KpiFigure]:
    by_kpi = {r["kpi"]: r for r in rows}
    share = elapsed_share(month, fy_start_month)
    figures = []
    for kpi in KPIS:
        r = by_kpi.get(kpi.name, {})
        value, qtd, target = r.get("value"), r.get("qtd"), r.get("target")
        attainment = qtd / target if kpi.kind == "volume" and qtd is not None and target else None
        if target is None:
            status = "unavailable" if value is None else "no_target"
        elif qtd is None or value is None:
            # Without this month's figure the quarter to date misses a month: no verdict.
            status = "unavailable"
        elif kpi.name in flagged:
            status = "at_risk"
        else:
            status = "on_track"
        figures.append(
            KpiFigure(
                kpi=kpi.name,
                label=kpi.label,
                kind=kpi.kind,
                value=value,
                prior_month=r.get("prior_month"),
                prior_year=r.get("prior_year"),
                mom_change=r.get("mom_change"),
                yoy_change=r.get("yoy_change"),
                qtd=qtd,
                target=target,
                attainment=attainment,
                elapsed_share=share,
                target_status=status,  # type: ignore[arg-type]
                flagged=kpi.name in flagged,
            )
        )
    return figures


def build_export(data: MonthData, partner_id: str) -> dict[str, Any]:
    """The JSON export of SPEC section 5 (schema_version 1) for one partner and month."""
    by_kpi = {r["kpi"]: r for r in data.rows("select_partner_kpis", partner_id)}
    fields = ("value", "prior_month", "prior_year", "mom_change", "yoy_change", "qtd", "target")
    kpis = {kpi.name: {f: by_kpi.get(kpi.name, {}).get(f) for f in fields} for kpi in KPIS}
    by_country: dict[str, dict[str, Any]] = {}
    by_segment: dict[str, dict[str, Any]] = {}
    for r in data.rows("select_partner_scope_kpis", partner_id):
        target = by_country if r["scope"] == "country" else by_segment
        target.setdefault(r["code"], {})[r["kpi"]] = {"value": r["value"]}
    assortment = [
        {
            "type": r["type"],
            "reason": r["reason"],
            "country": r["country"],
            "segment": r["segment"],
            "sku": r["sku"],
            "from_os": r["from_os"],
            "to_os": r["to_os"],
            "units": r["units"],
            "prior_units": r["prior_units"],
        }
        for r in data.rows("select_partner_assortment", partner_id)
    ]
    flags = [
        {k: r[k] for k in ("rule", "severity", "scope", "kpi", "value", "threshold", "message")}
        for r in data.rows("select_partner_red_flags", partner_id)
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "partner_id": partner_id,
        "month": data.month,
        "fiscal_quarter": data.fiscal_quarter,
        "kpis": kpis,
        "by_country": [
            {"country": code, "segment": None, "kpis": _all_kpis(values)}
            for code, values in sorted(by_country.items())
        ],
        "by_segment": [
            {"segment": code, "kpis": _all_kpis(values)}
            for code, values in sorted(by_segment.items())
        ],
        "assortment": assortment,
        "red_flags": flags,
        "feeds": {
            f.feed: {"status": f.status, "rows": f.rows, "checks_failed": f.checks_failed}
            for f in data.feeds
        },
    }


def _all_kpis(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {kpi.name: values.get(kpi.name, {"value": None}) for kpi in KPIS}


def build_report(
    data: MonthData,
    partner: Partner,
    commentary: Commentary | None,
) -> MonthlyReport:
    """Everything one partner's monthly update shows."""
    month = data.month
    pid = partner.partner_id
    export = build_export(data, pid)
    flags = [RedFlag(**f) for f in export["red_flags"]]
    at_risk = {f.kpi for f in flags if f.rule == "target_gap" and f.kpi}
    figures = _figures(data.rows("select_partner_kpis", pid), month, data.fy_start_month, at_risk)
    by_name = {f.kpi: f for f in figures}
    tiles = [by_name[k] for k in TILE_KPIS]
    names = data.country_names
    items = [
        AssortmentItem(
            **a,
            why=(commentary.why.get(a["sku"]) if commentary else None),
            coe=(commentary.coe.get(a["sku"]) if commentary else None),
        )
        for a in export["assortment"]
    ]
    contributions = data.rows("select_partner_contributions", pid)
    forecast_rows = [
        ForecastRow(
            r["country"],
            names.get(r["country"], r["country"]),
            r["segment"],
            r["shipped_units"],
            r["forecast_units"],
            r["attainment"],
        )
        for r in data.rows("select_partner_forecast_rows", pid)
    ]
    summary = summary_sentences(
        partner_name=partner.partner_name,
        month=month,
        figures=by_name,
        contributions=contributions,
        assortment=items,
        flags=flags,
        country_names=names,
        feeds=data.feeds,
        forecast_rows=forecast_rows,
    )
    return MonthlyReport(
        partner=partner,
        month=month,
        month_label=month_label(month),
        fiscal_quarter=data.fiscal_quarter,
        data_as_of=data.data_as_of,
        generated_at=data.generated_at,
        tiles=tiles,
        summary=summary,
        flag_counts={
            "high": sum(f.severity == "high" for f in flags),
            "medium": sum(f.severity == "medium" for f in flags),
        },
        market_by_country=data.market_by_country,
        market_by_segment=data.market_by_segment,
        forecast_rows=forecast_rows,
        by_country=_scope_rows(data.rows("select_partner_scope_kpis", pid), "country", names),
        by_segment=_scope_rows(data.rows("select_partner_scope_kpis", pid), "segment", {}),
        kpis=tiles + [f for f in figures if f.kpi not in TILE_KPIS],
        charts=_charts(data.rows("select_partner_trend", pid), month, by_name),
        assortment=items,
        commentary=commentary,
        red_flags=flags,
        feeds=data.feeds,
        reconciliation=[
            ReconciliationRow(
                r["country"],
                r["segment"],
                r["check_name"],
                r["left_feed"],
                int(r["left_units"]),
                r["right_feed"],
                int(r["right_units"]),
                float(r["difference"]),
            )
            for r in data.rows("select_partner_reconciliation", pid)
        ],
        missing_feeds=[r["feed"] for r in data.rows("select_partner_missing_feeds", pid)],
        export=export,
        quarter_end=quarter_months(month, data.fy_start_month)[-1] == month,
    )


def _scope_rows(rows: list[dict[str, Any]], scope: str, names: dict[str, str]) -> list[ScopeRow]:
    grouped: dict[str, ScopeRow] = {}
    for r in rows:
        if r["scope"] != scope:
            continue
        row = grouped.setdefault(
            r["code"], ScopeRow(r["code"], names.get(r["code"], r["code"]), {}, {})
        )
        row.values[r["kpi"]] = r["value"]
        row.mom_changes[r["kpi"]] = r["mom_change"]
    ordered = sorted(
        grouped.values(), key=lambda s: (-(s.values.get("shipped_units") or 0), s.code)
    )
    return ordered


def _charts(
    trend_rows: list[dict[str, Any]], month: str, figures: dict[str, KpiFigure]
) -> dict[str, Chart]:
    first = add_months(month, -(TREND_MONTHS - 1))
    trend = {r["month"]: r for r in trend_rows}
    months = [add_months(first, i) for i in range(TREND_MONTHS)]

    def series(name: str, column: str) -> Series:
        return Series(name, [(m, (trend.get(m) or {}).get(column)) for m in months])

    def target(kpi: str) -> float | None:
        return figures[kpi].target if kpi in figures else None

    shipments = [series("Shipped", "shipped_units"), series("Forecast", "forecast_units")]
    # Forecasts may cover only part of the shipments; then the forecast line is set against
    # the shipments it covers too, or the gap between the lines would not be the attainment.
    covered: list[tuple[str, float | None]] = []
    partial = False
    for m in months:
        row = trend.get(m) or {}
        attainment, forecast = row.get("forecast_attainment"), row.get("forecast_units")
        shipped = row.get("shipped_units")
        units = attainment * forecast if attainment is not None and forecast else None
        covered.append((m, units))
        if units is not None and shipped and abs(units - shipped) > 0.005 * shipped:
            partial = True
    if partial:
        shipments.append(Series("Shipped where forecast", covered))
    return {
        "shipments": Chart("shipments", "PC shipments vs forecast", "volume", shipments),
        "windows_share": Chart(
            "windows_share",
            "Windows share",
            "ratio",
            [series("Windows share", "windows_share")],
            target("windows_share"),
            "Quarter target" if target("windows_share") is not None else None,
        ),
        "mix": Chart(
            "mix",
            "Pro and premium mix",
            "ratio",
            [series("Pro mix", "pro_mix"), series("Premium mix", "premium_mix")],
            target("pro_mix"),
            "Pro mix target" if target("pro_mix") is not None else None,
        ),
        "revenue": Chart(
            "revenue",
            "Licence revenue (USD)",
            "volume",
            [series("Licence revenue", "license_revenue_usd")],
        ),
        "attach": Chart(
            "attach",
            "Office and Server attach",
            "ratio",
            [series("Office attach", "office_attach"), series("Server attach", "server_attach")],
            target("office_attach"),
            "Office attach target" if target("office_attach") is not None else None,
        ),
    }


def build_index(
    data: MonthData, reports: list[MonthlyReport], files: dict[str, dict[str, str]]
) -> MonthIndex:
    """The month's overview: every partner's headline KPIs and red-flag counts."""
    rows = []
    for report in reports:
        k = {f.kpi: f for f in report.kpis}
        rows.append(
            IndexRow(
                partner=report.partner,
                shipped_units=k["shipped_units"].value,
                shipped_mom=k["shipped_units"].mom_change,
                windows_share=k["windows_share"].value,
                windows_share_mom=k["windows_share"].mom_change,
                pro_mix=k["pro_mix"].value,
                office_attach=k["office_attach"].value,
                flags_high=report.flag_counts["high"],
                flags_medium=report.flag_counts["medium"],
                **files[report.partner.partner_id],
            )
        )
    return MonthIndex(
        month=data.month,
        month_label=month_label(data.month),
        fiscal_quarter=data.fiscal_quarter,
        generated_at=data.generated_at,
        rows=rows,
        feeds=data.feeds,
    )
