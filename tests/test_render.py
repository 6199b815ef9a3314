"""The monthly update's HTML and Markdown: sections, self-containment, escaping, formatting."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import replace
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from markdown_it import MarkdownIt

from oemkpi.formats import kpi_value, num, pct, pts, rel, usd, when
from oemkpi.months import month_label
from oemkpi.reference import Partner
from oemkpi.reports.build import ATTACH_COLUMNS, FORECAST_COLUMNS, KPI_COLUMNS
from oemkpi.reports.data import MARKET_COLUMNS, MonthData
from oemkpi.reports.drivers import RATIO_PARTS
from oemkpi.reports.index import all_partners_totals
from oemkpi.reports.model import (
    AssortmentItem,
    Chart,
    Commentary,
    CompetitiveItem,
    FeedState,
    FlagGroup,
    FlagNote,
    ForecastRow,
    IndexRow,
    KpiFigure,
    MonthIndex,
    MonthlyReport,
    ReconciliationRow,
    RedFlag,
    Series,
    Table,
    TableRow,
)
from oemkpi.reports.render import render_html, render_index, render_markdown
from oemkpi.reports.safe_markdown import md_escape
from oemkpi.reports.tables import Column, Group, make_table
from oemkpi.reports.template_helpers import SECTIONS

HOSTILE_SKU = "Aero&14 <Pro>"
PIPE_SKU = "Bolt|X 13"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_LINK = "[x](javascript:alert(1))"
MONTHS = [f"{2025 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(13)]  # 2025-10..2026-10
PARTNER = Partner("acme", "Zenith Seven & Co", "EMEA", "Ann Lee", "ann@example.com")
NAMES = {"DE": "Germany", "JP": "Japan"}


def figure(
    kpi: str,
    label: str,
    kind: str,
    value: float | None,
    mom: float | None = None,
    yoy: float | None = None,
    *,
    qtd: float | None = None,
    target: float | None = None,
    status: str = "no_target",
    flagged: bool = False,
    closed: bool = False,
    prior_target: float | None = None,
) -> KpiFigure:
    attainment = qtd / target if kind == "volume" and qtd is not None and target else None

    def before(change: float | None) -> float | None:
        """The earlier month's value a change was taken from (None without a change)."""
        if value is None or change is None:
            return None
        return value - change if kind == "ratio" else value / (1 + change)

    return KpiFigure(
        kpi=kpi,
        label=label,
        kind=kind,  # type: ignore[arg-type]
        value=value,
        prior_month=before(mom),
        prior_year=before(yoy),
        mom_change=mom,
        yoy_change=yoy,
        qtd=qtd,
        target=target,
        attainment=attainment,
        elapsed_share=1.0 if closed else 2 / 3,
        target_status=status,  # type: ignore[arg-type]
        flagged=flagged,
        quarter_closed=closed,
        prior_target=prior_target,
    )


def series(name: str, start: float, step: float, gaps: tuple[int, ...] = ()) -> Series:
    return Series(
        name, [(m, None if i in gaps else start + i * step) for i, m in enumerate(MONTHS)]
    )


def sums(scale: float) -> dict[str, float | None]:
    return {
        "windows_units": 93_000 * scale,
        "ws_units": 100_000 * scale,
        "pro_units": 41_000 * scale,
        "premium_units": 18_000 * scale,
        "pm_units": 100_000 * scale,
        "license_revenue_usd": 600_000 * scale,
        "office_attached_units": 62_000 * scale,
        "office_base_units": 100_000 * scale,
        "server_attached_units": None,
        "server_base_units": None,
        "office_sell_thru_units": 27_000 * scale,
        "server_sell_thru_units": None,
        "shipped_units": 80_000 * scale,
        "fc_shipped_units": 80_000 * scale,
        "fc_forecast_units": 82_000 * scale,
    }


def scope_table(columns: tuple[Column, ...], rows: int = 2) -> Table:
    groups = [
        Group("Germany", sums(1.0), sums(0.98)),
        Group("Japan", sums(0.8), sums(0.81)),
        *(
            Group(f"Country {i}", sums(0.01 * (i + 1)), sums(0.01 * (i + 1)))
            for i in range(rows - 2)
        ),
    ]
    return make_table(groups, columns, size="ws_units", total_label="Zenith Seven & Co total")


def make_commentary() -> Commentary:
    return Commentary(
        marketing=f"Back-to-school campaign in **Germany**.\n\n{SCRIPT}\n\n{JS_LINK}",
        account_plan="- Win two Pro SKUs in Japan\n- QBR on 12 Nov\n\n| step | owner |\n|---|---|\n| pitch | Ann |",
        best_practices=f"Bundle Office with every commercial notebook. {IMG}",
        escalations="Pricing dispute with the Japanese distributor.",
        why={HOSTILE_SKU: f"Converted after a joint pitch. {SCRIPT}", "Ghost-1": "Typo in SKU."},
        coe={PIPE_SKU: "The partner mis-coded the OS; corrected in the next delivery."},
        notes=[("Notes", "Preamble before any heading."), ("Travel", "Visiting Tokyo in week 46.")],
        flags={
            ("windows_share_drop", "partner"): FlagNote(
                "Two SKUs | moved to **ChromeOS**.", None, f"Ann Lee {SCRIPT}", None
            ),
            ("attach_drop", "DE"): FlagNote("Not flagged this month.", None, None, None),
        },
    )


def make_report(*, with_commentary: bool = True, charts: bool = True) -> MonthlyReport:
    """A realistic month: two countries, both segments, hostile SKUs, a rejected feed."""
    c = make_commentary() if with_commentary else None
    tiles = [
        figure(
            "shipped_units",
            "PC shipments",
            "volume",
            152_340,
            0.0293,
            0.0881,
            qtd=300_340,
            target=480_000,
            status="on_track",
        ),
        figure("server_units", "Server shipments", "volume", 1_200, 0.1, 0.2),
        figure("forecast_attainment", "Forecast attainment", "ratio", 0.912, -0.031, 0.004),
        figure(
            "windows_share",
            "Windows share",
            "ratio",
            0.9312,
            -0.0141,
            -0.0052,
            qtd=0.938,
            target=0.95,
            status="at_risk",
            flagged=True,
            prior_target=0.93,
        ),
        figure(
            "pro_mix",
            "Pro mix",
            "ratio",
            0.4123,
            0.012,
            0.035,
            qtd=0.405,
            target=0.40,
            status="on_track",
        ),
        figure("premium_mix", "Premium mix", "ratio", 0.1875, -0.0004, 0.01),
        figure(
            "license_revenue_usd",
            "Licence revenue (USD)",
            "volume",
            1_234_567.0,
            0.051,
            -0.12,
            qtd=2_400_000,
            target=4_000_000,
            status="on_track",
        ),
        figure(
            "office_attach",
            "Office attach",
            "ratio",
            0.6234,
            -0.025,
            0.02,
            qtd=0.63,
            target=0.65,
            status="at_risk",
            flagged=True,
        ),
        figure("server_attach", "Server attach", "ratio", None, status="unavailable"),
        figure("office_sell_thru_units", "Office sell-thru", "volume", 54_000, -0.105, 0.02),
    ]
    others = [figure("server_sell_thru_units", "Server sell-thru", "volume", None)]
    target = Series("Quarter target", [(m, 0.93 if i < 12 else 0.95) for i, m in enumerate(MONTHS)])
    trend = {
        "shipments": Chart(
            "shipments",
            "PC shipments vs forecast",
            "volume",
            [series("Shipped", 120_000, 2_500), series("Forecast", 130_000, 1_000, gaps=(6,))],
        ),
        "windows_share": Chart(
            "windows_share",
            "Windows share",
            "ratio",
            [series("Windows share", 0.95, -0.0015)],
            (target,),
        ),
        "os_families": Chart(
            "os_families",
            "Windows share by OS family",
            "ratio",
            [series("Windows", 0.95, -0.0015), series("ChromeOS", 0.05, 0.0015)],
            style="stacked",
        ),
        "mix": Chart(
            "mix",
            "Pro and premium mix",
            "ratio",
            [series("Pro mix", 0.38, 0.0025), series("Premium mix", 0.17, 0.001)],
        ),
        "revenue": Chart(
            "revenue",
            "Licence revenue (USD)",
            "volume",
            [series("Licence revenue", 1_000_000, 20_000)],
        ),
        "attach": Chart(
            "attach",
            "Office and Server attach",
            "ratio",
            [
                series("Office attach", 0.6, 0.002),
                Series("Server attach", [(m, None) for m in MONTHS]),
            ],
        ),
    }
    items = [
        AssortmentItem(
            "win", "converted", "DE", "consumer", HOSTILE_SKU, "chromeos", "windows", 2_300, 2_100
        ),
        AssortmentItem(
            "loss", "competitive", "JP", "commercial", PIPE_SKU, "windows", "chromeos", 1_500, 1_800
        ),
        AssortmentItem(
            "discontinued", "discontinued", "DE", "commercial", "Zen 5", "windows", None, None, 450
        ),
    ]
    if c is not None:
        items = [dataclasses.replace(i, why=c.why.get(i.sku), coe=c.coe.get(i.sku)) for i in items]
    flags = [
        RedFlag(
            "windows_share_drop",
            "high",
            "partner",
            "windows_share",
            -0.0141,
            -0.01,
            "Windows share fell 1.4 pts month on month to 93.1 %.",
        ),
        RedFlag(
            "target_gap",
            "medium",
            "partner",
            "office_attach",
            0.63,
            0.64,
            "Office attach quarter to date is 63.0 %, 2.0 pts below the 65.0 % target.",
        ),
        RedFlag(
            "forecast_miss",
            "medium",
            "JP",
            "forecast_attainment",
            0.75,
            0.9,
            "Shipments in JP reached 75.0 % of forecast <R&D>.",
        ),
    ]
    groups = [
        FlagGroup(
            "windows_share_drop",
            "partner",
            "high",
            flags[:1],
            "Windows share drop · whole partner",
            "Windows share fell 1.4 pts month on month.",
            c.flags.get(("windows_share_drop", "partner")) if c else None,
        ),
        FlagGroup(
            "forecast_miss",
            "JP",
            "medium",
            flags[2:],
            "Forecast miss · Japan",
            "Shipments in Japan reached 75.0 % of forecast <R&D>.",
            None,
        ),
    ]
    market = make_table(
        [
            Group(
                "Germany",
                {"units": 1_200_000, "windows_units": 94, "ws_units": 100},
                {"units": 1_141_770, "windows_units": 943, "ws_units": 1000},
                {"units": 1_176_470},
            ),
            Group(
                "Japan",
                {"units": 800_000, "windows_units": 91, "ws_units": 100},
                {"units": 826_446, "windows_units": 906, "ws_units": 1000},
                {"units": 808_080},
            ),
        ],
        MARKET_COLUMNS,
        size="units",
        total_label="All countries shown",
    )
    segments = make_table(
        [
            Group(
                "commercial",
                {"units": 1_100_000, "windows_units": 95, "ws_units": 100},
                {"units": 1_078_431},
            ),
            Group(
                "consumer",
                {"units": 900_000, "windows_units": 90, "ws_units": 100},
                {"units": 909_090},
            ),
        ],
        MARKET_COLUMNS,
        size="units",
        total_label="All segments",
    )
    forecast = make_table(
        [
            Group(
                "Germany commercial",
                {"shipped_units": 50_000, "fc_shipped_units": 50_000, "fc_forecast_units": 52_000},
            ),
            Group(
                "Germany consumer",
                {"shipped_units": 40_000, "fc_shipped_units": 40_000, "fc_forecast_units": 41_000},
            ),
            Group(
                "Japan commercial",
                {"shipped_units": 32_340, "fc_shipped_units": None, "fc_forecast_units": None},
            ),
            Group(
                "Japan consumer",
                {"shipped_units": 30_000, "fc_shipped_units": 30_000, "fc_forecast_units": 40_000},
            ),
        ],
        FORECAST_COLUMNS,
        size="shipped_units",
        total_label="Zenith Seven & Co total",
    )
    return MonthlyReport(
        partner=PARTNER,
        month="2026-10",
        month_label="October 2026",
        fiscal_quarter="FY27-Q2",
        data_as_of="2026-11-05T08:12:00+00:00",
        generated_at="2026-11-06T07:00:00+00:00",
        country_names=NAMES,
        tiles=tiles,
        summary=[
            "Zenith Seven & Co shipped 152k PCs in October 2026, up 2.9 % on September 2026.",
            "Windows share fell 1.4 pts to 93.1 %, driven by Japan commercial (1.0 pts of it).",
            "3 red flags (1 high): 1 Windows share drop, 1 target gap and 1 forecast miss.",
        ],
        flag_counts={"high": 1, "medium": 2},
        flag_groups=groups,
        flag_orphans=[
            ("Attach drop · Germany", c.flags[("attach_drop", "DE")], "not flagged this month")
        ]
        if c
        else [],
        competitive_watch=[
            CompetitiveItem("JP", "Japan", "commercial", PIPE_SKU, "chromeos", 1_500, 1_800),
            CompetitiveItem("DE", "Germany", "consumer", "Tiny-1", "linux", 40, 80),
        ],
        market_by_country=market,
        market_by_segment=segments,
        forecast=forecast,
        forecast_rows=[
            ForecastRow("JP", "Japan", "consumer", 30_000, 40_000, 0.75),
        ],
        kpis_by_country=scope_table(KPI_COLUMNS),
        kpis_by_segment=scope_table(KPI_COLUMNS),
        attach_by_country=scope_table(ATTACH_COLUMNS),
        attach_by_segment=scope_table(ATTACH_COLUMNS),
        kpis=tiles + others,
        charts=trend if charts else {},
        assortment=items,
        commentary=c,
        red_flags=flags,
        feeds=[
            FeedState("pc_shipments", "loaded", 1_200, 0, 0, "2026-11-03T09:00:00"),
            FeedState(
                "windows_share",
                "rejected",
                980,
                3,
                2,
                "2026-11-04T10:30:00",
                ["os_family_in_set", "key_unique"],
                "windows_share.csv row 7, column os_family: value 'win<dows>' is not allowed.",
            ),
            FeedState("premium_mix", "late", 0, 0, 0, None),
            FeedState("attach_rate", "loaded", 640, 0, 0, "2026-11-05T08:12:00"),
        ],
        # The partner's own rows: a delivery holds every partner's.
        feed_rows={"pc_shipments": 110, "windows_share": 412, "attach_rate": 64},
        reconciliation=[
            ReconciliationRow(
                "JP",
                "commercial",
                "shipments_vs_windows_share",
                "pc_shipments",
                32_340,
                "windows_share",
                30_100,
                0.0693,
            ),
        ],
        missing_feeds=["premium_mix"],
        export={},
        quarter_end=False,
    )


