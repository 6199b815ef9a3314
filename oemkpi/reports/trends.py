"""The 13-month trend charts' data: series per KPI, each quarter's own target, OS families.

A target belongs to its fiscal quarter: the chart's target is a step line that takes
each month's quarter's target (nothing for a quarter without one), so a raised target
shows where it was raised instead of being drawn back over earlier quarters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from oemkpi.months import add_months, fiscal_quarter
from oemkpi.reports.data import TREND_MONTHS
from oemkpi.reports.model import Chart, Series
from oemkpi.reports.words import os_name

#: OS families stacked from the bottom, Windows first.
OS_ORDER = ("windows", "chromeos", "linux", "freedos", "other")


def trend_months(month: str) -> list[str]:
    first = add_months(month, -(TREND_MONTHS - 1))
    return [add_months(first, i) for i in range(TREND_MONTHS)]


def quarter_targets(
    rows: Sequence[Mapping[str, Any]],
) -> dict[str, dict[str, float]]:
    """KPI -> fiscal quarter -> target, from ``select_partner_targets`` rows."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        out.setdefault(r["kpi"], {})[r["fiscal_quarter"]] = r["target"]
    return out


def target_series(
    kpi: str, months: Sequence[str], targets: Mapping[str, Mapping[str, float]], fy_start: int
) -> Series | None:
    by_quarter = targets.get(kpi, {})
    points = [(m, by_quarter.get(fiscal_quarter(m, fy_start))) for m in months]
    if all(v is None for _, v in points):
        return None
    return Series("Quarter target", points)


def build_charts(
    trend_rows: Sequence[Mapping[str, Any]],
    os_rows: Sequence[Mapping[str, Any]],
    month: str,
    targets: Mapping[str, Mapping[str, float]],
    fy_start: int,
) -> dict[str, Chart]:
    months = trend_months(month)
    trend = {r["month"]: r for r in trend_rows}

    def series(name: str, column: str) -> Series:
        return Series(name, [(m, (trend.get(m) or {}).get(column)) for m in months])

    def target(kpi: str, label: str) -> tuple[Series, ...]:
        found = target_series(kpi, months, targets, fy_start)
        return (Series(label, found.points),) if found else ()

    def ratios(key: str, title: str, *kpis: tuple[str, str]) -> Chart:
        """A chart of each KPI's series and its target, leaving out a KPI with no month of
        data (a partner with no Server base: a legend entry with no line, under a title
        naming it), unless none has."""
        drawn = [(series(label, kpi), target(kpi, f"{label} target")) for kpi, label in kpis]
        known = [d for d in drawn if any(v is not None for _, v in d[0].points)] or drawn
        return Chart(
            key,
            title if len(known) == len(drawn) else " and ".join(s.name for s, _ in known),
            "ratio",
            [s for s, _ in known],
            tuple(t for _, ts in known for t in ts),
        )

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
            target("windows_share", "Quarter target"),
        ),
        # The target is on the Windows share chart beside it, zoomed in where a point of share
        # shows; on bars from 0 % it merged with the Windows band's top.
        "os_families": os_chart(os_rows, months),
        "mix": ratios(
            "mix", "Pro and premium mix", ("pro_mix", "Pro mix"), ("premium_mix", "Premium mix")
        ),
        "revenue": Chart(
            "revenue",
            "Licence revenue (USD)",
            "volume",
            [series("Licence revenue", "license_revenue_usd")],
        ),
        "attach": ratios(
            "attach",
            "Office and Server attach",
            ("office_attach", "Office attach"),
            ("server_attach", "Server attach"),
        ),
    }


def os_chart(rows: Sequence[Mapping[str, Any]], months: Sequence[str]) -> Chart:
    """Each OS family's share of the partner's units per month, stacked, Windows first
    (its band is the Windows share)."""
    units: dict[str, dict[str, float]] = {}
    for r in rows:
        units.setdefault(r["month"], {})[r["os_family"]] = float(r["units"] or 0)
    families = [f for f in OS_ORDER if any(f in units.get(m, {}) for m in months)]
    series = []
    for family in families:
        points: list[tuple[str, float | None]] = []
        for m in months:
            total = sum(units.get(m, {}).values())
            points.append((m, units[m].get(family, 0.0) / total if total else None))
        series.append(Series(os_name(family) if family != "other" else "Other", points))
    return Chart("os_families", "Windows share by OS family", "ratio", series, style="stacked")
