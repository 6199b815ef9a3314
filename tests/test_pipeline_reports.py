"""The monthly update end to end (SPEC sections 4 and 5): real pipeline runs on a sample home.

One small sample home (4 partners, 4 countries, September 2025 to September 2026)
is run through ``monthly_update`` the way the CLI runs it, in four homes made
from it:

* ``prepared``: September 2025 alone (the first month the warehouse ever sees),
  then July and August 2026; September 2026 not yet run. Landing has an
  extra hostile SKU and hostile commentary for aurora in September 2026;
* ``normal``: a copy of ``prepared`` that runs September 2026 (a quarter end with
  the default July fiscal start: it closes FY27-Q1);
* ``broken``: a copy of ``prepared`` whose September 2026 ``pc_shipments``
  delivery carries ``"1,234"`` and whose ``attach_rate`` folder is gone, then runs
  September 2026: the first delivery of that feed-month is rejected, so nothing
  of it is in force;
* ``redelivered``: a copy of ``normal`` whose September 2026 ``windows_share`` is
  re-delivered with an unknown country and re-run: the earlier good delivery
  stays in force.

The KPIs are recomputed here from the landing files with polars (ratios of sums),
independently of the pipeline's SQL.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from oemkpi.formats import pct, pts
from oemkpi.home import Home
from oemkpi.ingest.contract import FEED_NAMES, FEEDS
from oemkpi.ingest.problems import for_stakeholders
from oemkpi.kpis.definitions import KPIS
from oemkpi.kpis.quality import is_late
from oemkpi.reports.safe_markdown import md_escape
from oemkpi.reports.template_helpers import NA_KPI, SECTIONS
from oemkpi.reports.writing import write_month_reports, write_reports
from oemkpi.sample import write_sample_home
from oemkpi.warehouse import warehouse
from pipelines.runs import RunSummary, run_months
from tests.feedfiles import read_file

FIRST = "2025-09"  # the first month of the home, and the first one the warehouse sees
MONTH = "2026-09"  # the newest month: planted anomalies, closes FY27-Q1
QUARTER = ("2026-07", "2026-08", "2026-09")
SAMPLE: dict[str, Any] = {
    "end_month": MONTH,
    "months": 13,
    "partners": 4,
    "countries": 4,
    "scale": 0.2,
}
PARTNERS = ("aurora", "borealis", "cobalt-pc", "delta_systems")
HOSTILE_SKU = "Aero&14 <Pro>"
HOSTILE_SKU_HTML = "Aero&amp;14 &lt;Pro&gt;"
HOSTILE_COMMENTARY = (
    "\n## Why: Aero&14 <Pro>\n"
    "Launched at <script>alert('why')</script> the back-to-school event.\n"
    "\n## Escalations\n"
    "- Reseller portal <img src=x onerror=alert(1)> still shows the old SKU.\n"
    '- <a href="javascript:alert(2)">click</a> and <iframe src="https://example.com"></iframe>\n'
)
#: The fields SPEC section 5 lists for every KPI in the JSON export.
KPI_FIELDS = ("value", "prior_month", "prior_year", "mom_change", "yoy_change", "qtd", "target")
EXPORT_KEYS = (
    "schema_version",
    "partner_id",
    "month",
    "fiscal_quarter",
    "kpis",
    "by_country",
    "by_segment",
    "assortment",
    "red_flags",
    "feeds",
    "competitive_watch",  # an addition of schema_version 1
    "marketing",  # an addition of schema_version 1 (SPEC section 9)
)
#: Ratio KPIs carry their rate-and-mix split (SPEC section 4), an addition of schema_version 1.
RATIO_KPIS = {k.name for k in KPIS if k.kind == "ratio"}
#: Each feed's KPIs: null when the feed-month has nothing in force.
FEED_KPIS = {
    "pc_shipments": ("shipped_units", "server_units", "forecast_attainment"),
    "attach_rate": (
        "office_attach",
        "server_attach",
        "office_sell_thru_units",
        "server_sell_thru_units",
    ),
}


# --------------------------------------------------------------------------- helpers
@dataclass
class Outputs:
    """A home after a run, and the run's summary."""

    home: Home
    summary: RunSummary | None = None

    def json(self, partner: str, month: str = MONTH) -> dict[str, Any]:
        path = self.home.reports_dir(month) / f"{partner}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def html(self, partner: str, month: str = MONTH) -> str:
        return (self.home.reports_dir(month) / f"{partner}.html").read_text(encoding="utf-8")

    def md(self, partner: str, month: str = MONTH) -> str:
        return (self.home.reports_dir(month) / f"{partner}.md").read_text(encoding="utf-8")

    def names(self) -> dict[str, str]:
        """partner_id -> partner_name, from the home's reference data."""
        frame = pl.read_csv(self.home.partners_csv).select("partner_id", "partner_name")
        return dict(frame.iter_rows())


def run(home: Home, dagster_home: Path, first: str, last: str) -> RunSummary:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(dagster_home))
        return run_months(home, first, last)


def edit_csv(folder: Path, change: Callable[[list[str], list[list[str]]], None]) -> Path:
    """Change the data rows of a delivery's first CSV file in place (BOM, line ends kept)."""
    path = min(folder.glob("*.csv"))
    raw = path.read_bytes().decode("utf-8")
    bom = "\ufeff" if raw.startswith("\ufeff") else ""
    newline = "\r\n" if "\r\n" in raw else "\n"
    rows = list(csv.reader(io.StringIO(raw.removeprefix("\ufeff"), newline="")))
    header = [name.strip().lower() for name in rows[0]]
    change(header, rows[1:])
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=newline).writerows(rows)
    path.write_bytes((bom + out.getvalue()).encode("utf-8"))
    return path


