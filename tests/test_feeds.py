"""The feed contract of SPEC section 3: every format, every rule, every outcome.

Each bad-input case delivers a file that breaks one rule and asserts the
exact sentence a user reads, the quarantine copy with its errors.json, that
landing is untouched, and that the month's earlier good data stays in force.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from oemkpi.home import Home
from oemkpi.ingest.contract import FEEDS
from oemkpi.ingest.csv_files import Unreadable
from oemkpi.ingest.deliveries import ingest_deliveries, ingest_delivery
from oemkpi.ingest.limits import Limits
from oemkpi.ingest.outcomes import DeliveryOutcome
from oemkpi.ingest.problems import MAX_LISTED_PER_RULE, problem_count
from oemkpi.ingest.workbooks import Workbooks
from oemkpi.reference import load_reference
from oemkpi.warehouse import first_row, warehouse
from tests.conftest import write_reference
from tests.feedfiles import (
    good_rows,
    header,
    landing,
    snapshot,
    write_csv,
    write_parquet,
    write_xlsx,
)

MONTH = "2026-10"
ADVICE = {
    "plain_number": "write plain numbers like 1234 or 1234.5 (no thousands separators, currency signs or text) and deliver again",
    "integer": "write a whole number and deliver again",
    "out_of_range": "check the value and deliver again",
    "not_null": "fill in the value and deliver again",
    "in_set": "use one of the allowed values and deliver again",
    "month": "write the delivery's month as YYYY-MM in every row, or move the file to the right month folder",
    "partner_id": "use an id from reference/partners.csv, or add the partner there first",
    "country": "use a two-letter code from reference/countries.csv, or add the country there first",
    "text_length": "shorten or fill in the text and deliver again",
    "printable": "remove line breaks, tabs and other control characters from the text and deliver again",
    "date": "write dates as YYYY-MM-DD, or leave the cell empty, and deliver again",
    "no_such_day": "check the date and deliver again",
    "fiscal_quarter": "write the fiscal quarter as FYyy-Qn (fiscal years start in July: July 2026 is FY27-Q1) and deliver again",
}


def ingest(home: Home, feed: str, month: str = MONTH) -> DeliveryOutcome:
    with warehouse(home.warehouse) as con:
        return ingest_delivery(con, home, feed, month, load_reference(home.reference))


def table(home: Home, feed: str, month: str = MONTH) -> list[tuple[object, ...]]:
    columns = ", ".join(FEEDS[feed].column_names)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(
            f"select {columns} from {feed} where month = ? order by all", [month]
        ).fetchall()
    finally:
        con.close()


def replace_delivery(folder: Path, name: str, head: list[str], rows: list[list[str]]) -> Path:
    for old in folder.iterdir():
        old.unlink()
    return write_csv(folder / name, head, rows)


# -- accepted deliveries -----------------------------------------------------------------


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_clean_csv_delivery_loads_every_row_typed(home: Home, feed: str) -> None:
    rows = good_rows(feed)
    write_csv(landing(home, feed) / "all.csv", header(feed), rows)

    outcome = ingest(home, feed)

    assert (outcome.status, outcome.rows, outcome.rows_in_force, outcome.partners) == (
        "loaded",
        len(rows),
        len(rows),
        2,
    )
    assert outcome.problems == []
    assert all(c.passed for c in outcome.checks)
    loaded = table(home, feed)
    assert len(loaded) == len(rows)
    # Numbers arrive as numbers, empty optional measures as NULL.
    contract = FEEDS[feed]
    for row in loaded:
        for col, value in zip(contract.columns, row, strict=True):
            if col.type == "int" and value is not None:
                assert isinstance(value, int)
            if not col.nullable:
                assert value is not None


def _storage_version(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        (tags,) = con.execute(
            "select tags from duckdb_databases() where database_name = current_database()"
        ).fetchone() or ({},)
        return str(tags["storage_version"])
    finally:
        con.close()


def test_a_new_warehouse_is_written_in_duckdb_1_4s_format_an_earlier_one_keeps_its_own(
    home: Home, tmp_path: Path
) -> None:
    write_csv(
        landing(home, "windows_share") / "all.csv",
        header("windows_share"),
        good_rows("windows_share"),
    )
    assert ingest(home, "windows_share").status == "loaded"
    assert _storage_version(home.warehouse) == "v1.4.0+"

    # A warehouse made by an earlier oemkpi (DuckDB's default format) is read and written
    # as it is, and stays in its format.
    root = tmp_path / "earlier"
    write_reference(root)
    earlier = Home.at(root)
    con = duckdb.connect(str(earlier.warehouse))
    con.close()
    assert _storage_version(earlier.warehouse) == "v1.0.0+"
    write_csv(
        landing(earlier, "windows_share") / "all.csv",
        header("windows_share"),
        good_rows("windows_share"),
    )
    assert ingest(earlier, "windows_share").status == "loaded"
    assert len(table(earlier, "windows_share")) == len(good_rows("windows_share"))
    assert _storage_version(earlier.warehouse) == "v1.0.0+"


def test_bom_crlf_header_spelling_and_extra_column_are_accepted_with_a_warning(home: Home) -> None:
    feed = "pc_shipments"
    head = [
        "Month",
        " Partner_ID ",
        "COUNTRY",
        "Segment",
        "form_factor ",
        "Shipped_Units",
        "forecast_units",
        "source_system",
    ]
    rows = [r + ["sap"] for r in good_rows(feed)]
    write_csv(landing(home, feed) / "emea.csv", head, rows, bom=True, crlf=True)

    outcome = ingest(home, feed)

    assert outcome.status == "loaded"
    assert outcome.rows_in_force == len(rows)
    assert [w.message for w in outcome.warnings] == [
        "landing/pc_shipments/2026-10/emea.csv row 1: value 'source_system' "
        "names a column the contract does not have; it is ignored, and the rest of the file is read."
    ]
    assert table(home, feed)[0][0] == MONTH  # the BOM did not stick to the first header


def test_parquet_and_xlsx_with_typed_cells_and_several_files_make_one_delivery(home: Home) -> None:
    feed = "attach_rate"
    rows = good_rows(feed)
    folder = landing(home, feed)
    write_parquet(folder / "americas.parquet", feed, header(feed), rows[:5])
    write_xlsx(folder / "apj.xlsx", feed, header(feed), rows[5:10])
    write_csv(folder / "emea.csv", header(feed), rows[10:])

    outcome = ingest(home, feed)

    assert outcome.status == "loaded", [p.message for p in outcome.problems]
    assert outcome.files == ["americas.parquet", "apj.xlsx", "emea.csv"]
    assert outcome.rows_in_force == len(rows)
    expected = sorted(
        (r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]) if r[7] else None)
        for r in rows
    )
    assert table(home, feed) == expected


def test_month_given_as_a_date_on_the_first_is_accepted(home: Home) -> None:
    feed = "premium_mix"
    rows = [["2026-10-01"] + r[1:] for r in good_rows(feed)]
    write_csv(landing(home, feed) / "dates.csv", header(feed), rows)

    outcome = ingest(home, feed)

    assert outcome.status == "loaded"
    assert {r[0] for r in table(home, feed)} == {MONTH}


def test_hidden_files_and_office_lock_files_are_not_part_of_a_delivery(home: Home) -> None:
    feed = "windows_share"
    folder = landing(home, feed)
    write_csv(folder / "all.csv", header(feed), good_rows(feed))
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (folder / "~$all.xlsx").write_bytes(b"lock")

    outcome = ingest(home, feed)

    assert outcome.status == "loaded"
    assert outcome.files == ["all.csv"]


# -- rejected deliveries: one rule each ----------------------------------------------------


def _break(
    rows: list[list[str]], feed: str, row_index: int, column: str, value: str
) -> list[list[str]]:
    broken = [list(r) for r in rows]
    broken[row_index][FEEDS[feed].column_names.index(column)] = value
    return broken


# (feed, column, bad value, rule, what the sentence says)
VALUE_CASES = [
    (
        "pc_shipments",
        "shipped_units",
        "1,234",
        "plain_number",
        "value '1,234' is not a plain number",
    ),
    (
        "pc_shipments",
        "shipped_units",
        "$1234",
        "plain_number",
        "value '$1234' is not a plain number",
    ),
    ("pc_shipments", "forecast_units", "N/A", "plain_number", "value 'N/A' is not a plain number"),
    ("windows_share", "units", "12.5", "integer", "value '12.5' is not a whole number"),
    ("windows_share", "units", "-3", "out_of_range", "value -3 is negative"),
    ("premium_mix", "license_revenue_usd", "-10.5", "out_of_range", "value -10.5 is negative"),
    (
        "premium_mix",
        "license_revenue_usd",
        "1.2e3",
        "plain_number",
        "value '1.2e3' is not a plain number",
    ),
    ("attach_rate", "base_units", "", "not_null", "is empty"),
    (
        "pc_shipments",
        "month",
        "Oct 2026",
        "month",
        "value 'Oct 2026' is not a month; write it as YYYY-MM",
    ),
    (
        "pc_shipments",
        "month",
        "2026-09",
        "month",
        "value '2026-09' is not the delivery's month 2026-10",
    ),
    (
        "pc_shipments",
        "partner_id",
        "zeta",
        "partner_id",
        "value 'zeta' is not a partner in reference/partners.csv",
    ),
    (
        "pc_shipments",
        "partner_id",
        "Acme Inc",
        "partner_id",
        "value 'Acme Inc' is not a partner in reference/partners.csv",
    ),
    (
        "windows_share",
        "country",
        "XX",
        "country",
        "value 'XX' is not a country in reference/countries.csv",
    ),
    (
        "windows_share",
        "country",
        "de",
        "country",
        "value 'de' is not a country in reference/countries.csv",
    ),
    (
        "pc_shipments",
        "segment",
        "Consumer",
        "in_set",
        "value 'Consumer' is not one of consumer, commercial",
    ),
    (
        "pc_shipments",
        "form_factor",
        "tablet",
        "in_set",
        "value 'tablet' is not one of notebook, desktop, workstation, detachable, server",
    ),
    (
        "windows_share",
        "os_family",
        "macos",
        "in_set",
        "value 'macos' is not one of windows, chromeos, linux, freedos, other",
    ),
    (
        "premium_mix",
        "edition",
        "enterprise",
        "in_set",
        "value 'enterprise' is not one of home, pro, pro_workstation, education, other",
    ),
    (
        "premium_mix",
        "price_band",
        "luxury",
        "in_set",
        "value 'luxury' is not one of entry, mainstream, premium",
    ),
    (
        "attach_rate",
        "product",
        "teams",
        "in_set",
        "value 'teams' is not one of office, windows_server",
    ),
    ("windows_share", "sku", "X" * 65, "sku", f"value '{'X' * 65}' is not 1-64 characters long"),
    ("windows_share", "sku", "NB\x07-01", "sku", "value 'NB\\x07-01' contains a control character"),
    # The optional marketing feed (SPEC section 9): the same contract path, its own rules.
    (
        "marketing",
        "activity_id",
        "A" * 65,
        "text_length",
        f"value '{'A' * 65}' is not 1-64 characters long",
    ),
    (
        "marketing",
        "activity",
        "X" * 201,
        "text_length",
        f"value '{'X' * 76}... is not 1-200 characters long",
    ),
    (
        "marketing",
        "activity",
        "Launch\nday",
        "printable",
        "value 'Launch\\nday' contains a control character (a line break, tab or similar)",
    ),
    ("marketing", "activity", "", "not_null", "is empty"),
    (
        "marketing",
        "kind",
        "webinar",
        "in_set",
        "value 'webinar' is not one of jma, launch, campaign, event, training, other",
    ),
    (
        "marketing",
        "country",
        "XX",
        "country",
        "value 'XX' is not a country in reference/countries.csv",
    ),
    (
        "marketing",
        "fiscal_quarter",
        "2026-Q2",
        "fiscal_quarter",
        "value '2026-Q2' is not a fiscal quarter in the form FY27-Q2",
    ),
    (
        "marketing",
        "fiscal_quarter",
        "FY27-Q5",
        "fiscal_quarter",
        "value 'FY27-Q5' is not a fiscal quarter in the form FY27-Q2",
    ),
    (
        "marketing",
        "budget_usd",
        "1,000",
        "plain_number",
        "value '1,000' is not a plain number",
    ),
    ("marketing", "spent_usd", "-5.5", "out_of_range", "value -5.5 is negative"),
    (
        "marketing",
        "status",
        "closed",
        "in_set",
        "value 'closed' is not one of planned, running, done, cancelled",
    ),
    (
        "marketing",
        "poe_status",
        "pending",
        "in_set",
        "value 'pending' is not one of none, submitted, approved, rejected",
    ),
    (
        "marketing",
        "end_date",
        "30/09/2026",
        "date",
        "value '30/09/2026' is not a date in the form YYYY-MM-DD",
    ),
    (
        "marketing",
        "end_date",
        "2026-02-30",
        "no_such_day",
        "value '2026-02-30' is not a day of the calendar",
    ),
    (
        "marketing",
        "partner_id",
        "zeta",
        "partner_id",
        "value 'zeta' is not a partner in reference/partners.csv",
    ),
]


@pytest.mark.parametrize(("feed", "column", "value", "rule", "what"), VALUE_CASES)
def test_a_bad_value_rejects_the_delivery_with_one_clear_sentence(
    home: Home, feed: str, column: str, value: str, rule: str, what: str
) -> None:
    folder = landing(home, feed)
    write_csv(folder / "good.csv", header(feed), good_rows(feed))
    assert ingest(home, feed).status == "loaded"
    before_rows = table(home, feed)

    replace_delivery(
        folder, "bad.csv", header(feed), _break(good_rows(feed), feed, 2, column, value)
    )
    landing_before = snapshot(folder)
    outcome = ingest(home, feed)

    expected = f"landing/{feed}/2026-10/bad.csv row 4, column {column}: {what}; {_advice(rule)}."
    assert outcome.status == "rejected"
    assert [p.message for p in outcome.problems] == [expected]
    assert (outcome.problems[0].row, outcome.problems[0].column, outcome.problems[0].rule) == (
        4,
        column,
        rule,
    )
    _assert_quarantined(home, feed, "bad.csv", [expected])
    assert snapshot(folder) == landing_before  # landing is only ever read
    assert table(home, feed) == before_rows  # the earlier good delivery stays in force
    assert outcome.rows_in_force == len(before_rows)


def _advice(rule: str) -> str:
    return {"sku": "use 1-64 printable characters for the SKU and deliver again"}.get(
        rule
    ) or ADVICE[rule]


def _assert_quarantined(home: Home, feed: str, name: str, messages: list[str]) -> dict[str, object]:
    quarantine = home.quarantine_dir(feed, MONTH)
    assert (quarantine / name).read_bytes() == (home.landing_dir(feed, MONTH) / name).read_bytes()
    errors = json.loads((quarantine / f"{name}.errors.json").read_text(encoding="utf-8"))
    assert errors["status"] == "rejected"
    assert [p["message"] for p in errors["problems"]] == messages
    for p in errors["problems"]:
        assert set(p) >= {"file", "row", "column", "value", "rule"}
    return errors


def test_attached_units_above_base_units_is_rejected(home: Home) -> None:
    feed = "attach_rate"
    rows = _break(good_rows(feed), feed, 0, "attached_units", "5000")
    write_csv(landing(home, feed) / "bad.csv", header(feed), rows)

    outcome = ingest(home, feed)

    expected = (
        "landing/attach_rate/2026-10/bad.csv row 2, column attached_units: value 5000 is larger "
        "than base_units (901); attached_units cannot exceed base_units; correct the row and deliver again."
    )
    assert outcome.status == "rejected"
    assert [p.message for p in outcome.problems] == [expected]
    assert next(c for c in outcome.checks if c.check == "attached_within_base").passed is False
    _assert_quarantined(home, feed, "bad.csv", [expected])
    assert table(home, feed) == []


def _repeat_a_key_across_two_files(home: Home) -> str:
    """windows_share's delivery as a.csv and b.csv, b.csv repeating a key of a.csv; the
    problem sentence that names it."""
    feed = "windows_share"
    rows = good_rows(feed)
    folder = landing(home, feed)
    write_csv(folder / "a.csv", header(feed), rows)
    write_csv(folder / "b.csv", header(feed), rows[3:4])
    return (
        "landing/windows_share/2026-10/b.csv row 2, column month+partner_id+country+segment+sku: "
        "value '2026-10, acme, DE, commercial, CB-02' repeats the key (month, partner_id, country, "
        "segment, sku) of landing/windows_share/2026-10/a.csv row 5; send each key once per delivery "
        "and deliver again."
    )


def test_a_key_repeated_across_two_files_rejects_both_files(home: Home) -> None:
    feed = "windows_share"
    expected = _repeat_a_key_across_two_files(home)

    outcome = ingest(home, feed)

    assert [p.message for p in outcome.problems] == [expected]
    errors_a = _assert_quarantined(home, feed, "a.csv", [])
    assert "other files of it have problems" in str(errors_a["note"])
    _assert_quarantined(home, feed, "b.csv", [expected])


def test_a_missing_column_names_the_file_and_column(home: Home) -> None:
    feed = "pc_shipments"
    head = header(feed)
    drop = head.index("forecast_units")
    rows = [r[:drop] + r[drop + 1 :] for r in good_rows(feed)]
    write_csv(landing(home, feed) / "short.csv", head[:drop] + head[drop + 1 :], rows)

    outcome = ingest(home, feed)

    expected = (
        "landing/pc_shipments/2026-10/short.csv row 1, column forecast_units: the header has no "
        "such column; add the column to the header and deliver again."
    )
    assert [p.message for p in outcome.problems] == [expected]
    failed = {c.check for c in outcome.checks if not c.passed}
    assert failed == {"contract", "required_columns", "forecast_units_non_negative"}
    _assert_quarantined(home, feed, "short.csv", [expected])


def test_a_column_named_twice_is_rejected(home: Home) -> None:
    feed = "pc_shipments"
    head = [*header(feed), "Shipped_Units "]
    rows = [[*r, "1"] for r in good_rows(feed)]
    write_csv(landing(home, feed) / "twice.csv", head, rows)

    outcome = ingest(home, feed)

    expected = (
        "landing/pc_shipments/2026-10/twice.csv row 1, column Shipped_Units: the header names "
        "column shipped_units twice (also column 6); keep one column of that name and deliver "
        "again."
    )
    assert [p.message for p in outcome.problems] == [expected]


def test_unnamed_columns_and_an_extra_column_named_twice_are_ignored_with_warnings(
    home: Home,
) -> None:
    """Trailing commas from a spreadsheet ('a,b,c,,') gave 'column : value '' the header
    names column  twice' and rejected a good delivery."""
    feed = "pc_shipments"
    head = [*header(feed), "note", "Note", "", ""]
    rows = [[*r, "x", "y", "", ""] for r in good_rows(feed)]
    write_csv(landing(home, feed) / "wide.csv", head, rows)

    outcome = ingest(home, feed)

    assert (outcome.status, outcome.problems) == ("loaded", [])
    where = "landing/pc_shipments/2026-10/wide.csv row 1"
    ignored = "it is ignored, and the rest of the file is read."
    assert [w.message for w in outcome.warnings] == [
        f"{where}: value 'note' names a column the contract does not have; {ignored}",
        f"{where}: column 10 of the header has no name; {ignored}",
        f"{where}: column 11 of the header has no name; {ignored}",
    ]


