"""KPIs, MoM/YoY, fiscal quarters, assortment and red flags against hand-computed numbers.

Rows go straight into a real DuckDB warehouse; the SQL of sql/ computes; every
expected value below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from oemkpi.kpis.compute import load_targets
from oemkpi.kpis.definitions import KPIS
from oemkpi.kpis.red_flags import Thresholds
from oemkpi.months import elapsed_share, fiscal_quarter, quarter_to_date
from oemkpi.reference import Reference, Target
from oemkpi.warehouse import sql
from tests.kpidata import compute_month, flags, insert, kpi, open_warehouse

M, PRIOR, YEAR_AGO = "2026-10", "2026-09", "2025-10"


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = open_warehouse(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


def _one_month_of_everything(con: duckdb.DuckDBPyConnection) -> None:
    insert(
        con,
        "pc_shipments",
        [
            (M, "p", "DE", "consumer", "notebook", 600, 700),
            (M, "p", "DE", "consumer", "desktop", 400, None),  # no forecast: out of attainment
            (
                M,
                "p",
                "DE",
                "commercial",
                "server",
                50,
                60,
            ),  # server: out of PC units and attainment
            (M, "p", "JP", "commercial", "notebook", 300, 250),
        ],
    )
    insert(
        con,
        "windows_share",
        [
            (M, "p", "DE", "consumer", "A", "windows", 900),
            (M, "p", "DE", "consumer", "B", "chromeos", 100),
            (M, "p", "JP", "commercial", "C", "windows", 10),
            (M, "p", "JP", "commercial", "D", "linux", 90),
        ],
    )
    insert(
        con,
        "premium_mix",
        [
            (M, "p", "DE", "consumer", "home", "mainstream", 500, 30000.0),
            (M, "p", "DE", "consumer", "pro", "premium", 300, 40000.0),
            (M, "p", "DE", "consumer", "pro_workstation", "mainstream", 100, 20000.0),
            (M, "p", "JP", "commercial", "education", "entry", 10, 300.0),
        ],
    )
    insert(
        con,
        "attach_rate",
        [
            (M, "p", "DE", "consumer", "office", 900, 400, 50),
            (M, "p", "JP", "commercial", "office", 10, 9, None),
            (M, "p", "DE", "commercial", "windows_server", 50, 30, None),
        ],
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("shipped_units", 1300.0),  # 600 + 400 + 300, server excluded
        ("server_units", 50.0),
        ("forecast_attainment", 900 / 950),  # (600 + 300) / (700 + 250): rows with a forecast
        ("windows_share", 910 / 1100),  # not (0.9 + 0.1) / 2 = 0.5
        ("pro_mix", 400 / 910),  # pro 300 + pro_workstation 100
        ("premium_mix", 300 / 910),
        ("license_revenue_usd", 90300.0),
        ("office_attach", 409 / 910),  # (400 + 9) / (900 + 10), not mean(0.444, 0.9)
        ("server_attach", 30 / 50),
        ("office_sell_thru_units", 50.0),  # the row without sell-thru adds nothing
        ("server_sell_thru_units", None),  # none reported: null, not 0
    ],
)
def test_partner_kpis_are_ratios_of_sums(
    con: duckdb.DuckDBPyConnection, name: str, expected: float | None
) -> None:
    _one_month_of_everything(con)
    compute_month(con, M, ["p"])
    value = kpi(con, M, "p", name)["value"]
    assert value == (pytest.approx(expected) if expected is not None else None)


def test_ratio_of_sums_differs_from_the_average_of_ratios(con: duckdb.DuckDBPyConnection) -> None:
    _one_month_of_everything(con)
    compute_month(con, M, ["p"])
    de = kpi(con, M, "p", "windows_share", scope="country", code="DE")["value"]
    jp = kpi(con, M, "p", "windows_share", scope="country", code="JP")["value"]
    partner = kpi(con, M, "p", "windows_share")["value"]
    assert (de, jp) == (pytest.approx(0.9), pytest.approx(0.1))
    assert partner == pytest.approx(0.8272727) != pytest.approx((de + jp) / 2)


def test_licence_revenue_is_summed_exactly_whatever_the_order_of_its_rows(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A DOUBLE sum depends on the order its rows are added in, and a re-run may insert a
    month's rows in another order (files read on parallel threads): the same delivery gave
    a partner's revenue a different last digit, and its update was sent again. The sums
    are exact: one figure, the double nearest the true total, for every order."""
    revenue = [999_999_999_999_999.0, 0.4, 0.4, 0.4, 0.4, 0.4]  # 15 digits: the row limit
    assert sum(revenue) != sum(reversed(revenue))  # the order matters to a DOUBLE sum
    exact = float(sum(Decimal(repr(v)) for v in revenue))
    cells = [(e, b) for e in ("home", "pro") for b in ("entry", "mainstream", "premium")]
    rows = [
        (M, "p", "DE", "consumer", e, b, 1, v) for (e, b), v in zip(cells, revenue, strict=True)
    ]
    totals = set()
    for ordered in (rows, rows[::-1]):
        con.execute("delete from premium_mix")
        insert(con, "premium_mix", ordered)
        compute_month(con, M, ["p"])
        totals.add(kpi(con, M, "p", "license_revenue_usd")["value"])
    assert totals == {exact}


