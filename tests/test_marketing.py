"""Marketing activities, the optional fifth feed (SPEC section 9).

Table-driven: the spent share, which delivery and rows serve a month (the fiscal year
starts in July), each red flag's boundaries, the feed being optional (never late, no
missing partner), deliveries in every format with real dates, and ``oemkpi validate
--feed marketing``. Every contract rule's own bad file (exact sentence, quarantine,
the earlier good delivery kept) is in tests/test_feeds.py's VALUE_CASES and
tests/test_validation.py's table; the pipeline's JSON, HTML and Markdown are checked
end to end in tests/test_marketing_pipeline.py.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from oemkpi.home import Home
from oemkpi.ingest.deliveries import ingest_delivery
from oemkpi.kpis.marketing import compute_marketing_quarter
from oemkpi.kpis.quality import record_quality
from oemkpi.kpis.red_flags import Thresholds, evaluate_red_flags, load_thresholds
from oemkpi.reference import load_reference
from oemkpi.reports.marketing import (
    marketing_by_partner,
    marketing_caption,
    marketing_rest,
    marketing_section,
)
from oemkpi.warehouse import warehouse
from tests.feedfiles import good_rows, header, landing, write_csv, write_parquet, write_xlsx

FEED = "marketing"
COLUMNS = (
    "month",
    "partner_id",
    "activity_id",
    "activity",
    "kind",
    "country",
    "fiscal_quarter",
    "budget_usd",
    "spent_usd",
    "status",
    "poe_status",
    "end_date",
)


def _activity(
    month: str,
    activity_id: str,
    *,
    partner: str = "acme",
    quarter: str = "FY27-Q1",
    budget: float = 1000.0,
    spent: float = 500.0,
    status: str = "running",
    poe: str = "none",
    end: str | None = None,
    country: str | None = "DE",
) -> dict[str, Any]:
    return {
        "month": month,
        "partner_id": partner,
        "activity_id": activity_id,
        "activity": f"Activity {activity_id}",
        "kind": "jma",
        "country": country,
        "fiscal_quarter": quarter,
        "budget_usd": budget,
        "spent_usd": spent,
        "status": status,
        "poe_status": poe,
        "end_date": dt.date.fromisoformat(end) if end else None,
    }


def _load(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Rows as loaded deliveries would leave them in the warehouse's marketing table."""
    con.executemany(
        f"insert into marketing ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})",
        [[r[c] for c in COLUMNS] for r in rows],
    )


def _served(con: duckdb.DuckDBPyConnection, month: str) -> list[tuple[str, str, str]]:
    compute_marketing_quarter(con, month)
    return con.execute(
        "select partner_id, as_of, activity_id from marketing_quarter where month = ? order by all",
        [month],
    ).fetchall()


# --------------------------------------------------------------------------- spent share
SHARE_CASES = [
    # (activities as (budget, spent, status), budget, spent, share)
    ([(1000, 500, "running")], 1000, 500, 0.5),
    ([(1000, 930, "done"), (1000, 0, "planned")], 2000, 930, 0.465),
    # Cancelled activities are listed, not totalled.
    ([(1000, 800, "done"), (4000, 300, "cancelled")], 1000, 800, 0.8),
    # Spending beyond the budget shows as it is.
    ([(1000, 1100, "done")], 1000, 1100, 1.1),
    # Nothing to spend against: no share.
    ([(0, 0, "planned")], 0, 0, None),
    ([(1000, 50, "cancelled")], 0, 0, None),
]


