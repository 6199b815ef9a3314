"""Trend charts from matplotlib: inline SVG (accessible, deterministic, ids of its own,
nothing active or fetched) and PNG from one definition; our own axes and each quarter's
own target."""

from __future__ import annotations

import io
import re

import pytest
from markupsafe import Markup
from PIL import Image

from oemkpi.months import month_short
from oemkpi.reports import chart_worker
from oemkpi.reports import charts as charts_module
from oemkpi.reports.chart_axes import nice_ticks, tick_labels
from oemkpi.reports.charts import chart_png, describe, render_chart
from oemkpi.reports.model import Chart, Series

MONTHS = [f"{2025 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(13)]  # 2025-10..2026-10
#: Each quarter's own target: FY26-Q2 .. FY27-Q2 with the default July start.
TARGETS = [0.95] * 3 + [0.93] * 3 + [0.94] * 3 + [0.93] * 3 + [0.96]


def share_chart(**changes) -> Chart:
    values = [0.953 - 0.0035 * i for i in range(13)]
    values[6] = None  # no windows_share data in April 2026
    fields = {
        "key": "windows_share",
        "title": "Windows share",
        "kind": "ratio",
        "series": [Series("Windows share", list(zip(MONTHS, values, strict=True)))],
        "targets": (Series("Quarter target", list(zip(MONTHS, TARGETS, strict=True))),),
    }
    fields.update(changes)
    return Chart(**fields)


def series_path(svg: str, index: int = 0) -> str:
    match = re.search(rf'<g id="c-[a-z-]+-series-{index}">\s*<path d="([^"]+)"', svg)
    assert match is not None
    return match.group(1)


def texts(svg: str) -> list[str]:
    return re.findall(r">([^<>]+)</text>", svg)


def test_chart_is_accessible_scalable_inline_svg():
    svg = render_chart(share_chart()).svg
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata" not in svg
    opening = svg[: svg.index(">") + 1]
    assert 'role="img"' in opening and 'width="100%"' in opening and "viewBox=" in opening
    assert 'height="' not in opening
    assert "<title>Windows share</title>" in svg
    description = describe(share_chart())
    assert f"<desc>{description}</desc>" in svg and f'aria-label="{description}"' in svg
    assert description == (
        "Windows share, Oct 25 to Oct 26; latest: Windows share 91.1 % in Oct 26; quarter target "
        "95.0 % from Oct 25, 93.0 % from Jan 26, 94.0 % from Apr 26, 93.0 % from Jul 26, "
        "96.0 % from Oct 26."
    )
    lowered = svg.lower()
    assert (
        "<script" not in lowered
        and "<image" not in lowered
        and "http://"
        not in lowered.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
            'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
        )
    )


def test_the_same_chart_gives_the_same_bytes_whatever_was_drawn_before():
    first = render_chart(share_chart()).svg
    render_chart(share_chart(key="mix", series=[Series("Pro mix", [(m, 0.4) for m in MONTHS])]))
    render_chart(share_chart(targets=()))
    assert render_chart(share_chart()).svg == first


def test_ids_are_prefixed_so_charts_share_a_page():
    one = render_chart(share_chart()).svg
    two = render_chart(share_chart(key="attach")).svg
    ids_one = set(re.findall(r'\bid="([^"]+)"', one))
    ids_two = set(re.findall(r'\bid="([^"]+)"', two))
    assert ids_one and not ids_one & ids_two
    assert all(i.startswith("c-windows-share-") for i in ids_one)
    # Every reference points at an id of its own chart.
    for ref in re.findall(r'(?:url\(#|href="#)([^")]+)', one):
        assert ref in ids_one


def test_axes_show_the_values_and_the_target_not_zero():
    svg = render_chart(share_chart()).svg
    labels = texts(svg)
    # Every third month back from the newest: a year ago and each quarter between.
    assert labels[:5] == ["Oct 25", "Jan 26", "Apr 26", "Jul 26", "Oct 26"]
    assert labels[5:11] == ["91 %", "92 %", "93 %", "94 %", "95 %", "96 %"]
    assert labels[11:] == ["Windows share", "Quarter target"]
    volume = render_chart(
        Chart("revenue", "Revenue", "volume", [Series("Revenue", [(m, 1.2e6) for m in MONTHS])])
    ).svg
    assert texts(volume)[5] == "0"  # volumes start at zero