def test_kpis_by_country_and_segment(con: duckdb.DuckDBPyConnection) -> None:
    _one_month_of_everything(con)
    compute_month(con, M, ["p"])
    assert kpi(con, M, "p", "shipped_units", scope="country", code="DE")["value"] == 1000
    assert kpi(con, M, "p", "forecast_attainment", scope="country", code="DE")[
        "value"
    ] == pytest.approx(600 / 700)
    assert kpi(con, M, "p", "office_attach", scope="segment", code="commercial")[
        "value"
    ] == pytest.approx(9 / 10)
    assert kpi(con, M, "p", "pro_mix", scope="segment", code="consumer")["value"] == pytest.approx(
        400 / 900
    )


def test_forecast_attainment_is_null_when_no_row_has_a_forecast(
    con: duckdb.DuckDBPyConnection,
) -> None:
    insert(con, "pc_shipments", [(M, "p", "DE", "consumer", "notebook", 600, None)])
    compute_month(con, M, ["p"])
    assert kpi(con, M, "p", "forecast_attainment")["value"] is None
    assert kpi(con, M, "p", "shipped_units")["value"] == 600


def _shares(
    con: duckdb.DuckDBPyConnection, month: str, shipped: int, windows: int, total: int
) -> None:
    insert(con, "pc_shipments", [(month, "p", "DE", "consumer", "notebook", shipped, None)])
    insert(
        con,
        "windows_share",
        [
            (month, "p", "DE", "consumer", "W", "windows", windows),
            (month, "p", "DE", "consumer", "X", "chromeos", total - windows),
        ],
    )


