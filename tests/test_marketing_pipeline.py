"""Marketing end to end (SPEC section 9): a small sample home run through ``monthly_update``.

The JSON ``marketing`` numbers of every partner and month are derived again here from
the landing files with polars (latest delivery within the fiscal quarter, the quarter's
rows, cancelled activities left out), independently of the pipeline's SQL. A hostile
activity name goes through the feed into the HTML (escaped, never run as markup or as a
template) and the Markdown (escaped).
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl
import pytest

from oemkpi.home import Home
from oemkpi.months import fiscal_quarter, quarter_to_date
from oemkpi.reports.safe_markdown import md_escape
from oemkpi.sample import write_sample_home
from pipelines.runs import RunSummary, run_months
from tests.feedfiles import header, read_feed, write_csv

FIRST, MONTH = "2026-06", "2026-09"  # 2026-09 closes FY27-Q1; 2026-06 closes FY26-Q4
MONTHS = ("2026-06", "2026-07", "2026-08", "2026-09")
HOSTILE = '<script>alert("x")</script> {{ 7*7 }} & Co | <b>bold</b>'


def expected_marketing(frame: pl.DataFrame, partner: str, month: str) -> dict[str, Any] | None:
    """SPEC section 9 from the files: the partner's latest delivery up to ``month`` within
    its fiscal quarter, only that quarter's rows; totals without cancelled activities."""
    own = frame.filter(
        (pl.col("partner_id") == partner) & pl.col("_folder").is_in(quarter_to_date(month))
    )
    if own.is_empty():
        return None
    latest = own.get_column("_folder").max()
    rows = own.filter(
        (pl.col("_folder") == latest) & (pl.col("fiscal_quarter") == fiscal_quarter(month))
    )
    if rows.is_empty():
        return None
    counted = rows.filter(pl.col("status") != "cancelled")
    budget = float(counted.get_column("budget_usd").sum())
    spent = float(counted.get_column("spent_usd").sum())
    return {
        "budget_usd": budget,
        "spent_usd": spent,
        "spent_share": spent / budget if budget else None,
        "activity_ids": sorted(rows.get_column("activity_id").to_list()),
    }


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, RunSummary]:
    root = tmp_path_factory.mktemp("marketing") / "home"
    write_sample_home(root, end_month=MONTH, months=len(MONTHS), partners=3, scale=0.1)
    home = Home.at(root)
    # The third partner sends no marketing in the sample; here it sends one hostile activity.
    write_csv(
        home.landing_dir("marketing", MONTH) / "zz-hostile.csv",
        header("marketing"),
        [
            [
                MONTH,
                "cobalt-pc",
                "HOSTILE-1",
                HOSTILE,
                "event",
                "",
                "FY27-Q1",
                "1000",
                "900",
                "done",
                "none",
                "2026-07-15",
            ]
        ],
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
        summary = run_months(home, FIRST, MONTH)
    return home, summary


def _json(home: Home, partner: str, month: str) -> dict[str, Any]:
    return json.loads((home.reports_dir(month) / f"{partner}.json").read_text(encoding="utf-8"))


def test_the_json_marketing_numbers_follow_from_the_landing_files(
    ran: tuple[Home, RunSummary],
) -> None:
    home, summary = ran
    assert summary.success, summary.failure
    frame = read_feed(home.root, "marketing")
    checked = 0
    for month in MONTHS:
        for partner in ("aurora", "borealis", "cobalt-pc"):
            exported = _json(home, partner, month)["marketing"]
            expected = expected_marketing(frame, partner, month)
            if expected is None:
                assert exported is None, (partner, month)
                continue
            checked += 1
            assert exported["budget_usd"] == pytest.approx(expected["budget_usd"])
            assert exported["spent_usd"] == pytest.approx(expected["spent_usd"])
            assert exported["spent_share"] == pytest.approx(expected["spent_share"])
            ids = sorted(a["activity_id"] for a in exported["activities"])
            assert ids == expected["activity_ids"], (partner, month)
            assert set(exported["activities"][0]) == {
                "activity_id",
                "kind",
                "activity",
                "country",
                "budget_usd",
                "spent_usd",
                "status",
                "poe_status",
                "end_date",
            }
    assert checked >= 6  # most partners, most months


def test_the_planted_flags_fire_and_the_summary_says_so(ran: tuple[Home, RunSummary]) -> None:
    home, _ = ran
    aurora = _json(home, "aurora", MONTH)
    under = [f for f in aurora["red_flags"] if f["rule"] == "marketing_underspend"]
    assert [(f["severity"], f["scope"]) for f in under] == [("medium", "partner")]
    assert under[0]["value"] == pytest.approx(aurora["marketing"]["spent_share"])
    borealis = _json(home, "borealis", MONTH)
    poe = [f for f in borealis["red_flags"] if f["rule"] == "poe_missing"]
    assert [(f["severity"], f["value"]) for f in poe] == [("medium", 45.0)]
    page = (home.reports_dir(MONTH) / "aurora.html").read_text(encoding="utf-8")
    assert "Co-marketing: FY27-Q1 closes with 60 % of the co-marketing budget spent" in page
    assert "FY27-Q1 closes with 60 % of the budget spent" in page
    markdown = (home.reports_dir(MONTH) / "aurora.md").read_text(encoding="utf-8")
    assert "_FY27-Q1 closes with 60 % of the budget spent_" in markdown
    index = (home.reports_dir(MONTH) / "index.html").read_text(encoding="utf-8")
    assert "Co-marketing budget and spend" in index
    # The optional feed's own months: delivered is loaded, never late or missing; a month
    # without it leaves it out of `feeds` (SPEC 5 has no status for it), and marketing null.
    states = {m: _json(home, "aurora", m)["feeds"].get("marketing") for m in MONTHS}
    assert {s["status"] for s in states.values() if s} == {"loaded"}
    for month, state in states.items():
        assert (state is None) == (_json(home, "aurora", month)["marketing"] is None)


def test_a_hostile_activity_name_is_escaped_in_html_and_markdown(
    ran: tuple[Home, RunSummary],
) -> None:
    home, _ = ran
    exported = _json(home, "cobalt-pc", MONTH)
    assert [a["activity"] for a in exported["marketing"]["activities"]] == [HOSTILE]
    # Done on 15 July, not approved: 77 days by 30 September, a high poe_missing flag.
    poe = [f for f in exported["red_flags"] if f["rule"] == "poe_missing"]
    assert [(f["severity"], f["scope"], f["value"]) for f in poe] == [("high", "partner", 77.0)]
    page = (home.reports_dir(MONTH) / "cobalt-pc.html").read_text(encoding="utf-8")
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; {{ 7*7 }} &amp; Co | &lt;b&gt;bold&lt;/b&gt;"
    assert page.count(escaped) >= 2  # the activity table and the red flag
    assert "<script" not in page and "<b>bold" not in page
    markdown = (home.reports_dir(MONTH) / "cobalt-pc.md").read_text(encoding="utf-8")
    assert md_escape(HOSTILE) in markdown
    assert re.search(r"(?<!\\)<(script|b)", markdown) is None  # every < escaped
    for other in ("aurora", "borealis"):
        assert "HOSTILE-1" not in (home.reports_dir(MONTH) / f"{other}.json").read_text()
