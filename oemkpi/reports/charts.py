"""13-month trend charts drawn with matplotlib: inline SVG for the HTML report, PNG for mail.

One chart definition (:class:`~oemkpi.reports.model.Chart`) gives both:
:func:`render_chart` returns the SVG (no script, nothing fetched, the same bytes on
every run) and, when asked, PNG bytes for messages whose readers' mail programs do
not show SVG. Every series has its own colour, dash pattern and marker, so the lines
stay apart on a black-and-white printout; a missing point breaks the line. A target
is a step line that takes each quarter's own target. The axes are ours
(:mod:`oemkpi.reports.chart_axes`): volumes from zero, ratios zoomed in on their values
and target, so the gap to the target is what the eye sees. The chart's description
(latest values and targets) is its text alternative, in the SVG and beside it.

Drawing a figure from nothing costs matplotlib about twice what redrawing one does, and
a backfill draws thousands: a process keeps one figure per layout and only changes its
data (:func:`_canvas`). Ids inside each SVG are prefixed with the chart's key, so
several charts inlined in one page never share an id.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from oemkpi.formats import num, pct
from oemkpi.months import month_short
from oemkpi.reports import chart_worker
from oemkpi.reports.chart_axes import nice_ticks, tick_labels
from oemkpi.reports.model import Chart, KpiKind, Series
from oemkpi.reports.words import mid_sentence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN = 3.6, 1.65
#: The most y ticks :func:`~oemkpi.reports.chart_axes.nice_ticks` gives.
MAX_TICKS = 6
PNG_DPI = 200
FONT_SIZE = 8.0
#: (colour, dash pattern, marker): dark/mid/light tones plus dashes and shapes for greyscale.
SERIES_STYLES: tuple[tuple[str, Any, str], ...] = (
    ("#1f4e79", "solid", "o"),
    ("#c55a11", (0, (5, 2.5)), "s"),
    ("#5b8f3a", (0, (1.5, 1.5)), "^"),
    ("#7f6084", (0, (6, 2, 1.5, 2)), "D"),
)
#: Stacked shares, bottom up: Windows first, then the other OS families.
BAR_COLOURS = ("#1f4e79", "#c55a11", "#5b8f3a", "#b8a03a", "#7f6084")
TARGET_COLOUR = "#333333"
#: The most legend entries on one line.
ONE_LINE_ENTRIES = 3
#: What one legend line holds, in characters of its names: the line is ~228 pt at
#: FONT_SIZE's legend size (~4.4 pt a character), and each entry's line sample and
#: spacing take about seven characters more.
LEGEND_LINE_CHARS = 52
LEGEND_ENTRY_CHARS = 7
#: A chart's targets, each its own dash pattern (dashes, then dots).
TARGET_DASHES: tuple[Any, ...] = ((0, (3, 2)), (0, (1, 1.5)))
GRID_COLOUR = "#e3e3e3"
TEXT_COLOUR = "#333333"
#: The charts a PAM's message shows per partner, as PNG (the report has them all as SVG).
MAIL_CHARTS = ("shipments", "windows_share", "revenue")
#: Text is left as text in the SVG; the page's own fonts show it.
SVG_FONTS = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, 'DejaVu Sans', sans-serif"
RC: dict[str, Any] = {
    "svg.hashsalt": "oemkpi",  # stable ids: the same chart gives the same bytes
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZE,
    "text.color": TEXT_COLOUR,
    "axes.labelcolor": TEXT_COLOUR,
    "xtick.color": TEXT_COLOUR,
    "ytick.color": TEXT_COLOUR,
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.6,
    "xtick.major.size": 0,
    "ytick.major.size": 0,
    "xtick.major.pad": 3,
    "ytick.major.pad": 3,
    "path.simplify": False,
    "text.parse_math": False,  # labels are plain text; "$" is a dollar
}


@dataclass(frozen=True)
class RenderedChart:
    """A chart as inline SVG for HTML and, when asked for, as PNG bytes for mail."""

    svg: Markup
    png: bytes | None
    description: str


def value_label(value: float | None, kind: KpiKind) -> str:
    """One value as the chart's description shows it."""
    if value is None:
        return "no data"
    return pct(value) if kind == "ratio" else num(value)


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _months(chart: Chart) -> list[str]:
    """The chart's months from the first with a value: the first months of the data drew a
    13-month axis with one dot at its right edge (or 8 months of lines after 5 empty)."""
    months = sorted({m for s in chart.series for m, _ in s.points})
    known = {m for s in chart.series for m, v in s.points if _known(v)}
    first = next((i for i, m in enumerate(months) if m in known), 0)
    return months[first:]