def test_mom_and_yoy_are_points_for_ratios_and_relative_for_volumes(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _shares(con, YEAR_AGO, 1000, 800, 1000)
    _shares(con, PRIOR, 1200, 850, 1000)
    _shares(con, M, 1300, 900, 1000)
    for month in (YEAR_AGO, PRIOR, M):
        compute_month(con, month, ["p"])
    units = kpi(con, M, "p", "shipped_units")
    share = kpi(con, M, "p", "windows_share")
    assert (units["prior_month"], units["prior_year"]) == (1200, 1000)
    assert units["mom_change"] == pytest.approx(100 / 1200)  # relative
    assert units["yoy_change"] == pytest.approx(0.3)
    assert share["mom_change"] == pytest.approx(0.05)  # 0.90 - 0.85: points as a fraction
    assert share["yoy_change"] == pytest.approx(0.10)


def test_first_month_has_no_comparisons(con: duckdb.DuckDBPyConnection) -> None:
    _shares(con, M, 1300, 900, 1000)
    compute_month(con, M, ["p"])
    row = kpi(con, M, "p", "windows_share")
    assert (row["prior_month"], row["prior_year"], row["mom_change"], row["yoy_change"]) == (
        None,
    ) * 4


def test_a_missing_prior_month_leaves_mom_empty_but_yoy_computed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _shares(con, YEAR_AGO, 1000, 800, 1000)
    _shares(con, M, 1300, 900, 1000)
    compute_month(con, YEAR_AGO, ["p"])
    compute_month(con, M, ["p"])
    row = kpi(con, M, "p", "shipped_units")
    assert (row["prior_month"], row["mom_change"]) == (None, None)
    assert row["yoy_change"] == pytest.approx(0.3)


def test_a_zero_prior_volume_gives_no_relative_change(con: duckdb.DuckDBPyConnection) -> None:
    insert(
        con,
        "pc_shipments",
        [
            (PRIOR, "p", "DE", "consumer", "notebook", 0, None),
            (M, "p", "DE", "consumer", "notebook", 500, None),
        ],
    )
    compute_month(con, PRIOR, ["p"])
    compute_month(con, M, ["p"])
    row = kpi(con, M, "p", "shipped_units")
    assert (row["prior_month"], row["mom_change"]) == (0, None)


@pytest.mark.parametrize(
    ("month", "fy_start", "quarter", "qtd", "elapsed"),
    [
        ("2026-07", 7, "FY27-Q1", ["2026-07"], 1 / 3),
        ("2026-09", 7, "FY27-Q1", ["2026-07", "2026-08", "2026-09"], 1.0),
        ("2026-10", 7, "FY27-Q2", ["2026-10"], 1 / 3),
        ("2026-12", 7, "FY27-Q2", ["2026-10", "2026-11", "2026-12"], 1.0),
        ("2027-01", 7, "FY27-Q3", ["2027-01"], 1 / 3),
        ("2026-06", 7, "FY26-Q4", ["2026-04", "2026-05", "2026-06"], 1.0),
        ("2026-11", 1, "FY26-Q4", ["2026-10", "2026-11"], 2 / 3),
        ("2026-01", 1, "FY26-Q1", ["2026-01"], 1 / 3),
        ("2026-04", 4, "FY27-Q1", ["2026-04"], 1 / 3),
        ("2026-03", 4, "FY26-Q4", ["2026-01", "2026-02", "2026-03"], 1.0),
    ],
)
def test_fiscal_calendar(
    month: str, fy_start: int, quarter: str, qtd: list[str], elapsed: float
) -> None:
    assert fiscal_quarter(month, fy_start) == quarter
    assert quarter_to_date(month, fy_start) == qtd
    assert elapsed_share(month, fy_start) == pytest.approx(elapsed)


def _targets(con: duckdb.DuckDBPyConnection, *targets: Target) -> None:
    load_targets(con, Reference(partners=(), countries=(), targets=targets))


@pytest.mark.parametrize(
    ("fy_start", "quarter", "qtd_units", "qtd_share"),
    [
        (7, "FY27-Q2", 1000 + 1500, (900 + 1400) / (1000 + 2000)),  # Oct-Dec: Oct + Nov
        (1, "FY26-Q4", 1000 + 1500, (900 + 1400) / (1000 + 2000)),  # calendar Q4: Oct + Nov
        (8, "FY27-Q2", 1500, 1400 / 2000),  # Nov-Jan: Nov alone
        (9, "FY27-Q1", 900 + 1000 + 1500, (450 + 900 + 1400) / (500 + 1000 + 2000)),  # Sep-Nov
    ],
)
def test_quarter_to_date_follows_the_fiscal_calendar(
    con: duckdb.DuckDBPyConnection, fy_start: int, quarter: str, qtd_units: int, qtd_share: float
) -> None:
    _shares(con, PRIOR, 900, 450, 500)
    _shares(con, M, 1000, 900, 1000)
    _shares(con, "2026-11", 1500, 1400, 2000)
    _targets(
        con,
        Target("p", quarter, "shipped_units", 10000.0),
        Target("p", quarter, "windows_share", 0.8),
        Target("p", "FY99-Q1", "windows_share", 0.1),  # another quarter: never used
    )
    for month in (PRIOR, M, "2026-11"):
        compute_month(con, month, ["p"], fy_start_month=fy_start)
    units = kpi(con, "2026-11", "p", "shipped_units")
    share = kpi(con, "2026-11", "p", "windows_share")
    assert units["qtd"] == qtd_units
    assert share["qtd"] == pytest.approx(qtd_share)
    assert (units["target"], share["target"]) == (10000.0, 0.8)


@pytest.mark.parametrize("missing", [M, "2026-11"], ids=["an-earlier-month", "this-month"])
def test_a_quarter_month_without_the_kpis_data_is_named_and_not_judged(
    con: duckdb.DuckDBPyConnection, missing: str
) -> None:
    """PC shipments were not delivered for one month of FY27-Q2 so far (October or November):
    shipments' QTD is one month's, against the quarter's target a false 'target gap'. The
    month is named as missing and no target-gap flag fires; Windows share, delivered both
    months, is judged."""
    for month in (M, "2026-11"):
        _shares(con, month, 1000, 900, 1000)
    con.execute("delete from pc_shipments where month = ?", [missing])
    _targets(
        con,
        Target("p", "FY27-Q2", "shipped_units", 30000.0),
        Target("p", "FY27-Q2", "windows_share", 0.95),
    )
    for month in (M, "2026-11"):
        compute_month(con, month, ["p"])

    units = kpi(con, "2026-11", "p", "shipped_units")
    assert (units["qtd"], units["target"]) == (1000, 30000.0)  # the month delivered
    assert kpi(con, "2026-11", "p", "windows_share")["qtd"] == pytest.approx(0.9)
    missing_months = con.execute(
        sql("reports/select_partner_qtd_missing"),
        {"month": "2026-11", "qtd_months": [M, "2026-11"]},
    ).fetchall()
    by_kpi = {k: months for _, k, months in missing_months}
    # The shipments KPIs miss the month; the feeds this test never delivers miss both.
    assert by_kpi["shipped_units"] == by_kpi["server_units"] == [missing]
    assert by_kpi["pro_mix"] == [M, "2026-11"]
    assert "windows_share" not in by_kpi
    # Windows share's gap is real (90 % against 95 %); shipments' 1,000 of 30,000 is not told.
    assert [f[2] for f in flags(con, "2026-11", "p", "target_gap")] == ["windows_share"]


# -- assortment ---------------------------------------------------------------------------


def _assortment_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "select sku, country, type, reason, from_os, to_os, units, prior_units "
        "from assortment where month = ? and partner_id = 'p' order by sku",
        [M],
    ).fetchall()