FILE_CASES = [
    (
        "empty.csv",
        b"",
        "file_empty",
        "the file is empty; deliver a file with a header row and data",
    ),
    (
        "notes.txt",
        b"hello",
        "file_format",
        "files of type '.txt' are not accepted; deliver CSV, Parquet or XLSX files",
    ),
    ("broken.parquet", b"PAR1 not really", "file_unreadable", None),
    ("broken.xlsx", b"PK\x03\x04 not a zip", "file_unreadable", None),
]


@pytest.mark.parametrize(("name", "content", "rule", "sentence"), FILE_CASES)
def test_a_file_that_cannot_be_read_rejects_the_delivery(
    home: Home, name: str, content: bytes, rule: str, sentence: str | None
) -> None:
    feed = "premium_mix"
    folder = landing(home, feed)
    write_csv(folder / "good.csv", header(feed), good_rows(feed))
    (folder / name).write_bytes(content)

    outcome = ingest(home, feed)

    assert outcome.status == "rejected"
    file_problems = [p for p in outcome.problems if p.file.endswith(name)]
    assert [p.rule for p in file_problems] == [rule]
    message = file_problems[0].message
    assert message.startswith(f"landing/premium_mix/2026-10/{name}: ")
    if sentence:
        assert message == f"landing/premium_mix/2026-10/{name}: {sentence}."
    assert (home.quarantine_dir(feed, MONTH) / f"{name}.errors.json").exists()
    assert table(home, feed) == []


