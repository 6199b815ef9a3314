"""The executive summary's sentences, computed from the month's figures.

Each sentence names what moved, by how much and where, largest contributions
first; nothing is said that the data does not show. A KPI without data gets
no sentence (the tiles say "n/a"); a month without a prior month says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from oemkpi.formats import compact, pct, size_pts, size_rel, usd
from oemkpi.months import add_months, month_label
from oemkpi.reports.model import AssortmentItem, FeedState, ForecastRow, KpiFigure, RedFlag

MAX_SENTENCES = 6
#: A move this large counts as one unit of "news" when ranking what to say.
_SALIENCE = {
    "windows_share": 0.01,
    "forecast_attainment": 0.10,
    "office_attach": 0.02,
    "pro_mix": 0.01,
    "license_revenue_usd": 0.05,
}


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
    """3-6 sentences: shipments, competitive losses, the biggest movers, then the red flags.

    Red flags whose story an earlier sentence already tells are counted, not repeated.
    """
    prior = month_label(add_months(month, -1))
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
    covered: set[str] = set()
    losses = _losses(assortment, flags, country_names)
    if losses:
        sentences.append(losses)
        covered |= {"competitive_loss", "windows_share_drop"}
    flagged = {f.kpi for f in flags if f.kpi and f.rule not in covered | {"target_gap"}}
    movers: list[tuple[float, str, str]] = []
    for kpi, scale in _SALIENCE.items():
        figure = figures.get(kpi)
        if figure is None or figure.value is None:
            continue
        text = _mover(
            figure,
            prior,
            contributions,
            [] if losses else assortment,
            country_names,
            forecast_rows,
        )
        if text:
            # A move that raised a red flag is told before any move that did not.
            boost = 100.0 if kpi in flagged else 0.0
            movers.append((boost + _salience(figure, scale), kpi, text))
    movers.sort(key=lambda m: -m[0])
    chosen = movers[: MAX_SENTENCES - len(sentences) - 1]
    sentences += [text for _, _, text in chosen]
    covered |= {_MOVER_RULES[kpi] for _, kpi, _ in chosen if kpi in _MOVER_RULES}
    sentences.append(_flags(flags, covered))
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
        return f"PC shipments for {month_label(month)} are unavailable: the pc_shipments feed is {status}."
    text = f"{partner} shipped {compact(figure.value)} PCs in {month_label(month)}"
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
            f"({sign}{compact(abs(top['units_change']))} units)"
        )
    return text + "."


def _signed_rel(change: float) -> str:
    if abs(change) < 0.0005:
        return "flat"
    return f"{'up' if change > 0 else 'down'} {size_rel(change)}"


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
        text = f"Shipments reached {pct(value)} of forecast"
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
            text += (
                f", weakest in {weakest.country_name} {weakest.segment} ({pct(weakest.attainment)})"
            )
        return text + "."
    if figure.kpi == "license_revenue_usd":
        if figure.mom_change is None:
            return f"Licence revenue was {usd(value)}; there is no {prior} figure to compare with."
        return f"Licence revenue was {usd(value)}, {_signed_rel(figure.mom_change)} on {prior}."
    if figure.mom_change is None:
        return f"{figure.label} is {pct(value)}; there is no {prior} figure to compare with."
    change = figure.mom_change
    direction = _direction(change, relative=False)
    if direction == "held steady":
        return f"{figure.label} held steady at {pct(value)}."
    text = f"{figure.label} {direction} {size_pts(change)} to {pct(value)}"
    column = {
        "windows_share": "windows_share_contribution",
        "office_attach": "office_attach_contribution",
    }.get(figure.kpi)
    if column:
        top = _largest(contributions, column)
        # Name a driver only when it moved the same way and carries a real part of the change.
        if top is not None and top[column] * change > 0 and abs(top[column]) >= 0.3 * abs(change):
            text += f", driven by {_where(top['country'], top['segment'], names)} ({size_pts(top[column])} of it)"
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


#: The red-flag rule a mover's sentence speaks for (its figure is the flag's subject).
_MOVER_RULES = {"forecast_attainment": "forecast_miss", "office_attach": "attach_drop"}
#: Each rule in words, singular and plural.
_RULE_WORDS = {
    "competitive_loss": ("competitive loss", "competitive losses"),
    "windows_share_drop": ("Windows share drop", "Windows share drops"),
    "forecast_miss": ("forecast miss", "forecast misses"),
    "attach_drop": ("attach drop", "attach drops"),
    "target_gap": ("target gap", "target gaps"),
    "data_quality": ("data-quality issue", "data-quality issues"),
    "missing_partner_data": ("feed without the partner's rows", "feeds without the partner's rows"),
}


def _losses(
    assortment: Sequence[AssortmentItem], flags: Sequence[RedFlag], names: Mapping[str, str]
) -> str | None:
    """Where Windows SKUs went to another OS, when that raised a competitive-loss flag."""
    if not any(f.rule == "competitive_loss" for f in flags):
        return None
    groups: dict[tuple[str, str], list[AssortmentItem]] = {}
    for item in assortment:
        if item.reason == "competitive":
            groups.setdefault((item.country, item.segment), []).append(item)
    if not groups:
        return None

    def units(items: Sequence[AssortmentItem]) -> float:
        return sum(i.prior_units or 0 for i in items)

    (country, segment), items = max(groups.items(), key=lambda g: (units(g[1]), g[0]))
    to_os = Counter(i.to_os for i in items).most_common(1)[0][0]
    count = len(items)
    text = (
        f"In {_where(country, segment, names)}, {_count_word(count)} Windows "
        f"SKU{'s' if count > 1 else ''} moved to {_os_name(to_os)} "
        f"({compact(units(items))} units last month)"
    )
    drop = next(
        (
            f
            for f in flags
            if f.rule == "windows_share_drop" and f.scope == country and f.value is not None
        ),
        None,
    )
    if drop is not None and drop.value is not None:
        text += f"; Windows share in {names.get(country, country)} fell {size_pts(drop.value)}"
    others = [i for key, group in groups.items() if key != (country, segment) for i in group]
    if others:
        text += (
            f"; {_count_word(len(others))} more SKU{'s' if len(others) > 1 else ''} "
            "left Windows elsewhere"
        )
    return text + "."


def _flags(flags: Sequence[RedFlag], covered: set[str] | frozenset[str] = frozenset()) -> str:
    """How many red flags of which rules; the first high one no sentence has told, in full."""
    if not flags:
        return "No red flags this month."
    if len(flags) == 1:
        (flag,) = flags
        return f"One red flag ({flag.severity}): {flag.message}"
    high = [f for f in flags if f.severity == "high"]
    counts = Counter(f.rule for f in flags)
    order = list(_RULE_WORDS)
    rules = sorted(counts, key=lambda r: (-counts[r], order.index(r) if r in order else len(order)))
    parts = []
    for rule in rules:
        one, many = _RULE_WORDS.get(rule, (rule, rule))
        parts.append(f"{counts[rule]} {one if counts[rule] == 1 else many}")
    text = f"{len(flags)} red flag{'s' if len(flags) != 1 else ''} ({len(high)} high): "
    text += ", ".join(parts) + "."
    lead = next((f for f in high if f.rule not in covered), None)
    return f"{text} {lead.message}" if lead is not None else text