def test_assortment_reasons_and_the_minimum_units(con: duckdb.DuckDBPyConnection) -> None:
    prior = [
        ("conv", "chromeos", 500),
        ("conv_small", "linux", 500),
        ("new_other", None, None),
        ("comp", "windows", 1200),
        ("comp_small", "windows", 99),
        ("gone", "windows", 100),
        ("gone_small", "windows", 99),
        ("stay", "windows", 500),
    ]
    current = [
        ("conv", "windows", 150),
        ("conv_small", "windows", 99),
        ("new", "windows", 100),
        ("new_other", "chromeos", 500),
        ("comp", "chromeos", 1300),
        ("comp_small", "linux", 5000),
        ("stay", "windows", 600),
    ]
    insert(
        con, "windows_share", [(PRIOR, "p", "DE", "consumer", s, os, u) for s, os, u in prior if os]
    )
    insert(con, "windows_share", [(M, "p", "DE", "consumer", s, os, u) for s, os, u in current])
    # The same SKU name in another country is another SKU: Windows in both months there.
    insert(con, "windows_share", [(PRIOR, "p", "JP", "consumer", "comp", "windows", 5000)])
    insert(con, "windows_share", [(M, "p", "JP", "consumer", "comp", "windows", 5000)])
    compute_month(con, M, ["p"])
    assert _assortment_rows(con) == [
        ("comp", "DE", "loss", "competitive", "windows", "chromeos", 1300, 1200),
        ("conv", "DE", "win", "converted", "chromeos", "windows", 150, 500),
        ("gone", "DE", "discontinued", "discontinued", "windows", None, None, 100),
        ("new", "DE", "win", "new", None, "windows", 100, None),
    ]