def test_a_header_only_file_is_below_the_row_count_floor(home: Home) -> None:
    feed = "attach_rate"
    write_csv(landing(home, feed) / "empty.csv", header(feed), [])

    outcome = ingest(home, feed)

    assert [p.message for p in outcome.problems] == [
        "landing/attach_rate/2026-10: the delivery has no rows; deliver the full month."
    ]
    assert next(c for c in outcome.checks if c.check == "row_count_floor").passed is False


def test_a_ragged_csv_row_names_its_row_and_later_rows_keep_their_numbers(home: Home) -> None:
    feed = "pc_shipments"
    rows = good_rows(feed)
    text = (
        ",".join(header(feed))
        + "\n"
        + ",".join(rows[0])
        + "\n"
        + ",".join(rows[1])
        + ",extra\n"
        + ",".join(_break(rows, feed, 2, "shipped_units", "1,5")[2][:5])
        + ',"1,5",\n'
    )
    path = landing(home, feed) / "ragged.csv"
    path.write_text(text, encoding="utf-8")

    outcome = ingest(home, feed)

    messages = [p.message for p in outcome.problems]
    assert messages[0] == (
        "landing/pc_shipments/2026-10/ragged.csv row 3: value '2026-10,acme,DE,consumer,desktop,201,,extra' "
        "cannot be read as CSV (Expected Number of Columns: 7 Found: 8); fix the row so it has one "
        "value per header column and deliver again."
    )
    assert messages[1] == (
        "landing/pc_shipments/2026-10/ragged.csv row 4, column shipped_units: value '1,5' is not a "
        f"plain number; {ADVICE['plain_number']}."
    )


def _csv_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("index", "value", "row"),
    [
        # forecast_units empty: DuckDB drops the empty value the split pushes beyond the
        # header, and the row loaded as shipped 43, forecast 548.
        (1, "43,548", 3),
        # forecast_units filled: DuckDB rejects the record; the split value is named
        # instead of the whole record.
        (0, "1,001", 2),
    ],
)
def test_a_value_split_by_an_unquoted_comma_is_named_by_its_column(
    home: Home, index: int, value: str, row: int
) -> None:
    """A thousands separator in an unquoted number makes the row one value too long; the
    sentence names that value and its column, not the whole row."""
    feed = "pc_shipments"
    rows = [",".join(r) for r in _break(good_rows(feed), feed, index, "shipped_units", value)]
    _rejected_in_place_of_a_good_delivery(
        home,
        feed,
        "emea.csv",
        lambda path: _csv_lines(path, [",".join(header(feed)), *rows[: index + 1], rows[2]]),
        f"landing/pc_shipments/2026-10/emea.csv row {row}, column shipped_units: value "
        f"'{value}' holds an unquoted comma, the likely reason the row has 8 values where the "
        "header has 7; write the value in double quotes, or a number without thousands "
        "separators, and deliver again.",
    )


def test_a_row_with_an_empty_value_beyond_the_header_is_refused_not_cut(home: Home) -> None:
    """DuckDB's reader drops empty values after a record's last column (strict mode too),
    so such a row loaded; it is a shifted row as often as a stray comma, and is named."""
    feed = "pc_shipments"
    rows = good_rows(feed)
    _rejected_in_place_of_a_good_delivery(
        home,
        feed,
        "emea.csv",
        lambda path: _csv_lines(
            path, [",".join(header(feed)), ",".join(rows[0]), ",".join(rows[2]) + ',""']
        ),
        "landing/pc_shipments/2026-10/emea.csv row 3: value "
        "'2026-10,acme,DE,commercial,notebook,1002,1102,' has 8 values where the header has 7, "
        "the last one empty (a comma too many, or a value holding one, shifts the values after "
        "it); fix the row so it has one value per header column and deliver again.",
    )