def describe(chart: Chart) -> str:
    """The chart in words: its span, each series' latest value, the target's steps."""
    months = _months(chart)
    if not months or not any(_known(v) for s in chart.series for _, v in s.points):
        return f"{chart.title}: no data."
    latest = []
    for series in chart.series:
        known = [(m, v) for m, v in series.points if _known(v)]
        if known:
            month, value = known[-1]
            latest.append(f"{series.name} {value_label(value, chart.kind)} in {month_short(month)}")
    text = f"{chart.title}, {month_short(months[0])} to {month_short(months[-1])}"
    if latest:
        text += "; latest: " + ", ".join(latest)
    for target in chart.targets:
        steps = target_steps(target, lambda value: value_label(value, chart.kind))
        if steps:
            text += f"; {steps}"
    return text + "."


def target_steps(target: Series, label: Callable[[float], str]) -> str:
    """ "Pro mix target 45.0 % from Oct 25, 46.0 % from Jan 26": each quarter's own target
    from the month it starts; empty without any."""
    steps, last = [], None
    for month, value in target.points:
        if value is not None and value != last:
            steps.append(f"{label(value)} from {month_short(month)}")
        last = value
    return f"{mid_sentence(target.name)} " + ", ".join(steps) if steps else ""


@dataclass
class _Canvas:
    """A figure kept for one layout; each chart of that layout only changes its data."""

    figure: Figure
    axes: Any
    artists: list[Any]  # a Line2D per series, or a BarContainer per stacked series
    targets: list[Any]  # a step Line2D per target
    legend: Any
    grid: Any  # the y grid lines, one collection
    baseline: Any
    x_texts: list[Any] = field(default_factory=list)
    y_texts: list[Any] = field(default_factory=list)


def _layout(chart: Chart, months: int) -> tuple[str, int, int, int, bool]:
    names = [s.name for s in chart.series] + [t.name for t in chart.targets]
    one_line = len(names) <= ONE_LINE_ENTRIES and (
        sum(len(n) + LEGEND_ENTRY_CHARS for n in names) <= LEGEND_LINE_CHARS
    )
    return (chart.style, len(chart.series), len(chart.targets), months, one_line)


@lru_cache(maxsize=32)
def _canvas(layout: tuple[str, int, int, int, bool]) -> _Canvas:
    # matplotlib is imported at the first chart, not with the code location (~0.6 s of
    # every process that loads the definitions: the UI, its daemon, workers).
    import matplotlib as mpl
    from matplotlib.figure import Figure

    style, count, target_count, months, one_line = layout
    with mpl.rc_context(RC):  # type: ignore[arg-type]
        figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=100)
        entries = count + target_count
        # Names longer than one line holds ("Shipped where forecast" beside two more; four
        # such as "Premium mix target"): the legend takes two lines and the plot gives way.
        columns = entries if one_line else math.ceil(entries / 2)
        axes = figure.add_axes((0.14, 0.16, 0.83, 0.62 if one_line else 0.54))
        # The axes are drawn here, not by matplotlib's Axis: the ticks and labels are ours
        # anyway (chart_axes), and its tick machinery is most of a redraw's cost.
        axes.set_axis_off()
        grid = axes.hlines([0.0] * MAX_TICKS, -0.6, months - 0.4, color=GRID_COLOUR, linewidth=0.6)
        grid.set_zorder(0.5)
        (baseline,) = axes.plot([-0.6, months - 0.4], [0.0, 0.0], color="#888888", linewidth=0.6)
        x_transform, y_transform = axes.get_xaxis_transform(), axes.get_yaxis_transform()
        x_texts = [
            axes.text(0, -0.05, "", ha="center", va="top", transform=x_transform, clip_on=False)
            for _ in range(months)
        ]
        y_texts = [
            axes.text(-0.015, 0, "", ha="right", va="center", transform=y_transform, clip_on=False)
            for _ in range(MAX_TICKS)
        ]
        xs = list(range(months))
        zeros = [0.0] * months
        artists: list[Any] = []
        handles: list[Any] = []
        if style == "stacked":
            for index in range(count):
                bars = axes.bar(xs, zeros, width=0.72, color=BAR_COLOURS[index % len(BAR_COLOURS)])
                for month, rect in enumerate(bars.patches):
                    rect.set_gid(f"series-{index}-{month}")
                artists.append(bars)
                handles.append(bars)
        else:
            for index in range(count):
                colour, dash, marker = SERIES_STYLES[index % len(SERIES_STYLES)]
                (line,) = axes.plot(
                    xs,
                    zeros,
                    color=colour,
                    linestyle=dash,
                    linewidth=1.4,
                    marker=marker,
                    markersize=2.6,
                    markeredgewidth=0,
                    gid=f"series-{index}",
                )
                artists.append(line)
                handles.append(line)
        targets = []
        for index in range(target_count):
            # One more point each side, so the first and last month's steps are whole.
            (target,) = axes.plot(
                [-1, *xs, months],
                [0.0, *zeros, 0.0],
                color=TARGET_COLOUR,
                linestyle=TARGET_DASHES[index % len(TARGET_DASHES)],
                linewidth=1.0,
                drawstyle="steps-mid",
                gid="target" if index == 0 else f"target-{index}",
            )
            targets.append(target)
            handles.append(target)
        legend = figure.legend(
            handles=handles,
            labels=[" "] * len(handles),
            loc="upper left",
            bbox_to_anchor=(0.12, 1.0),
            ncols=columns,
            frameon=False,
            fontsize=FONT_SIZE - 0.5,
            handlelength=2.2,
            columnspacing=1.0,
            borderaxespad=0.2,
        )
        axes.set_xlim(-0.6, months - 0.4)
    return _Canvas(figure, axes, artists, targets, legend, grid, baseline, x_texts, y_texts)