SECTION_HEADINGS = [
    "Executive summary",
    "Red flags and escalations",
    "Competitive watch",
    "Market trends",
    "Partner performance",
    "KPI updates",
    "Assortment wins and losses",
    "Attach and sell-thru",
    "Marketing activities, account plan and best practices",
    "Quarterly conditions of satisfaction",
    "Appendix: full tables and data quality",
]


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def text_of(fragment: str) -> str:
    return re.sub(r"<[^>]+>", "", fragment)


@pytest.fixture(scope="module")
def report() -> MonthlyReport:
    return make_report()


@pytest.fixture(scope="module")
def html(report: MonthlyReport) -> str:
    return render_html(report)


@pytest.fixture(scope="module")
def markdown(report: MonthlyReport) -> str:
    return render_markdown(report)


def test_sections_match_spec():
    assert [title for _, title in SECTIONS] == SECTION_HEADINGS


def test_html_has_every_section_in_order(html: str):
    assert re.findall(r"<h2 id=\"[^\"]+\">([^<]+)<a", html) == SECTION_HEADINGS
    assert html.index("<h1>") < html.index("<h2")
    headline = html[html.index("<header") : html.index("</header>")]
    for fact in (
        "Zenith Seven &amp; Co",
        "October 2026",
        "FY27-Q2",
        "2026-11-05 08:12 UTC",
        "Ann Lee",
    ):
        assert fact in headline
    # The table of contents links every section's anchor.
    for anchor, _ in SECTIONS:
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html


def test_markdown_has_every_section_in_order(markdown: str):
    assert markdown.startswith("# Zenith Seven & Co — monthly update, October 2026\n")
    assert re.findall(r"^## (.+)$", markdown, re.M) == SECTION_HEADINGS
    assert "<svg" not in markdown


def test_html_is_self_contained(html: str):
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert "<iframe" not in lowered and "<img" not in lowered
    # The only url() references are the charts' own clip paths, inside the page.
    assert set(re.findall(r"url\(([^)]*)\)", lowered)) <= {
        m for m in re.findall(r"url\((#c-[a-z_-]+-[a-z0-9_]+)\)", lowered)
    }
    for tag, attrs in tags(html):
        assert tag not in {"script", "link", "img", "iframe", "object", "embed", "base"}
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("src", "href", "xlink:href", "action", "srcset"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "javascript:", "data:")), (
                tag,
                attrs,
            )
    assert lowered.count("<svg") == 6  # every chart of the model, each once
    # Several charts inlined in one page never share an id.
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert "<style>" in html and "@media print" in html


def test_hostile_sku_is_escaped_in_html(html: str):
    assert "Aero&amp;14 &lt;Pro&gt;" in html
    assert HOSTILE_SKU not in html
    assert "Bolt|X 13" in html
    assert "forecast &lt;R&amp;D&gt;" in html
    assert "value &#39;win&lt;dows&gt;&#39; is not allowed" in html


def test_hostile_commentary_is_escaped_in_html(html: str):
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "[x](javascript:alert(1))" in html  # shown as text, not made a link
    assert not [a for t, a in tags(html) if t == "a" and "javascript" in (a.get("href") or "")]


def test_markdown_escapes_feed_values_and_tables_hold(markdown: str):
    assert "| Aero&14 \\<Pro> |" in markdown
    assert "| Bolt\\|X 13 |" in markdown
    assert HOSTILE_SKU not in markdown
    # No HTML entity anywhere (SPEC section 5), from a value or from commentary.
    assert "&amp;" not in markdown and "&lt;" not in markdown and "&gt;" not in markdown
    # Render it as a permissive chat/mail client would (raw HTML on): tables keep their shape
    # and nothing from the data becomes a tag or a link.
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    tables = re.findall(r"<table>.*?</table>", rendered, re.S)
    assortment = next(t for t in tables if "Prior units" in t)
    rows = re.findall(r"<tr>(.*?)</tr>", assortment, re.S)
    assert [len(re.findall(r"<t[hd]", row)) for row in rows] == [7, 7, 7, 7]
    skus = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[3] for row in rows[1:]]
    assert sorted(skus) == sorted(["Aero&amp;14 &lt;Pro&gt;", "Bolt|X 13", "Zen 5"])
    assert "<script" not in rendered and "<img" not in rendered and "<Pro>" not in rendered
    assert "javascript:" not in "".join(re.findall(r'href="([^"]*)"', rendered))


def test_markdown_commentary_is_kept_but_neutralised(markdown: str):
    assert "Back-to-school campaign in **Germany**." in markdown
    assert "\\<script>alert(1)\\</script>" in markdown
    assert "\\<img src=x onerror=alert(1)>" in markdown
    assert "[x]\\(javascript:alert(1))" in markdown
    assert "| step | owner |" in markdown  # the PAM's own table survives


def test_none_renders_as_na_never_zero(html: str, markdown: str):
    tile = re.search(
        r'<article class="tile[^"]*" id="tile-server_attach">.*?</article>', html, re.S
    )
    assert tile is not None
    tile_text = text_of(tile.group(0))
    # The attach rate is in, with no Windows Server base for the partner: nothing to
    # measure, not data missing (that is what a tile says when its feed is not in).
    assert "n/a — no Windows Server base" in tile_text
    assert not re.search(r"\d", tile_text)
    assert "| Server attach | n/a — no Windows Server base | n/a | n/a | No target |" in markdown
    # A column with no value in any row is left out (four columns of n/a said nothing), and
    # the note says why there is no Server attach.
    assert "| Germany | 62.0 % | ▶ 0.0 pts | 27,000 | ▲ +2.0 % |" in markdown
    assert "No Server attach: no Windows Server base this month." in markdown
    attach = html[html.index('id="sec-attach"') : html.index('id="sec-commentary"')]
    assert "Server attach</th>" not in attach and "Server sell-thru" not in attach
    assert "No Server attach: no Windows Server base this month." in text_of(attach)
    assert "| Japan commercial | 32,340 | n/a | n/a |" in markdown


def test_executive_summary_markdown_golden(markdown: str):
    section = markdown.split("## Executive summary\n", 1)[1].split("\n## ", 1)[0]
    assert section.strip().splitlines() == [
        "| KPI | Value | MoM | YoY | Against target |",
        "|---|---:|---:|---:|---|",
        "| PC shipments | 152,340 | ▲ +2.9 % | ▲ +8.8 % | QTD 300k · 62.6 % of 480k with 67 % of the quarter gone · ✓ On track |",
        "| Server shipments | 1,200 | ▲ +10.0 % | ▲ +20.0 % | No target |",
        "| Forecast attainment | 91.2 % | ▼ −3.1 pts | ▲ +0.4 pts | No target |",
        "| Windows share ⚑ | 93.1 % | ▼ −1.4 pts | ▼ −0.5 pts | QTD 93.8 % · −1.2 pts vs 95.0 % · ⚠ At risk · target raised from 93.0 % |",
        "| Pro mix | 41.2 % | ▲ +1.2 pts | ▲ +3.5 pts | QTD 40.5 % · +0.5 pts vs 40.0 % · ✓ On track |",
        "| Premium mix | 18.8 % | ▶ 0.0 pts | ▲ +1.0 pts | No target |",
        "| Licence revenue (USD) | $1.23M | ▲ +5.1 % | ▼ −12.0 % | QTD $2.40M · 60.0 % of $4.00M with 67 % of the quarter gone · ✓ On track |",
        "| Office attach ⚑ | 62.3 % | ▼ −2.5 pts | ▲ +2.0 pts | QTD 63.0 % · −2.0 pts vs 65.0 % · ⚠ At risk |",
        "| Server attach | n/a — no Windows Server base | n/a | n/a | No target |",
        "| Office sell-thru | 54,000 | ▼ −10.5 % | ▲ +2.0 % | No target |",
        "",
        "- Zenith Seven & Co shipped 152k PCs in October 2026, up 2.9 % on September 2026.",
        "- Windows share fell 1.4 pts to 93.1 %, driven by Japan commercial (1.0 pts of it).",
        "- 3 red flags (1 high): 1 Windows share drop, 1 target gap and 1 forecast miss.",
    ]