@pytest.mark.parametrize(("activities", "budget", "spent", "share"), SHARE_CASES)
def test_the_spent_share_is_spent_over_budget_without_cancelled_activities(
    activities: list[tuple[float, float, str]], budget: float, spent: float, share: float | None
) -> None:
    rows = [
        {
            **_activity("2026-08", f"A{i}", budget=b, spent=s, status=status),
            "as_of": "2026-08",
            "end_date": None,
        }
        for i, (b, s, status) in enumerate(activities)
    ]

    section = marketing_section(rows, "2026-08")

    assert section is not None
    assert (section.budget_usd, section.spent_usd) == (budget, spent)
    assert section.spent_share == (pytest.approx(share) if share is not None else None)
    assert len(section.activities) == len(activities)  # cancelled ones are still listed
    assert section.export()["spent_share"] == section.spent_share


def test_no_rows_is_no_section() -> None:
    assert marketing_section([], "2026-08") is None


@pytest.mark.parametrize(
    ("month", "as_of", "caption"),
    [
        ("2026-09", "2026-09", "FY27-Q1 closes with 60 % of the budget spent"),
        (
            "2026-08",
            "2026-07",
            "FY27-Q1: 60 % of the budget spent with 67 % of the quarter gone "
            "(as delivered for July 2026)",
        ),
    ],
)
def test_the_caption_compares_spent_with_the_elapsed_quarter(
    month: str, as_of: str, caption: str
) -> None:
    rows = [{**_activity(as_of, "A", spent=600.0), "as_of": as_of, "end_date": None}]
    section = marketing_section(rows, month)
    assert section is not None
    assert marketing_caption(section, month) == caption


# --------------------------------------------------------------------------- quarter attribution
ATTRIBUTION_CASES = [
    pytest.param(
        [_activity("2026-07", "A"), _activity("2026-08", "A"), _activity("2026-08", "B")],
        "2026-08",
        [("acme", "2026-08", "A"), ("acme", "2026-08", "B")],
        id="the-month's-own-delivery",
    ),
    pytest.param(
        [_activity("2026-07", "A"), _activity("2026-07", "B")],
        "2026-09",
        [("acme", "2026-07", "A"), ("acme", "2026-07", "B")],
        id="a-month-without-delivery-keeps-the-quarter's-latest",
    ),
    pytest.param(
        [_activity("2026-08", "A"), _activity("2026-10", "C", quarter="FY27-Q2")],
        "2026-09",
        [("acme", "2026-08", "A")],
        id="a-later-delivery-does-not-serve-an-earlier-month",
    ),
    pytest.param(
        # The fiscal year turns in July: June 2026 is FY26-Q4, July 2026 FY27-Q1.
        [_activity("2026-06", "A", quarter="FY26-Q4")],
        "2026-07",
        [],
        id="fiscal-year-boundary:-the-last-quarter's-delivery-does-not-serve-july",
    ),
    pytest.param(
        [_activity("2026-06", "A", quarter="FY26-Q4")],
        "2026-06",
        [("acme", "2026-06", "A")],
        id="fiscal-year-boundary:-june-closes-FY26-Q4",
    ),
    pytest.param(
        [
            _activity("2026-07", "OLD", quarter="FY26-Q4"),
            _activity("2026-07", "NOW", quarter="FY27-Q1"),
            _activity("2026-07", "NEXT", quarter="FY27-Q2"),
        ],
        "2026-07",
        [("acme", "2026-07", "NOW")],
        id="only-rows-of-the-month's-quarter-count",
    ),
    pytest.param(
        [
            _activity("2026-07", "A1"),
            _activity("2026-07", "B1", partner="bolt-pc"),
            _activity("2026-08", "A2"),
        ],
        "2026-08",
        [("acme", "2026-08", "A2"), ("bolt-pc", "2026-07", "B1")],
        id="each-partner-by-its-own-latest-delivery",
    ),
    pytest.param(
        [_activity("2026-09", "A", quarter="FY27-Q2")],
        "2026-09",
        [],
        id="a-delivery-with-none-of-the-quarter's-rows-leaves-nothing",
    ),
]


