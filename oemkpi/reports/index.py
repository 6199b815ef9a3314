"""The month's index: every partner side by side for the regional meeting (SPEC section 5).

Headline KPIs with MoM, YoY and where each stands against its target, revenue, red
flags by rule and country, the competitive losses of every partner, totals over all
partners, whose commentary is still to be written, and in a quarter's last month the
quarter-close scoreboard, and each partner's co-marketing budget and spent. It names
partners side by side: it is for the regional
team, not for partners.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oemkpi.kpis.definitions import KPI_BY_NAME
from oemkpi.months import month_label
from oemkpi.reports.data import MonthData
from oemkpi.reports.drivers import RATIO_PARTS
from oemkpi.reports.model import IndexRow, KpiFigure, MonthIndex, MonthlyReport
from oemkpi.reports.tables import add_sums
from oemkpi.reports.template_helpers import na_text
from oemkpi.reports.words import join_words, scope_name

#: The headline KPIs of the index, in column order.
INDEX_KPIS = (
    "shipped_units",
    "windows_share",
    "pro_mix",
    "premium_mix",
    "license_revenue_usd",
    "office_attach",
    "server_attach",
)
#: KPIs of the quarter-close scoreboard.
SCOREBOARD_KPIS = (
    "shipped_units",
    "license_revenue_usd",
    "windows_share",
    "pro_mix",
    "premium_mix",
    "forecast_attainment",
    "office_attach",
    "server_attach",
)


def all_partners_totals(data: MonthData, reports: Sequence[MonthlyReport]) -> dict[str, KpiFigure]:
    """All partners together: volumes summed, ratios as ratios of the summed cells."""
    out: dict[str, KpiFigure] = {}
    for kpi in INDEX_KPIS:
        spec = KPI_BY_NAME[kpi]
        figures = [{f.kpi: f for f in r.kpis}[kpi] for r in reports]
        if spec.kind == "volume":
            value = _sum(f.value for f in figures)
            prior = _sum(f.prior_month for f in figures)
            year = _sum(f.prior_year for f in figures)
            mom = (value - prior) / prior if value is not None and prior else None
            yoy = (value - year) / year if value is not None and year else None
        else:
            num, den = RATIO_PARTS[kpi]
            periods: dict[str, list[dict[str, Any]]] = {}
            for r in reports:
                for row in data.rows("select_partner_month_sums", r.partner.partner_id):
                    periods.setdefault(row["period"], []).append({num: row[num], den: row[den]})
            value, prior, year = (
                _ratio(add_sums(periods.get(p, [])), num, den)
                for p in ("month", "prior_month", "prior_year")
            )
            mom = value - prior if value is not None and prior is not None else None
            yoy = value - year if value is not None and year is not None else None
        out[kpi] = KpiFigure(
            kpi,
            spec.label,
            spec.kind,
            value,
            prior,
            year,
            mom,
            yoy,
            None,
            None,
            None,
            0.0,
            "no_target",
            False,
        )
    return out


def _ratio(sums: dict[str, Any], num: str, den: str) -> float | None:
    return sums[num] / sums[den] if sums.get(den) and sums.get(num) is not None else None


def _sum(values: object) -> float | None:
    known = [v for v in values if v is not None]  # type: ignore[attr-defined]
    return float(sum(known)) if known else None


def build_index(
    data: MonthData, reports: list[MonthlyReport], files: dict[str, dict[str, str]]
) -> MonthIndex:
    """The month's overview: every partner's headline KPIs, flags and competitive losses."""
    rows = []
    for report in reports:
        by_rule: dict[str, list[str]] = {}
        labels = {f.kpi: f.label for f in report.kpis}
        for group in report.flag_groups:
            where = scope_name(group.scope, report.country_names)
            if group.rule == "target_gap":
                # Which targets: "Target gap: whole partner" beside two gaps named neither.
                gaps = [labels.get(f.kpi, f.kpi) for f in group.flags if f.kpi]
                where = f"{where} ({join_words(list(dict.fromkeys(gaps)))})" if gaps else where
            by_rule.setdefault(group.rule, []).append(where)
        commentary = report.commentary
        rows.append(
            IndexRow(
                partner=report.partner,
                figures={f.kpi: f for f in report.kpis},
                flags_high=report.flag_counts["high"],
                flags_medium=report.flag_counts["medium"],
                flags=by_rule,
                competitive=report.competitive_watch,
                commentary_missing=commentary is None or not commentary.main_written,
                flags_unexplained=report.flags_to_write,
                marketing=report.marketing,
                na={f.kpi: na_text(report, f.kpi) for f in report.kpis if f.value is None},
                feed_flags=sum(f.on_feed for g in report.flag_groups for f in g.flags),
                **files[report.partner.partner_id],
            )
        )
    return MonthIndex(
        month=data.month,
        month_label=month_label(data.month),
        fiscal_quarter=data.fiscal_quarter,
        generated_at=data.generated_at,
        quarter_end=any(r.quarter_end for r in reports),
        rows=rows,
        totals=all_partners_totals(data, reports) if reports else {},
        feeds=data.feeds,
        target_gap_pts=data.target_gap_pts,
    )