def test_markdown_structure(markdown: str):
    # A quarter with last quarter's targets keeps their column.
    assert "| KPI | QTD | Target | Last quarter's target | Gap or attainment | Status |" in markdown
    assert (
        # Two countries, one each way: not "most".
        "By country: Germany grew (+5.1 % MoM); Japan declined (−3.2 % MoM)." in markdown
    )
    # 32,340 units carry no forecast: attainment is 120,000 / 133,000, and the table says so.
    assert (
        "| Country and segment | Shipped units | With a forecast | Forecast units | "
        "Attainment |" in markdown
    )
    assert "| **Zenith Seven & Co total** | 152,340 | 120,000 | 133,000 | 90.2 % |" in markdown
    assert (
        "_Attainment is the units shipped with a forecast over forecast units; 32,340 units "
        "shipped without a forecast are left out of it. Server shipments are excluded._" in markdown
    )
    assert (
        "| ⚑ high: Windows share drop · whole partner | Windows share fell 1.4 pts month on month. "
        "| Two SKUs \\| moved to **ChromeOS**. | _to be written_ | Ann Lee \\<script>alert(1)\\</script> |"
        in markdown
    )
    assert "| medium: Forecast miss · Japan |" in markdown
    assert (
        "**Commentary on Attach drop · Germany** (not flagged this month): Why: Not flagged this month."
        in markdown
    )
    assert "| Windows share | 93.8 % | 95.0 % | 93.0 % | −1.2 pts | ⚠ At risk |" in markdown
    assert (
        "| Feed | Status | Rows in force, all partners | Rows of Zenith Seven & Co | Problems "
        "| Checks failed | Latest delivery |" in markdown
    )
    assert (
        "| Windows share | ✗ re-delivery rejected | 980 | 412 | 3 | 2 | 2026-11-04 10:30 UTC |"
        in markdown
    )
    # The watch counts a SKU of any size; the assortment only those of 100 units or more.
    assert (
        "2 SKUs went from Windows last month to another OS family this month: 1 to ChromeOS "
        "(1,800 units last month); 1 to Linux (80 units last month). 1 of them had fewer than "
        "100 units last month: the assortment section, which counts SKUs of at least 100, "
        "leaves it out." in markdown
    )
    assert "| Premium mix | ⚠ late | 0 | 0 | 0 | 0 | not delivered |" in markdown
    assert (
        # The checks in words, not their ids (os_family_in_set, key_unique).
        "Failed checks: OS family one of the allowed values; one row per key." in markdown
    )
    assert "No rows for Zenith Seven & Co in: premium mix." in markdown
    assert (
        "| Japan | commercial | PC shipments | 32,340 | Windows share | 30,100 | 6.9 % |"
        in markdown
    )
    # The two charts of the HTML's competitive watch: the Windows share with its quarter's
    # target, then the OS families' bands.
    assert (
        "_Trend over 13 months — Windows share: 95.0 % (Oct 25) → 93.2 % (Oct 26); quarter "
        "target 93.0 % from Oct 25, 95.0 % from Oct 26._\n\n"
        "_Trend over 13 months — Windows share by OS family: Windows 95.0 % (Oct 25) → 93.2 % "
        "(Oct 26); ChromeOS 5.0 % (Oct 25) → 6.8 % (Oct 26)._" in markdown
    )
    # Every body table has its partner total row.
    for caption in ("| Country | Windows share |", "| Country | Office attach |"):
        block = markdown.split(caption, 1)[1].split("\n\n", 1)[0]
        assert "| **Zenith Seven & Co total** |" in block
    assert "\n\n\n" not in markdown and markdown.endswith("\n") and not markdown.endswith("\n\n")
    # Every table row has as many cells as its header.
    for block in re.findall(r"(?:^\|.*\|\n)+", markdown, re.M):
        lines = block.splitlines()
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
        assert len(widths) == 1, lines


def test_stakeholder_text_has_no_rule_ids_paths_or_os_codes(html: str, markdown: str):
    body = markdown.split("## Appendix")[0]
    for raw in (
        "windows_share_drop",
        "forecast_miss",
        "competitive_loss",
        "chromeos",
        "commentary/",
    ):
        assert raw not in body, raw
    assert "Windows share: Windows share" not in markdown
    main = html.split('id="sec-appendix"')[0]
    assert "windows_share_drop" not in main and ">chromeos<" not in main


def test_competitive_watch_lists_every_move_whatever_its_units(html: str, markdown: str):
    section = html[html.index('id="sec-competitive"') : html.index('id="sec-market"')]
    assert "Bolt|X 13" in section and "Tiny-1" in section and "Linux" in section
    assert "2 SKUs went from Windows last month to another OS family this month" in text_of(section)
    assert "| Germany | consumer | Tiny-1 | Linux | 80 | 40 |" in markdown
    assert "Windows share by OS family" in section and "Quarter target" in section
    # The target on the zoomed Windows share chart, the bands beside it.
    charts = section[section.index('id="chart-windows_share"') :]
    assert "Quarter target" in charts[: charts.index("</figure>")]
    assert 'id="chart-os_families"' in charts


def test_flag_commentary_or_to_be_written(html: str):
    section = html[html.index('id="sec-red-flags"') : html.index('id="sec-competitive"')]
    rows = re.findall(r"<tr><td><span class=\"sev.*?</tr>", section, re.S)
    assert len(rows) == 2
    assert "Two SKUs | moved to <strong>ChromeOS</strong>." in rows[0]
    assert "&lt;script&gt;" in rows[0] and "<script" not in rows[0]
    assert rows[1].count('<span class="tbw">to be written</span>') == 3
    assert "Not flagged this month." in section


def test_why_and_coe_sit_next_to_their_item(html: str, markdown: str):
    section = html[html.index('id="sec-assortment"') : html.index('id="sec-attach"')]
    rows = re.findall(r"<tr class=\"(item|comment-row)\">(.*?)</tr>", section, re.S)
    kinds = [(kind, text_of(body)) for kind, body in rows]
    index = next(
        i for i, (k, t) in enumerate(kinds) if k == "item" and "Aero&amp;14 &lt;Pro&gt;" in t
    )
    assert kinds[index + 1][0] == "comment-row"
    assert "Converted after a joint pitch." in kinds[index + 1][1]
    index = next(i for i, (k, t) in enumerate(kinds) if k == "item" and "Bolt|X 13" in t)
    assert kinds[index + 1][0] == "comment-row"
    assert (
        "Correction of error" in kinds[index + 1][1] and "mis-coded the OS" in kinds[index + 1][1]
    )
    assert kinds[-1][0] == "item" and "Zen 5" in kinds[-1][1]  # no commentary, no comment row
    assert "Ghost-1" in html  # commentary on a SKU not in the list is not lost
    why = markdown.index("**Why — Aero&14 \\<Pro>** (Germany, consumer, win):")
    assert markdown[why:].splitlines()[2].startswith("Converted after a joint pitch.")
    coe = markdown.index("**Correction of error — Bolt\\|X 13** (Japan, commercial, loss):")
    assert markdown[coe:].splitlines()[2].startswith("The partner mis-coded the OS")


def test_commentary_sections_render_with_notes(html: str, markdown: str):
    section = html[html.index('id="sec-commentary"') : html.index('id="sec-quarter"')]
    assert "<strong>Germany</strong>" in section
    assert "<li>Win two Pro SKUs in Japan</li>" in section and "<td>pitch</td>" in section
    assert section.index("Notes") < section.index("Preamble before any heading.")
    assert "<h4>Travel</h4>" in section
    assert "No commentary yet." not in html
    assert "Pricing dispute with the Japanese distributor." in html
    assert "### Notes\n\nPreamble before any heading.\n\n#### Travel\n\nVisiting Tokyo" in markdown


@pytest.mark.parametrize(
    ("with_commentary", "high", "html_words", "md_words"),
    [
        # A high red flag and no Escalations section: still to be written, whatever else
        # the commentary says (it read "None this month" beside two high flags).
        (True, 1, '<p><span class="tbw">to be written</span></p>', "_to be written_"),
        (False, 1, '<p><span class="tbw">to be written</span></p>', "_to be written_"),
        # No high flag: none, commentary or not (it read "to be written" beside "No red flags").
        (
            True,
            0,
            '<p class="empty">None due: no high red flag this month.</p>',
            "_None due: no high red flag this month._",
        ),
        (
            False,
            0,
            '<p class="empty">None due: no high red flag this month.</p>',
            "_None due: no high red flag this month._",
        ),
    ],
)
def test_escalations_follow_the_high_flags(
    with_commentary: bool, high: int, html_words: str, md_words: str
) -> None:
    base = make_report(with_commentary=with_commentary)
    groups = [
        replace(g, flags=[replace(f, severity="high" if high else "medium") for f in g.flags])
        for g in base.flag_groups
    ]
    report = replace(base, flag_counts={"high": high, "medium": 1}, flag_groups=groups)
    if with_commentary:
        assert report.commentary is not None
        report = replace(report, commentary=replace(report.commentary, escalations=None))
    html, markdown = render_html(report), render_markdown(report)
    after = html.split('id="escalations">Escalations</h3>', 1)[1]
    assert after.lstrip().startswith(html_words)
    assert markdown.split("### Escalations\n", 1)[1].lstrip().startswith(md_words)


def test_commentary_on_a_flag_whose_feed_is_not_in_says_it_could_not_be_checked():
    """'(not flagged this month)' read as good news when the attach rate never came."""
    from oemkpi.reports.flags import orphan_flag_notes

    commentary = make_commentary()
    names = {"DE": "Germany"}
    feeds = [
        FeedState("attach_rate", "missing", 0, 0, 0, None),
        FeedState("windows_share", "loaded", 10, 0, 0, None),
    ]
    by_title = {t: why for t, _, why in orphan_flag_notes([], commentary, names, feeds)}
    assert by_title["Attach drop · Germany"] == (
        "could not be checked this month: the attach rate feed has not been delivered yet"
    )
    loaded = [replace(f, status="loaded", rows=10) for f in feeds]
    by_title = {t: why for t, _, why in orphan_flag_notes([], commentary, names, loaded)}
    assert by_title["Attach drop · Germany"] == "not flagged this month"