@pytest.mark.parametrize(("rows", "month", "served"), ATTRIBUTION_CASES)
def test_a_month_is_served_by_the_latest_delivery_within_its_fiscal_quarter(
    home: Home, rows: list[dict[str, Any]], month: str, served: list[tuple[str, str, str]]
) -> None:
    with warehouse(home.warehouse) as con:
        _load(con, rows)
        assert _served(con, month) == served
        # Recomputing a month replaces it.
        assert _served(con, month) == served


# --------------------------------------------------------------------------- red flags
def _flags(
    home: Home, rows: list[dict[str, Any]], month: str, thresholds: Thresholds | None = None
) -> list[tuple[str, str, str, float, str | None]]:
    with warehouse(home.warehouse) as con:
        _load(con, rows)
        compute_marketing_quarter(con, month)
        evaluate_red_flags(con, month, ["acme", "bolt-pc"], thresholds or Thresholds())
        return con.execute(
            "select rule, severity, scope, value, sku from red_flags where month = ? "
            "and rule in ('marketing_underspend', 'poe_missing') order by all",
            [month],
        ).fetchall()


UNDERSPEND_CASES = [
    # (month, spent of a 10,000 budget, flags) -- 2026-09 closes FY27-Q1.
    ("2026-09", 7500.0, []),
    ("2026-09", 7499.0, [("marketing_underspend", "medium", "partner", 0.7499, None)]),
    ("2026-09", 5000.0, [("marketing_underspend", "medium", "partner", 0.5, None)]),
    ("2026-09", 4999.0, [("marketing_underspend", "high", "partner", 0.4999, None)]),
    ("2026-09", 0.0, [("marketing_underspend", "high", "partner", 0.0, None)]),
    # Only in the quarter's last month.
    ("2026-08", 1000.0, []),
    ("2026-07", 0.0, []),
]


@pytest.mark.parametrize(("month", "spent", "expected"), UNDERSPEND_CASES)
def test_marketing_underspend_in_the_quarter_s_last_month(
    home: Home, month: str, spent: float, expected: list[tuple[Any, ...]]
) -> None:
    rows = [
        _activity(month, "A", budget=6000.0, spent=spent * 0.6, status="done"),
        _activity(month, "B", budget=4000.0, spent=spent * 0.4),
        # A cancelled activity's budget does not count against the spend.
        _activity(month, "C", budget=50_000.0, spent=0.0, status="cancelled"),
    ]
    found = _flags(home, rows, month)
    assert [(r, s, sc, pytest.approx(v), k) for r, s, sc, v, k in expected] == found


POE_CASES = [
    # (end_date, status, poe_status, country, flags) as of the end of 2026-09 (30 Sep).
    ("2026-08-31", "done", "none", "DE", []),  # 30 days: not more than 30
    ("2026-08-30", "done", "none", "DE", [("poe_missing", "medium", "DE", 31.0, "A")]),
    ("2026-08-01", "done", "submitted", None, [("poe_missing", "medium", "partner", 60.0, "A")]),
    ("2026-07-31", "done", "rejected", "JP", [("poe_missing", "high", "JP", 61.0, "A")]),
    ("2026-07-01", "done", "approved", "DE", []),
    ("2026-07-01", "running", "none", "DE", []),
    ("2026-07-01", "cancelled", "none", "DE", []),
    (None, "done", "none", "DE", []),
]


@pytest.mark.parametrize(("end", "status", "poe", "country", "expected"), POE_CASES)
def test_poe_missing_for_a_done_activity_without_approved_proof(
    home: Home,
    end: str | None,
    status: str,
    poe: str,
    country: str | None,
    expected: list[tuple[Any, ...]],
) -> None:
    rows = [
        _activity(
            "2026-09",
            "A",
            budget=1000.0,
            spent=1000.0,
            status=status,
            poe=poe,
            end=end,
            country=country,
        )
    ]
    assert _flags(home, rows, "2026-09") == expected


