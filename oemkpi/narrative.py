"""The executive summary's sentences, computed from the month's figures.

Each sentence names what moved, by how much and where, largest contributions
first; nothing is said that the data does not show. A KPI without data gets
no sentence (the tiles say "n/a"); a month without a prior month says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from oemkpi.months import add_months
from oemkpi.report_model import AssortmentItem, FeedState, ForecastRow, KpiFigure, RedFlag

MAX_SENTENCES = 6
#: A move this large counts as one unit of "news" when ranking what to say.
_SALIENCE = {
    "windows_share": 0.01,
    "forecast_attainment": 0.10,
    "office_attach": 0.02,
    "pro_mix": 0.01,
    "license_revenue_usd": 0.05,
}


def _month_name(month: str) -> str:
    import calendar

    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


def _pct(v: float) -> str:
    return f"{v * 100:.1f} %"


def _pts(v: float) -> str:
    return f"{abs(v) * 100:.1f} pts"


def _units(v: float) -> str:
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.2f}M"
    if abs(v) >= 10_000:
        return f"{v / 1000:.0f}k"
    return f"{v:,.0f}"


def _usd(v: float) -> str:
    return "$" + _units(v)


def _where(country: str, segment: str, names: Mapping[str, str]) -> str:
    return f"{names.get(country, country)} {segment}"


def _largest(contributions: Sequence[Mapping[str, Any]], column: str) -> Mapping[str, Any] | None:
    known = [c for c in contributions if c.get(column) is not None]
    return max(known, key=lambda c: abs(c[column]), default=None)


def summary_sentences(
    *,
    partner_name: str,
    month: str,
    figures: Mapping[str, KpiFigure],
    contributions: Sequence[Mapping[str, Any]],
    assortment: Sequence[AssortmentItem],
    flags: Sequence[RedFlag],
    country_names: Mapping[str, str],
    feeds: Sequence[FeedState],
    forecast_rows: Sequence[ForecastRow] = (),
) -> list[str]:
    """3-6 sentences: shipments, then the biggest movers, then the red flags."""
    prior = _month_name(add_months(month, -1))
    sentences = [
        _shipments(
            partner_name,
            month,
            prior,
            figures["shipped_units"],
            contributions,
            country_names,
            feeds,
        )
    ]
    movers: list[tuple[float, str]] = []
    for kpi, scale in _SALIENCE.items():
        figure = figures.get(kpi)
        if figure is None or figure.value is None:
            continue
        text = _mover(figure, prior, contributions, assortment, country_names, forecast_rows)
        if text:
            movers.append((_salience(figure, scale), text))
    movers.sort(key=lambda m: -m[0])
    sentences += [text for _, text in movers[: MAX_SENTENCES - 2]]
    sentences.append(_flags(flags))
    return sentences


def _salience(figure: KpiFigure, scale: float) -> float:
    if figure.kpi == "forecast_attainment":
        return max(0.0, 1 - (figure.value or 0)) / scale
    return abs(figure.mom_change or 0) / scale


def _direction(change: float, *, relative: bool) -> str:
    if abs(change) < (0.0005 if relative else 0.00005):
        return "held steady"
    return "rose" if change > 0 else "fell"


def _shipments(
    partner: str,
    month: str,
    prior: str,
    figure: KpiFigure,
    contributions: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
    feeds: Sequence[FeedState],
) -> str:
    if figure.value is None:
        status = next((f.status for f in feeds if f.feed == "pc_shipments"), "missing")
        return f"PC shipments for {_month_name(month)} are unavailable: the pc_shipments feed is {status}."
    text = f"{partner} shipped {_units(figure.value)} PCs in {_month_name(month)}"
    if figure.mom_change is None:
        return text + f"; there is no {prior} data to compare with."
    change = figure.mom_change
    text += f", {_signed_rel(change)} on {prior}"
    if figure.yoy_change is not None:
        text += f" and {_signed_rel(figure.yoy_change)} on a year ago"
    top = _largest(contributions, "units_change")
    if top is not None and top["units_change"]:
        sign = "+" if top["units_change"] > 0 else "−"
        text += (
            f"; the largest change came from {_where(top['country'], top['segment'], names)} "
            f"({sign}{_units(abs(top['units_change']))} units)"
        )
    return text + "."


def _signed_rel(change: float) -> str:
    if abs(change) < 0.0005:
        return "flat"
    return f"{'up' if change > 0 else 'down'} {abs(change) * 100:.1f} %"


def _mover(
    figure: KpiFigure,
    prior: str,
    contributions: Sequence[Mapping[str, Any]],
    assortment: Sequence[AssortmentItem],
    names: Mapping[str, str],
    forecast_rows: Sequence[ForecastRow],
) -> str | None:
    value = figure.value
    assert value is not None
    if figure.kpi == "forecast_attainment":
        text = f"Shipments reached {_pct(value)} of forecast"
        weakest = min(
            (
                r
                for r in forecast_rows
                if r.attainment is not None and (r.shipped_units or 0) >= 1000
            ),
            key=lambda r: r.attainment or 0,
            default=None,
        )
        if weakest is not None and weakest.attainment is not None and weakest.attainment < value:
            text += f", weakest in {weakest.country_name} {weakest.segment} ({_pct(weakest.attainment)})"
        return text + "."
    if figure.kpi == "license_revenue_usd":
        if figure.mom_change is None:
            return f"Licence revenue was {_usd(value)}; there is no {prior} figure to compare with."
        return f"Licence revenue was {_usd(value)}, {_signed_rel(figure.mom_change)} on {prior}."
    if figure.mom_change is None:
        return f"{figure.label} is {_pct(value)}; there is no {prior} figure to compare with."
    change = figure.mom_change
    direction = _direction(change, relative=False)
    if direction == "held steady":
        return f"{figure.label} held steady at {_pct(value)}."
    text = f"{figure.label} {direction} {_pts(change)} to {_pct(value)}"
    column = {
        "windows_share": "windows_share_contribution",
        "office_attach": "office_attach_contribution",
    }.get(figure.kpi)
    if column:
        top = _largest(contributions, column)
        # Name a driver only when it moved the same way and carries a real part of the change.
        if top is not None and top[column] * change > 0 and abs(top[column]) >= 0.3 * abs(change):
            text += f", driven by {_where(top['country'], top['segment'], names)} ({_pts(top[column])} of it)"
            if figure.kpi == "windows_share" and change < 0:
                moved = [
                    a
                    for a in assortment
                    if a.reason == "competitive"
                    and a.country == top["country"]
                    and a.segment == top["segment"]
                ]
                if moved:
                    to_os = Counter(a.to_os for a in moved).most_common(1)[0][0]
                    count = len(moved)
                    text += f", where {_count_word(count)} SKU{'s' if count > 1 else ''} moved to {_os_name(to_os)}"
    return text + "."


def _count_word(n: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[n] if n < len(words) else str(n)


def _os_name(os_family: str | None) -> str:
    return {
        "chromeos": "ChromeOS",
        "linux": "Linux",
        "freedos": "FreeDOS",
        "windows": "Windows",
    }.get(os_family or "", os_family or "another OS")


def _flags(flags: Sequence[RedFlag]) -> str:
    if not flags:
        return "No red flags this month."
    high = [f for f in flags if f.severity == "high"]
    text = f"{len(flags)} red flag{'s' if len(flags) != 1 else ''} ({len(high)} high)"
    lead = (high or list(flags))[0]
    return f"{text}; the most pressing: {lead.message}"