def test_a_trend_says_how_many_months_it_covers_and_a_single_month_goes_nowhere():
    """The first month read "95.0 % (Oct 26) → 95.0 % (Oct 26)" under "13-month trend"."""
    from oemkpi.reports.template_helpers import chart_summary, trend_span

    months = [f"2026-{m:02d}" for m in range(1, 11)]
    one = {
        "windows_share": Chart(
            "windows_share",
            "Windows share",
            "ratio",
            [Series("Windows share", [(m, None) for m in months[:-1]] + [(months[-1], 0.95)])],
        )
    }
    assert chart_summary(one, "windows_share") == "Windows share: 95.0 % (Oct 26)."
    targeted = {
        "windows_share": replace(
            one["windows_share"],
            targets=(Series("Windows share target", [(m, 0.93) for m in months]),),
        )
    }
    # The target from the first month with data, not from Jan 26 before it.
    assert chart_summary(targeted, "windows_share") == (
        "Windows share: 95.0 % (Oct 26); Windows share target 93.0 % from Oct 26."
    )
    assert trend_span(one, "windows_share") == "1 month"
    ten = {
        "windows_share": Chart(
            "windows_share",
            "Windows share",
            "ratio",
            [Series("Windows share", [(m, 0.9) for m in months])],
        )
    }
    assert trend_span(ten, "windows_share") == "10 months"
    # No month with data: no trend line ("Trend over 0 months — Server attach no data").
    empty = {"attach": Chart("attach", "Attach", "ratio", [Series("Server attach", [])])}
    assert chart_summary(empty, "attach") is None
    assert trend_span(empty, "attach") == "no data"  # the HTML caption, not "0 months"


def test_a_closing_quarter_with_a_month_missing_says_where_targets_are_judged():
    report = make_report()

    def partial(k: KpiFigure) -> KpiFigure:
        if k.kpi != "shipped_units":
            return k
        return replace(k, qtd_months_missing=("2026-09",), target_status="unavailable")

    report = replace(
        report,
        quarter_end=True,
        kpis=[partial(k) for k in report.kpis],
        tiles=[partial(k) for k in report.tiles],
    )
    rule = (
        "each target is met or missed on the quarter's final figures, where the quarter has "
        "data for every month (not for September 2026)."
    )
    html = render_html(report)
    assert rule in render_markdown(report) and rule in unescape(text_of(html))
    assert "(without September 2026)" in render_markdown(report)
    tile = re.search(
        r'<article class="tile[^"]*" id="tile-shipped_units">.*?</article>', html, re.S
    )
    assert tile is not None
    assert "QTD without September 2026, not judged · target 480,000" in text_of(tile.group(0))
    none_judged = replace(
        report,
        kpis=[replace(k, qtd_months_missing=("2026-09",)) for k in report.kpis],
    )
    assert "no target is judged, as the quarter has no data for September 2026." in (
        render_markdown(none_judged)
    )


def test_a_competitive_loss_does_not_put_the_flag_mark_on_the_windows_share_tile():
    from oemkpi.reports.flags import flagged_kpis

    loss = RedFlag("competitive_loss", "high", "BR", "windows_share", 2600, 1000, "m", "c", "A")
    drop = RedFlag("windows_share_drop", "medium", "DE", "windows_share", -0.05, -0.03, "m")
    gap = RedFlag("target_gap", "high", "partner", "pro_mix", 0.4, 0.44, "m")
    assert flagged_kpis([loss]) == set()
    assert flagged_kpis([loss, drop, gap]) == {"windows_share", "pro_mix"}


def test_market_rows_without_shipments_go_by_sku_units_not_by_name():
    from oemkpi.reports.data import _market_table

    def row(code: str, ws_units: int) -> dict[str, object]:
        return {
            "scope": "country",
            "code": code,
            "units": None,
            "prior_units": None,
            "prior_year_units": None,
            "windows_units": ws_units // 2,
            "ws_units": ws_units,
            "prior_windows_units": None,
            "prior_ws_units": None,
        }

    codes = [f"C{i:02d}" for i in range(12)]
    rows = [row(c, 100 + i) for i, c in enumerate(codes)] + [row("US", 9_000)]
    table = _market_table(rows, {"US": "United States"}, "country")
    assert table.shown[0].label == "United States"  # by name it fell into "all other"


def test_a_reconciliation_without_premium_mix_is_not_said_to_be_within_tolerance():
    """Windows share is reconciled with premium mix too; without it the appendix said
    'All cross-feed reconciliations are within tolerance.'"""
    report = make_report()
    feeds = [
        replace(f, status="missing", rows=0)
        if f.feed == "premium_mix"
        else replace(f, status="loaded", rows=10)
        for f in report.feeds
    ]
    report = replace(report, feeds=feeds, reconciliation=[])
    expected = (
        "Not every cross-feed reconciliation could be made. The premium mix feed for "
        "October 2026 has not been delivered yet."
    )
    assert f"_{expected}_" in render_markdown(report)
    assert "within tolerance" not in render_markdown(report)


def test_no_commentary_is_a_short_marker_without_paths_or_instructions():
    report = make_report(with_commentary=False)
    html, markdown = render_html(report), render_markdown(report)
    # The dashed marker ends the line: a full stop after it printed as " ."
    assert 'Commentary <span class="tbw">to be written</span></p>' in html
    assert "_Commentary to be written._" in markdown
    for text in (html, markdown):
        assert "commentary/" not in text and "Headings:" not in text and "## Why" not in text
    assert '<tr class="comment-row">' not in html


def test_missing_charts_are_omitted():
    report = make_report(charts=False)
    html, markdown = render_html(report), render_markdown(report)
    assert "<svg" not in html and 'class="chart"' not in html
    assert "Trend over" not in markdown
    assert re.findall(r"^## (.+)$", markdown, re.M) == SECTION_HEADINGS


def test_quarter_end_is_said(report: MonthlyReport):
    closing = dataclasses.replace(report, quarter_end=True)
    assert "October 2026 closes FY27-Q2:" in text_of(render_html(closing))
    assert (
        "**October 2026 closes FY27-Q2:** each target is met or missed on the quarter's final figures."
        in render_markdown(closing)
    )


@pytest.mark.parametrize(
    ("qtd", "target", "kind", "status", "words"),
    [
        (1.004, 1.0, "volume", "met", "Met: 100.4 % of 1,000"),
        (0.996, 1.0, "volume", "missed", "Missed: 99.6 % of 1,000"),
        (0.9996, 1.0, "volume", "missed", "Missed: 99.96 % of 1,000"),
        (0.4496, 0.45, "ratio", "missed", "Missed: 45.0 % vs 45.0 % (−0.04 pts)"),
        (0.452, 0.45, "ratio", "met", "Met: 45.2 % vs 45.0 % (+0.2 pts)"),
    ],
)
def test_closed_quarter_says_met_or_missed_with_the_exact_figure(qtd, target, kind, status, words):
    from oemkpi.reports.targets import closed_status, target_text

    scale = 1000 if kind == "volume" else 1
    f = figure(
        "shipped_units" if kind == "volume" else "pro_mix",
        "X",
        kind,
        qtd * scale,
        qtd=qtd * scale,
        target=target * scale,
        status=status,
        closed=True,
    )
    assert closed_status(f) == status
    assert target_text(f) == words


def test_empty_month_renders():
    empty = make_table([], (Column("units", "units"),), size="units")
    report = dataclasses.replace(
        make_report(with_commentary=False, charts=False),
        market_by_country=empty,
        market_by_segment=empty,
        forecast=empty,
        forecast_rows=[],
        kpis_by_country=empty,
        kpis_by_segment=empty,
        attach_by_country=empty,
        attach_by_segment=empty,
        assortment=[],
        competitive_watch=[],
        red_flags=[],
        flag_groups=[],
        reconciliation=[],
        missing_feeds=[],
        summary=[],
        flag_counts={"high": 0, "medium": 0},
    )
    # Every feed in, nothing to reconcile (the fixture's late premium mix would say so).
    report = dataclasses.replace(
        report, feeds=[dataclasses.replace(f, status="loaded", rows=1) for f in report.feeds]
    )
    html, markdown = render_html(report), render_markdown(report)
    for text in (html, markdown):
        assert "No assortment wins or losses this month." in text
        assert "No red flags this month." in text
        assert "No market totals are available for this month." in text
        assert "No SKU went from Windows to another OS family this month." in text
        assert "All cross-feed reconciliations are within tolerance." in text
    assert re.findall(r"^## (.+)$", markdown, re.M) == SECTION_HEADINGS


def make_index(*, quarter_end: bool = False) -> MonthIndex:
    hostile = Partner("bolt-pc", "Bolt <PC> & Co", "APJ", "Bo <Chen>", "bo@example.com")
    report = make_report()
    figures = {f.kpi: f for f in report.kpis}
    if quarter_end:
        figures = {
            k: dataclasses.replace(
                f,
                quarter_closed=True,
                target_status="met"
                if k == "pro_mix"
                else ("missed" if f.target else f.target_status),
            )
            for k, f in figures.items()
        }
    empty = {
        k: dataclasses.replace(
            f,
            value=None,
            mom_change=None,
            yoy_change=None,
            target=None,
            target_status="unavailable",
        )
        for k, f in figures.items()
    }
    return MonthIndex(
        month="2026-10",
        month_label="October 2026",
        fiscal_quarter="FY27-Q2",
        generated_at="2026-11-06T07:00:00+00:00",
        quarter_end=quarter_end,
        rows=[
            IndexRow(
                PARTNER,
                figures,
                1,
                2,
                {"windows_share_drop": ["whole partner"], "forecast_miss": ["Japan"]},
                report.competitive_watch,
                False,
                1,
                "acme.html",
                "acme.md",
                "acme.json",
            ),
            IndexRow(
                hostile, empty, 0, 0, {}, [], True, 0, "bolt-pc.html", "bolt-pc.md", "bolt-pc.json"
            ),
        ],
        totals={k: figures[k] for k in ("shipped_units", "windows_share")},
        feeds=report.feeds,
    )