def _values(points: list[tuple[str, float | None]], months: list[str]) -> list[float]:
    by_month = dict(points)
    return [v if _known(v := by_month.get(m)) else math.nan for m in months]  # type: ignore[misc]


def _x_labels(months: list[str]) -> tuple[list[int], list[str]]:
    """Every third month, counted back from the newest so it is always labelled (with 13
    months: the same month of last year and each quarter between)."""
    last = len(months) - 1
    every = 3 if len(months) > 7 else 1
    ticks = [i for i in range(len(months)) if (last - i) % every == 0]
    return ticks, [month_short(months[i]) for i in ticks]


def _draw(chart: Chart, months: list[str]) -> _Canvas:
    canvas = _canvas(_layout(chart, len(months)))
    axes = canvas.axes
    values = [_values(s.points, months) for s in chart.series]
    targets = [_values(t.points, months) for t in chart.targets]
    if chart.style == "stacked":
        # Shares of a whole start at zero: each band's height is its share, so a reader
        # compares the families as they are (an axis from 80 % drew 8 % ChromeOS taller
        # than 88 % Windows).
        tops = [sum(v for v in column if not math.isnan(v)) for column in zip(*values, strict=True)]
        ticks = nice_ticks(0.0, max(tops + [1.0]), kind="ratio")
        bottoms = [0.0] * len(months)
        for bars, series_values in zip(canvas.artists, values, strict=True):
            for i, (rect, value) in enumerate(zip(bars.patches, series_values, strict=True)):
                rect.set_visible(not math.isnan(value))
                rect.set_y(bottoms[i])
                rect.set_height(0.0 if math.isnan(value) else value)
                bottoms[i] += 0.0 if math.isnan(value) else value
    else:
        known = [v for column in values for v in column if not math.isnan(v)]
        known += [v for target in targets for v in target if not math.isnan(v)]
        ticks = nice_ticks(min(known), max(known), kind=chart.kind)
        for line, series_values in zip(canvas.artists, values, strict=True):
            line.set_ydata(series_values)
    for line, target in zip(canvas.targets, targets, strict=True):
        line.set_ydata([target[0], *target, target[-1]])
    axes.set_ylim(ticks[0], ticks[-1])
    right = len(months) - 0.4
    canvas.grid.set_segments([[(-0.6, t), (right, t)] for t in ticks])
    canvas.baseline.set_ydata([ticks[0], ticks[0]])
    labels = tick_labels(ticks, chart.kind)
    for i, text in enumerate(canvas.y_texts):
        text.set_visible(i < len(ticks))
        if i < len(ticks):
            text.set_position((-0.015, ticks[i]))
            text.set_text(labels[i])
    positions, month_labels = _x_labels(months)
    shown = dict(zip(positions, month_labels, strict=True))
    for i, text in enumerate(canvas.x_texts):
        text.set_visible(i in shown)
        text.set_position((i, -0.05))
        text.set_text(shown.get(i, ""))
    names = [s.name for s in chart.series] + [t.name for t in chart.targets]
    for text, name in zip(canvas.legend.get_texts(), names, strict=True):
        text.set_text(name)
    return canvas