def test_each_quarter_has_its_own_target_step():
    svg = render_chart(share_chart()).svg
    match = re.search(r'<g id="c-windows-share-target">\s*<path d="([^"]+)"', svg)
    assert match is not None
    ys = sorted({round(float(y), 3) for y in re.findall(r"[ML] [\d.]+ ([\d.]+)", match.group(1))})
    assert len(ys) == 4  # 95, 93, 94 and 96 %, each at its own height


def test_none_and_nan_points_break_the_line():
    path = series_path(render_chart(share_chart()).svg)
    assert path.count("M") == 2 and path.count("L") == 10
    values = [0.95, 0.94, float("nan"), 0.93] + [0.92] * 9
    nan = share_chart(series=[Series("S", list(zip(MONTHS, values, strict=True)))])
    assert series_path(render_chart(nan).svg).count("M") == 2


def test_series_differ_by_more_than_colour():
    chart = share_chart(
        key="mix",
        targets=(),
        series=[Series(f"S{i}", [(m, 0.3 + 0.1 * i) for m in MONTHS]) for i in range(3)],
    )
    svg = render_chart(chart).svg
    styles = [
        re.search(rf'<g id="c-mix-series-{i}">\s*<path d="[^"]+" [^>]*style="([^"]+)"', svg)
        for i in range(3)
    ]
    dashes = {re.search(r"stroke-dasharray: ([^;]+)", s.group(1)) is not None for s in styles if s}
    assert dashes == {True, False}  # solid and dashed lines
    markers = set(re.findall(r'<path id="(c-mix-m[0-9a-f]+)"', svg))
    assert len(markers) == 3  # a marker shape per series


def test_stacked_shares_of_os_families():
    chart = Chart(
        "os_families",
        "Units by OS family",
        "ratio",
        [
            Series("Windows", [(m, 0.9) for m in MONTHS]),
            Series("ChromeOS", [(m, 0.07) for m in MONTHS]),
            Series("Linux", [(m, 0.03) for m in MONTHS]),
        ],
        style="stacked",
    )
    svg = render_chart(chart).svg
    for index in range(3):
        assert f'id="c-os-families-series-{index}-12"' in svg
    assert texts(svg)[-3:] == ["Windows", "ChromeOS", "Linux"]
    assert {"0 %", "100 %"} <= set(texts(svg))
    # From zero, each band is as tall as its share: Windows 0.9 / ChromeOS 0.07 / Linux 0.03.
    heights = [_bar_height(svg, f"c-os-families-series-{index}-12") for index in range(3)]
    assert heights[0] / heights[1] == pytest.approx(0.9 / 0.07, rel=1e-3)
    assert heights[1] / heights[2] == pytest.approx(0.07 / 0.03, rel=1e-3)
    assert "above zero" not in describe(chart)


def _legend_chart(key: str, names: list[str], targets: list[str], **changes) -> Chart:
    return Chart(
        key,
        key,
        "ratio",
        [Series(n, [(m, 0.4 + i / 10) for m in MONTHS]) for i, n in enumerate(names)],
        tuple(Series(n, [(m, 0.45 + i / 10) for m in MONTHS]) for i, n in enumerate(targets)),
        **changes,
    )


@pytest.mark.parametrize(
    ("chart", "lines"),
    [
        (_legend_chart("shipments", ["Shipped", "Forecast", "Shipped where forecast"], []), 2),
        (_legend_chart("windows_share", ["Windows share"], ["Quarter target"]), 1),
        (_legend_chart("shipments", ["Shipped", "Forecast"], []), 1),
        (
            _legend_chart(
                "mix", ["Pro mix", "Premium mix"], ["Pro mix target", "Premium mix target"]
            ),
            2,
        ),
        (
            _legend_chart(
                "os_families",
                ["Windows", "ChromeOS", "Linux", "FreeDOS", "Other"],
                [],
                style="stacked",
            ),
            2,
        ),
    ],
    ids=lambda v: getattr(v, "key", str(v)),
)
def test_every_legend_fits_inside_its_chart(chart: Chart, lines: int):
    # "Shipped where forecast" beside two more names ran past the right edge on one line.
    canvas = charts_module._draw(chart, MONTHS)
    canvas.figure.draw_without_rendering()  # lays the legend out as a save does
    box = canvas.legend.get_window_extent()
    figure = canvas.figure.bbox
    assert figure.x0 <= box.x0 and box.x1 <= figure.x1 and box.y1 <= figure.y1
    tops = {round(t.get_window_extent().y0) for t in canvas.legend.get_texts()}
    assert len(tops) == lines