def test_index_lists_partners_with_links(tmp_path: Path):
    html = render_index(make_index())
    out = tmp_path / "index.html"
    out.write_text(html, encoding="utf-8")
    assert "<script" not in html.lower() and "<link" not in html.lower()
    # Its wide partner table prints on a landscape page (portrait shrank it to ~6 pt text);
    # a partner's update stays portrait.
    assert "@page { size: A4 landscape; }" in html
    assert "landscape" not in render_html(make_report())
    hrefs = [
        a["href"] for t, a in tags(html) if t == "a" and not (a.get("href") or "").startswith("#")
    ]
    assert hrefs == [
        "acme.html",
        "acme.html",
        "acme.md",
        "acme.json",
        "bolt-pc.html",
        "bolt-pc.html",
        "bolt-pc.md",
        "bolt-pc.json",
    ]
    assert "Bolt &lt;PC&gt; &amp; Co" in html and "Bo &lt;Chen&gt;" in html
    rows = re.findall(r"<tr>\n<td class=\"partner\">(.*?)</tr>", html, re.S)
    assert len(rows) == 2
    acme = text_of(rows[0])
    for fact in ("152,340", "93.1 %", "+8.8 % YoY", "⚠ At risk", "$1.23M", "⚑ 1 high"):
        assert fact in acme, fact
    assert "Windows share drop: whole partner" in acme and "Forecast miss: Japan" in acme
    assert "1 flag without why, correction or owner" in acme
    bolt = text_of(rows[1])
    assert "n/a" in bolt and "none" in bolt and "to be written" in bolt
    assert not re.search(r"\b0\b", bolt)
    competitive = html[html.index('id="sec-competitive"') : html.index('id="sec-feeds"')]
    assert (
        "Bolt|X 13" in competitive
        and "Tiny-1" in competitive
        and "Zenith Seven &amp; Co" in competitive
    )
    assert "<tfoot><tr><th>All partners</th>" in html
    assert "✗ re-delivery rejected" in html and "windows_share.csv row 7" in html
    assert "1 high · 2 medium" in html
    assert 'id="sec-scoreboard"' not in html


def test_index_in_a_quarters_last_month_has_the_scoreboard():
    html = render_index(make_index(quarter_end=True))
    # "Missed" beside "Red flags: none" says where the flag's threshold lies.
    assert (
        "Missed: the quarter closed below its target. A target-gap red flag is raised only for "
        "a ratio 1.0 pts or more below its target, or a volume below 90 % of it."
    ) in html
    loose = render_index(replace(make_index(quarter_end=True), target_gap_pts=(2.5, 15.0)))
    assert "a ratio 2.5 pts or more below its target, or a volume below 85 % of it." in loose
    board = html[html.index('id="sec-scoreboard"') : html.index('id="sec-competitive"')]
    rows = re.findall(r"<tr><td>(.*?)</tr>", board, re.S)
    assert "✓ Met" in rows[0] and "✗ Missed" in rows[0]
    assert text_of(rows[0]).endswith("1 of 5")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.9123, "91.2 %"),
        (0.9125, "91.3 %"),  # half up, as a reader rounds
        (0.0, "0.0 %"),
        (-0.0, "0.0 %"),
        (-0.00001, "0.0 %"),
        (1.0, "100.0 %"),
        (-0.051, "−5.1 %"),
        (float("nan"), "n/a"),
        (None, "n/a"),
    ],
)
def test_pct(value, expected):
    assert pct(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-0.023, "−2.3 pts"),
        (0.012, "+1.2 pts"),
        (0.0, "0.0 pts"),
        (-0.0, "0.0 pts"),
        (-0.0004, "0.0 pts"),  # rounds to zero: no sign
        (0.00051, "+0.1 pts"),
        (None, "n/a"),
    ],
)
def test_pts(value, expected):
    assert pts(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.051, "+5.1 %"),
        (-0.12, "−12.0 %"),
        (0.0, "0.0 %"),
        (-0.0, "0.0 %"),
        (1.5, "+150.0 %"),
        (None, "n/a"),
    ],
)
def test_rel(value, expected):
    assert rel(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234567, "1,234,567"),
        (1234567.0, "1,234,567"),
        (1234.5, "1,235"),
        (0, "0"),
        (-0.0, "0"),
        (-0.4, "0"),
        (-1500, "−1,500"),
        (None, "n/a"),
    ],
)
def test_num(value, expected):
    assert num(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_234_567, "$1.23M"),
        (456_000, "$456k"),
        (456_499, "$456k"),
        (999_600, "$1.00M"),  # rounding up crosses into millions
        (9_999, "$9,999"),
        (10_000, "$10k"),
        (789, "$789"),
        (0, "$0"),
        (-0.0, "$0"),
        (2_500_000_000, "$2.50B"),
        (-1_234_567, "−$1.23M"),
        (-0.4, "$0"),
        (float("inf"), "n/a"),
        (None, "n/a"),
    ],
)
def test_usd(value, expected):
    assert usd(value) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("2026-10",), "October 2026"),
        (("2026-01", True), "Jan 26"),
        (("not-a-month",), "not-a-month"),
        ((None,), "n/a"),
    ],
)
def test_month_label(args, expected):
    assert month_label(*args) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-05T08:12:00+00:00", "2026-11-05 08:12 UTC"),
        ("2026-11-05T10:12:00+02:00", "2026-11-05 08:12 UTC"),
        ("2026-11-05T08:12:00", "2026-11-05 08:12 UTC"),
        ("yesterday", "yesterday"),
        (None, "n/a"),
    ],
)
def test_when(value, expected):
    assert when(value) == expected


@pytest.mark.parametrize(
    ("value", "kpi", "kind", "expected"),
    [
        (0.9312, "windows_share", "ratio", "93.1 %"),
        (1_234_567.0, "license_revenue_usd", "volume", "$1.23M"),
        (152_340, "shipped_units", "volume", "152,340"),
        (0, "shipped_units", "volume", "0"),
        (None, "shipped_units", "volume", "n/a"),
    ],
)
def test_kpi_value(value, kpi, kind, expected):
    assert kpi_value(value, kpi, kind) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Aero&14 <Pro>", "Aero&14 \\<Pro>"),
        ("Zenith Seven & Co", "Zenith Seven & Co"),
        ("a &amp; b &#60;", "a \\&amp; b \\&#60;"),
        ("a < b > c", "a < b > c"),
        ("<!-- x -->", "\\<!-- x -->"),
        ("a|b", "a\\|b"),
        ("a\\|b", "a\\\\\\|b"),
        ("two\nlines\r\n here", "two lines here"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
        # Emphasis from a name: asterisks always, underscores at a word's edge only.
        ("Aurora *bold* _x_", "Aurora \\*bold\\* \\_x\\_"),
        ("AUR_NB13_G6-076", "AUR_NB13_G6-076"),
        (None, "n/a"),
        (0, "0"),
    ],
)
def test_md_escape(value, expected):
    assert md_escape(value) == expected
    if value is not None:  # and a renderer shows the value itself: no tag, link or emphasis
        html = MarkdownIt("commonmark").renderInline(md_escape(value))
        assert not re.search(r"<(em|strong|a|img|code)\b", html), html


def test_json_export_drops_the_noise_of_double_sums() -> None:
    from types import SimpleNamespace

    from oemkpi.reports.writing import export_json

    report = SimpleNamespace(
        export={
            "kpis": {"license_revenue_usd": {"value": 91167857.71999998, "qtd": None}},
            "by_country": [{"kpis": {"windows_share": {"value": 0.9530000000000001}}}],
            "feeds": {"pc_shipments": {"rows": 12}},
        }
    )
    assert json.loads(export_json(report)) == {  # type: ignore[arg-type]
        "kpis": {"license_revenue_usd": {"value": 91167857.72, "qtd": None}},
        "by_country": [{"kpis": {"windows_share": {"value": 0.953}}}],
        "feeds": {"pc_shipments": {"rows": 12}},
    }


def _month_sums(period: str, **sums: float) -> dict[str, object]:
    parts = {name for pair in RATIO_PARTS.values() for name in pair}
    return {"period": period, **dict.fromkeys(parts), **sums}


def test_index_all_partners_ratios_are_ratios_of_sums_with_mom_and_yoy():
    """The "All partners" row: each ratio over both partners' summed parts, this month,
    last month and a year ago (its YoY showed n/a)."""
    acme = make_report()
    bolt = dataclasses.replace(acme, partner=dataclasses.replace(acme.partner, partner_id="bolt"))
    rows = {
        "acme": [
            _month_sums("month", windows_units=90, ws_units=100, pro_units=30, pm_units=60),
            _month_sums("prior_month", windows_units=80, ws_units=100),
            _month_sums("prior_year", windows_units=70, ws_units=100),
        ],
        "bolt": [
            _month_sums("month", windows_units=40, ws_units=50, pro_units=10, pm_units=40),
            _month_sums("prior_month", windows_units=45, ws_units=50),
        ],
    }
    market = acme.market_by_country, acme.market_by_segment
    data = MonthData(
        "2026-10",
        "FY27-Q2",
        7,
        "",
        None,
        [],
        *market,
        {},
        {"select_partner_month_sums": rows},
        100,
        (1.0, 10.0),
    )

    totals = all_partners_totals(data, [acme, bolt])

    share = totals["windows_share"]
    assert share.value == pytest.approx(130 / 150)
    assert share.prior_month == pytest.approx(125 / 150)
    assert share.prior_year == pytest.approx(70 / 100)  # bolt has no rows a year ago
    assert share.mom_change == pytest.approx(130 / 150 - 125 / 150)
    assert share.yoy_change == pytest.approx(130 / 150 - 70 / 100)
    assert totals["pro_mix"].value == pytest.approx(40 / 100)
    assert totals["pro_mix"].mom_change is None and totals["pro_mix"].yoy_change is None


def test_the_assortment_says_its_threshold_in_units(report: MonthlyReport):
    """Wins and losses count from red_flags.yaml's assortment.min_units: the reader is told
    how many units, not "the assortment threshold"."""
    stricter = dataclasses.replace(report, assortment_min_units=250)
    for text in (render_markdown(stricter), render_html(stricter)):
        assert (
            "SKUs of at least 250 units (wins by this month's units, losses and discontinued "
            "SKUs by last month's):" in text
        )
        assert "assortment threshold" not in text


def _forbid_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, a template compiled in this process fails the test."""

    def compiled_here(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a template was compiled in this process")

    monkeypatch.setattr(jinja2.Environment, "compile", compiled_here)


def test_templates_compiled_by_the_drawing_process_render_the_same_bytes(
    report: MonthlyReport, html: str, markdown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every packaged template is compiled by the drawing process; this process then
    compiles none of the update's, and the update is the same to the byte."""
    from oemkpi.reports import chart_worker, render

    chart_worker.start(templates=True)
    try:
        job = chart_worker._templates
        assert job is not None
        compiled = job.result(timeout=120)
        names = render.environment().list_templates()
        assert len(compiled) == len(names)
        render.environment.cache_clear()  # fresh environments, which load that code
        _forbid_compiling(monkeypatch)
        assert render_html(report) == html
        assert render_markdown(report) == markdown
    finally:
        chart_worker.stop()
        render.environment.cache_clear()


