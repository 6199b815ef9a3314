"""Each partner's report model from the month's data.

:func:`build_report` fills :class:`~oemkpi.reports.model.MonthlyReport` for one
partner from :class:`~oemkpi.reports.data.MonthData` (only that partner's rows and
the market totals): KPI figures with honest target statuses, rate-and-mix drivers,
the competitive watch, red flags by rule and scope, body tables with their full
versions for the appendix, trend charts and the executive summary's sentences.
The JSON export is :mod:`oemkpi.reports.export`, the index :mod:`oemkpi.reports.index`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from oemkpi.kpis.definitions import KPIS
from oemkpi.months import add_months, elapsed_share, fiscal_quarter, month_label, quarter_months
from oemkpi.reference import Partner
from oemkpi.reports.data import MonthData
from oemkpi.reports.drivers import drivers_by_partner
from oemkpi.reports.export import build_export
from oemkpi.reports.flags import flag_groups, flagged_kpis, orphan_flag_notes
from oemkpi.reports.marketing import marketing_section
from oemkpi.reports.model import (
    AssortmentItem,
    Commentary,
    ForecastRow,
    KpiFigure,
    MonthlyReport,
    ReconciliationRow,
    RedFlag,
    Table,
    TableRow,
)
from oemkpi.reports.narrative import Facts, summary_sentences
from oemkpi.reports.tables import Column, Group, group_by, make_table
from oemkpi.reports.targets import behind, closed_status
from oemkpi.reports.trends import build_charts, quarter_targets

#: KPIs on the executive summary tiles, in order.
TILE_KPIS = (
    "shipped_units",
    "server_units",
    "forecast_attainment",
    "windows_share",
    "pro_mix",
    "premium_mix",
    "license_revenue_usd",
    "office_attach",
    "server_attach",
)
#: Tiles shown only when the partner reports them.
OPTIONAL_TILES = ("office_sell_thru_units",)
SUM_COLUMNS = (
    "shipped_units",
    "server_units",
    "fc_shipped_units",
    "fc_forecast_units",
    "windows_units",
    "ws_units",
    "pro_units",
    "premium_units",
    "pm_units",
    "license_revenue_usd",
    "office_attached_units",
    "office_base_units",
    "office_sell_thru_units",
    "server_attached_units",
    "server_base_units",
    "server_sell_thru_units",
)
KPI_COLUMNS = (
    Column("windows_share", "windows_units", "ws_units"),
    Column("pro_mix", "pro_units", "pm_units"),
    Column("premium_mix", "premium_units", "pm_units"),
    Column("license_revenue_usd", "license_revenue_usd"),
)
ATTACH_COLUMNS = (
    Column("office_attach", "office_attached_units", "office_base_units"),
    Column("server_attach", "server_attached_units", "server_base_units"),
    Column("office_sell_thru_units", "office_sell_thru_units"),
    Column("server_sell_thru_units", "server_sell_thru_units"),
)
FORECAST_COLUMNS = (
    Column("shipped_units", "shipped_units"),
    # The units of the rows that carry a forecast: attainment is these over the forecast.
    Column("forecast_shipped_units", "fc_shipped_units"),
    Column("forecast_units", "fc_forecast_units"),
    Column("attainment", "fc_shipped_units", "fc_forecast_units"),
)


def _figures(
    rows: list[dict[str, Any]],
    month: str,
    fy_start_month: int,
    at_risk: set[str],
    prior_targets: Mapping[str, float],
    qtd_missing: Mapping[str, Sequence[str]],
) -> list[KpiFigure]:
    by_kpi = {r["kpi"]: r for r in rows}
    share = elapsed_share(month, fy_start_month)
    closed = quarter_months(month, fy_start_month)[-1] == month
    figures = []
    for kpi in KPIS:
        r = by_kpi.get(kpi.name, {})
        value, qtd, target = r.get("value"), r.get("qtd"), r.get("target")
        attainment = qtd / target if kpi.kind == "volume" and qtd is not None and target else None
        figure = KpiFigure(
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
            target_status="unavailable",
            flagged=False,
            quarter_closed=closed,
            prior_target=prior_targets.get(kpi.name),
            qtd_months_missing=tuple(qtd_missing.get(kpi.name, ())),
        )
        if target is None:
            status = "unavailable" if value is None else "no_target"
        elif qtd is None or value is None or figure.qtd_months_missing:
            # A quarter to date that misses a month (this one or an earlier one): no verdict.
            status = "unavailable"
        elif closed:
            status = closed_status(figure) or "unavailable"
        elif kpi.name in at_risk:
            status = "at_risk"
        else:
            status = "behind" if behind(figure) else "on_track"
        figures.append(_with(figure, target_status=status))
    return figures


def _with(figure: KpiFigure, **changes: Any) -> KpiFigure:
    return replace(figure, **changes)


def _cells(rows: Sequence[Mapping[str, Any]], period: int) -> list[dict[str, Any]]:
    return [dict(r) for r in rows if r["period"] == period]


def _scope_tables(
    cells: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
    columns: Sequence[Column],
    total: TableRow,
    size: str,
) -> tuple[Table, Table]:
    now, before = _cells(cells, 1), _cells(cells, 0)
    tables = []
    for key in ("country", "segment"):
        sums_now = group_by(now, key, SUM_COLUMNS)
        sums_before = group_by(before, key, SUM_COLUMNS)
        groups = [
            Group(names.get(code, code) if key == "country" else code, sums, sums_before.get(code))
            for code, sums in sums_now.items()
        ]
        tables.append(make_table(groups, columns, size=size, total=total))
    return tables[0], tables[1]


def _figure_row(label: str, figures: Mapping[str, KpiFigure], keys: Sequence[str]) -> TableRow:
    """The partner's total row, as the tiles show it (value, MoM, YoY)."""
    return TableRow(
        label,
        {k: figures[k].value if k in figures else None for k in keys},
        {k: figures[k].mom_change if k in figures else None for k in keys},
        "total",
        1,
        {k: figures[k].yoy_change if k in figures else None for k in keys},
    )


