"""The update a PAM sends, on the full-size sample home (every partner and country, its
last two months run through the pipeline).

Printed as a browser prints it: for the largest sample partner (and the one with the
most red flags) the body before the appendix is at most five A4 pages, and the red flags
start on page 1 or 2 (SPEC section 5). Headless Chromium prints the real report; the
pages are found by their text. Without Chromium that test skips and says why, except
under ``CI=true``, where it fails: CI must print (``make test`` installs Debian's
``chromium`` when it can). The JSON's rate-and-mix split and competitive watch are
checked against the landing files, and market cells against their partner counts.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from bench.screenshots import find_chromium, pdfs
from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.sample import write_sample_home
from pipelines.runs import run_months
from tests.test_pipeline_reports import read_landing

MONTH = "2026-10"
BODY_PAGES = 5
APPENDIX = "Appendix: full tables and data quality"
RED_FLAGS = "Red flags and escalations"


def _chromium() -> str:
    try:
        return find_chromium()
    except OemkpiError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must print the reports to PDF: {err}")
        pytest.skip(f"No headless Chromium to print the report with: {err}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """The sample home's partners and countries at full size, its last two months run."""
    base = tmp_path_factory.mktemp("report_pdf")
    write_sample_home(base / "home", end_month=MONTH, months=2)
    home = Home.at(base / "home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(base / "dagster"))
        summary = run_months(home, "2026-09", MONTH)
    assert summary.success, summary.failure
    return home


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def _first_page_with(pages: list[str], text: str) -> int:
    return next(number for number, page in enumerate(pages, 1) if text in page)


def _largest_and_most_flagged(folder: Path) -> list[str]:
    exports = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    largest = max(exports, key=lambda pid: exports[pid]["kpis"]["shipped_units"]["value"] or 0)
    flagged = max(sorted(exports), key=lambda pid: len(exports[pid]["red_flags"]))
    return sorted({largest, flagged})


def test_the_body_fits_five_a4_pages_and_red_flags_come_first(home: Home) -> None:
    chromium = _chromium()
    folder = home.reports_dir(MONTH)
    partners = _largest_and_most_flagged(folder)
    assert "aurora" in partners  # the sample's largest partner
    *printed, index = pdfs(
        [folder / f"{pid}.html" for pid in partners] + [folder / "index.html"], chromium
    )
    # The index's wide partner table prints on landscape pages (on portrait ones Chromium
    # shrank it to ~6 pt text); the updates stay portrait.
    index_pages = PdfReader(io.BytesIO(index)).pages
    assert all(page.mediabox.width > page.mediabox.height for page in index_pages)
    assert all(
        page.mediabox.width < page.mediabox.height
        for pdf in printed
        for page in PdfReader(io.BytesIO(pdf)).pages
    )
    for pid, pdf in zip(partners, printed, strict=True):
        pages = _pages(pdf)
        body = _first_page_with(pages, APPENDIX) - 1
        assert 1 <= body <= BODY_PAGES, (pid, body)
        assert _first_page_with(pages, RED_FLAGS) in (1, 2), pid
        # A body table split over two pages takes at least three rows to the next: its "all
        # other" row and total alone under the repeated header read as a table of their own.
        for number, page in enumerate(pages[1:body], 2):
            top = [line.strip() for line in page.splitlines() if line.strip()][:3]
            assert not any(line.startswith("All other") for line in top), (pid, number, top)
        # The executive summary and its tiles open the first page.
        assert "Executive summary" in pages[0] and "PC shipments" in pages[0]


def _landing(home: Home, feed: str, month: str) -> pl.DataFrame:
    return read_landing(home.root, feed, [month])


def test_mom_drivers_add_up_to_the_change_for_every_ratio_kpi(home: Home) -> None:
    folder = home.reports_dir(MONTH)
    checked = 0
    for path in sorted(folder.glob("*.json")):
        export = json.loads(path.read_text(encoding="utf-8"))
        for kpi, values in export["kpis"].items():
            if "mom_drivers" not in values:
                continue
            drivers = values["mom_drivers"]
            if values["mom_change"] is None:
                assert drivers is None, (path.stem, kpi)
                continue
            total = drivers["rate_effect"] + drivers["mix_effect"]
            assert abs(total - values["mom_change"]) <= 1e-12, (path.stem, kpi)
            cells = drivers["cells"]
            assert 1 <= len(cells) <= 10
            sizes = [abs(c["rate_effect"]) + abs(c["mix_effect"]) for c in cells]
            assert sizes == sorted(sizes, reverse=True)
            checked += 1
    assert checked >= 30
    # The first month has no month before it: no split.
    first = json.loads((home.reports_dir("2026-09") / "aurora.json").read_text(encoding="utf-8"))
    assert first["kpis"]["windows_share"]["mom_drivers"] is None


def test_competitive_watch_is_every_sku_that_left_windows_whatever_its_units(home: Home) -> None:
    key = ["partner_id", "country", "segment", "sku"]
    before = _landing(home, "windows_share", "2026-09").filter(pl.col("os_family") == "windows")
    now = _landing(home, "windows_share", MONTH).filter(pl.col("os_family") != "windows")
    moved = now.join(before, on=key, suffix="_before")
    expected: dict[str, set[tuple[str, ...]]] = {}
    for row in moved.iter_rows(named=True):
        expected.setdefault(row["partner_id"], set()).add(
            (row["country"], row["segment"], row["sku"], row["os_family"])
        )
    assert moved.height and any(u < 100 for u in moved["units_before"])  # below the threshold
    for path in sorted(home.reports_dir(MONTH).glob("*.json")):
        watch = json.loads(path.read_text(encoding="utf-8"))["competitive_watch"]
        got = {(w["country"], w["segment"], w["sku"], w["to_os"]) for w in watch}
        assert got == expected.get(path.stem, set()), path.stem
        page = path.with_suffix(".html").read_text(encoding="utf-8")
        for item in watch:
            assert item["sku"] in page  # in the body or the appendix
        assert (
            "discontinued"
            not in page[page.index('id="sec-competitive"') : page.index('id="sec-market"')]
        )


def test_market_cells_shown_only_with_three_partners(home: Home) -> None:
    shipments = _landing(home, "pc_shipments", MONTH)
    partners = shipments.group_by("country").agg(pl.col("partner_id").n_unique().alias("n"))
    names = dict(
        pl.read_csv(home.reference / "countries.csv").select("country", "country_name").iter_rows()
    )
    few = {names[c] for c, n in partners.iter_rows() if n < 3}
    many = {names[c] for c, n in partners.iter_rows() if n >= 3}
    assert many and not few & many
    page = (home.reports_dir(MONTH) / "aurora.html").read_text(encoding="utf-8")
    market = page[page.index('id="sec-market"') : page.index('id="sec-performance"')]
    appendix = page[page.index("Market by country (all partners)") :]
    appendix = appendix[: appendix.index("</table>")]
    countries = market.split("By segment")[0]
    shown = set(re.findall(r"<tr class=\"row\"><td>([^<]+)</td>", countries + appendix))
    assert shown == many


def test_a_market_mover_the_body_table_leaves_out_is_found_by_its_units(home: Home) -> None:
    """ "Thailand grew most" named a country only the appendix lists: the sentence gives its
    units and the "all other" row that holds it. A listed mover is told as before."""
    told = 0
    for path in sorted(home.reports_dir(MONTH).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for _scope, sentence, table in re.findall(
            r"^By (country|segment): (.*)\n\n((?:\|.*\n)+)", text, re.M
        ):
            shown = [line.split(" | ")[0].strip("| _*") for line in table.splitlines()[2:]]
            for name, inside in re.findall(
                r"([^;:]+?) (?:grew|declined) most \((.*?)\)(?=; |\.$)", sentence
            ):
                name = name.strip()
                if name in shown:
                    assert ' in "' not in inside, (path.name, sentence)
                else:
                    other = next(label for label in shown if label.startswith("All other"))
                    assert re.fullmatch(
                        rf"[+−][\d.]+ % MoM, [\d,]+ units, in \"{re.escape(other)}\"", inside
                    ), (path.name, sentence)
                told += 1
    assert told


def test_a_drivers_share_in_the_summary_is_the_contribution_in_the_json(home: Home) -> None:
    """'driven by X (0.6 pts of it)' could not be checked against the export, whose effects
    are SPEC's (rate, per-cell mix): each cell now carries the contribution the sentence
    uses, and every such figure of the month's summaries is found there."""
    from oemkpi.kpis.definitions import KPIS

    by_label = {k.label: k.name for k in KPIS}
    names = dict(
        pl.read_csv(home.reference / "countries.csv").select("country", "country_name").iter_rows()
    )
    checked = 0
    for path in sorted(home.reports_dir(MONTH).glob("*.md")):
        export = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        summary = path.read_text(encoding="utf-8").split("## Executive summary", 1)[1]
        summary = summary.split("\n## ", 1)[0]
        for found in re.finditer(
            r"^- (.+?) (?:rose|fell) .*?(?:driven by|the largest part in) (.+?) "
            r"\(([\d.]+) pts of it\)",
            summary,
            re.M,
        ):
            label, where, size = found.groups()
            cells = export["kpis"][by_label[label]]["mom_drivers"]["cells"]
            sizes = [
                round(abs(c["contribution"]) * 100, 1)
                for c in cells
                if f"{names[c['country']]} {c['segment']}" == where
            ]
            assert sizes == [float(size)], (path.name, found.group(0), sizes)
            checked += 1
    assert checked


def test_the_index_says_why_a_partner_has_no_server_attach(home: Home) -> None:
    """Ember and Fjordline showed 'n/a / n/a MoM / n/a YoY' under Server attach in the index,
    where their updates say they have no Windows Server base."""
    index = (home.reports_dir(MONTH) / "index.html").read_text(encoding="utf-8")
    folder = home.reports_dir(MONTH)
    without = [
        p.stem
        for p in sorted(folder.glob("*.json"))
        if json.loads(p.read_text(encoding="utf-8"))["kpis"]["server_attach"]["value"] is None
    ]
    assert without  # the sample has partners that ship no servers
    assert index.count('<span class="muted">n/a — no Windows Server base</span>') == len(without)
