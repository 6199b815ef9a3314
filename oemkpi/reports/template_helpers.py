"""What the report templates call: template-side logic kept out of Jinja2.

Each helper takes the report model (or part of it) and returns plain values or
escaped markup; the templates only lay them out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from oemkpi.formats import ARROWS, NA, direction, kpi_change, kpi_value, pct, pts
from oemkpi.months import month_short
from oemkpi.reports.charts import render_chart
from oemkpi.reports.model import (
    AssortmentItem,
    Chart,
    ForecastRow,
    KpiFigure,
    KpiKind,
    MarketRow,
    MonthlyReport,
)

NA_KPI = "n/a — data unavailable"

#: The report's sections after the headline, in SPEC order: (anchor, heading).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Executive summary"),
    ("market", "Market trends"),
    ("performance", "Partner performance"),
    ("kpis", "KPI updates"),
    ("assortment", "Assortment wins and losses"),
    ("attach", "Attach and sell-thru"),
    ("commentary", "Marketing activities, account plan and best practices"),
    ("red-flags", "Red flags and escalations"),
    ("quarter", "Quarterly conditions of satisfaction"),
    ("data-quality", "Data-quality appendix"),
)
SECTION_TITLES = dict(SECTIONS)
NO_COMMENTARY = "No commentary yet."


def change_mark(change: float | None, kind: KpiKind) -> Markup:
    """A change with arrow and word for HTML, so direction never rests on colour alone."""
    way = direction(change, kind)
    if way is None:
        return Markup('<span class="chg na">n/a</span>')
    # ``way`` and the arrow are our own constants; the figure is escaped like any value.
    # (Markup.format escapes through string.Formatter, several times slower, and this runs ~300
    # times per report.)
    return Markup(
        f'<span class="chg {way}">{ARROWS[way]}<span class="sr"> {way}</span> '
        f"{escape(kpi_change(change, kind))}</span>"
    )


STATUS_TEXT = {
    "on_track": "✓ On track",
    "at_risk": "⚠ At risk",
    "no_target": "No target",
    "unavailable": NA,
}
FEED_STATUS_TEXT = {
    "loaded": "✓ loaded",
    "rejected": "✗ rejected",
    "late": "⚠ late",
    "missing": "✗ missing",
}


def chart_svg(charts: Mapping[str, Chart], key: str) -> Markup | None:
    """The inline SVG of ``charts[key]``, or None when the report has no such chart."""
    chart = charts.get(key)
    return render_chart(chart) if chart is not None else None


def chart_summary(charts: Mapping[str, Chart], key: str) -> str | None:
    """The Markdown report's stand-in for a chart: each series' first and latest value."""
    chart = charts.get(key)
    if chart is None:
        return None
    # Charts carry no unit; the revenue chart is the one in dollars.
    kpi = "license_revenue_usd" if key == "revenue" else key
    parts = []
    for series in chart.series:
        known = [(m, v) for m, v in series.points if v is not None and math.isfinite(v)]
        if not known:
            parts.append(f"{series.name}: no data")
            continue
        (first_month, first), (last_month, last) = known[0], known[-1]
        parts.append(
            f"{series.name}: {kpi_value(first, kpi, chart.kind)} ({month_short(first_month)}) → "
            f"{kpi_value(last, kpi, chart.kind)} ({month_short(last_month)})"
        )
    if chart.target is not None:
        label = chart.target_label or "target"
        parts.append(f"{label}: {kpi_value(chart.target, kpi, chart.kind)}")
    return f"{chart.title}: " + "; ".join(parts) + "." if parts else None


def market_movers(rows: Sequence[MarketRow]) -> tuple[MarketRow | None, MarketRow | None]:
    """The biggest grower and the biggest decliner by units MoM (None where nothing moved)."""
    known = [r for r in rows if r.mom_change is not None]
    growers = [r for r in known if r.mom_change is not None and r.mom_change > 0]
    decliners = [r for r in known if r.mom_change is not None and r.mom_change < 0]
    grower = max(growers, key=lambda r: (r.mom_change, r.label), default=None)
    decliner = min(decliners, key=lambda r: (r.mom_change, r.label), default=None)
    return grower, decliner


def country_names(report: MonthlyReport) -> dict[str, str]:
    """Country code -> name, from what the report already carries."""
    names = {r.country: r.country_name for r in report.forecast_rows}
    names.update({r.code: r.label for r in report.by_country})
    return names


def kpi_map(figures: Sequence[KpiFigure]) -> dict[str, KpiFigure]:
    return {f.kpi: f for f in figures}


def orphan_commentary(report: MonthlyReport) -> list[tuple[str, str, str]]:
    """Why/COE commentary for SKUs not among this month's assortment items: (kind, sku, text).

    Shown at the end of the assortment section, so nothing a PAM wrote is lost to a typo.
    """
    if report.commentary is None:
        return []
    skus = {item.sku for item in report.assortment}
    out = [("Why", sku, text) for sku, text in report.commentary.why.items() if sku not in skus]
    out += [("COE", sku, text) for sku, text in report.commentary.coe.items() if sku not in skus]
    return out


def assortment_counts(items: Sequence[AssortmentItem]) -> dict[str, int]:
    counts = {"win": 0, "loss": 0, "discontinued": 0}
    for item in items:
        counts[item.type] = counts.get(item.type, 0) + 1
    return counts


#: New wins and discontinued SKUs listed one by one, largest first; the rest are summed up.
ASSORTMENT_LIST_LIMIT = 10


def assortment_shown(
    items: Sequence[AssortmentItem], limit: int | None = None
) -> tuple[list[AssortmentItem], list[tuple[str, int, float]]]:
    """The items to list and, per kind left out, ``(kind, count, units)``.

    Every loss, every conversion and every item with commentary is listed. Of the new
    Windows SKUs (by units this month) and the discontinued ones (by units last month)
    the ``limit`` largest are (default :data:`ASSORTMENT_LIST_LIMIT`); a busy month has
    scores of small ones, which the JSON export still lists in full.
    """
    limit = ASSORTMENT_LIST_LIMIT if limit is None else limit
    keep: set[int] = set()
    hidden: list[tuple[str, int, float]] = []
    for reason, size in (("new", "units"), ("discontinued", "prior_units")):
        group = [i for i, item in enumerate(items) if item.reason == reason]
        group.sort(key=lambda i: -(getattr(items[i], size) or 0))
        keep.update(group[:limit])
        rest = [i for i in group[limit:] if not (items[i].why or items[i].coe)]
        keep.update(i for i in group[limit:] if items[i].why or items[i].coe)
        if rest:
            units = sum(getattr(items[i], size) or 0 for i in rest)
            hidden.append((reason, len(rest), units))
    shown = [
        item
        for i, item in enumerate(items)
        if item.reason not in ("new", "discontinued") or i in keep
    ]
    return shown, hidden


def forecast_covers(row: ForecastRow) -> float | None:
    """Shipped units of the rows that carry a forecast, when that is not all of the row's."""
    if row.attainment is None or row.forecast_units is None or row.shipped_units is None:
        return None
    covered = row.attainment * row.forecast_units
    return covered if abs(covered - row.shipped_units) >= 0.5 else None


