"""Inline SVG trend charts: axes, target line, gaps, escaping, nothing active or fetched."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from oemkpi.months import month_short
from oemkpi.reports.charts import nice_ticks, render_chart, tick_labels
from oemkpi.reports.model import Chart, Series

MONTHS = [f"{2025 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(13)]  # 2025-10..2026-10


def share_chart(**changes) -> Chart:
    values = [0.953 - 0.0035 * i for i in range(13)]
    values[6] = None  # no windows_share data in April 2026
    fields = {
        "key": "windows_share",
        "title": "Windows share",
        "kind": "ratio",
        "series": [Series("Windows share", list(zip(MONTHS, values, strict=True)))],
        "target": 0.95,
        "target_label": "Quarter target",
    }
    fields.update(changes)
    return Chart(**fields)


def group(svg: str, css_class: str) -> str:
    match = re.search(rf'<g class="{css_class}">(.*?)</g>\n(?=<g class|</g>)', svg, re.S)
    assert match is not None, css_class
    return match.group(1)


def test_chart_is_accessible_scalable_inline_svg():
    svg = render_chart(share_chart())
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert 'viewBox="0 0 640 240"' in svg and 'width="100%"' in svg
    assert 'role="img"' in svg
    assert "<title>Windows share</title>" in svg
    label = re.search(r'aria-label="([^"]*)"', svg)
    assert label is not None
    assert label.group(1) == (
        "Windows share, Oct 25 to Oct 26; latest: Windows share 91.1 % in Oct 26; "
        "Quarter target 95.0 %."
    )
    lowered = svg.lower()
    for banned in ("<script", "href", "<image", "<foreignobject", "url(", "@import", " on"):
        assert banned not in lowered


def test_axes_have_labels():
    svg = render_chart(share_chart())
    y_labels = re.findall(r'<text class="y-label"[^>]*>([^<]*)</text>', svg)
    assert y_labels == ["91 %", "92 %", "93 %", "94 %", "95 %", "96 %"]
    x_labels = re.findall(r'<text class="x-label"[^>]*>([^<]*)</text>', svg)
    # 13 months are crowded: every other month, counted back from the newest.
    assert x_labels == ["Oct 25", "Dec 25", "Feb 26", "Apr 26", "Jun 26", "Aug 26", "Oct 26"]


def test_few_months_are_all_labelled():
    chart = Chart("mix", "Mix", "ratio", [Series("Pro mix", [(m, 0.4) for m in MONTHS[:4]])])
    x_labels = re.findall(r'<text class="x-label"[^>]*>([^<]*)</text>', render_chart(chart))
    assert x_labels == ["Oct 25", "Nov 25", "Dec 25", "Jan 26"]


def test_target_line_is_dashed_and_labelled():
    svg = render_chart(share_chart())
    line = re.search(r'<line class="target"[^>]*>', svg)
    assert line is not None and "stroke-dasharray" in line.group(0)
    assert ">Quarter target 95.0 %</text>" in svg
    assert 'class="target"' not in render_chart(share_chart(target=None, target_label=None))


def test_none_point_breaks_the_line():
    svg = render_chart(share_chart())
    paths = re.findall(r'<path class="line" d="([^"]*)"', group(svg, "series series-0"))
    assert len(paths) == 2
    assert [p.count("L") + 1 for p in paths] == [6, 6]  # Oct 25..Mar 26, May 26..Oct 26
    # Every known point still gets its marker, with a tooltip.
    assert svg.count("<title>Windows share, ") == 12
    assert "<title>Windows share, Apr 26" not in svg


def test_nan_point_breaks_the_line_like_none():
    points = [(m, 0.5 + 0.01 * i) for i, m in enumerate(MONTHS)]
    points[3] = (MONTHS[3], float("nan"))
    svg = render_chart(Chart("x", "X", "ratio", [Series("S", points)]))
    assert len(re.findall(r'<path class="line"', svg)) == 2
    assert "nan" not in svg.lower()


def test_lone_point_gets_a_marker_but_no_line():
    points = [(m, None) for m in MONTHS]
    points[12] = (MONTHS[12], 0.5)
    svg = render_chart(Chart("x", "X", "ratio", [Series("Only", points)]))
    assert '<path class="line"' not in svg
    assert "<circle" in group(svg, "series series-0")


def test_series_differ_by_more_than_colour():
    series = [Series(f"S{i}", [(m, 1000.0 * (i + 1)) for m in MONTHS]) for i in range(3)]
    svg = render_chart(Chart("shipments", "Shipments", "volume", series))
    styles = []
    for i in range(3):
        body = group(svg, f"series series-{i}")
        dash = re.search(r'<path class="line"[^>]*?(stroke-dasharray="[^"]*")?/>', body)
        shape = re.search(r"<(circle|rect|polygon)", body)
        assert dash is not None and shape is not None
        styles.append((dash.group(1), shape.group(1)))
    assert len(set(styles)) == 3
    legend = group(svg, "legend")
    assert [t for t in re.findall(r">([^<>]+)</text>", legend)] == ["S0", "S1", "S2"]


def test_text_is_escaped():
    chart = Chart(
        "x",
        "Share <b>&</b>",
        "ratio",
        [Series("Aero&14 <Pro>", [(m, 0.5) for m in MONTHS])],
        0.6,
        "<i>goal</i>",
    )
    svg = render_chart(chart)
    assert "<b>" not in svg and "<i>" not in svg and "<Pro>" not in svg
    assert "<title>Share &lt;b&gt;&amp;&lt;/b&gt;</title>" in svg
    assert ">Aero&amp;14 &lt;Pro&gt;</text>" in svg
    assert ">&lt;i&gt;goal&lt;/i&gt; 60.0 %</text>" in svg


@pytest.mark.parametrize(
    "series",
    [
        [],
        [Series("Empty", [])],
        [Series("All none", [(m, None) for m in MONTHS]), Series("Also", [(MONTHS[0], None)])],
    ],
)
def test_no_data_says_so(series: list[Series]):
    svg = render_chart(Chart("attach", "Server <attach>", "ratio", series, 0.5))
    assert svg.startswith("<svg ") and ">No data</text>" in svg
    assert 'role="img"' in svg and "Server &lt;attach&gt;: no data" in svg
    assert "<path" not in svg


@pytest.mark.parametrize(
    ("low", "high", "kind", "expected"),
    [
        (0.91, 0.953, "ratio", [0.91, 0.92, 0.93, 0.94, 0.95, 0.96]),
        (0.31, 0.62, "ratio", [0.3, 0.4, 0.5, 0.6, 0.7]),
        (0.9, 0.9, "ratio", [0.89, 0.895, 0.9, 0.905, 0.91]),
        (0.0, 0.0, "ratio", [0.0, 0.002, 0.004, 0.006, 0.008, 0.01]),
        (12_000, 18_500, "volume", [0, 5_000, 10_000, 15_000, 20_000]),
        (0, 0, "volume", [0, 1, 2, 3, 4]),
        (3, 7, "volume", [0, 2, 4, 6, 8]),
        (950_000, 1_020_000, "volume", [0, 250_000, 500_000, 750_000, 1_000_000, 1_250_000]),
    ],
)
def test_nice_ticks(low, high, kind, expected):
    assert nice_ticks(low, high, kind=kind) == pytest.approx(expected)


@pytest.mark.parametrize("kind", ["ratio", "volume"])
def test_nice_ticks_always_cover_the_range_with_four_to_six_ticks(kind):
    for low, high in [(0.0123, 0.0789), (0.5, 0.5004), (1, 999), (7, 123_456_789), (0.2, 0.95)]:
        ticks = nice_ticks(low, high, kind=kind)
        assert 4 <= len(ticks) <= 6, (low, high, ticks)
        assert ticks[0] <= low + 1e-12 and ticks[-1] >= high - 1e-12


@pytest.mark.parametrize(
    ("ticks", "kind", "expected"),
    [
        ([0.9, 0.92, 0.94], "ratio", ["90 %", "92 %", "94 %"]),
        ([0.89, 0.895, 0.9], "ratio", ["89.0 %", "89.5 %", "90.0 %"]),
        ([-0.05, 0.0, 0.05], "ratio", ["−5 %", "0 %", "5 %"]),
        ([0, 2_000, 4_000, 6_000], "volume", ["0", "2,000", "4,000", "6,000"]),
        ([0, 5_000, 10_000, 15_000], "volume", ["0", "5k", "10k", "15k"]),
        ([0, 500_000, 1_000_000, 1_500_000], "volume", ["0", "0.5M", "1.0M", "1.5M"]),
        ([0, 2_500_000, 5_000_000], "volume", ["0", "2.5M", "5.0M"]),
    ],
)
def test_tick_labels(ticks, kind, expected):
    assert tick_labels(ticks, kind) == expected


@pytest.mark.parametrize(
    ("month", "expected"),
    [("2025-10", "Oct 25"), ("2026-01", "Jan 26"), ("2026-13", "2026-13"), ("Oct", "Oct")],
)
def test_month_short(month, expected):
    assert month_short(month) == expected