def build_report(data: MonthData, partner: Partner, commentary: Commentary | None) -> MonthlyReport:
    """Everything one partner's monthly update shows."""
    month = data.month
    pid = partner.partner_id
    names = data.country_names
    cell_rows = data.rows("select_partner_cells", pid)
    drivers = drivers_by_partner(cell_rows)
    marketing = marketing_section(
        data.rows("select_partner_marketing", pid), month, data.fy_start_month
    )
    export = build_export(data, pid, drivers, marketing)
    flags = [RedFlag(**r) for r in data.rows("select_partner_red_flags", pid)]
    targets = quarter_targets(data.rows("select_partner_targets", pid))
    previous_quarter = fiscal_quarter(
        add_months(quarter_months(month, data.fy_start_month)[0], -1), data.fy_start_month
    )
    prior_targets = {
        kpi: by_q[previous_quarter] for kpi, by_q in targets.items() if previous_quarter in by_q
    }
    at_risk = {f.kpi for f in flags if f.rule == "target_gap" and f.kpi}
    qtd_missing = {r["kpi"]: r["months"] for r in data.rows("select_partner_qtd_missing", pid)}
    figures = _figures(
        data.rows("select_partner_kpis", pid),
        month,
        data.fy_start_month,
        at_risk,
        prior_targets,
        qtd_missing,
    )
    flagged = flagged_kpis(flags)
    figures = [_with(f, flagged=f.kpi in flagged) for f in figures]
    by_name = {f.kpi: f for f in figures}
    competitive = data.competitive_watch(pid)
    items = [
        AssortmentItem(
            **a,
            why=(commentary.why.get(a["sku"]) if commentary else None),
            coe=(commentary.coe.get(a["sku"]) if commentary else None),
        )
        for a in export["assortment"]
    ]
    forecast_rows = [
        ForecastRow(
            r["country"],
            names.get(r["country"], r["country"]),
            r["segment"],
            r["shipped_units"],
            r["forecast_units"],
            r["attainment"],
            r["forecast_shipped_units"],
        )
        for r in data.rows("select_partner_forecast_rows", pid)
    ]
    unit_changes: dict[tuple[str, str], float] = {}
    for r in cell_rows:
        sign = 1 if r["period"] == 1 else -1
        key = (r["country"], r["segment"])
        unit_changes[key] = unit_changes.get(key, 0.0) + sign * float(r["shipped_units"] or 0)
    summary = summary_sentences(
        Facts(
            partner_name=partner.partner_name,
            month=month,
            figures=by_name,
            drivers=drivers,
            unit_changes=unit_changes,
            competitive=competitive,
            flags=flags,
            names=names,
            feeds=data.feeds,
            forecast_rows=forecast_rows,
            fiscal_quarter=data.fiscal_quarter,
            marketing=marketing,
        )
    )
    feed_rows = {r["feed"]: int(r["row_count"]) for r in data.rows("select_partner_feed_rows", pid)}
    groups = flag_groups(flags, commentary, names, by_name, competitive, data.feeds, feed_rows)
    total_label = f"{partner.partner_name} total"
    kpis_by_country, kpis_by_segment = _scope_tables(
        cell_rows,
        names,
        KPI_COLUMNS,
        _figure_row(total_label, by_name, [c.key for c in KPI_COLUMNS]),
        "ws_units",
    )
    attach_by_country, attach_by_segment = _scope_tables(
        cell_rows,
        names,
        ATTACH_COLUMNS,
        _figure_row(total_label, by_name, [c.key for c in ATTACH_COLUMNS]),
        "office_base_units",
    )
    forecast = make_table(
        [
            Group(
                f"{names.get(r['country'], r['country'])} {r['segment']}",
                {c: r.get(c) for c in SUM_COLUMNS},
            )
            for r in _cells(cell_rows, 1)
            if r.get("shipped_units") is not None
        ],
        FORECAST_COLUMNS,
        size="shipped_units",
        total_label=total_label,
    )
    return MonthlyReport(
        partner=partner,
        month=month,
        month_label=month_label(month),
        fiscal_quarter=data.fiscal_quarter,
        data_as_of=data.data_as_of,
        generated_at=data.generated_at,
        country_names=dict(names),
        tiles=[by_name[k] for k in TILE_KPIS]
        + [by_name[k] for k in OPTIONAL_TILES if by_name[k].value is not None],
        summary=summary,
        flag_counts={
            "high": sum(f.severity == "high" for f in flags),
            "medium": sum(f.severity == "medium" for f in flags),
        },
        flag_groups=groups,
        flag_orphans=orphan_flag_notes(groups, commentary, names, data.feeds),
        competitive_watch=competitive,
        market_by_country=data.market_by_country,
        market_by_segment=data.market_by_segment,
        forecast=forecast,
        forecast_rows=forecast_rows,
        kpis_by_country=kpis_by_country,
        kpis_by_segment=kpis_by_segment,
        attach_by_country=attach_by_country,
        attach_by_segment=attach_by_segment,
        kpis=[by_name[k] for k in TILE_KPIS] + [f for f in figures if f.kpi not in TILE_KPIS],
        charts=build_charts(
            data.rows("select_partner_trend", pid),
            data.rows("select_partner_os_trend", pid),
            month,
            targets,
            data.fy_start_month,
        ),
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
        feed_rows=feed_rows,
        export=export,
        quarter_end=quarter_months(month, data.fy_start_month)[-1] == month,
        assortment_min_units=data.assortment_min_units,
        marketing=marketing,
    )