def test_marketing_thresholds_come_from_red_flags_yaml(home: Home) -> None:
    home.red_flags_yaml.write_text(
        "marketing_underspend:\n  min_spent_share: 0.9\n  high_below_spent_share: 0.8\n"
        "poe_missing:\n  after_days: 10\n  high_after_days: 20\n",
        encoding="utf-8",
    )
    thresholds = load_thresholds(home.red_flags_yaml)
    rows = [
        _activity("2026-09", "A", spent=850.0, status="done", poe="none", end="2026-09-05"),
    ]
    assert _flags(home, rows, "2026-09", thresholds) == [
        ("marketing_underspend", "medium", "partner", pytest.approx(0.85), None),
        ("poe_missing", "high", "DE", 25.0, "A"),
    ]


# --------------------------------------------------------------------------- optional feed
def test_an_undelivered_marketing_month_is_not_late_missing_or_flagged(home: Home) -> None:
    month = "2026-08"
    with warehouse(home.warehouse) as con:
        record_quality(con, month, ["acme", "bolt-pc"], late=True, tolerance=0.02)
        evaluate_red_flags(con, month, ["acme", "bolt-pc"], Thresholds())
        status = con.execute(
            "select feed, status from feed_status where month = ? order by feed", [month]
        ).fetchall()
        flagged = con.execute(
            "select distinct feed from red_flags where month = ? order by feed", [month]
        ).fetchall()
    assert dict(status) == {
        "attach_rate": "late",
        "marketing": "not_delivered",
        "pc_shipments": "late",
        "premium_mix": "late",
        "windows_share": "late",
    }
    assert ("marketing",) not in flagged
    assert flagged  # the four feeds are late and flagged as before


def test_a_partner_absent_from_a_marketing_delivery_is_not_missing_data(home: Home) -> None:
    rows = [r for r in good_rows(FEED, "2026-10") if r[1] == "acme"]
    write_csv(landing(home, FEED, "2026-10") / "acme.csv", header(FEED), rows)
    with warehouse(home.warehouse) as con:
        outcome = ingest_delivery(con, home, FEED, "2026-10", load_reference(home.reference))
        record_quality(con, "2026-10", ["acme", "bolt-pc"], late=False, tolerance=0.02)
        missing = con.execute("select * from missing_partner_data").fetchall()
        status = con.execute(
            "select status, rows_in_force, partners from feed_status where feed = 'marketing'"
        ).fetchall()
    assert outcome.status == "loaded"
    assert missing == []
    assert status == [("loaded", len(rows), 1)]


# --------------------------------------------------------------------------- formats
def test_parquet_dates_and_xlsx_text_dates_load_as_dates(home: Home) -> None:
    rows = good_rows(FEED, "2026-10")
    folder = landing(home, FEED, "2026-10")
    write_parquet(folder / "americas.parquet", FEED, header(FEED), rows[:4])
    write_xlsx(folder / "emea.xlsx", FEED, header(FEED), rows[4:])
    # Excel users type dates as text too.
    text = pl.read_excel(folder / "emea.xlsx").with_columns(pl.col("end_date").cast(pl.String))
    text.write_excel(folder / "emea.xlsx", worksheet="data")
    assert pl.read_parquet(folder / "americas.parquet").schema["end_date"] == pl.Date

    with warehouse(home.warehouse) as con:
        outcome = ingest_delivery(con, home, FEED, "2026-10", load_reference(home.reference))
        loaded = con.execute(
            "select activity_id, end_date, budget_usd from marketing order by activity_id"
        ).fetchall()

    assert outcome.status == "loaded", [p.message for p in outcome.problems]
    expected = sorted(
        (r[2], dt.date.fromisoformat(r[11]) if r[11] else None, float(r[7])) for r in rows
    )
    assert loaded == expected