def _empty_svg(chart: Chart, description: str) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 360 190" '
        f'width="100%" role="img" aria-label="{escape(description)}">'
        f"<title>{escape(chart.title)}</title><desc>{escape(description)}</desc>"
        '<rect x="40" y="20" width="300" height="140" fill="none" stroke="#e3e3e3"/>'
        f'<text x="190" y="95" text-anchor="middle" font-size="12" fill="{TEXT_COLOUR}" '
        f'font-family="{escape(SVG_FONTS)}">No data</text></svg>'
    )


_ID_RE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
_OPEN_RE = re.compile(r"<svg\b[^>]*>")
_SIZE_RE = re.compile(r'\s(?:width|height)="[^"]*"')


def _inline(svg: str, chart: Chart, description: str) -> Markup:
    """matplotlib's SVG made fit to inline: no XML prolog or metadata, ids prefixed with
    the chart's key, scalable, with the title and description as its text alternative."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    prefix = f"c-{re.sub(r'[^a-z0-9-]', '-', chart.key.lower())}-"
    svg = _ID_RE.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)
    svg = svg.replace("'DejaVu Sans'", SVG_FONTS).replace('"DejaVu Sans"', SVG_FONTS)
    opening = _OPEN_RE.search(svg)
    assert opening is not None
    tag = _SIZE_RE.sub("", opening.group(0)[:-1])
    tag += (
        f' class="chart" width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-label="{escape(description)}">'
        f"<title>{escape(chart.title)}</title><desc>{escape(description)}</desc>"
    )
    return Markup(tag + svg[opening.end() :].rstrip() + "\n")


def render_chart(chart: Chart, *, png: bool = False) -> RenderedChart:
    """The chart as inline SVG and, with ``png``, as PNG bytes from the same drawing (as
    the drawing process drew it, when it was asked to: :mod:`~oemkpi.reports.chart_worker`)."""
    drawn = chart_worker.take(chart, png=png)
    if drawn is not None:
        return drawn
    description = describe(chart)
    canvas = _drawn(chart)
    if canvas is None:
        return RenderedChart(_empty_svg(chart, description), None, description)
    svg = _inline(_saved(canvas, "svg").decode("utf-8"), chart, description)
    return RenderedChart(svg, _saved(canvas, "png") if png else None, description)


def _drawn(chart: Chart) -> _Canvas | None:
    """The chart drawn on its layout's canvas; None when it has no value to show."""
    months = _months(chart)
    if not months or not any(_known(v) for s in chart.series for _, v in s.points):
        return None
    return _draw(chart, months)


def _saved(canvas: _Canvas, fmt: str) -> bytes:
    """The canvas's figure as SVG or PNG bytes, the same for the same drawing."""
    import matplotlib as mpl

    buffer = io.BytesIO()
    with mpl.rc_context(RC):  # type: ignore[arg-type]
        if fmt == "svg":
            canvas.figure.savefig(buffer, format="svg", metadata={"Date": None})
        else:
            canvas.figure.savefig(
                buffer, format="png", dpi=PNG_DPI, metadata={"Software": None}, facecolor="white"
            )
    return buffer.getvalue()


def chart_svg(chart: Chart) -> Markup:
    """The chart as an inline ``<svg>`` (scales to its container's width)."""
    return render_chart(chart).svg


def chart_png(chart: Chart) -> bytes | None:
    """The chart as PNG bytes, for a message part referenced by ``cid:``; None without data.
    Only the PNG is written (mail needs no SVG), unless the drawing process drew both."""
    drawn = chart_worker.take(chart, png=True)
    if drawn is not None:
        return drawn.png
    canvas = _drawn(chart)
    return _saved(canvas, "png") if canvas is not None else None
