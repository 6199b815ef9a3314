"""13-month trend charts as inline SVG: no JavaScript, nothing fetched, prints in greyscale.

Pure functions from a :class:`~oemkpi.reports.model.Chart` to SVG markup. Every
series has its own colour, dash pattern and marker shape, so the lines stay
apart on a black-and-white printout; a ``None`` point breaks the line. Every
piece of text is escaped here, because series names and titles may one day
carry data.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from oemkpi.formats import num, pct
from oemkpi.months import month_short
from oemkpi.reports.model import Chart, KpiKind

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 58
MARGIN_RIGHT = 18
MARGIN_TOP = 34
MARGIN_BOTTOM = 30
PLOT_LEFT = MARGIN_LEFT
PLOT_RIGHT = WIDTH - MARGIN_RIGHT
PLOT_TOP = MARGIN_TOP
PLOT_BOTTOM = HEIGHT - MARGIN_BOTTOM
#: Narrowest room an x label gets before every other label is dropped.
MIN_LABEL_SPACING = 48.0
#: Room between the plot edge and the first/last month, so edge labels are not clipped.
X_PAD = 20.0

#: (colour, dash pattern, marker): dark/mid/light tones plus dashes and shapes for greyscale.
SERIES_STYLES: tuple[tuple[str, str | None, str], ...] = (
    ("#1f4e79", None, "circle"),
    ("#c55a11", "7 4", "square"),
    ("#5b8f3a", "2 3", "triangle"),
    ("#7f6084", "9 3 2 3", "diamond"),
)
TARGET_COLOUR = "#444444"
GRID_COLOUR = "#e3e3e3"
AXIS_COLOUR = "#888888"
TEXT_COLOUR = "#333333"
FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
_STEPS = (1.0, 2.0, 2.5, 5.0)


def _f(value: float) -> str:
    """A coordinate with one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _candidate_steps(span: float, kind: KpiKind) -> list[float]:
    exponent = math.floor(math.log10(span)) - 2
    steps = [m * 10.0**e for e in range(exponent, exponent + 4) for m in _STEPS]
    # Units come whole: a volume axis never counts in fractions.
    return [s for s in steps if kind == "ratio" or s >= 1.0] or [1.0]


def _ticks_for(low: float, high: float, step: float) -> list[float]:
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round((first + i) * step, 12) for i in range(last - first + 1)]


def nice_ticks(low: float, high: float, *, kind: KpiKind = "volume") -> list[float]:
    """4-6 evenly spaced round tick values covering ``low``..``high``.

    Volumes start at zero when all values are positive, so growth is not
    exaggerated; ratios zoom in on their range, where a point of share matters.
    """
    low, high = min(low, high), max(low, high)
    if kind == "volume" and low > 0:
        low = 0.0
    if high == low:
        pad = 0.01 if kind == "ratio" else max(abs(high) * 0.1, 4.0)
        floor = 0.0 if low >= 0 else -math.inf
        low, high = max(low - pad, floor), high + pad
    if kind == "volume":
        # Whole-unit steps need a span of at least three units for four ticks.
        high = max(high, math.floor(low) + 3)
    candidates = [_ticks_for(low, high, step) for step in _candidate_steps(high - low, kind)]
    fitting = [ticks for ticks in candidates if 4 <= len(ticks) <= 6]
    if fitting:
        return fitting[0]
    return min(candidates, key=lambda ticks: (abs(len(ticks) - 5), len(ticks)))


def _decimals(step: float) -> int:
    for places in range(4):
        if abs(round(step, places) - step) < 1e-9:
            return places
    return 4