def test_blank_lines_before_the_header_and_between_rows_are_ignored(home: Home) -> None:
    """Blank lines are ignored wherever they are (SPEC section 3), lines of spaces too: an
    empty line before the header made the header a data row (eight problems, a binder
    error), and a line of spaces between rows was a ragged row."""
    feed = "pc_shipments"
    rows = [",".join(r) for r in good_rows(feed)]
    lines = ["", "   ", ",".join(header(feed)), rows[0], "", "", "  ", *rows[1:5], "\t", *rows[5:]]
    (landing(home, feed) / "blank.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

    outcome = ingest(home, feed)

    assert (outcome.status, outcome.problems, outcome.rows) == ("loaded", [], len(rows))


def test_a_problem_after_blank_lines_is_named_by_its_own_line(home: Home) -> None:
    """DuckDB skips empty lines and gives no line numbers for the records it reads: the
    diagnosing parse counts them (a value after one empty line was named a line early)."""
    feed = "pc_shipments"
    rows = [",".join(r) for r in _break(good_rows(feed), feed, 3, "shipped_units", "12x")]
    lines = ["", ",".join(header(feed)), rows[0], "", "", rows[1], "  ", rows[2], rows[3], "1,2"]
    (landing(home, feed) / "blank.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    outcome = ingest(home, feed)

    assert [(p.row, p.column, p.rule) for p in outcome.problems] == [
        (9, "shipped_units", "plain_number"),
        (10, None, "csv_structure"),
    ]
    assert lines[9 - 1].split(",")[5] == "12x"  # line 9 is the row named


def test_a_value_spanning_lines_is_read_and_rows_after_it_keep_their_numbers(
    home: Home,
) -> None:
    """A quoted value holding line breaks (an empty line among them) in a column the
    contract ignores: the delivery loads (the check for empty values beyond the header
    failed the run with 'CSV Error'), and a problem after it is named by its line as
    DuckDB numbers lines, the record spanning lines being one."""
    feed = "pc_shipments"
    rows = [",".join(r) for r in good_rows(feed)]
    head = ",".join(header(feed)) + ",comment"
    lines = [head, rows[0] + ',"first line\n\nsecond line"', *(r + ",ok" for r in rows[1:])]
    path = landing(home, feed) / "notes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert ingest(home, feed).status == "loaded"

    broken = [",".join(r) for r in _break(good_rows(feed), feed, 2, "shipped_units", "12x")]
    lines = [head, broken[0] + ',"first line\n\nsecond line"', "", broken[1] + ",ok"]
    lines += [broken[2] + ",ok", broken[3] + ",ok,extra", *(r + ",ok" for r in broken[4:])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    outcome = ingest(home, feed)

    # Lines: 1 header, 2 the record of three physical lines, 3 empty, 4, 5 the 12x, 6 ragged.
    assert [(p.row, p.column, p.rule) for p in outcome.problems] == [
        (5, "shipped_units", "plain_number"),
        (6, None, "csv_structure"),
    ]


def test_an_empty_row_with_a_comma_too_many_is_a_blank_line(home: Home) -> None:
    """Excel writes an empty row as ',,,,,,,': with nothing in it, it shifts nothing and is
    ignored like a blank line, even with a comma more than the header."""
    feed = "pc_shipments"
    rows = [",".join(r) for r in good_rows(feed)]
    lines = [",".join(header(feed)), rows[0], ",,,,,,,", *rows[1:], ",,,,,,,,"]
    (landing(home, feed) / "excel.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    outcome = ingest(home, feed)

    assert (outcome.status, outcome.problems, outcome.rows) == ("loaded", [], len(rows))


def test_rows_with_a_value_beyond_the_header_are_listed_up_to_the_limit(home: Home) -> None:
    """Every row of a file ending in a comma the header does not have: the first thousand
    are listed and the rest counted (200,000 such rows wrote a 109 MB errors document)."""
    feed = "pc_shipments"
    rows = good_rows(feed)
    lines = [",".join(header(feed))]
    lines += [",".join(rows[n % len(rows)]) + "," for n in range(MAX_LISTED_PER_RULE + 5)]
    (landing(home, feed) / "commas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    outcome = ingest(home, feed)

    assert outcome.status == "rejected"
    listed = [p for p in outcome.problems if p.rule == "csv_structure"]
    assert [p.row for p in listed if p.row is not None] == list(range(2, MAX_LISTED_PER_RULE + 2))
    assert [p.message for p in listed if p.row is None] == [
        "landing/pc_shipments/2026-10/commas.csv: 5 more rows have the same problem "
        f"(only the first {MAX_LISTED_PER_RULE} are listed); fix the row so it has one value "
        "per header column and deliver again."
    ]
    # Counted, listed or not: the delivery record, the quarantine document and the CLI say
    # 1,005 problems, not the 1,001 entries listed (the summary entry stands for 5).
    assert problem_count(listed) == MAX_LISTED_PER_RULE + 5
    total = problem_count(outcome.problems)
    assert total > len(outcome.problems)
    with warehouse(home.warehouse) as con:
        (recorded,) = first_row(
            con, "select problems from deliveries where feed = ? order by checked_at desc", [feed]
        )
    assert recorded == total
    (errors,) = outcome.quarantine.glob("*.errors.json")
    document = json.loads(errors.read_text(encoding="utf-8"))
    assert document["problem_count"] == total
    assert len(document["problems"]) == len(outcome.problems)


def test_a_split_value_after_an_empty_line_is_named_by_its_column(home: Home) -> None:
    feed = "pc_shipments"
    rows = good_rows(feed)
    split = _break(rows, feed, 0, "shipped_units", "1,001")[0]
    lines = [",".join(header(feed)), ",".join(rows[1]), "", ",".join(split), ",".join(rows[2])]
    (landing(home, feed) / "emea.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    outcome = ingest(home, feed)

    assert [(p.row, p.column, p.value, p.rule) for p in outcome.problems] == [
        (4, "shipped_units", "1,001", "csv_split_value")
    ]


def test_text_that_is_not_utf8_is_rejected_with_its_row(home: Home) -> None:
    feed = "windows_share"
    rows = good_rows(feed)
    path = landing(home, feed) / "latin1.csv"
    text = ",".join(header(feed)) + "\n" + ",".join(rows[0]) + "\n"
    path.write_bytes(
        text.encode() + "2026-10,acme,DE,consumer,Caf\xe9,windows,5\n".encode("latin-1")
    )

    outcome = ingest(home, feed)

    assert [(p.row, p.rule) for p in outcome.problems] == [(3, "encoding")]
    assert outcome.problems[0].message.startswith(
        "landing/windows_share/2026-10/latin1.csv row 3: "
    )
    assert outcome.problems[0].message.endswith(
        "is not UTF-8 text; save the file as UTF-8 and deliver again."
    )


def test_every_problem_is_listed_not_just_the_first(home: Home) -> None:
    feed = "pc_shipments"
    rows = good_rows(feed)
    rows = _break(rows, feed, 0, "shipped_units", "1,000")
    rows = _break(rows, feed, 1, "country", "XX")
    rows = _break(rows, feed, 2, "segment", "smb")
    write_csv(landing(home, feed) / "bad.csv", header(feed), rows)

    outcome = ingest(home, feed)

    assert [(p.row, p.column, p.rule) for p in outcome.problems] == [
        (2, "shipped_units", "plain_number"),
        (3, "country", "country"),
        (4, "segment", "in_set"),
    ]
    errors = json.loads(
        (home.quarantine_dir(feed, MONTH) / "bad.csv.errors.json").read_text(encoding="utf-8")
    )
    assert errors["problem_count"] == 3
    # The unparseable number also leaves shipped_units empty, which its not-null check reports.
    assert errors["checks_failed"] == [
        "contract",
        "country_in_reference",
        "segment_in_set",
        "shipped_units_not_null",
    ]


# -- re-deliveries and re-runs ---------------------------------------------------------------


def test_a_corrected_redelivery_replaces_the_month(home: Home) -> None:
    feed = "pc_shipments"
    folder = landing(home, feed)
    write_csv(folder / "v1.csv", header(feed), good_rows(feed))
    ingest(home, feed)

    corrected = [r[:5] + [str(int(r[5]) + 7), r[6]] for r in good_rows(feed)[:6]]
    replace_delivery(folder, "v2.csv", header(feed), corrected)
    outcome = ingest(home, feed)

    assert outcome.status == "loaded"
    assert outcome.rows_in_force == 6
    assert table(home, feed) == sorted(
        (r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6]) if r[6] else None) for r in corrected
    )


def test_rerunning_a_month_changes_nothing(home: Home) -> None:
    feed = "windows_share"
    write_csv(landing(home, feed) / "all.csv", header(feed), good_rows(feed))
    other = landing(home, feed, "2026-09")
    write_csv(other / "all.csv", header(feed), good_rows(feed, "2026-09"))
    ingest(home, feed, "2026-09")
    ingest(home, feed)
    first = (table(home, feed), table(home, feed, "2026-09"), _deliveries(home))

    ingest(home, feed)

    assert (table(home, feed), table(home, feed, "2026-09"), _deliveries(home)) == first


def test_a_rejected_redelivery_is_recorded_while_the_good_rows_stay(home: Home) -> None:
    feed = "attach_rate"
    folder = landing(home, feed)
    write_csv(folder / "good.csv", header(feed), good_rows(feed))
    ingest(home, feed)
    replace_delivery(
        folder, "bad.csv", header(feed), _break(good_rows(feed), feed, 0, "segment", "x")
    )

    outcome = ingest(home, feed)

    statuses = [(s, r) for _f, _m, s, r in _deliveries(home)]
    assert sorted(statuses) == [("loaded", 16), ("rejected", 16)]
    assert outcome.rows_in_force == 16


def test_a_month_with_no_delivery_is_missing_and_loads_nothing(home: Home) -> None:
    outcome = ingest(home, "premium_mix")
    assert (outcome.status, outcome.rows_in_force, outcome.problems) == ("missing", 0, [])


def _deliveries(home: Home) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(
            "select feed, month, status, rows from deliveries order by all"
        ).fetchall()
    finally:
        con.close()


# -- several months in one step (a backfill) ---------------------------------------------

BACKFILL = ["2026-07", "2026-08", "2026-09"]


def ingest_months(home: Home, feed: str, months: list[str]) -> list[DeliveryOutcome]:
    with warehouse(home.warehouse) as con:
        return ingest_deliveries(con, home, feed, months, load_reference(home.reference))


def test_backfill_validates_clean_months_together_and_loads_each(home: Home) -> None:
    for month in BACKFILL:
        write_csv(
            landing(home, "windows_share", month) / "all.csv",
            header("windows_share"),
            good_rows("windows_share", month),
        )

    outcomes = ingest_months(home, "windows_share", BACKFILL)

    assert [(o.month, o.status, o.rows_in_force) for o in outcomes] == [
        (m, "loaded", len(good_rows("windows_share", m))) for m in BACKFILL
    ]
    for outcome in outcomes:
        assert all(c.passed for c in outcome.checks)
        assert {c.element_count for c in outcome.checks} == {outcome.rows}
        assert table(home, "windows_share", outcome.month) == sorted(
            tuple(_typed(r)) for r in good_rows("windows_share", outcome.month)
        )
    # Clean months go the clean load: nothing is staged, so no scratch file is left either.
    assert not home.staging.exists() or not list(home.staging.iterdir())


def _typed(row: list[str]) -> list[object]:
    return [*row[:-1], int(row[-1])]


def test_backfill_names_the_problem_of_the_one_bad_month_and_loads_the_others(
    home: Home,
) -> None:
    """A month whose rows repeat a key of another month's folder: each verdict is its own."""
    for month in BACKFILL:
        rows = good_rows("windows_share", month)
        if month == "2026-08":
            rows.append(list(rows[0]))  # a repeated key: the batch fails, months go one by one
        write_csv(landing(home, "windows_share", month) / "all.csv", header("windows_share"), rows)

    outcomes = ingest_months(home, "windows_share", BACKFILL)

    assert [o.status for o in outcomes] == ["loaded", "rejected", "loaded"]
    bad = outcomes[1]
    assert [c.check for c in bad.checks if not c.passed] == ["key_unique"]
    assert [p.message for p in bad.problems] == [
        "landing/windows_share/2026-08/all.csv row 18, column "
        "month+partner_id+country+segment+sku: value '2026-08, acme, DE, consumer, NB-01' "
        "repeats the key (month, partner_id, country, segment, sku) of "
        "landing/windows_share/2026-08/all.csv row 2; "
        "send each key once per delivery and deliver again."
    ]
    assert table(home, "windows_share", "2026-08") == []
    assert (home.quarantine_dir("windows_share", "2026-08") / "all.csv.errors.json").is_file()
    assert len(table(home, "windows_share", "2026-09")) == len(good_rows("windows_share"))


def test_backfill_rejects_a_month_whose_rows_carry_another_batch_month(home: Home) -> None:
    """Rows of 2026-07 filed under 2026-08 would pass a batch's month check; not so here."""
    for month in BACKFILL:
        write_csv(
            landing(home, "windows_share", month) / "all.csv",
            header("windows_share"),
            good_rows("windows_share", "2026-07" if month == "2026-08" else month),
        )

    outcomes = ingest_months(home, "windows_share", BACKFILL)

    assert [o.status for o in outcomes] == ["loaded", "rejected", "loaded"]
    month_problems = [p for p in outcomes[1].problems if p.rule == "month"]
    assert len(month_problems) == len(good_rows("windows_share"))
    assert month_problems[0].message.startswith(
        "landing/windows_share/2026-08/all.csv row 2, column month: value '2026-07' "
        "is not the delivery's month 2026-08"
    )
    assert table(home, "windows_share", "2026-08") == []


# -- the clean load and the diagnosing parse ------------------------------------------------


def _rejected_in_place_of_a_good_delivery(
    home: Home, feed: str, name: str, write: Callable[[Path], object], expected: str
) -> None:
    """A good CSV delivery of ``feed`` loaded, then replaced by the file ``write`` puts at
    ``name``: that delivery is rejected with ``expected`` alone, the file is quarantined with
    it, and the good rows stay in force."""
    folder = landing(home, feed)
    write_csv(folder / "all.csv", header(feed), good_rows(feed))
    assert ingest(home, feed).status == "loaded"
    before_rows = table(home, feed)
    for old in folder.iterdir():
        old.unlink()
    write(folder / name)

    outcome = ingest(home, feed)

    assert outcome.status == "rejected"
    assert [p.message for p in outcome.problems] == [expected]
    _assert_quarantined(home, feed, name, [expected])
    assert table(home, feed) == before_rows


def test_a_blank_key_in_an_xlsx_file_is_named_by_the_diagnosing_parse(home: Home) -> None:
    """The clean load's insert fails inside its transaction (an XLSX view registered in it);
    the rollback leaves the earlier delivery in force and the diagnosing way names the cell."""
    feed = "windows_share"
    _rejected_in_place_of_a_good_delivery(
        home,
        feed,
        "apj.xlsx",
        lambda path: write_xlsx(
            path, feed, header(feed), _break(good_rows(feed), feed, 2, "partner_id", "")
        ),
        "landing/windows_share/2026-10/apj.xlsx row 4, column partner_id: is empty; "
        "fill in the value and deliver again.",
    )


def _workbook_with_errors(
    path: Path, feed: str, errors: dict[tuple[int, str], str], *, extra: str | None = None
) -> Path:
    """``feed``'s good rows as a workbook whose cells at (row index, column) hold formulas
    that failed: Excel keeps the error as the cell's value (what a reader sees). With
    ``extra``, one more column of that name, an error in every row."""
    import xlsxwriter

    head = header(feed)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    sheet.write_row(0, 0, [*head, *([extra] if extra else [])])
    for index, row in enumerate(good_rows(feed), start=1):
        if extra:
            sheet.write_formula(index, len(head), "=1/0", None, "#DIV/0!")
        for column, value in enumerate(row):
            error = errors.get((index - 1, head[column]))
            if error is not None:
                sheet.write_formula(index, column, "=VLOOKUP(A1,Z:Z,2,FALSE)", None, error)
            elif value.isdigit():
                sheet.write_number(index, column, int(value))
            elif value:
                sheet.write_string(index, column, value)
    book.close()
    return path


def test_a_spreadsheet_error_in_an_optional_xlsx_column_is_named_not_read_as_empty(
    home: Home,
) -> None:
    """A lookup that found nothing leaves #N/A in the cell; the reader gives an error cell
    as an empty one, and forecast_units may be empty, so the row loaded as shipped without
    a forecast (attainment left it out in silence). The workbook is refused instead, naming
    the first such cell, and the delivery in force stays."""
    feed = "pc_shipments"
    _rejected_in_place_of_a_good_delivery(
        home,
        feed,
        "emea.xlsx",
        lambda path: _workbook_with_errors(
            path, feed, {(2, "forecast_units"): "#N/A", (5, "shipped_units"): "#DIV/0!"}
        ),
        "landing/pc_shipments/2026-10/emea.xlsx row 4, column forecast_units: value '#N/A' is "
        "a spreadsheet error in cell G4, not a value (usually a formula that failed), and 1 "
        "more cell holds one, so the workbook is not read; correct the formula or type the "
        "value in (or leave the cell empty where the column may be empty) and deliver again.",
    )


def test_a_spreadsheet_error_in_a_column_the_contract_ignores_does_not_refuse_a_workbook(
    home: Home,
) -> None:
    feed = "pc_shipments"
    _workbook_with_errors(landing(home, feed) / "emea.xlsx", feed, {}, extra="check")

    outcome = ingest(home, feed)

    assert (outcome.status, outcome.rows) == ("loaded", len(good_rows(feed)))
    assert [p.message for p in outcome.warnings] == [
        "landing/pc_shipments/2026-10/emea.xlsx row 1: value 'check' names a column the "
        "contract does not have; it is ignored, and the rest of the file is read."
    ]


@pytest.mark.parametrize("chunk", [1 << 20, 37, 50])
def test_error_cells_are_found_once_wherever_a_read_cuts_the_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The sheet's XML is searched a chunk at a time: a cell's tag cut by a read is found
    whole in the next, and one seen whole is not counted again."""
    from oemkpi.ingest import xlsx_error_cells
    from oemkpi.ingest.workbooks import check_workbook

    feed = "pc_shipments"
    path = _workbook_with_errors(
        tmp_path / "errors.xlsx",
        feed,
        {
            (0, "shipped_units"): "#REF!",
            (3, "forecast_units"): "#N/A",
            (7, "shipped_units"): "#VALUE!",
        },
    )
    monkeypatch.setattr(xlsx_error_cells, "_CHUNK", chunk)

    found = xlsx_error_cells.error_cells(str(path), check_workbook(path, Limits()))

    assert found == [
        {"index": 5, "row": 2, "cell": "F2", "count": 2, "value": "#REF!"},
        {"index": 6, "row": 5, "cell": "G5", "count": 1, "value": "#N/A"},
    ]


def _zip(path: Path, parts: dict[str, str]) -> Path:
    """A zip of ``parts`` (name: text): a workbook with only the parts a test needs."""
    import zipfile

    with zipfile.ZipFile(path, "w") as book:
        for name, text in parts.items():
            book.writestr(name, text)
    return path


def _sheet_only(path: Path, xml: str) -> Path:
    return _zip(path, {"xl/worksheets/sheet1.xml": xml})


def test_error_cells_are_found_in_any_writer_s_xml(tmp_path: Path) -> None:
    """XML allows single quotes, spaces around '=' and a namespace prefix; a cell may go
    without its reference (its place implied) or its value; the reader's first column is the
    leftmost that holds something (B here: A1 is a format only)."""
    from oemkpi.ingest.xlsx_error_cells import error_cells

    path = _sheet_only(
        tmp_path / "written-elsewhere.xlsx",
        "<x:worksheet xmlns:x='urn:main'><x:dimension ref='A1:D4'/><x:sheetData>"
        "<x:row r='1'><x:c r='A1' s='2'/><x:c r='B1' t='s'><x:v>0</x:v></x:c></x:row>"
        "<x:row r='2'><x:c r='C2' s='3' t = 'e'><x:f>A1/0</x:f><x:v>#DIV/0!</x:v></x:c>"
        "<x:c r='D2' t='e'/></x:row>"
        "<x:row r='3'><x:c t='e'><x:v>#NAME?</x:v></x:c></x:row>"
        "<x:row r='4'><x:c r='C4' t='e'><x:v>#N/A</x:v></x:c></x:row>"
        "</x:sheetData></x:worksheet>",
    )

    assert error_cells(str(path), "xl/worksheets/sheet1.xml") == [
        {"index": 1, "row": 2, "cell": "C2", "count": 2, "value": "#DIV/0!"},
        {"index": 2, "row": 2, "cell": "D2", "count": 1, "value": None},
        {"index": None, "row": None, "cell": None, "count": 1, "value": "#NAME?"},
    ]


def test_a_formatted_empty_first_column_does_not_move_the_error_to_another_column(
    tmp_path: Path,
) -> None:
    """The reader's columns start at the leftmost cell holding something, not at a cell that
    holds only a format (which the sheet's dimension counts)."""
    import xlsxwriter

    path = tmp_path / "shifted.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_blank(1, 0, None, book.add_format({"bold": True}))
    sheet.write_row(0, 1, ["partner_id", "shipped_units", "forecast_units"])
    sheet.write_row(1, 1, ["acme", 10])
    sheet.write_formula(1, 3, "=NA()", None, "#N/A")
    book.close()
    books = Workbooks(tmp_path / "xlsx", Limits(), FEEDS["pc_shipments"].column_names)

    with pytest.raises(Unreadable) as refused:
        books.sheet(path)

    assert (refused.value.row, refused.value.column, refused.value.value) == (
        2,
        "forecast_units",
        "#N/A",
    )
    books.close()


@pytest.mark.parametrize(
    "a2",
    [
        "<c r='A2'><f>1+1</f><v></v></c>",  # a formula without its result (openpyxl)
        "<c r='A2'><f>1+1</f><v/></c>",
        "<c r='A2' s='0'>\n</c>",  # white space
        "<c r='A2' t='e'><v></v></c>",  # an error without its text
    ],
)
def test_a_cell_the_reader_takes_as_empty_does_not_place_the_columns(
    tmp_path: Path, a2: str
) -> None:
    """The reader's first column is B here (nothing in A that it reads as a value), so the
    error in C2 is its second column; one tag with several marks is one cell."""
    from oemkpi.ingest.xlsx_error_cells import error_cells

    path = _sheet_only(
        tmp_path / "a-empty.xlsx",
        "<worksheet><sheetData><row r='1'><c r='B1' t='inlineStr'><is><t>x</t></is></c></row>"
        f"<row r='2'>{a2}<c r='C2' t='e' x=' t=\"e\" t=\"e\"'><v>#N/A</v></c></row>"
        "</sheetData></worksheet>",
    )

    found = [e for e in error_cells(str(path), "xl/worksheets/sheet1.xml") if e["cell"] == "C2"]

    assert found == [{"index": 1, "row": 2, "cell": "C2", "count": 1, "value": "#N/A"}]


def test_a_hostile_workbook_xml_is_read_in_linear_time(tmp_path: Path) -> None:
    """Sheet elements that never close made the patterns scan past each '<' (100 KB took
    14 s); each attempt stops at the next '<' now."""
    from oemkpi.ingest.workbooks import check_workbook

    path = _zip(
        tmp_path / "hostile.xlsx",
        {
            "xl/workbook.xml": "<workbook>" + "<sheet " * 140_000,
            "xl/worksheets/sheet1.xml": "<worksheet/>",
        },
    )
    started = time.perf_counter()

    assert check_workbook(path, Limits()) == "xl/worksheets/sheet1.xml"
    assert time.perf_counter() - started < 30  # seconds; half an hour before


@pytest.mark.parametrize("hidden", [False, True])
def test_a_single_quoted_workbook_s_first_sheet_is_the_one_checked(
    tmp_path: Path, hidden: bool
) -> None:
    """The size check and the error search read the sheet the reader reads: the first in
    workbook.xml, found through its relationship, whichever quote the writer used (the
    largest worksheet was taken when the references were single-quoted)."""
    from oemkpi.ingest.workbooks import check_workbook

    state = " state='hidden'" if hidden else ""
    path = _zip(
        tmp_path / "quoted.xlsx",
        {
            "xl/workbook.xml": "<workbook xmlns:r='urn:r'><sheets>"
            f"<sheet name=\"Bob's data\" sheetId='1' r:id='rId2'{state}/>"
            "<sheet name='old' sheetId='2' r:id='rId1'/></sheets></workbook>",
            "xl/_rels/workbook.xml.rels": "<Relationships>"
            "<Relationship Id='rId1' Target='worksheets/sheet1.xml'/>"
            "<Relationship Id='rId2' Target='worksheets/sheet2.xml'/></Relationships>",
            "xl/worksheets/sheet1.xml": "<worksheet>" + " " * 10_000 + "</worksheet>",
            "xl/worksheets/sheet2.xml": "<worksheet/>",
        },
    )

    if not hidden:
        assert check_workbook(path, Limits()) == "xl/worksheets/sheet2.xml"
        return
    with pytest.raises(Unreadable) as refused:
        check_workbook(path, Limits())
    assert refused.value.what.startswith('its first sheet ("Bob\'s data") is hidden')


def test_hostile_xml_around_error_marks_is_searched_in_linear_time(tmp_path: Path) -> None:
    """A comment may hold '<' freely: tags that never close, each with an error mark, made a
    backtracking pattern cubic (16 KB took 18 s). Each mark's tag is looked for within a
    bounded span now."""
    from oemkpi.ingest.xlsx_error_cells import error_cells

    hostile = "<c t='e' " * 100_000 + "<dimension " * 100_000
    path = _sheet_only(
        tmp_path / "hostile.xlsx",
        f"<worksheet><!-- {hostile} --><sheetData><row r='1'>"
        "<c r='A1' t='e'><v>#REF!</v></c></row></sheetData></worksheet>",
    )
    started = time.perf_counter()

    found = error_cells(str(path), "xl/worksheets/sheet1.xml")

    assert found == [{"index": 0, "row": 1, "cell": "A1", "count": 1, "value": "#REF!"}]
    assert time.perf_counter() - started < 30  # seconds; minutes before, for a tenth of it


def test_fastexcel_still_reads_an_error_cell_as_empty(tmp_path: Path) -> None:
    """oemkpi/ingest/xlsx_error_cells.py works around this (fastexcel#229); when this test
    fails, fastexcel keeps the error, and the workaround can go (or be checked again)."""
    from importlib.metadata import version

    import fastexcel

    from oemkpi.ingest.xlsx_error_cells import WRITTEN_FOR

    for package, minor in WRITTEN_FOR.items():
        assert version(package).startswith(f"{minor}."), (package, version(package), minor)
    path = _workbook_with_errors(
        tmp_path / "e.xlsx", "pc_shipments", {(0, "forecast_units"): "#N/A"}
    )
    sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string")
    assert sheet.to_arrow().to_pylist()[1]["__UNNAMED__6"] is None


def test_backfill_reads_the_batch_again_without_a_month_that_is_not_clean(home: Home) -> None:
    """A bad cell aborts the batch's transaction: the month goes the diagnosing way, the
    months read before it are read again, and every clean month is loaded."""
    for month in BACKFILL:
        rows = good_rows("windows_share", month)
        if month == "2026-08":
            rows = _break(rows, "windows_share", 2, "units", "1,234")
        write_csv(landing(home, "windows_share", month) / "all.csv", header("windows_share"), rows)

    outcomes = ingest_months(home, "windows_share", BACKFILL)

    assert [o.status for o in outcomes] == ["loaded", "rejected", "loaded"]
    assert [p.message for p in outcomes[1].problems] == [
        "landing/windows_share/2026-08/all.csv row 4, column units: value '1,234' is not a "
        f"plain number; {ADVICE['plain_number']}."
    ]
    for outcome in (outcomes[0], outcomes[2]):
        assert outcome.rows_in_force == len(good_rows("windows_share"))
        assert set(outcome.seconds) == {"parse", "validate", "load"}
    assert table(home, "windows_share", "2026-08") == []


def _open_batch(con: duckdb.DuckDBPyConnection, batch: list[list[object]]) -> None:
    """Write ``batch`` to windows_share in a transaction of ``con`` left open."""
    columns = FEEDS["windows_share"].column_names
    con.execute("begin transaction")
    con.executemany(
        f"insert into windows_share ({', '.join(columns)}) values (?, ?, ?, ?, ?, ?, ?)", batch
    )


def _judging(home: Home) -> dict[str, object]:
    """What the suite is told of windows_share's October rows: the feed, month, reference."""
    reference = load_reference(home.reference)
    return {
        "feed": "windows_share",
        "months": [MONTH],
        "partner_ids": reference.partner_ids,
        "countries": reference.country_codes,
    }


def test_the_suite_judges_rows_inside_the_open_transaction_and_leaves_it_open(
    home: Home,
) -> None:
    """Great Expectations reads the rows the transaction wrote, and neither commits nor
    closes it: the verdict decides whether they are committed or rolled back."""
    from oemkpi.ingest.suite_runs import suite_failures
    from oemkpi.ingest.suites import load_suite

    rows = [_typed(r) for r in good_rows("windows_share")]
    with warehouse(home.warehouse) as con:

        def judge(batch: list[list[object]]) -> list[str]:
            _open_batch(con, batch)
            return suite_failures(load_suite("windows_share"), con, **_judging(home))

        assert judge([["2026-10", "zeta", *rows[0][2:]], *rows[1:]]) == ["partner_id_in_reference"]
        con.execute("rollback")
        assert con.execute("select count(*) from windows_share").fetchall() == [(0,)]

        assert judge([*rows, rows[0]]) == ["key_unique"]
        con.execute("rollback")

        assert judge(rows) == []
        con.execute("commit")
    assert len(table(home, "windows_share")) == len(rows)


@pytest.fixture
def suite_process(home: Home, monkeypatch: pytest.MonkeyPatch):
    """The suite process of a run of small deliveries, as a fresh ``oemkpi run`` starts it
    (this test process may have imported GX already: it is let go of for the test)."""
    from oemkpi.ingest import suite_worker

    monkeypatch.delitem(sys.modules, "oemkpi.ingest.gx_engine", raising=False)
    assert suite_worker.start(home, [MONTH])
    yield suite_worker
    suite_worker.stop()


def test_the_suite_process_judges_the_open_transactions_rows_as_this_process_would(
    home: Home, suite_process, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows the transaction wrote are copied to staging and judged by the suite process:
    the same verdicts as in this process, the transaction left open for the caller, and
    the copy removed."""
    from oemkpi.ingest.suites import load_suite

    def not_here(*_args: object, **_kwargs: object) -> list[str]:
        raise AssertionError("judged in this process, not by the suite process")

    monkeypatch.setattr(suite_process, "suite_failures", not_here)
    rows = [_typed(r) for r in good_rows("windows_share")]
    with warehouse(home.warehouse) as con:

        def judge(batch: list[list[object]]) -> list[str]:
            _open_batch(con, batch)
            return suite_process.batch_failures(
                load_suite("windows_share"), con, home.staging, **_judging(home)
            )

        assert judge([["2026-10", "zeta", *rows[0][2:]], *rows[1:]]) == ["partner_id_in_reference"]
        con.execute("rollback")
        assert judge([*rows, rows[0]]) == ["key_unique"]
        con.execute("rollback")
        assert judge(rows) == []
        con.execute("commit")
    assert len(table(home, "windows_share")) == len(rows)
    assert list(home.staging.iterdir()) == []


def test_a_suite_that_cannot_be_loaded_is_the_same_sentence_from_the_suite_process(
    home: Home, suite_process, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from oemkpi.errors import OemkpiError
    from oemkpi.ingest.suites import load_suite
    from oemkpi.packaged import packaged_dir

    directory = tmp_path / "expectations"
    directory.mkdir()
    text = (packaged_dir("expectations") / "windows_share.json").read_text("utf-8")
    (directory / "windows_share.json").write_text(
        text.replace('"expect_column_values_to_be_in_set"', '"expect_column_values_to_be_in_sett"'),
        "utf-8",
    )
    with warehouse(home.warehouse) as con:
        _open_batch(con, [_typed(r) for r in good_rows("windows_share")])
        with pytest.raises(OemkpiError) as raised:
            suite_process.batch_failures(
                load_suite("windows_share", directory=directory),
                con,
                home.staging,
                **_judging(home),
            )
        con.execute("rollback")
    assert str(raised.value).startswith(
        f"The suite {directory / 'windows_share.json'} has expectation types Great Expectations "
        "does not know: "
    )
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert list(home.staging.iterdir()) == []


def test_rows_that_cannot_be_copied_for_the_suite_process_are_read_again_and_judged_here(
    home: Home, suite_process
) -> None:
    """The copy's error aborts the transaction: the batch is rolled back, read again and
    judged in this process, and the suite process is stopped for the rest of the run."""
    from oemkpi.ingest.clean_load import load_clean_deliveries
    from oemkpi.ingest.folder import read_folder

    write_csv(
        landing(home, "windows_share") / "all.csv",
        header("windows_share"),
        good_rows("windows_share"),
    )
    home.staging.parent.mkdir(parents=True, exist_ok=True)
    home.staging.write_text("not a folder", encoding="utf-8")  # nothing can be written there
    limits = Limits.from_env()
    with warehouse(home.warehouse) as con:
        settled = load_clean_deliveries(
            con,
            home,
            FEEDS["windows_share"],
            {MONTH: read_folder(home.landing_dir("windows_share", MONTH))},
            load_reference(home.reference),
            limits=limits,
            workbooks=Workbooks(home.root / "xlsx-scratch", limits),
        )
    assert settled[MONTH].status == "loaded"
    assert settled[MONTH].rows == len(good_rows("windows_share"))
    assert len(table(home, "windows_share")) == len(good_rows("windows_share"))
    assert not suite_process.started()
    assert home.staging.read_text(encoding="utf-8") == "not a folder"


def test_stopping_a_suite_process_that_is_still_importing_is_immediate(
    home: Home, suite_process
) -> None:
    """It ignores Ctrl-C and may be seconds into importing GX: the command's exit does not
    wait for it."""
    pool = suite_process._HELPER.pool()
    assert pool is not None
    (process,) = pool._processes.values()
    started = time.monotonic()
    suite_process.stop()
    assert time.monotonic() - started < 1.5
    assert not process.is_alive()


def test_a_suite_process_that_died_leaves_the_verdict_to_this_process(
    home: Home, suite_process
) -> None:
    from oemkpi.ingest.suites import load_suite

    pool = suite_process._HELPER.pool()
    assert pool is not None
    pool.submit(int).result()
    for process in list(pool._processes.values()):
        process.kill()
        process.join()
    rows = [_typed(r) for r in good_rows("windows_share")]
    with warehouse(home.warehouse) as con:
        _open_batch(con, [*rows, rows[0]])
        failed = suite_process.batch_failures(
            load_suite("windows_share"), con, home.staging, **_judging(home)
        )
        con.execute("rollback")
    assert failed == ["key_unique"]
    assert list(home.staging.iterdir()) == []


def test_a_rejected_delivery_is_diagnosed_by_the_suite_process_with_the_same_problems(
    home: Home, suite_process
) -> None:
    """The diagnosing way's suite runs in the suite process too, on the staging database,
    which it opens read-only: the same problems and quarantine as in this process (a
    repeated key, named from the staging database; a GX-only check), GX never imported
    here, and the staging files gone."""
    feed = "windows_share"
    expected = _repeat_a_key_across_two_files(home)

    outcome = ingest(home, feed)

    assert outcome.status == "rejected"
    assert [p.message for p in outcome.problems] == [expected]
    _assert_quarantined(home, feed, "b.csv", [expected])

    feed = "attach_rate"
    write_csv(
        landing(home, feed) / "bad.csv",
        header(feed),
        _break(good_rows(feed), feed, 0, "attached_units", "5000"),
    )
    outcome = ingest(home, feed)
    assert [p.message for p in outcome.problems] == [
        "landing/attach_rate/2026-10/bad.csv row 2, column attached_units: value 5000 is larger "
        "than base_units (901); attached_units cannot exceed base_units; correct the row and "
        "deliver again."
    ]
    assert next(c for c in outcome.checks if c.check == "attached_within_base").passed is False

    assert suite_process.started()  # it answered both
    assert "oemkpi.ingest.gx_engine" not in sys.modules
    assert list(home.staging.iterdir()) == []


def test_a_delivery_the_diagnosing_way_loads_is_copied_after_the_suite_process_let_go(
    home: Home, suite_process
) -> None:
    """Partner ids padded with spaces fail the clean load's suite and go the diagnosing way,
    which trims and loads them: the suite process judged the staging database read-only
    and let go of it, so this process copies the rows from it into the warehouse."""
    feed = "windows_share"
    rows = good_rows(feed)
    column = header(feed).index("partner_id")
    padded = [[f" {v} " if i == column else v for i, v in enumerate(r)] for r in rows]
    write_csv(landing(home, feed) / "padded.csv", header(feed), padded)

    outcome = ingest(home, feed)

    assert outcome.status == "loaded", [p.message for p in outcome.problems]
    assert outcome.rows == len(rows)
    at = FEEDS[feed].column_names.index("partner_id")
    assert sorted(r[at] for r in table(home, feed)) == sorted(r[column] for r in rows)  # trimmed
    assert suite_process.started() and "oemkpi.ingest.gx_engine" not in sys.modules
    assert list(home.staging.iterdir()) == []


def test_the_suite_process_is_for_small_deliveries_only(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month's deliveries are counted file by file; above SMALL_BYTES (or once this process
    has GX) no suite process is started and batches are judged here."""
    from oemkpi.ingest import suite_worker

    folder = home.landing_dir("windows_share", MONTH)
    write_csv(folder / "a.csv", header("windows_share"), good_rows("windows_share"))
    (folder / "nested").mkdir()
    write_csv(folder / "nested" / "b.csv", header("windows_share"), good_rows("windows_share"))
    size = (folder / "a.csv").stat().st_size
    assert suite_worker.landing_bytes(home, [MONTH, "2026-09"]) == size
    monkeypatch.delitem(sys.modules, "oemkpi.ingest.gx_engine", raising=False)
    monkeypatch.setattr(suite_worker, "SMALL_BYTES", size - 1)
    assert not suite_worker.start(home, [MONTH]) and not suite_worker.started()
    monkeypatch.setattr(suite_worker, "SMALL_BYTES", size)
    monkeypatch.setitem(sys.modules, "oemkpi.ingest.gx_engine", object())
    assert not suite_worker.start(home, [MONTH]) and not suite_worker.started()


def test_trim_removes_exactly_the_unicode_space_separators_the_clean_load_looks_for() -> None:
    """DuckDB's trim, which both ways apply, against the clean load's ``PADDED`` pattern,
    for every code point at either end of a value."""
    from oemkpi.ingest.typing_rules import PADDED

    con = duckdb.connect()
    (differ, trimmed) = con.execute(
        "with s as (select chr(cp::int) || 'a' as head, 'a' || chr(cp::int) as tail "
        "from range(1, 1114112) as t(cp) where cp not between 55296 and 57343) "
        "select count(*) filter (where (trim(head) <> head) <> regexp_matches(head, $p) "
        "or (trim(tail) <> tail) <> regexp_matches(tail, $p)), "
        "count(*) filter (where trim(tail) <> tail) from s",
        {"p": PADDED},
    ).fetchone()
    assert (differ, trimmed) == (0, 17)


#: Texts of a whole-number column at the edges of the clean load's quick test.
WHOLE_NUMBER_TEXTS = [
    "0", "7", "-7", "07", "-07", "-0", "+7", " 7", "7 ", "7.0", "7.00", "7.5", "1e3", "1_000",
    "9999999999", "-9999999999", "09999999999", "10000000000", "-10000000000",
    "9223372036854775807", "-9223372036854775808", "99999999999999999999", "\u00a07",
    "\u0663", "0x10", "",
]  # fmt: skip


@pytest.mark.parametrize("text", WHOLE_NUMBER_TEXTS)
def test_the_quick_test_of_whole_numbers_types_a_value_as_the_patterns_do(text: str) -> None:
    """The clean load takes a whole number written plainly without its patterns; every
    other text goes through them: the typed value, or the refusal, is the same."""
    import dataclasses

    from oemkpi.ingest import typing_rules

    column = next(c for c in FEEDS["windows_share"].columns if c.name == "units")
    rule = typing_rules.TYPE_RULES["int"]
    assert rule.quick is not None
    con = duckdb.connect()

    def typed(quick: bool) -> object:
        rules = {**typing_rules.TYPE_RULES, "int": dataclasses.replace(rule, quick=None)}
        with pytest.MonkeyPatch.context() as patch:
            if not quick:
                patch.setattr(typing_rules, "TYPE_RULES", rules)
            sql, params = typing_rules.clean_expression(column, MONTH)
        try:
            return con.execute(
                f"select {sql} from (select nullif(?, '') as units)", [*params, text]
            ).fetchone()
        except duckdb.Error as err:
            return str(err).splitlines()[0]

    assert typed(quick=True) == typed(quick=False)


def _padded(feed: str, column: str) -> list[list[str]]:
    rows = good_rows(feed)
    at = FEEDS[feed].column_names.index(column)
    for i, row in enumerate(rows):
        row[at] = ("\u00a0" if i % 2 else " ") + row[at] + "  "
    return rows


@pytest.mark.parametrize(
    ("column", "clean"),
    [("month", True), ("units", True), ("sku", True), ("partner_id", False), ("country", False)],
)
def test_padded_values_load_trimmed_as_before(home: Home, column: str, clean: bool) -> None:
    """A padded value the clean load's patterns do not take is trimmed and typed there; a
    padded value of a column the suite holds to a set fails the suite, and the delivery is
    loaded the diagnosing way, trimmed. Either way the rows are those of the unpadded file."""
    from oemkpi.ingest.clean_load import load_clean_deliveries
    from oemkpi.ingest.folder import read_folder

    feed = "windows_share"
    write_csv(landing(home, feed) / "all.csv", header(feed), good_rows(feed))
    assert ingest(home, feed).status == "loaded"
    unpadded = table(home, feed)
    replace_delivery(landing(home, feed), "all.csv", header(feed), _padded(feed, column))
    with warehouse(home.warehouse) as con:
        settled = load_clean_deliveries(
            con,
            home,
            FEEDS[feed],
            {MONTH: read_folder(landing(home, feed))},
            load_reference(home.reference),
            limits=Limits(),
            workbooks=Workbooks(home.root / "xlsx", Limits()),
        )
    assert (MONTH in settled) == clean
    outcome = ingest(home, feed)
    assert (outcome.status, outcome.problems) == ("loaded", [])
    assert table(home, feed) == unpadded


# Values at the edge of the contract, per column type: the clean load may only accept what
# the diagnosing parse accepts, and must type it the same.
EDGE_VALUES = {
    ("pc_shipments", "shipped_units"): [
        "12",
        " 12 ",
        "0",
        "007",
        "12.0",
        "12.00",
        "-3",
        "+3",
        "1e3",
        "1_000",
        "0x10",
        "12.5",
        "1.",
        ".5",
        "N/A",
        "1,234",
        "$5",
        "9223372036854775807",
        "9223372036854775808",
        "",
    ],
    ("pc_shipments", "forecast_units"): ["", "15", "15.0", "1.5", "inf"],
    ("premium_mix", "license_revenue_usd"): [
        "10.5",
        "10",
        "-10.5",
        "1e5",
        "1E5",
        "inf",
        "nan",
        "10.",
        ".5",
        "1,000.5",
        "0.000001",
    ],
    ("windows_share", "month"): [
        "2026-10",
        " 2026-10 ",
        "2026-10-01",
        "2026-10-01 00:00:00",
        "2026-10-01T00:00:00.000",
        "2026-10-02",
        "2026-09",
        "2026-10-1",
        "10/2026",
        "2026-13",
        "",
    ],
    ("windows_share", "sku"): ["NB-01", "NB\x07-01", "NB\x7f", " NB-01 ", "Aero&14 <Pro>"],
}


@pytest.mark.parametrize(
    ("feed", "column", "value"),
    [(f, c, v) for (f, c), values in EDGE_VALUES.items() for v in values],
)
def test_the_clean_load_accepts_no_value_the_diagnosing_parse_would_name(
    home: Home, tmp_path: Path, feed: str, column: str, value: str
) -> None:
    from oemkpi.ingest.clean_load import NotClean, insert_clean
    from oemkpi.ingest.diagnose import stage_delivery

    spec = FEEDS[feed]
    rows = good_rows(feed)
    rows[0][spec.column_names.index(column)] = value
    path = write_csv(landing(home, feed) / "edge.csv", header(feed), rows)
    keys = [c for c in spec.key_names if c != column]
    where = " and ".join(f"{k} = ?" for k in keys)
    key_values = [rows[0][spec.column_names.index(k)].strip() for k in keys]

    refused = object()  # the way did not take the delivery (not: took an empty value)
    staged = stage_delivery(spec, MONTH, [path], tmp_path / "staging.duckdb")
    detailed: object = refused
    if not staged.problems:
        con = duckdb.connect(str(staged.staging_db), read_only=True)
        detailed = con.execute(f"select {column} from delivery where _row = 2", []).fetchall()[0][0]
        con.close()

    with warehouse(home.warehouse) as con:
        con.execute("begin transaction")
        try:
            insert_clean(
                con,
                spec,
                MONTH,
                [path],
                [path.name],
                limits=Limits(),
                workbooks=Workbooks(tmp_path / "xlsx", Limits()),
            )
        except NotClean:
            short: object = refused
        else:
            (short,) = con.execute(
                f"select {column} from {feed} where {where}", key_values
            ).fetchall()[0]
        con.execute("rollback")

    if short is not refused:
        # Whatever the clean load takes, the diagnosing parse takes too, typed the same.
        assert short == detailed, (value, short, detailed)
    # Plain good values (and an empty forecast) are taken the clean load.
    if value in {"12", " 12 ", "12.0", "15", "10.5", "2026-10", " 2026-10 ", "NB-01"} or (
        column == "forecast_units" and value == ""
    ):
        assert short is not refused, value


def test_an_expectation_that_fails_in_duckdb_aborts_the_clean_load_not_the_step(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suite whose SQL DuckDB refuses (a number compared with SKUs) aborts the open
    transaction: the clean load gives up and the diagnosing way reports the check's error,
    as it does for a staged delivery."""
    from oemkpi.ingest import batches, clean_load
    from oemkpi.ingest.suites import load_suite
    from oemkpi.packaged import packaged_dir

    document = json.loads(
        (packaged_dir("expectations") / "windows_share.json").read_text(encoding="utf-8")
    )
    document["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "sku", "min_value": 0},
            "meta": {"check": "sku_as_number", "rule": "suite"},
        }
    )
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "windows_share.json").write_text(json.dumps(document), encoding="utf-8")
    suite = load_suite("windows_share", directory=suites)
    monkeypatch.setattr(clean_load, "load_suite", lambda _feed: suite)
    monkeypatch.setattr(batches, "load_suite", lambda _feed: suite)
    write_csv(
        landing(home, "windows_share") / "all.csv",
        header("windows_share"),
        good_rows("windows_share"),
    )

    outcome = ingest(home, "windows_share")

    failed = {c.check: c for c in outcome.checks if not c.passed}
    assert list(failed) == ["sku_as_number"]
    assert failed["sku_as_number"].error
    assert outcome.rows_in_force == outcome.rows  # as the diagnosing way decides: an
    # expectation that cannot be evaluated names no row, so nothing rejects the delivery


@pytest.mark.parametrize(
    ("rule", "column", "value", "what", "shown"),
    [
        (
            "unique_key",
            "partner_id+country+segment+sku",
            "aurora, DE, consumer, AUR-NB14-G7-101",
            "repeats a key that another row of this delivery has",
            "emea.csv row 9, column partner_id+country+segment+sku: the value repeats a key "
            "that another row of this delivery has.",
        ),
        (
            "attached_le_base",
            "attached_units",
            1_300,
            "is larger than base_units (1200)",
            "emea.csv row 9, column attached_units: the value is larger than base_units.",
        ),
        (
            "not_null",
            "shipped_units",
            None,
            "is empty",
            "emea.csv row 9, column shipped_units: the value is empty.",
        ),
    ],
)
def test_a_problem_for_stakeholders_names_no_value_of_the_row(rule, column, value, what, shown):
    """Every partner's update shows a rejected delivery's first problem, and a delivery holds
    every partner's rows: a quoted key, SKU or unit count was another partner's figure."""
    from oemkpi.ingest.problems import for_stakeholders, problem

    found = problem("landing/attach_rate/2026-11/emea.csv", 9, column, value, rule, what)
    assert for_stakeholders(found.to_json()) == shown