def test_a_rejected_redelivery_keeps_the_earlier_delivery_and_its_quarter(home: Home) -> None:
    folder = landing(home, FEED, "2026-10")
    write_csv(folder / "all.csv", header(FEED), good_rows(FEED, "2026-10"))
    reference = load_reference(home.reference)
    with warehouse(home.warehouse) as con:
        assert ingest_delivery(con, home, FEED, "2026-10", reference).status == "loaded"
        compute_marketing_quarter(con, "2026-10")
        before = marketing_by_partner(con, "2026-10")
        bad = [list(r) for r in good_rows(FEED, "2026-10")]
        bad[0][6] = "Q2 FY27"
        (folder / "all.csv").unlink()
        write_csv(folder / "fixed.csv", header(FEED), bad)
        outcome = ingest_delivery(con, home, FEED, "2026-10", reference)
        compute_marketing_quarter(con, "2026-10")
        after = marketing_by_partner(con, "2026-10")

    assert outcome.status == "rejected"
    assert [p.message for p in outcome.problems] == [
        "landing/marketing/2026-10/fixed.csv row 2, column fiscal_quarter: value 'Q2 FY27' is "
        "not a fiscal quarter in the form FY27-Q2; write the fiscal quarter as FYyy-Qn "
        "(fiscal years start in July: July 2026 is FY27-Q1) and deliver again."
    ]
    assert (home.quarantine_dir(FEED, "2026-10") / "fixed.csv.errors.json").is_file()
    assert {p: s.export() for p, s in after.items()} == {p: s.export() for p, s in before.items()}
    assert set(after) == {"acme", "bolt-pc"}


# --------------------------------------------------------------------------- oemkpi validate
OEMKPI = Path(sys.executable).with_name("oemkpi")


def _validate(home: Home, path: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OEMKPI), "--home", str(home.root), "validate", path, "--feed", FEED, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_oemkpi_validate_feed_marketing(home: Home, tmp_path: Path) -> None:
    folder = landing(home, FEED, "2026-10")
    rows = good_rows(FEED, "2026-10")
    write_csv(folder / "good.csv", header(FEED), rows)
    rows[1][11] = "31/10/2026"  # not a date
    rows[3][4] = "webinar"  # not a kind
    write_csv(tmp_path / "inbox" / "bad.csv", header(FEED), rows)

    accepted = _validate(home, "landing/marketing/2026-10/good.csv", cwd=home.root)
    rejected = _validate(home, "inbox/bad.csv", "--month", "2026-10", cwd=tmp_path)

    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout == (
        "landing/marketing/2026-10/good.csv: would be accepted, 8 rows for marketing 2026-10.\n"
    )
    assert rejected.returncode == 1, rejected.stderr
    assert rejected.stdout.splitlines() == [
        "inbox/bad.csv row 3, column end_date: value '31/10/2026' is not a date in the form "
        "YYYY-MM-DD; write dates as YYYY-MM-DD, or leave the cell empty, and deliver again.",
        "inbox/bad.csv row 5, column kind: value 'webinar' is not one of jma, launch, campaign, "
        "event, training, other; use one of the allowed values and deliver again.",
        "inbox/bad.csv: would be rejected, 2 problems (2 checks failed) for marketing 2026-10.",
    ]
    assert "Traceback" not in accepted.stderr + rejected.stderr
    assert not home.warehouse.exists()  # nothing loaded
    assert not (home.root / "quarantine").exists()  # nothing quarantined


def test_beyond_ten_activities_the_body_sums_the_rest() -> None:
    rows = [
        {**_activity("2026-08", f"A{i:02d}", budget=1000.0 - i, spent=100.0), "as_of": "2026-08"}
        for i in range(12)
    ]
    rows[11]["status"] = "cancelled"
    section = marketing_section(rows, "2026-08")
    assert section is not None
    rest = marketing_rest(section)
    assert rest is not None
    assert (rest.activity, rest.budget_usd, rest.spent_usd) == ("2 other activities", 990.0, 100.0)
    ten = marketing_section(rows[:10], "2026-08")
    assert ten is not None and marketing_rest(ten) is None