def _half_up(value: float, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    text = str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    return "0" + text[2:] if text.startswith("-0") and not text.strip("-0.") else text


def _minus(text: str) -> str:
    return "\u2212" + text[1:] if text.startswith("-") else text


def tick_labels(ticks: Sequence[float], kind: KpiKind) -> list[str]:
    """Axis labels: percents for ratios, thousands separators or k/M for volumes."""
    if not ticks:
        return []
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    if kind == "ratio":
        places = _decimals(step * 100)
        return [_minus(f"{_half_up(t * 100, places)} %") for t in ticks]
    top = max(abs(t) for t in ticks)
    if top >= 1_000_000:
        divisor, suffix = 1_000_000.0, "M"
    elif top >= 10_000:
        divisor, suffix = 1_000.0, "k"
    else:
        places = _decimals(step)
        return [_minus(f"{Decimal(_half_up(t, places)):,}") for t in ticks]
    places = _decimals(step / divisor)
    return [_minus(f"{_half_up(t / divisor, places)}{suffix}") if t else "0" for t in ticks]


def value_label(value: float | None, kind: KpiKind) -> str:
    """One value as the chart's tooltips and descriptions show it."""
    if value is None:
        return "no data"
    return pct(value) if kind == "ratio" else num(value)


def _known(value: float | None) -> bool:
    """A point to draw: not missing, and not a NaN/infinity from a division by zero."""
    return value is not None and math.isfinite(value)


def _months(chart: Chart) -> list[str]:
    months: list[str] = []
    for series in chart.series:
        for month, _ in series.points:
            if month not in months:
                months.append(month)
    return sorted(months)


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return (
            f'<rect x="{_f(x - 2.6)}" y="{_f(y - 2.6)}" width="5.2" height="5.2" fill="{colour}"/>'
        )
    if shape == "triangle":
        points = f"{_f(x)},{_f(y - 3.4)} {_f(x + 3.2)},{_f(y + 2.4)} {_f(x - 3.2)},{_f(y + 2.4)}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    if shape == "diamond":
        points = f"{_f(x)},{_f(y - 3.4)} {_f(x + 3.4)},{_f(y)} {_f(x)},{_f(y + 3.4)} {_f(x - 3.4)},{_f(y)}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="2.8" fill="{colour}"/>'


def _open_svg(label: str, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
    ]


def _no_data(chart: Chart) -> Markup:
    parts = _open_svg(f"{chart.title}: no data", chart.title, "No data for this chart.")
    parts.append(
        f'<rect x="{PLOT_LEFT}" y="{PLOT_TOP}" width="{PLOT_RIGHT - PLOT_LEFT}" '
        f'height="{PLOT_BOTTOM - PLOT_TOP}" fill="none" stroke="{GRID_COLOUR}"/>'
    )
    parts.append(
        f'<text x="{WIDTH / 2:g}" y="{HEIGHT / 2:g}" text-anchor="middle" font-size="14" '
        f'fill="{TEXT_COLOUR}" style="{FONT}">No data</text>'
    )
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _description(chart: Chart, months: list[str]) -> str:
    latest = []
    for series in chart.series:
        known = [(m, v) for m, v in series.points if v is not None and _known(v)]
        if known:
            month, value = known[-1]
            latest.append(f"{series.name} {value_label(value, chart.kind)} in {month_short(month)}")
    text = f"{chart.title}, {month_short(months[0])} to {month_short(months[-1])}"
    if latest:
        text += "; latest: " + ", ".join(latest)
    if chart.target is not None:
        text += f"; {chart.target_label or 'target'} {value_label(chart.target, chart.kind)}"
    return text + "."


def render_chart(chart: Chart) -> Markup:
    """The chart as an inline ``<svg>`` (640x240 viewBox, scales to its container's width).

    Lines per series with markers; a ``None`` point leaves a gap; y axis with 4-6 round
    ticks; x axis with short month labels (every other one when crowded, the newest
    month always labelled); a dashed target line, its value in the legend; a legend. All
    series without data give an SVG that says "No data".
    """
    if chart.target is not None and not math.isfinite(chart.target):
        chart = dataclasses.replace(chart, target=None)
    months = _months(chart)
    values = [v for s in chart.series for _, v in s.points if v is not None and _known(v)]
    if not months or not values:
        return _no_data(chart)
    low = min(values + ([chart.target] if chart.target is not None else []))
    high = max(values + ([chart.target] if chart.target is not None else []))
    ticks = nice_ticks(low, high, kind=chart.kind)
    y_min, y_max = ticks[0], ticks[-1]

    def y_of(value: float) -> float:
        span = (y_max - y_min) or 1.0
        return PLOT_BOTTOM - (value - y_min) / span * (PLOT_BOTTOM - PLOT_TOP)

    slot = (PLOT_RIGHT - PLOT_LEFT - 2 * X_PAD) / max(len(months) - 1, 1)

    def x_of(month: str) -> float:
        if len(months) == 1:
            return (PLOT_LEFT + PLOT_RIGHT) / 2
        return PLOT_LEFT + X_PAD + months.index(month) * slot

    description = _description(chart, months)
    parts = _open_svg(description, chart.title, description)
    parts.append(f'<g font-size="11" fill="{TEXT_COLOUR}" style="{FONT}">')

    # Grid and y axis labels.
    for tick, label in zip(ticks, tick_labels(ticks, chart.kind), strict=True):
        at = _f(y_of(tick))
        parts.append(
            f'<line class="grid" x1="{PLOT_LEFT}" y1="{at}" x2="{PLOT_RIGHT}" y2="{at}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="y-label" x="{PLOT_LEFT - 6}" y="{at}" dy="0.35em" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
    )

    # X axis labels, counted back from the newest month so it is always labelled.
    every = max(1, math.ceil(MIN_LABEL_SPACING / slot)) if len(months) > 1 else 1
    last = len(months) - 1
    for i, month in enumerate(months):
        if (last - i) % every:
            continue
        parts.append(
            f'<text class="x-label" x="{_f(x_of(month))}" y="{PLOT_BOTTOM + 17}" '
            f'text-anchor="middle">{escape(month_short(month))}</text>'
        )

    # Target line under the series; its value is labelled in the legend, where no
    # series point can sit on top of it (the newest points end where a label would).
    if chart.target is not None:
        at = _f(y_of(chart.target))
        parts.append(
            f'<line class="target" x1="{PLOT_LEFT}" y1="{at}" x2="{PLOT_RIGHT}" y2="{at}" '
            f'stroke="{TARGET_COLOUR}" stroke-width="1.2" stroke-dasharray="5 4"/>'
        )

    # Series: one path per unbroken run of points, then the markers with tooltips.
    for index, series in enumerate(chart.series):
        colour, dash, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        runs: list[list[tuple[float, float]]] = [[]]
        markers = []
        for month, value in series.points:
            if value is None or not _known(value):
                if runs[-1]:
                    runs.append([])
                continue
            x, y = x_of(month), y_of(value)
            runs[-1].append((x, y))
            tip = f"{series.name}, {month_short(month)}: {value_label(value, chart.kind)}"
            markers.append(f"<g>{_marker(shape, x, y, colour)}<title>{escape(tip)}</title></g>")
        parts.append(f'<g class="series series-{index}">')
        for run in runs:
            if len(run) < 2:
                continue
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{_f(x)},{_f(y)}" for i, (x, y) in enumerate(run)
            )
            parts.append(
                f'<path class="line" d="{path}" fill="none" stroke="{colour}" stroke-width="2" '
                f'stroke-linejoin="round"{dash_attr}/>'
            )
        parts.extend(markers)
        parts.append("</g>")

    # Legend along the top, each entry drawn with its line style and marker.
    x = float(PLOT_LEFT)
    parts.append('<g class="legend">')
    for index, series in enumerate(chart.series):
        colour, dash, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{_f(x)}" y1="14" x2="{_f(x + 24)}" y2="14" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        parts.append(_marker(shape, x + 12, 14, colour))
        parts.append(f'<text x="{_f(x + 30)}" y="14" dy="0.35em">{escape(series.name)}</text>')
        x += 30 + 6.2 * len(series.name) + 18
    if chart.target is not None:
        label = f"{chart.target_label or 'Target'} {value_label(chart.target, chart.kind)}"
        parts.append(
            f'<line x1="{_f(x)}" y1="14" x2="{_f(x + 24)}" y2="14" stroke="{TARGET_COLOUR}" '
            f'stroke-width="1.2" stroke-dasharray="5 4"/>'
        )
        parts.append(
            f'<text class="target-label" x="{_f(x + 30)}" y="14" dy="0.35em">{escape(label)}</text>'
        )
    parts.append("</g>")
    parts.append("</g>")
    parts.append("</svg>")
    return Markup("\n".join(parts))