def _bar_height(svg: str, gid: str) -> float:
    path = re.search(rf'<g id="{gid}">\s*<path d="([^"]+)"', svg)
    assert path is not None, gid
    ys = [float(y) for y in re.findall(r"[ML] [\d.]+ ([\d.]+)", path.group(1))]
    return max(ys) - min(ys)


def test_png_from_the_same_definition():
    png = chart_png(share_chart())
    assert png is not None and png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (720, 330) and image.format == "PNG"
    both = render_chart(share_chart(), png=True)
    assert both.png == png and both.svg == render_chart(share_chart()).svg


def test_text_is_escaped():
    chart = Chart(
        "x",
        "Share <b>&</b>",
        "ratio",
        [Series("Aero&14 <Pro> $5", [(m, 0.5) for m in MONTHS])],
        (Series("<i>goal</i>", [(m, 0.6) for m in MONTHS]),),
    )
    svg = render_chart(chart).svg
    assert "<b>" not in svg and "<i>" not in svg and "<Pro>" not in svg
    assert "<title>Share &lt;b&gt;&amp;&lt;/b&gt;</title>" in svg
    assert "Aero&amp;14 &lt;Pro&gt; $5" in texts(svg)
    assert "&lt;i&gt;goal&lt;/i&gt;" in texts(svg)


@pytest.mark.parametrize(
    "series",
    [
        [],
        [Series("Empty", [])],
        [Series("All none", [(m, None) for m in MONTHS]), Series("Also", [(MONTHS[0], None)])],
    ],
)
def test_no_data_says_so(series: list[Series]):
    rendered = render_chart(Chart("attach", "Server <attach>", "ratio", series))
    svg = rendered.svg
    assert svg.startswith("<svg ") and ">No data</text>" in svg
    assert 'role="img"' in svg and "Server &lt;attach&gt;: no data" in svg
    assert "<path" not in svg and rendered.png is None