def reports_sell_thru(report: MonthlyReport) -> bool:
    """Whether the partner reported any sell-thru this month (else the columns are left out)."""
    k = kpi_map(report.kpis)
    keys = ("office_sell_thru_units", "server_sell_thru_units")
    if any(k[key].value is not None for key in keys if key in k):
        return True
    rows = [*report.by_country, *report.by_segment]
    return any(r.values.get(key) is not None for r in rows for key in keys)


def severity_sorted(flags: Sequence[Any]) -> list[Any]:
    """High before medium; otherwise in the order the rules produced them."""
    return sorted(flags, key=lambda f: 0 if f.severity == "high" else 1)


def qtd_incomplete(figure: KpiFigure) -> bool:
    """The quarter to date lacks this month: its figure is unavailable, earlier months are not."""
    return figure.value is None and figure.qtd is not None


def target_text(figure: KpiFigure) -> str:
    """Where a KPI stands against its quarterly target, in words."""
    if figure.target is None:
        return "No target"
    target = kpi_value(figure.target, figure.kpi, figure.kind)
    if qtd_incomplete(figure):
        return f"QTD incomplete without this month's data; target {target}"
    if figure.kind == "ratio":
        if figure.qtd is None:
            text = f"QTD n/a vs {target}"
        else:
            text = f"QTD {pct(figure.qtd)} vs {target} ({pts(figure.qtd - figure.target)})"
    elif figure.attainment is None:
        text = f"QTD n/a vs {target}"
    else:
        text = (
            f"{pct(figure.attainment, 0)} of {target} with "
            f"{pct(figure.elapsed_share, 0)} of the quarter gone"
        )
    if figure.target_status in ("on_track", "at_risk"):
        text += f" · {STATUS_TEXT[figure.target_status]}"
    return text


def tile_target(figure: KpiFigure) -> str:
    """The short "vs target" line of a tile: the gap for ratios, the attainment for volumes."""
    if figure.target is None:
        return "no target"
    target = kpi_value(figure.target, figure.kpi, figure.kind)
    if qtd_incomplete(figure):
        return f"QTD incomplete · {target}"
    if figure.kind == "ratio":
        gap = None if figure.qtd is None else figure.qtd - figure.target
        return f"{pts(gap)} vs {target}"
    return f"{pct(figure.attainment, 0)} of {target}"


def kpi_label(figures: Sequence[KpiFigure], kpi: str | None) -> str:
    """A KPI's printed label, or its id when the report does not carry it."""
    if kpi is None:
        return "—"
    return next((f.label for f in figures if f.kpi == kpi), kpi)


def quarter_targets(report: MonthlyReport) -> list[KpiFigure]:
    return [f for f in report.kpis if f.target is not None]


def elapsed(report: MonthlyReport) -> float | None:
    return report.kpis[0].elapsed_share if report.kpis else None