def test_code_compiled_from_another_text_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jinja2 keeps the source's checksum with the code: a template whose text is not the
    text the drawing process compiled is compiled here."""
    from jinja2.bccache import Bucket

    from oemkpi.reports import chart_worker
    from oemkpi.reports.compiled_templates import HelperBytecodeCache

    cache = HelperBytecodeCache(markdown=False)
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"t.j2": "new {{ x }}"}), bytecode_cache=cache
    )
    old = jinja2.Environment()
    bucket = Bucket(old, cache.get_cache_key("t.j2"), cache.get_source_checksum("old {{ x }}"))
    bucket.code = old.compile("old {{ x }}", "t.j2")
    sent = {(False, bucket.key): bucket.bytecode_to_string()}
    monkeypatch.setattr(chart_worker, "compiled_templates", lambda: sent)
    assert env.get_template("t.j2").render(x=1) == "new 1"
    # The text it compiled is loaded as sent, not compiled again.
    env_old = jinja2.Environment(
        loader=jinja2.DictLoader({"t.j2": "old {{ x }}"}), bytecode_cache=cache
    )
    _forbid_compiling(monkeypatch)
    assert env_old.get_template("t.j2").render(x=2) == "old 2"


def test_a_drawing_process_started_at_the_report_step_draws_first(tmp_path: Path) -> None:
    """Started by the report step itself (a run from the UI), the drawing process is not
    asked to compile the templates: this process would compile them anyway while the first
    charts waited. Started with the run (pipelines/helper_processes.py), it is."""
    from oemkpi.home import Home
    from oemkpi.ingest import suite_worker
    from oemkpi.reports import chart_worker
    from pipelines.helper_processes import start_helpers

    try:
        chart_worker.start()
        assert chart_worker._templates is None
        chart_worker.stop()
        start_helpers(Home.at(tmp_path / "home"), ["2026-10"])
        assert chart_worker._templates is not None
    finally:
        chart_worker.stop()
        suite_worker.stop()


def test_a_countrys_windows_share_drop_names_the_skus_that_left_windows_there():
    from oemkpi.reports.flags import flag_groups
    from oemkpi.reports.model import CompetitiveItem

    names = {"BR": "Brazil", "DE": "Germany"}
    drops = [
        RedFlag("windows_share_drop", "high", "BR", "windows_share", -0.157, -0.03, "m"),
        RedFlag("windows_share_drop", "high", "DE", "windows_share", -0.05, -0.03, "m"),
    ]
    moved = [
        CompetitiveItem("BR", "Brazil", "consumer", "A-1", "chromeos", 3451, 2600),
        CompetitiveItem("BR", "Brazil", "consumer", "A-2", "chromeos", 2655, 2000),
        CompetitiveItem("BR", "Brazil", "commercial", "A-3", "linux", 10, 1600),
        CompetitiveItem("FR", "France", "consumer", "A-4", "chromeos", 900, 496),
    ]
    what = {g.scope: g.what for g in flag_groups(drops, None, names, {}, moved)}
    assert what["BR"] == (
        "Windows share in Brazil fell 15.7 pts month on month (the flag is raised at 3.0 pts). "
        "In the same month, three Windows SKUs in Brazil (6,200 units last month) moved to "
        "another OS family (two to ChromeOS and one to Linux): see the competitive watch."
    )
    # Germany lost no SKU to another OS family: its drop is told alone.
    assert what["DE"] == (
        "Windows share in Germany fell 5.0 pts month on month (the flag is raised at 3.0 pts)."
    )
    one_os = {g.scope: g.what for g in flag_groups(drops[:1], None, names, {}, moved[:2])}
    assert one_os["BR"].endswith(
        "In the same month, two Windows SKUs in Brazil (4,600 units last month) moved to "
        "ChromeOS: see the competitive watch."
    )


def test_a_target_short_of_its_pace_but_not_flagged_is_slightly_behind_not_on_track():
    from oemkpi.reports.build import _figures
    from oemkpi.reports.targets import target_text

    def row(kpi: str, qtd: float, target: float) -> dict[str, object]:
        return {"kpi": kpi, "value": qtd, "qtd": qtd, "target": target}

    rows = [
        row("pro_mix", 0.485, 0.488),  # 0.3 pts below: under the 1.0 pt target-gap flag
        row("premium_mix", 0.19, 0.186),
        row("office_attach", 0.40, 0.45),  # the month's target-gap flag made it at risk
        row("windows_share", 0.90, 0.90),  # on the target is on track
        row("shipped_units", 5_000_000, 8_450_000),  # 59.2 % with 67 % of the quarter gone
        row("license_revenue_usd", 320e6, 465e6),  # 68.8 % with 67 % gone
    ]
    # November is the second month of FY27-Q2: two thirds of the quarter gone, not closed.
    figures = {
        f.kpi: f
        for f in _figures(rows, "2026-11", 7, {"office_attach"}, {}, {})
        if f.kpi in {r["kpi"] for r in rows}
    }
    assert {k: f.target_status for k, f in figures.items()} == {
        "pro_mix": "behind",
        "premium_mix": "on_track",
        "office_attach": "at_risk",
        "windows_share": "on_track",
        "shipped_units": "behind",
        "license_revenue_usd": "on_track",
    }
    assert target_text(figures["pro_mix"]) == "QTD 48.5 % · −0.3 pts vs 48.8 % · ◐ Slightly behind"
    assert target_text(figures["shipped_units"]) == (
        "QTD 5.00M · 59.2 % of 8.45M with 67 % of the quarter gone · ◐ Slightly behind"
    )
    assert target_text(figures["premium_mix"]).endswith("· ✓ On track")


def test_a_target_gap_in_a_closed_quarter_is_not_told_as_quarter_to_date():
    from oemkpi.reports.flags import flag_groups

    def gap(kpi: str) -> RedFlag:
        return RedFlag("target_gap", "high", "partner", kpi, 0.0, 0.0, "m")

    flags = [gap("windows_share"), gap("shipped_units")]

    def told(closed: bool) -> str:
        figures = {
            "windows_share": figure(
                "windows_share",
                "Windows share",
                "ratio",
                0.87,
                qtd=0.878,
                target=0.896,
                status="missed" if closed else "at_risk",
                closed=closed,
            ),
            "shipped_units": figure(
                "shipped_units",
                "PC shipments",
                "volume",
                1.0,
                qtd=848.0,
                target=1000.0,
                status="missed" if closed else "at_risk",
                closed=closed,
            ),
        }
        (group,) = flag_groups(flags, None, {}, figures, [])
        return group.what

    assert told(closed=True) == (
        "Windows share closed the quarter at 87.8 %, 1.8 pts below the 89.6 % target; "
        "PC shipments closed the quarter at 84.8 % of its target."
    )
    assert told(closed=False) == (
        "Windows share quarter to date is 87.8 %, 1.8 pts below the 89.6 % target; "
        "PC shipments quarter to date are 84.8 % of the quarter's target with 67 % of the "
        "quarter gone."
    )


def test_no_partners_figures_can_be_read_off_the_market_totals():
    """Both market tables and their totals count only (country, segment) cells with three
    partners or more. A country left out of the country table stayed in the segment table,
    and "All segments" minus "All countries shown" was that country: with two partners in
    it, each read the other's shipments off the difference."""
    import duckdb

    from oemkpi.reports.data import _market_table, _rows
    from oemkpi.warehouse import sql

    con = duckdb.connect()
    con.execute(sql("schema/create_kpi_sums"))
    rows = []
    for month, partners in (("2026-10", "abcd"), ("2026-09", "abc")):
        for i, partner in enumerate(partners):
            units = 1000 * (i + 1)
            rows += [(month, partner, "DE", "consumer", units, units // 2, units)]
            rows += [(month, partner, "DE", "commercial", units + 1, units // 2, units + 1)]
            # France: two partners in commercial (a and b), four in consumer this month.
            if partner in "ab":
                rows += [(month, partner, "FR", "commercial", 7000 + i, 3500, 7000 + i)]
            rows += [(month, partner, "FR", "consumer", 500 + i, 250, 500 + i)]
            # Chile: two partners with units, and a third with rows but none (servers only,
            # or its shipments not delivered): it does not make the cell's three.
            if partner in "ab":
                rows += [(month, partner, "CL", "consumer", 300 + i, 150, 300 + i)]
            if partner == "c":
                rows += [(month, partner, "CL", "consumer", 0, None, None)]
            # Italy: three partners in commercial this month, two last month.
            if partner in ("abc" if month == "2026-10" else "ab"):
                rows += [(month, partner, "IT", "commercial", 20 + i, 10, 20 + i)]
    con.executemany(
        "insert into kpi_sums (month, partner_id, country, segment, shipped_units, "
        "windows_units, ws_units) values (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    market = _rows(
        con,
        "reports/select_market",
        {
            "month": "2026-10",
            "prior_month": "2026-09",
            "prior_year_month": "2025-10",
            "min_partners": 3,
        },
    )
    names = {"DE": "Germany", "FR": "France", "CL": "Chile", "IT": "Italy"}
    countries = _market_table(market, names, "country")
    segments = _market_table(market, names, "segment")
    de = sum(1000 * i + 1000 + 1000 * i + 1001 for i in range(4))
    fr_consumer = sum(500 + i for i in range(4))
    it = 20 + 21 + 22
    assert {r.label: r.values["units"] for r in countries.full} == {
        "Germany": de,
        "France": fr_consumer,  # its commercial cell (two partners) is left out
        "Italy": it,
    }
    assert {r.label: r.values["units"] for r in segments.full} == {
        "consumer": sum(1000 * i + 1000 for i in range(4)) + fr_consumer,
        "commercial": sum(1000 * i + 1001 for i in range(4)) + it,
    }
    assert countries.total is not None and segments.total is not None
    total = de + fr_consumer + it
    assert countries.total.values["units"] == segments.total.values["units"] == total
    # A change only where every cell of the group had three partners last month too: Italy
    # commercial had two, so Italy and commercial have none (like for like, and last
    # month's two partners are not read off it).
    changes = {r.label: r.changes.get("units") for r in countries.full + segments.full}
    assert {label for label, change in changes.items() if change is None} == {
        "Italy",
        "commercial",
    }
    # A total adds last month's figures of every group or of none: with Italy's left out,
    # a flat market showed a rise.
    assert countries.total.changes.get("units") is None
    assert segments.total.changes.get("units") is None


def test_a_row_of_several_flags_says_how_many_so_rows_add_up_to_the_counts():
    """'6 red flags (4 high)' above a table of four rows: a row telling three SKUs, one of
    them medium, under a 'high' mark, read as one high flag."""
    from oemkpi.reports.flags import flag_groups

    def loss(sku: str, severity: str) -> RedFlag:
        return RedFlag(
            "competitive_loss", severity, "BR", "windows_share", 2000, 1000, "m", "consumer", sku
        )

    gaps = [
        RedFlag("target_gap", "medium", "partner", kpi, 0.0, 0.0, "m")
        for kpi in ("pro_mix", "premium_mix")
    ]
    drop = RedFlag("windows_share_drop", "high", "BR", "windows_share", -0.1, -0.03, "m")
    flags = [loss("A", "high"), loss("B", "high"), loss("C", "medium"), *gaps, drop]
    groups = {g.rule: g for g in flag_groups(flags, None, {"BR": "Brazil"}, {}, [])}
    assert groups["competitive_loss"].counted == "(3 flags: 2 high, 1 medium)"
    assert groups["target_gap"].counted == "(2 flags)"
    assert groups["windows_share_drop"].counted == ""
    assert sum(len(g.flags) for g in groups.values()) == len(flags)


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("contract", "the feed contract (file, header and value types)"),
        ("row_count_floor", "enough rows for a full month"),
        ("country_in_reference", "country in the reference list"),
        ("shipped_units_not_null", "shipped units filled in"),
        ("price_band_in_set", "price band one of the allowed values"),
        ("os_family_not_null", "OS family filled in"),
        ("license_revenue_usd_non_negative", "licence revenue (USD) not negative"),
        ("month_is_partition", "month is the delivery's month"),
        ("sku_length", "SKU of an allowed length"),
        ("poe_status_in_set", "proof of execution status one of the allowed values"),
        ("key_unique", "one row per key"),
        ("a_check_of_tomorrow", "a check of tomorrow"),
    ],
)
def test_a_failed_check_is_named_in_words(check: str, words: str) -> None:
    from oemkpi.reports.words import check_words

    assert check_words(check) == words


def test_every_suite_check_has_words_of_its_own() -> None:
    """No check id of expectations/*.json falls through to its underscores replaced, but
    for the column names it carries."""
    from oemkpi.ingest.contract import FEEDS
    from oemkpi.ingest.suites import load_suite
    from oemkpi.reports.words import check_words

    for feed in FEEDS:
        for spec in load_suite(feed).expectations:
            assert check_words(spec.check) != spec.check.replace("_", " "), spec.check


def test_the_assortment_says_how_many_it_lists_and_why():
    """'The 12 largest (and every one with commentary)' was untrue when 2 of the 12 were
    there for their commentary and larger ones sat in the appendix."""
    from oemkpi.reports.template_helpers import listed_words

    assert listed_words(["a"] * 10, 10) == "The 10 largest are listed"
    assert listed_words(["a"] * 12, 10) == "The 10 largest, and 2 more with commentary, are listed"


def test_marketing_amounts_are_whole_dollars_and_never_alike_when_they_differ():
    from oemkpi.reports.template_helpers import usd_whole

    assert (usd_whole(40_000, 39_600), usd_whole(39_600, 40_000)) == ("$40,000", "$39,600")
    # One format in a table: "$120k" beside "$39,600" read as two.
    assert (usd_whole(120_000, 30_000), usd_whole(30_000, 120_000)) == ("$120,000", "$30,000")
    assert usd_whole(14_000, 14_000) == usd_whole(14_000) == "$14,000"
    assert (usd_whole(9_999.6, 10_000), usd_whole(10_000, 9_999.6)) == ("$9,999.60", "$10,000.00")
    assert (usd_whole(40_000, 39_999.75), usd_whole(39_999.75, 40_000)) == (
        "$40,000.00",
        "$39,999.75",
    )
    assert (usd_whole(-1_200), usd_whole(None)) == ("\u2212$1,200", "n/a")


def test_a_partner_without_sell_thru_gets_no_sell_thru_rows(report: MonthlyReport) -> None:
    """'Office sell-thru n/a n/a n/a' above 'reported no sell-thru this month' said it twice."""
    keys = ("office_sell_thru_units", "server_sell_thru_units")
    none = [replace(f, value=None) if f.kpi in keys else f for f in report.kpis]

    def without(rows: list[Any]) -> list[Any]:
        return [
            replace(r, values={k: v for k, v in r.values.items() if k not in keys}) for r in rows
        ]

    quiet = replace(
        report,
        kpis=none,
        attach_by_country=replace(
            report.attach_by_country,
            shown=without(report.attach_by_country.shown),
            full=without(report.attach_by_country.full),
        ),
        attach_by_segment=replace(
            report.attach_by_segment,
            shown=without(report.attach_by_segment.shown),
            full=without(report.attach_by_segment.full),
        ),
    )

    def attach(markdown: str) -> str:
        return markdown.split("\n## Attach and sell-thru\n", 1)[1].split("\n## ", 1)[0]

    markdown = attach(render_markdown(quiet))
    html = render_html(quiet).split('id="sec-attach"', 1)[1].split("</section>", 1)[0]
    assert "Zenith Seven & Co reported no sell-thru this month." in markdown
    assert "| Office sell-thru |" not in markdown and "| Server sell-thru |" not in markdown
    assert "<th>Office sell-thru</th>" not in html and "<th>Server sell-thru</th>" not in html
    # With sell-thru, the rows are there.
    assert "| Office sell-thru |" in attach(render_markdown(report))


def test_the_headline_names_the_month_and_the_quarter_once_each(html: str) -> None:
    """'FY27-Q2' was printed three times in the headline and 'October 2026' twice."""
    headline = text_of(html.split("<header", 1)[1].split("</header>", 1)[0])
    assert headline.count("FY27-Q2") == 1
    assert headline.count("October 2026") == 1
    assert "Zenith Seven &amp; Co" in headline and "Data as of" in headline


def test_a_flag_explained_for_the_whole_partner_is_not_asked_for_again(report: MonthlyReport):
    """Each cell points to the whole partner's only where that row has the PAM's words: a
    why there and no owner yet leaves this row's owner to be written."""
    shared = FlagNote(why="Component shortages.", coe="Re-plan with the supplier.")
    first = replace(report.flag_groups[-1], note=None, partner_note=shared)
    pointed = replace(report, flag_groups=[*report.flag_groups[:-1], first])
    row = render_markdown(pointed).split(f"{first.title}", 1)[1].split("\n", 1)[0]
    assert row.endswith("| as for the whole partner | as for the whole partner | _to be written_ |")
    html = render_html(pointed)
    section = html[html.index('id="sec-red-flags"') : html.index('id="sec-competitive"')]
    assert section.count('<span class="muted">as for the whole partner</span>') == 2
    # The index counts the row as explained, as the update shows it.
    assert replace(first, partner_note=None).why is None and first.why == "Component shortages."


def test_the_markdown_head_names_the_month_and_the_quarter_once_each(markdown: str) -> None:
    head = markdown.split("\n## ", 1)[0]
    assert head.count("October 2026") == 1 and head.count("FY27-Q2") == 1
    assert head.startswith("# Zenith Seven & Co — monthly update, October 2026\n")


def test_the_pams_message_says_what_the_update_still_has_to_be_written():
    """Five of six sample updates went out with "to be written" cells the message never
    mentioned: the message is all a PAM may read before forwarding the update."""
    from oemkpi.delivery.messages import still_to_write

    # The whole-partner share drop has its why and owner but no correction of error; the
    # forecast miss in Japan has no note at all.
    assert still_to_write(make_report()) == "the why, correction of error or owner of 2 red flags"
    assert still_to_write(make_report(with_commentary=False)) == (
        "the why, correction of error or owner of 2 red flags, the escalations and the commentary"
    )
    done = FlagNote("Why.", "Correction.", "Ann Lee", None)
    report = make_report()
    written = replace(
        report,
        flag_groups=[replace(g, note=done) for g in report.flag_groups],
    )
    assert still_to_write(written) is None
    # A country row whose cells the whole partner's note fills is written.
    pointing = replace(
        written,
        flag_groups=[replace(g, note=None, partner_note=done) for g in report.flag_groups],
    )
    assert still_to_write(pointing) is None


def test_the_competitive_watch_counts_skus_once_when_they_went_to_one_family():
    """'1 SKU went ... to another OS family this month: 1 to FreeDOS' counted it twice."""
    from oemkpi.reports.template_helpers import competitive_words

    one = CompetitiveItem("PL", "Poland", "commercial", "A", "freedos", 85, 698)
    assert competitive_words([one]) == (
        "1 SKU went from Windows last month to FreeDOS this month (698 units last month)."
    )
    two = [replace(one, sku="B", prior_units=2), one]
    assert competitive_words(two) == (
        "2 SKUs went from Windows last month to FreeDOS this month (700 units last month)."
    )
    other = replace(one, sku="C", to_os="linux", prior_units=441)
    assert competitive_words([one, other]) == (
        "2 SKUs went from Windows last month to another OS family this month: 1 to FreeDOS "
        "(698 units last month); 1 to Linux (441 units last month)."
    )


def test_a_total_that_moved_against_every_row_says_why():
    """Market by segment: consumer +0.1 pts, commercial +0.1 pts, all segments -0.1 pts read
    as an error; units moved towards the segment with the lower share. (Here: both +0.1
    pts, the total -0.5 pts, consumer's units from 2.0M to 3.0M.)"""
    from oemkpi.reports.tables import Column, Group, against_its_rows, make_table

    columns = (Column("windows_share", "windows_units", "ws_units"),)
    shown = (("windows_share", "Windows share", "ratio", True, True),)
    # consumer 87.0 % -> 87.1 % and 2.0M -> 3.0M units; commercial 93.3 % -> 93.4 %, flat.
    groups = [
        Group(
            "consumer",
            {"windows_units": 2_613_000, "ws_units": 3_000_000},
            {"windows_units": 1_740_000, "ws_units": 2_000_000},
        ),
        Group(
            "commercial",
            {"windows_units": 1_868_000, "ws_units": 2_000_000},
            {"windows_units": 1_866_000, "ws_units": 2_000_000},
        ),
    ]
    table = make_table(groups, columns, size="ws_units")
    assert against_its_rows(table, "Segment", shown) == [
        "Windows share: each segment rose, yet the total fell 0.5 pts: units moved towards "
        "the segment with the lower Windows share."
    ]
    three = make_table([*groups, replace(groups[1], label="education")], columns, size="ws_units")
    assert against_its_rows(three, "Segment", shown) == [
        "Windows share: each segment rose, yet the total fell 0.5 pts: units moved towards "
        "segments with a lower Windows share."
    ]
    # Rows that moved both ways, a flat row, or a total that moved with them: no note.
    down = replace(groups[1], now={"windows_units": 1_800_000, "ws_units": 2_000_000})
    both_ways = make_table([groups[0], down], columns, size="ws_units")
    assert both_ways.total is not None and both_ways.total.changes["windows_share"] < 0
    assert against_its_rows(both_ways, "Segment", shown) == []
    same = make_table(
        groups[:1] + [replace(groups[1], now={"windows_units": 1_900_000, "ws_units": 2_000_000})],
        columns,
        size="ws_units",
    )
    assert against_its_rows(same, "Segment", shown) == []
    flat = replace(groups[1], now=groups[1].before)
    assert (
        against_its_rows(make_table([groups[0], flat], columns, size="ws_units"), "Segment", shown)
        == []
    )
    # A body table with "all other" does not show every row: no "each".
    many = [replace(groups[0], label=f"C{i}") for i in range(11)] + [groups[1]]
    body = make_table(many, columns, size="ws_units")
    assert body.other is not None and against_its_rows(body, "Country", shown) == []


def test_market_movers_say_most_only_among_three_or_more():
    from oemkpi.reports.template_helpers import mover_words

    def table(*changes: float | None) -> Table:
        rows = [TableRow(f"r{i}", {}, {"units": c}) for i, c in enumerate(changes)]
        return Table(rows, None, None, rows)

    assert mover_words(table(0.1, 0.2, -0.1, -0.3)) == ("grew most", "declined most")
    assert mover_words(table(0.1, 0.2)) == ("grew more", "declined")
    assert mover_words(table(0.1, -0.2)) == ("grew", "declined")
    assert mover_words(table(-0.1, -0.2, 0.3, None)) == ("grew", "declined most")


def test_a_discontinued_sku_has_no_units_this_month_not_unavailable_ones(html: str, markdown: str):
    """'n/a' read as data missing; a discontinued SKU has no row this month (and a new one
    none last month): a dash."""
    row = next(r for r in re.findall(r"<tr class=\"item\">.*?</tr>", html, re.S) if "Zen 5" in r)
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["—", "450"]
    assert "| Zen 5 | Windows → — | — | 450 |" in markdown


def test_no_marketing_activities_says_whether_the_delivery_is_in():
    """'No marketing activities delivered' stood beside a data-quality table with the
    marketing feed loaded (the partner had no rows in it)."""
    from oemkpi.reports.template_helpers import no_marketing

    report = replace(make_report(), marketing=None)
    assert no_marketing(report) == "No marketing activities delivered for FY27-Q2."
    loaded = replace(
        report,
        feeds=[*report.feeds, FeedState("marketing", "loaded", 22, 0, 0, "2026-11-04T09:00:00")],
    )
    assert no_marketing(loaded) == (
        "The marketing delivery lists no activities of Zenith Seven & Co for FY27-Q2."
    )
    assert "The marketing delivery lists no activities of Zenith Seven &amp; Co" in render_html(
        loaded
    )


def test_a_feeds_data_quality_flag_says_what_the_pipeline_knows_and_asks_the_pam_nothing():
    """A rejected or late feed raises a data-quality flag in every partner's update; its
    why, correction of error and owner were "to be written", asked of PAMs who do not
    deliver feeds, the message counted them as still to write, and a late feed (high) asked
    every PAM for escalations."""
    from oemkpi.delivery.messages import still_to_write
    from oemkpi.reports.flags import flag_groups

    feeds = [
        FeedState("pc_shipments", "rejected", 0, 3, 1, "2026-10-05T08:00:00Z"),
        FeedState("windows_share", "rejected", 120, 2, 1, "2026-10-06T08:00:00Z"),
        FeedState("attach_rate", "late", 0, 0, 0, None),
        FeedState("premium_mix", "missing", 0, 0, 0, None),
    ]

    def feed_flag(feed: str, severity: str = "high") -> RedFlag:
        return RedFlag("data_quality", severity, "partner", None, 1.0, None, "m", feed=feed)

    recon = RedFlag("data_quality", "medium", "DE", None, 0.05, 0.02, "PC shipments and ...")

    def group(*flags: RedFlag, note: FlagNote | None = None, rows: int = 40) -> FlagGroup:
        notes = {("data_quality", "partner"): note} if note else {}
        own = {"windows_share": rows}
        (g,) = flag_groups(list(flags), Commentary(flags=notes), {}, {}, [], feeds, own)
        return g

    rejected = group(feed_flag("pc_shipments"))
    assert rejected.known == FlagNote(
        "The delivery did not pass the feed's checks (see Data quality).",
        "A corrected delivery, with which the update is issued again.",
        "Regional team",
    )
    # An earlier delivery stands only for a partner with rows in it.
    kept = group(feed_flag("windows_share", "medium"))
    assert kept.cell("coe") == (
        "A corrected delivery; until then the earlier delivery's figures stand."
    )
    none_kept = group(feed_flag("windows_share", "medium"), rows=0)
    assert none_kept.cell("coe") == "A corrected delivery, with which the update is issued again."
    late = group(feed_flag("attach_rate"))
    assert late.cell("why") == "Nothing was delivered by the due day (see Data quality)."
    assert late.cell("coe") == "The delivery, with which the update is issued again."
    not_due = group(feed_flag("premium_mix", "medium"))
    assert not_due.cell("why") == "Not delivered yet; it is not due yet (see Data quality)."
    # Two feeds are each named, even where their words are alike.
    both = group(feed_flag("pc_shipments"), feed_flag("windows_share"))
    assert both.cell("why") == (
        "PC shipments: the delivery did not pass the feed's checks (see Data quality). "
        "Windows share: the delivery did not pass the feed's checks (see Data quality)."
    )
    assert both.cell("owner") == "Regional team"
    # The PAM's own words win where given; the rest stays what the pipeline knows.
    mine = group(feed_flag("pc_shipments"), note=FlagNote(why="Partner's ERP migration."))
    assert (mine.cell("why"), mine.cell("owner")) == ("Partner's ERP migration.", "Regional team")
    # Feeds that disagree are the partner's own figures: still the PAM's to explain.
    (reconciled,) = flag_groups([recon], None, {}, {}, [], feeds)
    assert reconciled.known is None and reconciled.cell("why") is None

    report = make_report()
    page = render_html(replace(report, flag_groups=[rejected]))
    row = page[page.index('<table class="red-flags">') :]
    row = row[: row.index("</table>")]
    assert "to be written" not in row
    assert "did not pass the feed&#39;s checks (see Data quality).</td>" in row
    assert "<td>Regional team</td>" in row
    markdown = render_markdown(replace(report, flag_groups=[rejected]))
    assert (
        "| The delivery did not pass the feed's checks (see Data quality). | A corrected "
        "delivery, with which the update is issued again. | Regional team |"
    ) in markdown
    done = FlagNote("Why.", "Correction.", "Ann Lee", None)
    written = [replace(g, note=done) for g in report.flag_groups]
    # A high feed flag beside the partner's medium ones: nothing to write, no escalations.
    quiet = [replace(g, flags=[replace(f, severity="medium") for f in g.flags]) for g in written]
    feed_only = replace(report, flag_groups=[*quiet, late], flag_counts={"high": 1, "medium": 2})
    assert not feed_only.escalations_due
    assert still_to_write(replace(feed_only, commentary=make_commentary())) is None
    assert feed_only.commentary is not None
    unwritten = replace(feed_only, commentary=replace(feed_only.commentary, escalations=None))
    assert not unwritten.escalations_due
    escalations = render_html(unwritten).split('id="escalations">Escalations</h3>', 1)[1]
    assert escalations.lstrip().startswith(
        '<p class="empty">None due: no high red flag this month.</p>'
    )
    # The index counts it as written too: it and the message read one count.
    assert replace(report, flag_groups=[rejected]).flags_to_write == 0
    assert replace(report, flag_groups=[*report.flag_groups, rejected]).flags_to_write == 2


def test_the_index_lead_says_only_what_its_cells_show():
    """The first months' index promised changes on a year ago and, in a quarter's last month,
    "met or missed" above cells with neither; it says why they are absent instead."""
    from oemkpi.reports.template_helpers import index_lead

    closing = make_index(quarter_end=True)
    judged = replace(
        closing,
        rows=[
            replace(
                r,
                figures={
                    k: replace(f, prior_month=1.0, prior_year=1.0) for k, f in r.figures.items()
                },
            )
            for r in closing.rows
        ],
    )
    assert index_lead(judged) == (
        "For the regional team: partners side by side. Each value with its change on last "
        "month and on a year ago, and where it stands against the quarter's target (the "
        "quarter closes this month: met or missed)."
    )

    def months_in(status: str, *, month_before: bool, target: bool = True) -> MonthIndex:
        changes = {"prior_year": None, "yoy_change": None, "target_status": status}
        if not month_before:
            changes |= {"prior_month": None, "mom_change": None}
        if not target:
            changes["target"] = None
        rows = [
            replace(r, figures={k: replace(f, **changes) for k, f in r.figures.items()})
            for r in judged.rows
        ]
        return replace(judged, rows=rows)

    assert index_lead(months_in("unavailable", month_before=False)) == (
        "For the regional team: partners side by side. Each value of the month. MoM and YoY "
        "are n/a: the data holds no month before or month a year before. No target is judged "
        "in FY27-Q2: the quarter's data is not all in."
    )
    behind = index_lead(months_in("behind", month_before=True))
    assert (
        "Slightly behind: short of the target's pace, not by enough for a red flag; at risk: a "
        "target-gap red flag." in behind
    )
    assert "Slightly behind" not in index_lead(months_in("on_track", month_before=True))
    assert index_lead(months_in("on_track", month_before=True)) == (
        "For the regional team: partners side by side. Each value with its change on last "
        "month, and where it stands against the quarter's target (the quarter closes this "
        "month: met or missed). YoY is n/a: the data holds no month a year before."
    )
    # No target set anywhere: said so, whatever the status of a KPI without a value.
    assert index_lead(months_in("unavailable", month_before=True, target=False)).endswith(
        "a year before. No targets are set for FY27-Q2."
    )
    first_month = months_in("unavailable", month_before=False)
    assert "(the quarter closes this month" not in render_index(first_month)


def test_attach_cells_without_a_base_say_why_under_their_table():
    """Every update's segment table showed n/a for consumer's Server attach and sell-thru,
    beside a total with values, and said nothing of it."""
    from oemkpi.reports.tables import table_notes, without_base

    columns = (
        ("office_attach", "Office attach", "ratio", True, False),
        ("server_attach", "Server attach", "ratio", True, False),
        ("office_sell_thru_units", "Office sell-thru", "volume", True, False),
        ("server_sell_thru_units", "Server sell-thru", "volume", True, False),
    )

    def row(label: str, server: float | None, kind: str = "row") -> TableRow:
        values = {
            "office_attach": 0.5,
            "server_attach": server,
            "office_sell_thru_units": 10.0,
            "server_sell_thru_units": None if server is None else 3.0,
        }
        return TableRow(label, values, {}, kind)  # type: ignore[arg-type]

    rows = [row("consumer", None), row("commercial", 0.75)]
    table = Table(rows, None, row("Acme total", 0.75, "total"), rows)
    note = (
        "Server attach and Server sell-thru are n/a for consumer: the attach-rate feed has no "
        "Windows Server base there this month."
    )
    assert without_base(table, "Segment", columns) == [note]
    assert table_notes(table, "Segment", columns) == [note]
    # No note where the total has none either (the whole column is left out), nor for a
    # table of places the note cannot name.
    none = replace(table, total=row("Acme total", None, "total"))
    assert without_base(none, "Segment", columns) == []
    assert without_base(table, "Partner", columns) == []


def test_a_quarter_close_with_nothing_judged_says_why_instead_of_a_scoreboard():
    """The data's first quarter close showed 42 cells of "not judged without October 2023
    and November 2023", "Met 0 of 0" and a note on what "missed" means."""
    closing = make_index(quarter_end=True)
    unjudged = replace(
        closing,
        rows=[
            replace(
                r,
                figures={
                    k: replace(
                        f, target_status="unavailable", qtd_months_missing=("2026-08", "2026-09")
                    )
                    for k, f in r.figures.items()
                },
            )
            for r in closing.rows
        ],
    )
    html = render_index(unjudged)
    board = html[html.index('<section id="sec-scoreboard">') :]
    board = board[: board.index("</section>")]
    assert (
        "FY27-Q2 closes with no target met or missed: the quarter has no data for August 2026 and September 2026."
        in text_of(board)
    )
    assert "<table" not in board and "Missed:" not in board
    # A judged quarter keeps its scoreboard.
    assert '<table class="scoreboard">' in render_index(closing)