def read_landing(root: Path, feed: str, months: tuple[str, ...] | list[str]) -> pl.DataFrame:
    """Every row of a feed's deliveries for ``months``, typed as the contract says."""
    spec = FEEDS[feed]
    parts = []
    for month in months:
        for path in sorted((root / "landing" / feed / month).iterdir()):
            frame = read_file(path)
            parts.append(frame.select(spec.column_names).select(pl.all().str.strip_chars()))
    frame = pl.concat(parts)
    casts = [pl.col(c.name).cast(pl.Float64) for c in spec.columns if c.type in ("int", "number")]
    return frame.with_columns(casts)


def expected_kpis(root: Path, partner: str, months: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """SPEC section 4 KPIs of one partner over ``months``, as ratios of sums, with polars."""

    def feed(name: str, *conditions: pl.Expr) -> pl.DataFrame:
        frame = read_landing(root, name, months).filter(pl.col("partner_id") == partner)
        return frame.filter(*conditions) if conditions else frame

    def total(frame: pl.DataFrame, column: str) -> float:
        return float(frame[column].sum())

    pcs = feed("pc_shipments", pl.col("form_factor") != "server")
    servers = feed("pc_shipments", pl.col("form_factor") == "server")
    forecast = pcs.filter(pl.col("forecast_units").is_not_null())
    share = feed("windows_share")
    mix = feed("premium_mix")
    office = feed("attach_rate", pl.col("product") == "office")
    server = feed("attach_rate", pl.col("product") == "windows_server")
    pro = mix.filter(pl.col("edition").is_in(["pro", "pro_workstation"]))
    return {
        "shipped_units": total(pcs, "shipped_units"),
        "server_units": total(servers, "shipped_units"),
        "forecast_attainment": total(forecast, "shipped_units") / total(forecast, "forecast_units"),
        "windows_share": total(share.filter(pl.col("os_family") == "windows"), "units")
        / total(share, "units"),
        "pro_mix": total(pro, "units") / total(mix, "units"),
        "premium_mix": total(mix.filter(pl.col("price_band") == "premium"), "units")
        / total(mix, "units"),
        "license_revenue_usd": total(mix, "license_revenue_usd"),
        "office_attach": total(office, "attached_units") / total(office, "base_units"),
        "server_attach": total(server, "attached_units") / total(server, "base_units"),
    }


def skus_by_partner(root: Path) -> dict[str, set[str]]:
    months = sorted(p.name for p in (root / "landing" / "windows_share").iterdir())
    frame = read_landing(root, "windows_share", months)
    return {
        partner: set(group["sku"].to_list()) for (partner,), group in frame.group_by("partner_id")
    }


def section_of(text: str, start: str, end: str) -> str:
    """The part of ``text`` from the first ``start`` up to the next ``end``."""
    begin = text.index(start)
    return text[begin : text.index(end, begin + len(start))]


def html_section(page: str, anchor: str) -> str:
    return section_of(page, f'<section id="sec-{anchor}"', "</section>")


def md_section(page: str, anchor: str) -> str:
    title = dict(SECTIONS)[anchor]
    start = page.index(f"\n## {title}\n")
    following = page.find("\n## ", start + 1)
    return page[start : following if following != -1 else len(page)]


def tile(page: str, kpi: str) -> str:
    return section_of(page, f'id="tile-{kpi}"', "</article>")


def tile_row(markdown: str, label: str) -> str:
    """The rest of an executive-summary table row after its KPI label (and ⚑ mark)."""
    (row,) = re.findall(
        rf"^\| {re.escape(label)}(?: ⚑)? (\|.*)$", md_section(markdown, "summary"), re.M
    )
    return row


def text_of(fragment: str) -> str:
    """Visible text of an HTML fragment, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


class _StartTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def start_tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _StartTags()
    parser.feed(page)
    parser.close()
    return parser.tags


def assert_every_section_in_order(page: str, markdown: str, partner_name: str) -> None:
    """The headline, then every SPEC section 5 heading in order, in HTML and Markdown."""
    positions = [page.index('<header class="headline"')]
    positions += [page.index(f'<h2 id="{anchor}">') for anchor, _ in SECTIONS]
    assert positions == sorted(positions)
    assert f"<h1>{html.escape(partner_name)}" in page
    headings = re.findall(r"^(#{1,2}) (.+)$", markdown, flags=re.MULTILINE)
    assert headings[0][0] == "#" and headings[0][1].startswith(partner_name)
    assert [title for level, title in headings if level == "##"] == [t for _, t in SECTIONS]


def assert_close(actual: float | None, expected: float | None, what: str) -> None:
    assert actual is not None and expected is not None, what
    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), what


# --------------------------------------------------------------------------- the homes
@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline_reports")


@pytest.fixture(scope="module")
def prepared(base: Path) -> Outputs:
    """The sample home with hostile values, after its first month and July-August 2026."""
    root = base / "prepared"
    summary = write_sample_home(root, **SAMPLE)
    assert summary.partners == list(PARTNERS)

    def rename_a_windows_sku(header: list[str], rows: list[list[str]]) -> None:
        at = {name: header.index(name) for name in ("partner_id", "sku", "os_family", "units")}
        row = next(
            r
            for r in rows
            if r[at["partner_id"]].strip() == "aurora"
            and r[at["os_family"]].strip() == "windows"
            and int(r[at["units"]]) >= 1000
        )
        row[at["sku"]] = HOSTILE_SKU

    edit_csv(root / "landing" / "windows_share" / MONTH, rename_a_windows_sku)
    commentary = root / "commentary" / MONTH / "aurora.md"
    commentary.write_text(
        commentary.read_text(encoding="utf-8") + HOSTILE_COMMENTARY, encoding="utf-8"
    )
    home = Home.at(root)
    first = run(home, base / "dagster", FIRST, FIRST)
    assert first.success, first.failure
    quarter = run(home, base / "dagster", QUARTER[0], QUARTER[1])
    assert quarter.success, quarter.failure
    return Outputs(home, first)


def _copy(prepared: Outputs, base: Path, name: str) -> Home:
    root = base / name
    shutil.copytree(prepared.home.root, root)
    return Home.at(root)


@pytest.fixture(scope="module")
def normal(prepared: Outputs, base: Path) -> Outputs:
    home = _copy(prepared, base, "normal")
    summary = run(home, base / "dagster", MONTH, MONTH)
    assert summary.success, summary.failure
    return Outputs(home, summary)


@pytest.fixture(scope="module")
def broken(prepared: Outputs, base: Path) -> Outputs:
    """September 2026 with pc_shipments rejected on first delivery and attach_rate not delivered."""
    home = _copy(prepared, base, "broken")

    def thousands_separator(header: list[str], rows: list[list[str]]) -> None:
        rows[0][header.index("shipped_units")] = "1,234"

    edit_csv(home.landing_dir("pc_shipments", MONTH), thousands_separator)
    shutil.rmtree(home.landing_dir("attach_rate", MONTH))
    return Outputs(home, run(home, base / "dagster", MONTH, MONTH))


@pytest.fixture(scope="module")
def redelivered(normal: Outputs, base: Path) -> Outputs:
    """September 2026 re-delivered with a bad windows_share file after a good delivery."""
    root = base / "redelivered"
    shutil.copytree(normal.home.root, root)
    home = Home.at(root)

    def unknown_country(header: list[str], rows: list[list[str]]) -> None:
        rows[0][header.index("country")] = "XX"

    edit_csv(home.landing_dir("windows_share", MONTH), unknown_country)
    return Outputs(home, run(home, base / "dagster", MONTH, MONTH))


# --------------------------------------------------------------------------- JSON export
def test_a_json_per_partner_and_month_with_every_key_of_schema_version_1(normal: Outputs) -> None:
    kpi_names = [k.name for k in KPIS]
    for month in (FIRST, *QUARTER):
        folder = normal.home.reports_dir(month)
        assert sorted(p.stem for p in folder.glob("*.json")) == sorted(PARTNERS), month
        for partner in PARTNERS:
            export = normal.json(partner, month)
            assert tuple(export) == EXPORT_KEYS
            assert export["schema_version"] == 1
            assert (export["partner_id"], export["month"]) == (partner, month)
            assert export["fiscal_quarter"] == ("FY26-Q1" if month == FIRST else "FY27-Q1")
            assert list(export["kpis"]) == kpi_names
            for kpi, values in export["kpis"].items():
                extra = ("mom_drivers",) if kpi in RATIO_KPIS else ()
                assert tuple(values) == KPI_FIELDS + ("qtd_months_missing",) + extra, kpi
                # The months of the quarter so far without the KPI's value; the home
                # starts in FY26-Q1's last month, so its QTD also lacks July and August.
                so_far = QUARTER[: QUARTER.index(month) + 1] if month in QUARTER else (FIRST,)
                expected = ["2025-07", "2025-08"] if month == FIRST else []
                expected += [
                    m for m in so_far if normal.json(partner, m)["kpis"][kpi]["value"] is None
                ]
                assert values["qtd_months_missing"] == expected, (month, kpi)
            assert export["by_country"] and export["by_segment"]
            for row in export["by_country"]:
                assert set(row) == {"country", "segment", "kpis"} and row["segment"] is None
                assert list(row["kpis"]) == kpi_names
                assert all(set(v) == {"value"} for v in row["kpis"].values())
            for row in export["by_segment"]:
                assert set(row) == {"segment", "kpis"}
                assert row["segment"] in ("consumer", "commercial")
            for item in export["assortment"]:
                assert set(item) == {
                    "type",
                    "reason",
                    "country",
                    "segment",
                    "sku",
                    "from_os",
                    "to_os",
                    "units",
                    "prior_units",
                }
                assert (item["type"], item["reason"]) in {
                    ("win", "converted"),
                    ("win", "new"),
                    ("loss", "competitive"),
                    ("discontinued", "discontinued"),
                }
            for flag in export["red_flags"]:
                assert set(flag) == {
                    "rule",
                    "severity",
                    "scope",
                    "kpi",
                    "value",
                    "threshold",
                    "message",
                }
                assert flag["severity"] in ("high", "medium")
            # The sample leaves some months without marketing: never late or missing, and
            # left out of `feeds` (SPEC 5's statuses are loaded, rejected, missing, late).
            required = [f for f in FEED_NAMES if not FEEDS[f].optional]
            assert list(export["feeds"]) in (required, list(FEED_NAMES))
            for state in export["feeds"].values():
                assert state["status"] == "loaded" and state["rows"] > 0
                assert state["checks_failed"] == 0


@pytest.mark.parametrize("partner", ["borealis", "cobalt-pc"])
def test_kpis_in_the_json_are_ratios_of_sums_of_the_landing_files(
    normal: Outputs, partner: str
) -> None:
    root = normal.home.root
    month = expected_kpis(root, partner, [MONTH])
    prior = expected_kpis(root, partner, ["2026-08"])
    year_ago = expected_kpis(root, partner, [FIRST])
    qtd = expected_kpis(root, partner, QUARTER)
    kpis = normal.json(partner)["kpis"]
    for kpi in ("shipped_units", "windows_share", "pro_mix", "office_attach",
                "forecast_attainment", "premium_mix", "license_revenue_usd",
                "server_attach"):  # fmt: skip
        got = kpis[kpi]
        ratio = next(k.kind for k in KPIS if k.name == kpi) == "ratio"
        assert_close(got["value"], month[kpi], f"{kpi} value")
        assert_close(got["prior_month"], prior[kpi], f"{kpi} prior month")
        assert_close(got["prior_year"], year_ago[kpi], f"{kpi} prior year")
        assert_close(got["qtd"], qtd[kpi], f"{kpi} QTD")
        if ratio:  # a difference of fractions (-0.012 = -1.2 pts)
            assert_close(got["mom_change"], month[kpi] - prior[kpi], f"{kpi} MoM")
            assert_close(got["yoy_change"], month[kpi] - year_ago[kpi], f"{kpi} YoY")
        else:  # a relative change
            assert_close(got["mom_change"], month[kpi] / prior[kpi] - 1, f"{kpi} MoM")
            assert_close(got["yoy_change"], month[kpi] / year_ago[kpi] - 1, f"{kpi} YoY")
    # Targets come from reference/targets.csv for the partner and FY27-Q1.
    targets = pl.read_csv(root / "reference" / "targets.csv").filter(
        (pl.col("partner_id") == partner) & (pl.col("fiscal_quarter") == "FY27-Q1")
    )
    for kpi, target in targets.select("kpi", "target").iter_rows():
        assert_close(kpis[kpi]["target"], target, f"{kpi} target")
    # The country rows are ratios of sums over the country too.
    shipments = read_landing(root, "windows_share", [MONTH]).filter(pl.col("partner_id") == partner)
    for row in normal.json(partner)["by_country"]:
        units = shipments.filter(pl.col("country") == row["country"])
        windows = float(units.filter(pl.col("os_family") == "windows")["units"].sum())
        assert_close(
            row["kpis"]["windows_share"]["value"],
            windows / float(units["units"].sum()),
            row["country"],
        )


# --------------------------------------------------------------------------- sections
def test_every_section_in_order_in_html_and_markdown(normal: Outputs) -> None:
    for partner in PARTNERS:
        export = normal.json(partner)
        page, markdown = normal.html(partner), normal.md(partner)
        assert_every_section_in_order(page, markdown, normal.names()[partner])
        # A normal month says something in every section: no "unavailable" tiles,
        # market totals, forecast rows, KPI tables, charts, the feed table.
        assert NA_KPI not in page and NA_KPI not in markdown
        assert "No market totals" not in page
        for key in ("shipments", "windows_share", "os_families", "mix", "revenue", "attach"):
            figure = section_of(page, f'id="chart-{key}"', "</figure>")
            assert "<svg" in figure and "No data" not in figure, (partner, key)
        assert page.count('<table class="feeds">') == 1
        # Every ratio with a target this quarter has its target line in its chart.
        for key, kpi, name in (
            ("windows_share", "windows_share", "Quarter target"),
            ("mix", "pro_mix", "Pro mix target"),
            ("mix", "premium_mix", "Premium mix target"),
            ("attach", "office_attach", "Office attach target"),
            ("attach", "server_attach", "Server attach target"),
        ):
            if export["kpis"][kpi]["target"] is not None:
                assert name in section_of(page, f'id="chart-{key}"', "</figure>"), (partner, kpi)
        summary = html_section(page, "summary")
        sentences = re.findall(r"<li>(.*?)</li>", summary, flags=re.DOTALL)
        assert 3 <= len(sentences) <= 7
        sell_thru = export["kpis"]["office_sell_thru_units"]["value"] is not None
        assert len(re.findall(r'<article class="tile', summary)) == 9 + sell_thru
        assert 'id="tile-server_units"' in summary
        flags_md = md_section(markdown, "red-flags")
        high = {(f["rule"], f["scope"]) for f in export["red_flags"] if f["severity"] == "high"}
        if export["red_flags"]:
            assert flags_md.count("| ⚑ high: ") == len(high)
        else:
            assert "_No red flags this month._" in flags_md

    index = (normal.home.reports_dir(MONTH) / "index.html").read_text(encoding="utf-8")
    for partner in PARTNERS:
        assert f'href="{partner}.html"' in index and f'href="{partner}.md"' in index
        assert f'href="{partner}.json"' in index


def test_quarter_end_month_closes_the_quarter_with_qtd_against_targets(normal: Outputs) -> None:
    export = normal.json("delta_systems")
    assert export["fiscal_quarter"] == "FY27-Q1"
    page, markdown = normal.html("delta_systems"), normal.md("delta_systems")
    quarter = html_section(page, "quarter")
    assert "September 2026 closes FY27-Q1" in text_of(quarter)
    assert "quarter close" in section_of(page, '<header class="headline"', "</header>")
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td>", quarter)
    shown = {label: qtd for label, qtd in rows}
    labels = {k.name: k.label for k in KPIS}
    targets = [k for k, v in export["kpis"].items() if v["target"] is not None]
    assert targets, "the sample home sets targets for FY27-Q1"
    for kpi in targets:
        qtd = export["kpis"][kpi]["qtd"]
        assert qtd is not None, kpi
        assert shown[labels[kpi]] != "n/a", kpi
    # Office attach is the planted miss: the closed quarter says missed, with the exact gap,
    # in both formats; no target is "on track" in a closed quarter.
    office = export["kpis"]["office_attach"]
    assert office["qtd"] < office["target"]
    assert shown["Office attach"] == pct(office["qtd"])
    quarter_md = md_section(markdown, "quarter")
    assert "**September 2026 closes FY27-Q1:**" in quarter_md
    gap = pts(office["qtd"] - office["target"])
    (row,) = [r for r in quarter_md.splitlines() if r.startswith("| Office attach |")]
    assert row.startswith(f"| Office attach | {pct(office['qtd'])} | {pct(office['target'])} |")
    assert row.endswith(f"| {gap} | ✗ Missed |")
    assert "On track" not in quarter_md and "At risk" not in quarter_md
    office_tile = tile(page, "office_attach")
    # The whole quarter's figure, not "QTD", once the quarter is closed.
    assert "✗ Missed" in office_tile and f"Quarter {pct(office['qtd'])}" in office_tile
    assert "QTD" not in office_tile
    # A month inside the quarter says how much of it is gone.
    august = normal.html("delta_systems", "2026-08")
    assert "FY27-Q1 to date, 67 % of the quarter gone." in text_of(html_section(august, "quarter"))


def test_first_month_has_every_section_and_no_month_on_month(prepared: Outputs) -> None:
    for partner in PARTNERS:
        export = prepared.json(partner, FIRST)
        for kpi, values in export["kpis"].items():
            for field in ("prior_month", "mom_change", "prior_year", "yoy_change"):
                assert values[field] is None, (partner, kpi, field)
        assert export["kpis"]["shipped_units"]["value"] > 0
        assert export["assortment"] == []
        page, markdown = prepared.html(partner, FIRST), prepared.md(partner, FIRST)
        assert_every_section_in_order(page, markdown, prepared.names()[partner])
        for kpi in ("shipped_units", "windows_share", "office_attach"):
            figures = tile(page, kpi)
            assert '<span class="chg na">n/a</span>' in figures, kpi  # MoM and YoY
            assert "n/a —" not in figures  # the value itself is there
        summary_md = md_section(markdown, "summary")
        assert re.search(r"^\| PC shipments \| [\d,]+ \| n/a \| n/a \|", summary_md, re.MULTILINE)
        # The quarter table says why nothing is judged, and has no column of last quarter's
        # targets when there are none (it was a column of n/a beside "n/a" gaps and status).
        quarter = md_section(markdown, "quarter")
        assert "Last quarter's target" not in quarter
        assert "| — | not judged |" in quarter
        assert "| n/a |" not in quarter
        assert "Last quarter's target" not in html_section(page, "quarter")
        # No SKU can have moved against a month the data does not hold: it says so, where
        # it said "No SKU went from Windows to another OS family this month."
        nothing = "There is no August 2025 Windows share data to compare this month's SKUs with."
        for anchor in ("competitive", "assortment"):
            assert nothing in text_of(html_section(page, anchor)), anchor
            assert f"_{nothing}_" in md_section(markdown, anchor), anchor
        assert "No SKU went" not in page and "No assortment wins" not in page
        # Both n/a columns are said (the YoY column was left unexplained).
        assert "there is no August 2025 or September 2024 data to compare with" in summary_md
    index = (prepared.home.reports_dir(FIRST) / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{p}.html"' in index for p in PARTNERS)
    assert (
        "Each value of the month. MoM and YoY are n/a: the data holds no month before or "
        "month a year before." in index
    )
    assert "There is no August 2025 Windows share data to compare this month" in index


# --------------------------------------------------------------------------- bad feeds
def test_a_rejected_first_delivery_leaves_its_kpis_unavailable(broken: Outputs) -> None:
    summary = broken.summary
    assert summary is not None
    rejected = [(s.feed, s.month) for s in summary.rejected]
    assert rejected == [("pc_shipments", MONTH)]
    (state,) = summary.rejected
    assert state.quarantine
    delivered = min(broken.home.landing_dir("pc_shipments", MONTH).glob("*.csv"))  # edited
    errors = json.loads(
        (Path(state.quarantine) / f"{delivered.name}.errors.json").read_text(encoding="utf-8")
    )
    (problem,) = [p for p in errors["problems"] if p.get("value") == "1,234"]
    assert problem["column"].strip().lower() == "shipped_units"
    # The landing file is left as delivered; the copy in quarantine is byte-identical.
    assert (Path(state.quarantine) / delivered.name).read_bytes() == delivered.read_bytes()

    for partner in PARTNERS:
        export = broken.json(partner)
        feed = export["feeds"]["pc_shipments"]
        assert feed["status"] == "rejected" and feed["rows"] == 0, partner
        assert feed["checks_failed"] >= 1
        for kpi in FEED_KPIS["pc_shipments"]:
            assert export["kpis"][kpi]["value"] is None, (partner, kpi)
            assert export["kpis"][kpi]["mom_change"] is None, (partner, kpi)
        # The other feeds are in force.
        assert export["kpis"]["windows_share"]["value"] is not None
        assert any(f["rule"] == "data_quality" for f in export["red_flags"])

        page, markdown = broken.html(partner), broken.md(partner)
        assert_every_section_in_order(page, markdown, broken.names()[partner])
        appendix = html_section(page, "appendix")
        said = text_of(appendix)
        assert "The PC shipments delivery was rejected" in said
        # The first problem as a reader sees it: the file by name, no advice to the supplier.
        # The column in words too ("column shipped units", not the contract's id), and not
        # the row's value: the row may be another partner's, and so its figure.
        shown = for_stakeholders(problem).replace("column shipped_units:", "column shipped units:")
        assert shown.startswith(f"{delivered.name} row ") and shown in said
        assert shown.endswith("column shipped units: the value is not a plain number.")
        assert "shipped_units" not in said
        assert "landing/" not in page + markdown and "deliver again" not in page + markdown
        assert "1,234" not in page + markdown
        shipped = tile(page, "shipped_units")
        # A tile says why it has no value, in the word the rest of the update uses.
        assert "n/a — rejected" in text_of(shipped) and 'class="tile-value na"' in shipped
        assert re.search(r">\s*0\s*<", shipped) is None
        # The quarter to date misses September: no verdict against the target.
        assert "QTD without September 2026, not judged" in text_of(shipped)
        assert "On track" not in text_of(shipped) and "At risk" not in text_of(shipped)
        assert "(without September 2026) |" in md_section(markdown, "quarter")
        assert tile_row(markdown, "PC shipments").startswith("| n/a — rejected |")
        assert tile_row(markdown, "Forecast attainment").startswith("| n/a — rejected |")
        assert "**The PC shipments delivery was rejected**" in md_section(markdown, "appendix")
        # Sections that need the feed say why they are empty, not "no shipments".
        gone = (
            "The PC shipments delivery for September 2026 was rejected, and no earlier one is "
            "in force."
        )
        assert gone in text_of(html_section(page, "performance"))
        assert f"_{gone}_" in md_section(markdown, "performance")
        assert "No shipments" not in page + markdown
        assert f"Not every cross-feed reconciliation could be made. {gone}" in said
        market = f"{gone} Units are n/a, and the rows go by Windows share units."
        assert market in text_of(html_section(page, "market"))
        assert f"_{market}_" in md_section(markdown, "market")
        assert "within tolerance" not in page + markdown
        assert md_escape(shown) in md_section(markdown, "appendix")
        assert (
            "PC shipments for September 2026 are unavailable: the PC shipments delivery was "
            "rejected." in text_of(html_section(page, "summary"))
        )
        # The flag on the feeds asks the PAM nothing: what the pipeline knows fills its
        # why, correction of error and owner (every partner's update had them to be written).
        row = text_of(section_of(html_section(page, "red-flags"), "Data-quality issue", "</tr>"))
        assert "to be written" not in row
        assert (
            "PC shipments: the delivery did not pass the feed's checks (see Data quality)." in row
        )
        # September's attach rate is late once its due day (the 10th of October) is past.
        late = is_late(MONTH, datetime.now(UTC).date(), 10)
        why = (
            "Nothing was delivered by the due day"
            if late
            else "Not delivered yet; it is not due yet"
        )
        assert f"Attach rate: {why[0].lower()}{why[1:]} (see Data quality)." in row
        assert row.endswith("Regional team")
        assert "| Regional team |" in md_section(markdown, "red-flags")


def test_the_index_tells_the_feed_flags_apart_from_the_partners_own(broken: Outputs) -> None:
    """A rejected delivery raises a flag in every partner's update: the index's totals say
    how many of them are the month's feed problems, counted once per partner."""
    feed = sum(
        1
        for partner in PARTNERS
        for f in broken.json(partner)["red_flags"]
        if f["rule"] == "data_quality" and f["scope"] == "partner"
    )
    assert feed == 2 * len(PARTNERS)  # PC shipments rejected, attach rate not in
    index = text_of((broken.home.reports_dir(MONTH) / "index.html").read_text(encoding="utf-8"))
    assert f"{feed} of them on the month's feed deliveries, the same for every partner" in index


def test_a_feed_not_delivered_is_missing_or_late_and_its_kpis_unavailable(broken: Outputs) -> None:
    # After the due day (the 10th of the next month) a missing feed-month is "late".
    late = is_late(MONTH, datetime.now(UTC).date(), 10)
    status = "late" if late else "missing"
    assert broken.summary is not None
    # The run's summary (the CLI's closing line) says it as the reports do.
    assert [s.status for s in broken.summary.statuses if s.feed == "attach_rate"] == [status]
    for partner in PARTNERS:
        export = broken.json(partner)
        assert export["feeds"]["attach_rate"] == {
            "status": status,
            "rows": 0,
            "checks_failed": 0,
        }
        for kpi in FEED_KPIS["attach_rate"]:
            assert export["kpis"][kpi]["value"] is None, (partner, kpi)
        for row in export["by_country"]:
            assert row["kpis"]["office_attach"]["value"] is None
        page, markdown = broken.html(partner), broken.md(partner)
        gone = "n/a — late" if late else "n/a — not delivered yet"
        assert gone in text_of(tile(page, "office_attach"))
        assert tile_row(markdown, "Office attach").startswith(f"| {gone} |")
        assert tile_row(markdown, "Server attach").startswith(f"| {gone} |")
        feeds = html_section(page, "appendix")
        row = section_of(feeds, "<td>Attach rate</td>", "</tr>")
        # One wording of freshness: the table says what the summary and sections say.
        shown = "⚠ late" if late else "not delivered yet"
        assert shown in text_of(row) and "not delivered" in text_of(row)
        assert "missing" not in text_of(row)
        attach = text_of(html_section(page, "attach"))
        assert "0.0 %" not in attach


def test_a_rejected_redelivery_keeps_the_earlier_good_delivery_in_force(
    normal: Outputs, redelivered: Outputs
) -> None:
    assert redelivered.summary is not None
    assert [(s.feed, s.status) for s in redelivered.summary.rejected] == [
        ("windows_share", "rejected")
    ]
    for partner in PARTNERS:
        before, after = normal.json(partner), redelivered.json(partner)
        feed = after["feeds"]["windows_share"]
        assert feed["status"] == "rejected"
        assert feed["rows"] == before["feeds"]["windows_share"]["rows"] > 0
        assert after["kpis"]["windows_share"] == before["kpis"]["windows_share"]
        assert after["assortment"] == before["assortment"]
        appendix = text_of(html_section(redelivered.html(partner), "appendix"))
        rows = before["feeds"]["windows_share"]["rows"]
        assert "The Windows share delivery was rejected" in appendix
        assert f"the earlier good delivery stays in force ({rows:,} rows)" in appendix
        # Where and what, without the row's value (it may be another partner's row).
        assert "column country: the value is not a country in reference/countries.csv." in appendix
        assert "XX" not in appendix
        flag = section_of(
            html_section(redelivered.html(partner), "red-flags"), "Data-quality", "</tr>"
        )
        assert "until then the earlier delivery&#39;s figures stand." in flag
        # The table says the rejected delivery was a re-delivery, beside the rows in force.
        feeds_row = section_of(
            appendix_html := html_section(redelivered.html(partner), "appendix"),
            "<td>Windows share</td>",
            "</tr>",
        )
        assert "✗ re-delivery rejected" in feeds_row and f"{rows:,}" in feeds_row
        assert "<th>Latest delivery</th>" in appendix_html


# --------------------------------------------------------------------------- safety
def test_no_other_partners_ids_names_or_skus_in_a_partners_report(normal: Outputs) -> None:
    names = normal.names()
    skus = skus_by_partner(normal.home.root)
    for partner in PARTNERS:
        others = set(PARTNERS) - {partner}
        foreign = set().union(*(skus[o] for o in others)) - skus[partner]
        assert foreign
        for month in (FIRST, MONTH):
            texts = {
                "html": normal.html(partner, month),
                "md": normal.md(partner, month),
                "json": json.dumps(normal.json(partner, month), ensure_ascii=False),
            }
            for kind, text in texts.items():
                lowered = text.lower()
                for other in others:
                    assert other not in lowered, (partner, month, kind, other)
                    assert names[other].lower() not in lowered, (partner, month, kind, other)
                leaked = [s for s in foreign if s in text or html.escape(s) in text]
                assert not leaked, (partner, month, kind, leaked[:5])


def test_every_assortment_item_is_in_the_body_or_the_appendix(
    normal: Outputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long lists are cut to the largest items in the body; the rest are in the appendix."""
    # The month rendered again from the warehouse, with a body limit this small home crosses.
    root = tmp_path / "home"
    for folder in ("reference", "commentary"):
        shutil.copytree(normal.home.root / folder, root / folder)
    shutil.copy2(normal.home.warehouse, root / "warehouse.duckdb")
    home = Home.at(root)
    monkeypatch.setattr("oemkpi.reports.template_helpers.ASSORTMENT_BODY", 2)
    with warehouse(home.warehouse, read_only=True) as con:
        write_month_reports(con, home, MONTH)
    cut = Outputs(home)
    cut_short = 0
    for partner in PARTNERS:
        items = cut.json(partner)["assortment"]
        assert items == normal.json(partner)["assortment"]
        page = cut.html(partner)
        body = html_section(page, "assortment")
        other = "Assortment: the other SKUs"
        appendix = section_of(page, other, "</table>") if other in page else ""
        in_body = [html.unescape(s) for s in re.findall(r'<td class="sku">(.*?)</td>', body)]
        in_appendix = [
            html.unescape(s) for s in re.findall(r'<td class="sku">(.*?)</td>', appendix)
        ]
        assert sorted(in_body + in_appendix) == sorted(i["sku"] for i in items), partner
        size = {
            i["sku"]: (i["units"] if i["type"] == "win" else i["prior_units"]) or 0 for i in items
        }
        largest = sorted(size, key=lambda sku: -size[sku])[:2]
        assert set(largest) <= set(in_body), partner
        if in_appendix:
            cut_short += 1
            verb = "is" if len(in_appendix) == 1 else "are"
            assert f"the other {len(in_appendix)} {verb} in the appendix" in text_of(body)
            assert "the JSON export lists every one" in md_section(cut.md(partner), "assortment")
    assert cut_short, "the limit cut no list short"


def test_sell_thru_columns_only_for_partners_that_report_it(normal: Outputs) -> None:
    for partner in PARTNERS:
        kpis = normal.json(partner)["kpis"]
        reported = any(
            kpis[k]["value"] is not None
            for k in ("office_sell_thru_units", "server_sell_thru_units")
        )
        page, markdown = normal.html(partner), normal.md(partner)
        attach, attach_md = html_section(page, "attach"), md_section(markdown, "attach")
        # The partner's totals list sell-thru (n/a when not reported); the country table
        # has its columns only when reported.
        by_country = section_of(attach, "By country", "</thead>")
        assert ("Office sell-thru" in by_country) == reported, partner
        country_md = section_of(attach_md, "| Country | Office attach |", "\n")
        assert ("Office sell-thru" in country_md) == reported, partner
        assert ("reported no sell-thru this month" in text_of(attach)) != reported
        # The Markdown says why its sell-thru rows are n/a, as the HTML does.
        assert ("reported no sell-thru this month" in attach_md) != reported, partner


def test_hostile_sku_and_commentary_are_escaped(normal: Outputs) -> None:
    export = normal.json("aurora")
    new = [a for a in export["assortment"] if a["sku"] == HOSTILE_SKU]
    assert [(a["type"], a["reason"], a["to_os"]) for a in new] == [("win", "new", "windows")]

    page = normal.html("aurora")
    assert HOSTILE_SKU_HTML in html_section(page, "assortment")
    assert HOSTILE_SKU not in page
    # The Why commentary sits with its item, and nothing in it is live.
    assert "&lt;script&gt;alert(" in html_section(page, "assortment")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_section(page, "red-flags")
    for tag, attrs in start_tags(page):
        assert tag not in ("script", "img", "iframe", "object", "embed", "link"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)

    markdown = normal.md("aurora")
    assert HOSTILE_SKU not in markdown
    assert "Aero&14 \\<Pro>" in md_section(markdown, "assortment")
    assert "\\<script>" in md_section(markdown, "assortment")
    assert "\\<img src=x onerror=alert(1)>" in md_section(markdown, "red-flags")
    assert "&lt;" not in markdown  # SPEC section 5: no HTML entities in Markdown
    # No raw tag at all: a "<" that could open one is backslash-escaped.
    assert re.findall(r"(?<!\\)<\s*/?\s*[A-Za-z][^>]*>", markdown) == []
    assert "](javascript:" not in markdown.lower()
    # Other partners' reports and the index carry no trace of aurora's SKU.
    index = (normal.home.reports_dir(MONTH) / "index.html").read_text(encoding="utf-8")
    assert "Aero" not in index
    for partner in PARTNERS[1:]:
        assert "Aero" not in normal.html(partner) + normal.md(partner)


# --------------------------------------------------------------------------- red flags
def test_planted_anomalies_are_red_flags_and_in_the_executive_summary(normal: Outputs) -> None:
    def flags(partner: str, rule: str) -> list[dict[str, Any]]:
        return [f for f in normal.json(partner)["red_flags"] if f["rule"] == rule]

    def sentences(partner: str) -> str:
        return text_of(section_of(normal.html(partner), '<ul class="summary">', "</ul>"))

    losses = flags("borealis", "competitive_loss")
    assert len(losses) == 3 and {f["scope"] for f in losses} == {"BR"}
    assert all(f["kpi"] == "windows_share" for f in losses)
    assert all(f["value"] >= 1000 for f in losses)
    assert [f["scope"] for f in flags("borealis", "windows_share_drop")] == ["BR"]
    lost = sum(f["value"] for f in losses)
    said = sentences("borealis")
    assert f"In Brazil consumer, three Windows SKUs moved to ChromeOS ({lost:,.0f} units" in said
    assert "3 competitive losses" in said

    misses = {f["scope"]: f for f in flags("cobalt-pc", "forecast_miss")}
    assert "partner" in misses
    expected = expected_kpis(normal.home.root, "cobalt-pc", [MONTH])["forecast_attainment"]
    assert_close(misses["partner"]["value"], expected, "forecast attainment")
    assert misses["partner"]["value"] < 0.9 == misses["partner"]["threshold"]
    assert f"Shipments reached {expected * 100:.1f} % of forecast" in sentences("cobalt-pc")

    (drop,) = flags("delta_systems", "attach_drop")
    assert (drop["scope"], drop["kpi"]) == ("partner", "office_attach")
    office = normal.json("delta_systems")["kpis"]["office_attach"]
    assert office["mom_change"] <= -0.02
    assert f"Office attach fell {-office['mom_change'] * 100:.1f} pts" in sentences("delta_systems")

    # The planted anomalies belong to their partners only.
    for partner, rules in {
        "aurora": ("competitive_loss", "forecast_miss", "attach_drop", "windows_share_drop"),
        "borealis": ("forecast_miss", "attach_drop"),
        "cobalt-pc": ("competitive_loss", "attach_drop"),
        "delta_systems": ("competitive_loss", "forecast_miss"),
    }.items():
        for rule in rules:
            assert flags(partner, rule) == [], (partner, rule)


def test_a_range_rendered_by_worker_processes_matches_one_process(
    normal: Outputs, tmp_path: Path
) -> None:
    """A backfill's reports are split over worker processes; what they write is what one
    process writes (but for the time the page was generated)."""
    months = [FIRST, *QUARTER]  # the months the normal home has KPIs for
    homes = {}
    for workers in (1, 2):
        root = tmp_path / f"workers-{workers}"
        for folder in ("reference", "commentary"):
            shutil.copytree(normal.home.root / folder, root / folder)
        shutil.copy2(normal.home.warehouse, root / "warehouse.duckdb")
        homes[workers] = Home.at(root)
        written = write_reports(homes[workers], months, workers=workers)
        assert [w.month for w in written] == months
        assert [[r.partner_id for r in w.reports] for w in written] == [list(PARTNERS)] * 4

    def without_generated(text: str) -> str:
        # "Generated 2026-11-30 00:24 UTC" in the pages and the Markdown, and the index's
        # "<dt>Generated</dt><dd>2026-11-30 00:24 UTC</dd>".
        return re.sub(
            r"(Generated(?:</dt><dd>)? ?)\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", r"\1(time)", text
        )

    for month in months:
        one, two = (homes[w].reports_dir(month) for w in (1, 2))
        files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
        for name in files:
            assert without_generated((one / name).read_text(encoding="utf-8")) == without_generated(
                (two / name).read_text(encoding="utf-8")
            ), (month, name)


def test_the_index_names_the_targets_a_partner_is_behind(normal: Outputs) -> None:
    """'Target gap: whole partner' stood for two gaps without saying which targets."""
    from oemkpi.kpis.definitions import KPI_BY_NAME

    index = text_of((normal.home.reports_dir(MONTH) / "index.html").read_text(encoding="utf-8"))
    gaps = 0
    for partner in PARTNERS:
        kpis = [
            f["kpi"]
            for f in normal.json(partner)["red_flags"]
            if f["rule"] == "target_gap" and f["scope"] == "partner"
        ]
        if kpis:
            gaps += 1
            labels = [KPI_BY_NAME[k].label for k in dict.fromkeys(kpis)]
            named = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
            assert f"Target gap: whole partner ({named})" in index, partner
    assert gaps