@pytest.mark.parametrize(
    ("low", "high", "kind", "expected"),
    [
        (0.91, 0.953, "ratio", [0.91, 0.92, 0.93, 0.94, 0.95, 0.96]),
        # 0.31 would lie on the frame of a 30-70 % axis (2.5 % of it above): one step more.
        (0.31, 0.62, "ratio", [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
        (0.207, 0.5, "ratio", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        (0.33, 0.62, "ratio", [0.3, 0.4, 0.5, 0.6, 0.7]),
        (0.0, 0.38, "ratio", [0.0, 0.1, 0.2, 0.3, 0.4]),
        # A share of 100 % is at the top: no 110 % above it.
        (0.62, 1.0, "ratio", [0.6, 0.7, 0.8, 0.9, 1.0]),
        (0.93, 1.0, "ratio", [0.92, 0.94, 0.96, 0.98, 1.0]),
        (0.5, 1.2, "ratio", [0.4, 0.6, 0.8, 1.0, 1.2, 1.4]),
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


def test_each_series_target_is_its_own_step_line_named_in_the_legend_and_description():
    """Pro and Premium mix each with its quarter's target (only Pro mix's was drawn)."""
    chart = Chart(
        "mix",
        "Pro and premium mix",
        "ratio",
        [
            Series("Pro mix", [(m, 0.45) for m in MONTHS]),
            Series("Premium mix", [(m, 0.2) for m in MONTHS]),
        ],
        (
            Series("Pro mix target", [(m, 0.46) for m in MONTHS]),
            Series(
                "Premium mix target", [(m, 0.21 if i < 12 else 0.22) for i, m in enumerate(MONTHS)]
            ),
        ),
    )
    svg = render_chart(chart).svg
    assert 'id="c-mix-target"' in svg and 'id="c-mix-target-1"' in svg
    dashes = re.findall(r'<g id="c-mix-target(?:-1)?">\s*<path d="[^"]+"[^>]*style="([^"]+)"', svg)
    assert len(dashes) == 2 and dashes[0] != dashes[1]  # told apart in greyscale too
    assert texts(svg)[-4:] == ["Pro mix", "Premium mix", "Pro mix target", "Premium mix target"]
    assert describe(chart).endswith(
        "; Pro mix target 46.0 % from Oct 25; premium mix target 21.0 % from Oct 25, "
        "22.0 % from Oct 26."
    )


@pytest.fixture
def drawing_process():
    chart_worker.start()
    yield chart_worker
    chart_worker.stop()


def test_the_drawing_process_draws_the_same_bytes_and_this_process_takes_them(
    drawing_process, monkeypatch
):
    charts = [share_chart(), share_chart(key="shipments", title="Shipments", kind="volume")]
    here = [render_chart(c, png=True) for c in charts]  # nothing prepared yet: drawn here
    drawing_process.prepare(charts, png_keys=["shipments"])

    def not_here(*_args, **_kwargs):
        raise AssertionError("drawn in this process, not taken from the drawing process")

    monkeypatch.setattr(charts_module, "_drawn", not_here)
    there = [render_chart(charts[0]), render_chart(charts[1], png=True)]
    assert there[0].svg == here[0].svg and there[0].png is None
    assert there[1] == here[1] and there[1].png is not None
    assert chart_png(charts[1]) == here[1].png
    # A PNG that was not asked of it is drawn here.
    monkeypatch.undo()
    assert chart_png(charts[0]) == here[0].png


def test_a_drawing_process_that_died_leaves_the_charts_to_this_process(drawing_process):
    chart = share_chart()
    expected = render_chart(chart, png=True)
    pool = chart_worker._HELPER.pool()
    assert pool is not None
    pool.submit(int).result()  # started
    for process in list(pool._processes.values()):
        process.kill()
        process.join()
    drawing_process.prepare([chart], png_keys=["windows_share"])
    assert render_chart(chart, png=True) == expected


def test_a_kpi_with_no_month_of_data_is_left_out_of_its_chart_with_its_target():
    """Server attach of a partner with no Server base: a legend entry and a target with no line."""
    from oemkpi.reports.trends import build_charts

    rows = [
        {"month": m, "office_attach": 0.55, "server_attach": None, "pro_mix": 0.4} for m in MONTHS
    ]
    targets = {"office_attach": {"FY27-Q2": 0.56}, "server_attach": {"FY27-Q2": 0.7}}
    charts = build_charts(rows, [], MONTHS[-1], targets, 7)
    attach = charts["attach"]
    assert [s.name for s in attach.series] == ["Office attach"]
    assert [t.name for t in attach.targets] == ["Office attach target"]
    assert attach.title == "Office attach"  # not "Office and Server attach"
    assert [s.name for s in charts["mix"].series] == ["Pro mix"]
    # With no KPI of a chart known, the chart keeps both and says it has no data.
    none = build_charts([{"month": MONTHS[-1]}], [], MONTHS[-1], {}, 7)["attach"]
    assert [s.name for s in none.series] == ["Office attach", "Server attach"]
    assert none.title == "Office and Server attach"
    assert "No data" in render_chart(none).svg


def test_the_axis_starts_at_the_first_month_with_data():
    """In the data's first months a 13-month axis held one dot at its right edge, or eight
    months of line after five empty ones: the axis starts where the data does."""
    values = [None] * 5 + [0.95 - 0.002 * i for i in range(8)]
    chart = share_chart(
        series=[Series("Windows share", list(zip(MONTHS, values, strict=True)))],
    )
    assert describe(chart).startswith("Windows share, Mar 26 to Oct 26;")
    labels = texts(render_chart(chart).svg)
    # Every third month from the last is labelled: Apr, Jul and Oct 26, none before March.
    assert [t for t in labels if t[:3] in ("Oct", "Jan", "Apr", "Jul")] == [
        "Apr 26",
        "Jul 26",
        "Oct 26",
    ]
    one = share_chart(
        series=[Series("Windows share", list(zip(MONTHS, [None] * 12 + [0.9], strict=True)))]
    )
    assert describe(one).startswith("Windows share, Oct 26 to Oct 26;")
    assert [t for t in texts(render_chart(one).svg) if t[:3] in ("Oct", "Jan", "Apr", "Jul")] == [
        "Oct 26"
    ]
