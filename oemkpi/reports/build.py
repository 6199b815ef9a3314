"""Each partner's report model and JSON export, from the month's data.

:func:`build_report` fills :class:`~oemkpi.reports.model.MonthlyReport` for one
partner from :class:`~oemkpi.reports.data.MonthData` (only that partner's rows
and the market totals), :func:`build_export` the JSON of SPEC section 5, and
:func:`build_index` the month's overview of every partner.
"""

from __future__ import annotations

from typing import Any

from oemkpi.kpis.definitions import KPIS
from oemkpi.months import add_months, elapsed_share, month_label, quarter_months
from oemkpi.reference import Partner
from oemkpi.reports.data import TREND_MONTHS, MonthData
from oemkpi.reports.model import (
    AssortmentItem,
    Chart,
    Commentary,
    ForecastRow,
    IndexRow,
    KpiFigure,
    MonthIndex,
    MonthlyReport,
    ReconciliationRow,
    RedFlag,
    ScopeRow,
    Series,
)
from oemkpi.reports.narrative import summary_sentences

SCHEMA_VERSION = 1
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