def test_no_assortment_for_a_partner_without_last_month(con: duckdb.DuckDBPyConnection) -> None:
    insert(con, "windows_share", [(M, "p", "DE", "consumer", "A", "windows", 5000)])
    compute_month(con, M, ["p"])
    assert _assortment_rows(con) == []


# -- red flags: each rule just above and just below its threshold ----------------------------


@pytest.mark.parametrize(
    ("windows_now", "total_now", "expected"),
    [
        (940, 1000, [("medium", "partner", -0.01)]),  # 95.0 % -> 94.0 %: exactly 1.0 pt
        (9401, 10000, []),  # 0.99 pt
        (930, 1000, [("high", "partner", -0.01)]),  # 2.0 pts: twice the threshold
    ],
)
def test_windows_share_drop_at_partner_level(
    con: duckdb.DuckDBPyConnection,
    windows_now: int,
    total_now: int,
    expected: list[tuple[object, ...]],
) -> None:
    # Split over two small countries so no country-level flag can fire (< 1000 units each).
    for month, windows, total in ((PRIOR, 950, 1000), (M, windows_now, total_now)):
        insert(
            con,
            "windows_share",
            [
                (month, "p", "DE", "consumer", "W1", "windows", windows // 2),
                (month, "p", "DE", "consumer", "X1", "chromeos", total // 2 - windows // 2),
                (month, "p", "JP", "consumer", "W2", "windows", windows - windows // 2),
                (
                    month,
                    "p",
                    "JP",
                    "consumer",
                    "X2",
                    "chromeos",
                    total - total // 2 - (windows - windows // 2),
                ),
            ],
        )
    compute_month(con, PRIOR, ["p"])
    compute_month(con, M, ["p"])
    found = flags(con, M, "p", "windows_share_drop")
    assert [(f[0], f[1], f[4]) for f in found] == expected
    if found:
        assert found[0][5].startswith("Windows share fell ")


@pytest.mark.parametrize(
    ("units_now", "windows_now", "country_flag"),
    [
        (1000, 920, ("medium", "DE")),  # >= 1000 units, exactly 3.0 pts
        (1000, 921, None),  # 2.9 pts
        (999, 919, None),  # 3.01 pts but under 1000 units
        (1000, 890, ("high", "DE")),  # 6.0 pts
    ],
)
def test_windows_share_drop_at_country_level(
    con: duckdb.DuckDBPyConnection,
    units_now: int,
    windows_now: int,
    country_flag: tuple[str, str] | None,
) -> None:
    insert(
        con,
        "windows_share",
        [
            (PRIOR, "p", "DE", "consumer", "W", "windows", 950),
            (PRIOR, "p", "DE", "consumer", "X", "chromeos", 50),
            (M, "p", "DE", "consumer", "W", "windows", windows_now),
            (M, "p", "DE", "consumer", "X", "chromeos", units_now - windows_now),
        ],
    )
    compute_month(con, PRIOR, ["p"])
    compute_month(con, M, ["p"])
    country = [(f[0], f[1]) for f in flags(con, M, "p", "windows_share_drop") if f[1] != "partner"]
    assert country == ([country_flag] if country_flag else [])


@pytest.mark.parametrize(
    ("shipped", "forecast", "expected"),
    [(900, 1000, None), (899, 1000, "medium"), (800, 1000, "high"), (801, 1000, "medium")],
)
def test_forecast_miss_for_the_partner(
    con: duckdb.DuckDBPyConnection, shipped: int, forecast: int, expected: str | None
) -> None:
    # Two countries under 1000 units each: only the partner-level rule can fire.
    insert(
        con,
        "pc_shipments",
        [
            (M, "p", "DE", "consumer", "notebook", shipped // 2, forecast // 2),
            (
                M,
                "p",
                "JP",
                "consumer",
                "notebook",
                shipped - shipped // 2,
                forecast - forecast // 2,
            ),
        ],
    )
    compute_month(con, M, ["p"])
    found = [(f[0], f[1], f[4]) for f in flags(con, M, "p", "forecast_miss")]
    assert found == ([(expected, "partner", 0.9)] if expected else [])


def test_forecast_miss_for_a_country_needs_1000_units(con: duckdb.DuckDBPyConnection) -> None:
    insert(
        con,
        "pc_shipments",
        [
            (M, "p", "DE", "consumer", "notebook", 1000, 1200),  # 83.3 % with 1000 units: flag
            (M, "p", "JP", "consumer", "notebook", 999, 1200),  # 83.2 % with 999 units: no flag
            (M, "p", "BR", "consumer", "notebook", 5000, 4000),  # keeps the partner above 90 %
        ],
    )
    compute_month(con, M, ["p"])
    assert [(f[0], f[1]) for f in flags(con, M, "p", "forecast_miss")] == [("medium", "DE")]


@pytest.mark.parametrize(
    ("uncovered", "partner", "germany"),
    [
        (
            300,
            "Shipments with a forecast reached 80.0 % of it (below 90 %); of the 1,300 units "
            "shipped, 300 had no forecast.",
            "Shipments in DE with a forecast reached 80.0 % of it (below 90 %); of the 1,100 "
            "units shipped, 100 had no forecast.",
        ),
        (
            # 10 of 1,010 units (under 1 %): attainment is close to what it would be with them.
            10,
            "Shipments reached 80.0 % of forecast (below 90 %).",
            "Shipments in DE reached 80.0 % of forecast (below 90 %, 1,010 units shipped).",
        ),
    ],
)
def test_forecast_miss_says_how_many_units_had_no_forecast(
    con: duckdb.DuckDBPyConnection, uncovered: int, partner: str, germany: str
) -> None:
    """72 % of forecast read as the country's shortfall where a third of its units had
    none (the regional pack and the JSON show this message)."""
    in_germany = min(uncovered, 100)
    rows = [
        (M, "p", "DE", "consumer", "notebook", 1000, 1250),
        (M, "p", "DE", "commercial", "notebook", in_germany, None),
    ]
    if uncovered > in_germany:
        rows.append((M, "p", "FR", "commercial", "notebook", uncovered - in_germany, None))
    insert(con, "pc_shipments", rows)
    compute_month(con, M, ["p"])
    messages = {f[1]: f[5] for f in flags(con, M, "p", "forecast_miss")}
    assert messages == {"partner": partner, "DE": germany}


@pytest.mark.parametrize(
    ("minimum", "shipped", "message"),
    [
        # The threshold as given: "(below 92 %)" stood beside "reached 92.2 %".
        (0.925, 9_220, "Shipments reached 92.2 % of forecast (below 92.5 %)."),
        # An attainment that one decimal prints as the threshold is "just under" it.
        (0.9, 8_999, "Shipments reached just under 90 % of forecast (below 90 %)."),
        (0.9, 8_900, "Shipments reached 89.0 % of forecast (below 90 %)."),
    ],
)
def test_forecast_miss_words_never_print_the_attainment_at_its_threshold(
    con: duckdb.DuckDBPyConnection, minimum: float, shipped: int, message: str
) -> None:
    insert(
        con,
        "pc_shipments",
        [
            (M, "p", "DE", "consumer", "notebook", shipped // 2, 5_000),
            (M, "p", "JP", "consumer", "notebook", shipped - shipped // 2, 5_000),
        ],
    )
    compute_month(con, M, ["p"], thresholds=replace(Thresholds(), forecast_min_attainment=minimum))
    found = {f[1]: f[5] for f in flags(con, M, "p", "forecast_miss")}
    assert found["partner"] == message


@pytest.mark.parametrize(
    ("target", "expected"),
    [(0.91, "medium"), (0.9099, None), (0.92, "high")],
)
def test_target_gap_for_a_ratio_kpi(
    con: duckdb.DuckDBPyConnection, target: float, expected: str | None
) -> None:
    _shares(con, M, 1000, 900, 1000)  # October is the first month of FY27-Q2: QTD = 90.0 %
    _targets(con, Target("p", "FY27-Q2", "windows_share", target))
    compute_month(con, M, ["p"])
    found = [(f[0], f[2]) for f in flags(con, M, "p", "target_gap")]
    assert found == ([(expected, "windows_share")] if expected else [])


@pytest.mark.parametrize(
    ("shipped", "expected"),
    [(2333, "medium"), (2334, None), (1333, "high"), (1334, "medium")],
)
def test_target_gap_for_a_volume_kpi(
    con: duckdb.DuckDBPyConnection, shipped: int, expected: str | None
) -> None:
    # October: 1/3 of the quarter gone; flag when attainment < 1/3 - 10 pts = 23.33 %.
    insert(con, "pc_shipments", [(M, "p", "DE", "consumer", "notebook", shipped, None)])
    _targets(con, Target("p", "FY27-Q2", "shipped_units", 10000.0))
    compute_month(con, M, ["p"])
    found = flags(con, M, "p", "target_gap")
    assert [f[0] for f in found] == ([expected] if expected else [])
    if found:
        assert found[0][3] == pytest.approx(shipped / 10000)
        assert found[0][4] == pytest.approx(1 / 3 - 0.10)


def test_a_target_gap_in_the_quarters_last_month_says_the_quarter_closed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The regional pack and the JSON said "quarter to date is ... with 100 % of the quarter
    gone" in December, where the update said "closed the quarter at"."""
    for month in ("2026-10", "2026-11", "2026-12"):
        _shares(con, month, 1000, 900, 1000)
    _targets(
        con,
        Target("p", "FY27-Q2", "windows_share", 0.93),
        Target("p", "FY27-Q2", "shipped_units", 6000.0),
    )
    for month in ("2026-10", "2026-11", "2026-12"):
        compute_month(con, month, ["p"])
    closed = {f[2]: f[5] for f in flags(con, "2026-12", "p", "target_gap")}
    assert closed == {
        "shipped_units": "PC shipments closed the quarter at 50.0 % of its target.",
        "windows_share": "Windows share closed the quarter at 90.0 %, 3.0 pts below the 93.0 % "
        "target.",
    }
    during = {f[2]: f[5] for f in flags(con, "2026-11", "p", "target_gap")}
    assert during["windows_share"].startswith("Windows share quarter to date is 90.0 %")


@pytest.mark.parametrize(
    ("attached_now", "expected"), [(480, "medium"), (481, None), (460, "high")]
)
def test_attach_drop(
    con: duckdb.DuckDBPyConnection, attached_now: int, expected: str | None
) -> None:
    insert(
        con,
        "attach_rate",
        [
            (PRIOR, "p", "DE", "consumer", "office", 1000, 500, None),
            (M, "p", "DE", "consumer", "office", 1000, attached_now, None),
        ],
    )
    compute_month(con, PRIOR, ["p"])
    compute_month(con, M, ["p"])
    found = [(f[0], f[2]) for f in flags(con, M, "p", "attach_drop")]
    assert found == ([(expected, "office_attach")] if expected else [])


@pytest.mark.parametrize(
    ("prior_units", "expected"), [(1000, "medium"), (999, None), (2000, "high")]
)
def test_competitive_loss(
    con: duckdb.DuckDBPyConnection, prior_units: int, expected: str | None
) -> None:
    insert(
        con,
        "windows_share",
        [
            (PRIOR, "p", "BR", "consumer", "Aero 14", "windows", prior_units),
            (M, "p", "BR", "consumer", "Aero 14", "chromeos", prior_units),
        ],
    )
    compute_month(con, PRIOR, ["p"])
    compute_month(con, M, ["p"])
    found = flags(con, M, "p", "competitive_loss")
    assert [(f[0], f[1]) for f in found] == ([(expected, "BR")] if expected else [])
    if found:
        assert "Aero 14" in found[0][5] and "chromeos" in found[0][5]


@pytest.mark.parametrize(("ws_units", "expected"), [(1030, "medium"), (1020, None), (1050, "high")])
def test_reconciliation_warning_is_a_data_quality_flag(
    con: duckdb.DuckDBPyConnection, ws_units: int, expected: str | None
) -> None:
    # |1000 - 1030| / 1030 = 2.9 % > 2 %; 20 / 1020 = 1.96 %; 50 / 1050 = 4.8 % >= 4 %.
    insert(con, "pc_shipments", [(M, "p", "DE", "consumer", "notebook", 1000, None)])
    insert(con, "windows_share", [(M, "p", "DE", "consumer", "A", "windows", ws_units)])
    compute_month(con, M, ["p"])
    found = [(f[0], f[1]) for f in flags(con, M, "p", "data_quality") if f[1] != "partner"]
    assert found == ([(expected, "DE")] if expected else [])


@pytest.mark.parametrize(("problems", "said"), [(3, "3 problems"), (1, "1 problem")])
def test_a_rejected_feed_with_nothing_in_force_is_a_high_data_quality_flag(
    con: duckdb.DuckDBPyConnection, problems: int, said: str
) -> None:
    insert(con, "pc_shipments", [(M, "p", "DE", "consumer", "notebook", 1000, None)])
    con.execute(
        "insert into deliveries values ('windows_share', ?, 'abc', 'rejected', '[]', null, now(), 10, ?, 2, '[]', null)",
        [M, problems],
    )
    compute_month(con, M, ["p"])
    feed_flags = {f[5]: f[0] for f in flags(con, M, "p", "data_quality") if f[1] == "partner"}
    assert (
        feed_flags[f"The windows_share delivery was rejected ({said}); its KPIs are unavailable."]
        == "high"
    )
    assert feed_flags["The premium_mix feed has not been delivered yet."] == "medium"


def test_late_feed_and_missing_partner(con: duckdb.DuckDBPyConnection) -> None:
    insert(con, "pc_shipments", [(M, "p", "DE", "consumer", "notebook", 1000, None)])
    compute_month(con, M, ["p", "q"], late=True)
    messages = [f[5] for f in flags(con, M, "q", "data_quality")]
    assert "The attach_rate feed is late: nothing was delivered by the due day." in messages
    assert [f[5] for f in flags(con, M, "q", "missing_partner_data")] == [
        "No rows for this partner in the pc_shipments delivery."
    ]
    assert flags(con, M, "p", "missing_partner_data") == []


def test_thresholds_from_red_flags_yaml_override_the_defaults(
    con: duckdb.DuckDBPyConnection,
) -> None:
    insert(
        con,
        "attach_rate",
        [
            (PRIOR, "p", "DE", "consumer", "office", 1000, 500, None),
            (M, "p", "DE", "consumer", "office", 1000, 485, None),  # 1.5 pts
        ],
    )
    compute_month(con, PRIOR, ["p"])
    compute_month(con, M, ["p"])
    assert flags(con, M, "p", "attach_drop") == []
    compute_month(con, M, ["p"], thresholds=Thresholds(attach_drop_pts=1.5))
    assert [f[0] for f in flags(con, M, "p", "attach_drop")] == ["medium"]


def test_every_kpi_has_a_row_even_without_data(con: duckdb.DuckDBPyConnection) -> None:
    insert(con, "pc_shipments", [(M, "p", "DE", "consumer", "notebook", 10, None)])
    compute_month(con, M, ["p"])
    names = {
        r[0] for r in con.execute("select kpi from kpi_values where scope = 'partner'").fetchall()
    }
    assert names == {k.name for k in KPIS}
    assert kpi(con, M, "p", "windows_share")["value"] is None
