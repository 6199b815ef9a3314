"""Every expectation of every suite rejects the delivery that breaks it, and says where.

For each expectation in ``expectations/<feed>.json`` a clean delivery is broken
in exactly one place and ingested into a fresh warehouse: that check fails, a
problem names the file, row, column and value in its one sentence, nothing is
loaded, the files are quarantined with an ``.errors.json`` listing the
problem, and landing is untouched. Then: suite files with a misspelled type or
a wrong kwarg fail loudly, and the validation page shows a rejected delivery
with hostile values escaped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.contract import FEEDS
from oemkpi.ingest.deliveries import ingest_delivery
from oemkpi.ingest.diagnose import stage_delivery
from oemkpi.ingest.outcomes import CONTRACT_CHECK, DeliveryOutcome
from oemkpi.ingest.problems import summary_problem
from oemkpi.ingest.suite_runs import run_suite
from oemkpi.ingest.suites import Expectation, load_suite
from oemkpi.ingest.validation_pages import (
    MAX_PAGE_ROWS,
    validation_index_path,
    validation_page_path,
    write_validation_page,
    write_validation_pages,
)
from oemkpi.packaged import packaged_dir
from oemkpi.reference import load_reference
from oemkpi.warehouse import warehouse
from tests.feedfiles import good_rows, header, landing, snapshot, write_csv

MONTH = "2026-10"
BROKEN_ROW = 2  # index into good_rows(); the file's row 4 (the header is row 1)
ADVICE = {
    "not_null": "fill in the value and deliver again",
    "month": "write the delivery's month as YYYY-MM in every row, or move the file to the right "
    "month folder",
    "partner_id": "use an id from reference/partners.csv, or add the partner there first",
    "country": "use a two-letter code from reference/countries.csv, or add the country there first",
    "in_set": "use one of the allowed values and deliver again",
    "sku": "use 1-64 printable characters for the SKU and deliver again",
    "out_of_range": "check the value and deliver again",
    "attached_le_base": "attached_units cannot exceed base_units; correct the row and deliver again",
    "unique_key": "send each key once per delivery and deliver again",
    "required_column": "add the column to the header and deliver again",
    "row_count": "deliver the full month",
    "text_length": "shorten or fill in the text and deliver again",
}
#: For required_columns: the contract column each feed's broken file leaves out.
DROPPED_COLUMN = {
    "pc_shipments": "form_factor",
    "windows_share": "sku",
    "premium_mix": "edition",
    "attach_rate": "product",
    "marketing": "activity",
}
#: Expectations tests/test_feeds.py already breaks the same way, asserting the exact sentence
#: (file, row, column, value), the quarantine copy and its errors.json, landing untouched and
#: the earlier delivery in force: each is ``test_a_bad_value_rejects_the_delivery_with_one_clear_
#: sentence`` with the VALUE_CASES entry (column, bad value) given here. Each suite has one
#: expectation per (column, rule), so that sentence can only come from this check.
#: ``test_skipped_expectations_are_covered_by_test_feeds`` keeps this list honest.
COVERED_BY_VALUE_CASES: dict[tuple[str, str], tuple[str, str]] = {
    ("pc_shipments", "month_is_partition"): ("month", "2026-09"),
    ("pc_shipments", "partner_id_in_reference"): ("partner_id", "zeta"),
    ("pc_shipments", "segment_in_set"): ("segment", "Consumer"),
    ("pc_shipments", "form_factor_in_set"): ("form_factor", "tablet"),
    ("windows_share", "country_in_reference"): ("country", "XX"),
    ("windows_share", "os_family_in_set"): ("os_family", "macos"),
    ("windows_share", "sku_length"): ("sku", "X" * 65),
    ("windows_share", "units_non_negative"): ("units", "-3"),
    ("premium_mix", "edition_in_set"): ("edition", "enterprise"),
    ("premium_mix", "price_band_in_set"): ("price_band", "luxury"),
    ("premium_mix", "license_revenue_usd_non_negative"): ("license_revenue_usd", "-10.5"),
    ("attach_rate", "base_units_not_null"): ("base_units", ""),
    ("attach_rate", "product_in_set"): ("product", "teams"),
    ("marketing", "partner_id_in_reference"): ("partner_id", "zeta"),
    ("marketing", "activity_id_length"): ("activity_id", "A" * 65),
    ("marketing", "activity_not_null"): ("activity", ""),
    ("marketing", "activity_length"): ("activity", "X" * 201),
    ("marketing", "kind_in_set"): ("kind", "webinar"),
    ("marketing", "country_in_reference"): ("country", "XX"),
    ("marketing", "spent_usd_non_negative"): ("spent_usd", "-5.5"),
    ("marketing", "status_in_set"): ("status", "closed"),
    ("marketing", "poe_status_in_set"): ("poe_status", "pending"),
}
#: tests/test_feeds.py::test_attached_units_above_base_units_is_rejected: exact sentence,
#: check failed, quarantine copy and errors.json, nothing loaded.
COVERED_ELSEWHERE = {*COVERED_BY_VALUE_CASES, ("attach_rate", "attached_within_base")}


@dataclass
class Breakage:
    """A delivery that breaks one expectation, and what the outcome must say."""

    head: list[str]
    rows: list[list[str]]
    row: int | None
    column: str | None
    value: object
    rule: str
    message: str
    also_failing: set[str] = field(default_factory=set)  # checks a break cannot avoid failing


def _cases() -> list[tuple[str, str]]:
    return [
        (feed, spec.check)
        for feed in sorted(FEEDS)
        for spec in load_suite(feed).expectations
        if (feed, spec.check) not in COVERED_ELSEWHERE
    ]


def _spec(feed: str, check: str) -> Expectation:
    return next(e for e in load_suite(feed).expectations if e.check == check)


def _file(feed: str) -> str:
    return f"landing/{feed}/{MONTH}/bad.csv"


def _sentence(feed: str, row: int | None, column: str | None, shown: str, what: str, rule: str):
    where = _file(feed) + (f" row {row}" if row is not None else "")
    if column is not None:
        where += f", column {column}"
    return f"{where}: {shown}{what}; {ADVICE[rule]}."


def _with(rows: list[list[str]], feed: str, column: str, value: str) -> list[list[str]]:
    broken = [list(r) for r in rows]
    broken[BROKEN_ROW][FEEDS[feed].column_names.index(column)] = value
    return broken


def _typed(feed: str, column: str, text: str) -> object:
    kind = FEEDS[feed].column(column).type
    return int(text) if kind == "int" else float(text) if kind == "number" else text


def breakage(feed: str, spec: Expectation) -> Breakage:
    """The smallest change to a clean delivery of ``feed`` that breaks ``spec``."""
    head, rows = header(feed), good_rows(feed, MONTH)
    kind, kw = spec.type, spec.kwargs
    row = BROKEN_ROW + 2

    if kind == "expect_table_columns_to_match_set":
        # The parser names the missing column; the suite's column checks cannot run.
        dropped = DROPPED_COLUMN[feed]
        at = head.index(dropped)
        depends = {e.check for e in load_suite(feed).expectations if dropped in e.columns} | {
            CONTRACT_CHECK
        }
        return Breakage(
            head[:at] + head[at + 1 :],
            [r[:at] + r[at + 1 :] for r in rows],
            1,
            dropped,
            None,
            "required_column",
            _sentence(feed, 1, dropped, "", "the header has no such column", "required_column"),
            depends,
        )
    if kind == "expect_table_row_count_to_be_between":
        return Breakage(
            head,
            [],
            None,
            None,
            None,
            "row_count",
            f"landing/{feed}/{MONTH}: the delivery has no rows; {ADVICE['row_count']}.",
        )
    if kind == "expect_compound_columns_to_be_unique":
        columns = kw["column_list"]
        key = ", ".join(rows[0][head.index(c)] for c in columns)
        duplicate = len(rows) + 2
        return Breakage(
            head,
            [*rows, list(rows[0])],
            duplicate,
            "+".join(columns),
            key,
            "unique_key",
            _sentence(
                feed,
                duplicate,
                "+".join(columns),
                f"value {key!r} ",
                f"repeats the key ({', '.join(columns)}) of {_file(feed)} row 2",
                "unique_key",
            ),
        )
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kw["column_A"], kw["column_B"]
        base = rows[BROKEN_ROW][head.index(a)]
        return Breakage(
            head,
            _with(rows, feed, b, "5000"),
            row,
            b,
            5000,
            spec.rule,
            _sentence(feed, row, b, "value 5000 ", f"is larger than {a} ({base})", spec.rule),
        )

    column = kw["column"]
    if kind == "expect_column_values_to_not_be_null":
        bad, what = "", "is empty"
    elif kind == "expect_column_values_to_be_in_set":
        allowed = kw["value_set"]
        parameter = allowed.get("$PARAMETER") if isinstance(allowed, dict) else None
        bad, what = {
            "month": ("2026-09", f"is not the delivery's month {MONTH}"),
            "partner_ids": ("zeta", "is not a partner in reference/partners.csv"),
            "countries": ("XX", "is not a country in reference/countries.csv"),
            None: ("bogus", f"is not one of {', '.join(allowed) if parameter is None else ''}"),
        }[parameter]
    elif kind == "expect_column_value_lengths_to_be_between":
        bad, what = "X" * (kw["max_value"] + 1), f"is not 1-{kw['max_value']} characters long"
    elif kind == "expect_column_values_to_be_between":
        bad, what = "-3", "is negative"
    else:
        raise AssertionError(f"no breakage written for {kind}; add one to this test")
    value = None if bad == "" else _typed(feed, column, bad)
    shown = "" if value is None else f"value {value!r} "
    also = set()
    if (feed, column) == ("attach_rate", "base_units") and bad == "-3":
        also = {"attached_within_base"}  # attached_units (>= 0) now exceeds base_units
    return Breakage(
        head,
        _with(rows, feed, column, bad),
        row,
        column,
        value,
        spec.rule,
        _sentence(feed, row, column, shown, what, spec.rule),
        also,
    )


def ingest(home: Home, feed: str, month: str = MONTH) -> DeliveryOutcome:
    with warehouse(home.warehouse) as con:
        return ingest_delivery(con, home, feed, month, load_reference(home.reference))


def rows_in_warehouse(home: Home, feed: str, month: str = MONTH) -> int:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(f"select count(*) from {feed} where month = ?", [month]).fetchone()[0]
    finally:
        con.close()


# -- (a) every expectation, broken on its own ------------------------------------------


@pytest.mark.parametrize(("feed", "check"), _cases(), ids=[f"{f}-{c}" for f, c in _cases()])
def test_breaking_one_expectation_rejects_the_delivery_and_names_the_value(
    home: Home, feed: str, check: str
) -> None:
    spec = _spec(feed, check)
    broken = breakage(feed, spec)
    folder = landing(home, feed)
    write_csv(folder / "bad.csv", broken.head, broken.rows)
    landing_before = snapshot(folder)

    outcome = ingest(home, feed)

    assert outcome.status == "rejected"
    by_name = {c.check: c for c in outcome.checks}
    assert by_name[check].passed is False
    failed = {c.check for c in outcome.checks if not c.passed}
    assert failed == {check} | broken.also_failing
    found = [p for p in outcome.problems if p.message == broken.message]
    assert found, [p.message for p in outcome.problems]
    assert (found[0].row, found[0].column, found[0].value, found[0].rule) == (
        broken.row,
        broken.column,
        broken.value,
        broken.rule,
    )
    if spec.type != "expect_table_columns_to_match_set":
        # The check itself reports the problem (missing columns are the parser's to name).
        assert broken.message in [p.message for p in by_name[check].problems]
        # GX counts every row of a repeated key, the first one included.
        twice = spec.type == "expect_compound_columns_to_be_unique"
        assert by_name[check].unexpected_count == (2 if twice else 1)
        if not broken.also_failing:
            assert [p.message for p in outcome.problems] == [broken.message]
    else:
        for dependent in broken.also_failing - {CONTRACT_CHECK, check}:
            assert by_name[dependent].error == (
                f"column {broken.column} is missing from the delivery"
            )
    # Nothing of it is loaded; landing is only read; quarantine lists the problem.
    assert rows_in_warehouse(home, feed) == 0
    assert outcome.rows_in_force == 0
    assert snapshot(folder) == landing_before
    quarantine = home.quarantine_dir(feed, MONTH)
    assert outcome.quarantine == quarantine
    assert (quarantine / "bad.csv").read_bytes() == (folder / "bad.csv").read_bytes()
    errors = json.loads((quarantine / "bad.csv.errors.json").read_text(encoding="utf-8"))
    assert errors["status"] == "rejected"
    assert check in errors["checks_failed"]
    assert broken.message in [p["message"] for p in errors["problems"]]
    listed = next(p for p in errors["problems"] if p["message"] == broken.message)
    assert (listed["row"], listed["column"], listed["value"], listed["rule"]) == (
        broken.row,
        broken.column,
        broken.value,
        broken.rule,
    )


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_a_clean_delivery_passes_every_check_of_its_suite(home: Home, feed: str) -> None:
    write_csv(landing(home, feed) / "good.csv", header(feed), good_rows(feed, MONTH))

    outcome = ingest(home, feed)

    assert outcome.status == "loaded"
    assert [c.check for c in outcome.checks] == [
        CONTRACT_CHECK,
        *(e.check for e in load_suite(feed).expectations),
    ]
    assert [(c.check, c.error) for c in outcome.checks if not c.passed] == []
    assert outcome.problems == []
    assert rows_in_warehouse(home, feed) == len(good_rows(feed))
    assert not home.quarantine_dir(feed, MONTH).exists()


def test_every_expectation_type_in_the_suites_has_a_breakage() -> None:
    """A new expectation type in a suite needs a case above; this says so by name."""
    for feed in FEEDS:
        for spec in load_suite(feed).expectations:
            assert breakage(feed, spec).message


def test_skipped_expectations_are_covered_by_test_feeds() -> None:
    from tests.test_feeds import VALUE_CASES

    cases = {(feed, column, value): rule for feed, column, value, rule, _what in VALUE_CASES}
    for (feed, check), (column, value) in COVERED_BY_VALUE_CASES.items():
        spec = _spec(feed, check)
        assert spec.columns == [column]
        assert cases.get((feed, column, value)) == spec.rule, (feed, check)


# -- (b) a suite file that is wrong fails loudly ----------------------------------------


def _suite_copy(tmp_path: Path, feed: str, edit) -> Path:
    directory = tmp_path / "suites"
    directory.mkdir()
    document = json.loads(
        (packaged_dir("expectations") / f"{feed}.json").read_text(encoding="utf-8")
    )
    edit(document["expectations"])
    (directory / f"{feed}.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    return directory


def _run(home: Home, tmp_path: Path, feed: str, directory: Path) -> None:
    """Stage a clean delivery and run the suite read from ``directory`` over it."""
    path = write_csv(landing(home, feed) / "good.csv", header(feed), good_rows(feed, MONTH))
    staged = stage_delivery(FEEDS[feed], MONTH, [path], tmp_path / "staging.duckdb")
    reference = load_reference(home.reference)
    run_suite(
        load_suite(feed, directory=directory),
        staged.staging_db,
        months=[MONTH],
        partner_ids=reference.partner_ids,
        countries=reference.country_codes,
        present_columns=staged.present_columns,
        folder=f"landing/{feed}/{MONTH}",
    )


def test_a_misspelled_expectation_type_is_an_error_naming_the_check(
    home: Home, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def misspell(expectations: list[dict]) -> None:
        target = next(e for e in expectations if e["meta"]["check"] == "os_family_in_set")
        target["type"] = "expect_column_values_to_be_in_sett"

    directory = _suite_copy(tmp_path, "windows_share", misspell)
    # Reading the suite is plain JSON: it keeps all 17 expectations, typo included.
    assert len(load_suite("windows_share", directory=directory).expectations) == 17

    with pytest.raises(OemkpiError) as raised:
        _run(home, tmp_path, "windows_share", directory)

    assert str(raised.value) == (
        f"The suite {directory / 'windows_share.json'} has expectation types Great Expectations "
        "does not know: os_family_in_set (expect_column_values_to_be_in_sett); "
        "correct the type names."
    )
    # GX logs a traceback for it; the user reads the one sentence above instead.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.mark.parametrize(
    ("check", "kwarg", "replacement"),
    [
        ("country_in_reference", "value_set", ("valu_set", {"$PARAMETER": "countries"})),
        ("units_non_negative", "min_value", ("min_value", "zero")),
    ],
    ids=["misspelled-kwarg", "kwarg-of-wrong-type"],
)
def test_a_wrong_kwarg_is_an_error_naming_the_suite_and_check(
    home: Home,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    check: str,
    kwarg: str,
    replacement: tuple[str, object],
) -> None:
    type_of = {
        "country_in_reference": "expect_column_values_to_be_in_set",
        "units_non_negative": "expect_column_values_to_be_between",
    }

    def corrupt(expectations: list[dict]) -> None:
        kwargs = next(e for e in expectations if e["meta"]["check"] == check)["kwargs"]
        del kwargs[kwarg]
        kwargs[replacement[0]] = replacement[1]

    directory = _suite_copy(tmp_path, "windows_share", corrupt)

    with pytest.raises(OemkpiError) as raised:
        _run(home, tmp_path, "windows_share", directory)

    message = str(raised.value)
    assert message.startswith(
        f"The suite {directory / 'windows_share.json'}, check {check} "
        f"({type_of[check]}), cannot be loaded ("
    )
    assert message.endswith("); fix the expectation.")
    assert "\n" not in message
    # GX logs a traceback for it; the user reads the one sentence above instead.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


# -- (d) the validation page -------------------------------------------------------------

HOSTILE_SKU = "Aero&14 <Pro>"
HOSTILE_OS = "<script>alert(1)</script>"


def _rejected_windows_share(home: Home) -> DeliveryOutcome:
    feed = "windows_share"
    rows = good_rows(feed, MONTH)
    sku = header(feed).index("sku")
    rows[0][sku] = HOSTILE_SKU
    rows.append(list(rows[0]))  # the hostile SKU's key, twice
    rows[1][header(feed).index("os_family")] = HOSTILE_OS
    write_csv(landing(home, feed) / "bad.csv", header(feed), rows)
    return ingest(home, feed)


def test_the_validation_page_lists_every_check_and_escapes_feed_values(home: Home) -> None:
    outcome = _rejected_windows_share(home)
    assert outcome.status == "rejected"
    assert {c.check for c in outcome.checks if not c.passed} == {"os_family_in_set", "key_unique"}

    path = write_validation_page(home, outcome)

    assert path == home.validation_docs / "windows_share" / f"{MONTH}.html"
    assert path == validation_page_path(home, "windows_share", MONTH)
    page = path.read_text(encoding="utf-8")
    for check in outcome.checks:
        assert f'id="check-{check.check}"' in page
    assert "expect_compound_columns_to_be_unique" in page  # the expectation type is shown
    assert "bad.csv" in page and "rejected" in page
    # Feed values are text: escaped, never markup.
    assert "Aero&amp;14 &lt;Pro&gt;" in page
    assert HOSTILE_SKU not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    # Nothing but the page and the index, no temporary files left behind.
    assert sorted(p.relative_to(home.validation_docs).as_posix() for p in _files(home)) == [
        ".index.lock",
        "index.html",
        f"windows_share/{MONTH}.html",
    ]
    index = validation_index_path(home).read_text(encoding="utf-8")
    assert f'href="windows_share/{MONTH}.html"' in index
    assert "✗ rejected" in index
    # The rejected delivery heads the page, before the feeds' tables.
    rejected = index[index.index('<section id="sec-rejected">') : index.index("</section>")]
    assert f'<a href="windows_share/{MONTH}.html">windows_share {MONTH}</a>: ' in rejected
    assert index.index("sec-rejected") < index.index('<section id="sec-windows_share">')


def test_the_index_lists_every_page_in_the_folder_and_long_tables_are_cut(home: Home) -> None:
    outcome = _rejected_windows_share(home)
    key = next(c for c in outcome.checks if c.check == "key_unique")
    key.problems = key.problems * (MAX_PAGE_ROWS + 5)
    write_validation_page(home, outcome)
    backfill = [
        DeliveryOutcome("pc_shipments", month, "loaded", files=["a.csv"], rows=3)
        for month in ("2026-08", "2026-09")
    ]
    assert write_validation_pages(home, backfill) == [
        validation_page_path(home, "pc_shipments", m) for m in ("2026-08", "2026-09")
    ]
    (home.validation_docs / "pc_shipments" / "notes.txt").write_text("not a page")

    page = validation_page_path(home, "windows_share", MONTH).read_text(encoding="utf-8")
    index = validation_index_path(home).read_text(encoding="utf-8")

    assert page.count("<td><code>unique_key</code></td>") == MAX_PAGE_ROWS
    assert f"and {len(key.problems) - MAX_PAGE_ROWS} more problems" in page
    assert 'href="pc_shipments/2026-09.html"' in index
    assert 'href="pc_shipments/2026-08.html"' in index
    assert f'href="windows_share/{MONTH}.html"' in index
    assert "notes.txt" not in index
    assert "✓ loaded" in index


def test_the_page_path_is_checked_before_it_is_built(home: Home) -> None:
    with pytest.raises(OemkpiError):
        validation_page_path(home, "../etc", MONTH)
    with pytest.raises(OemkpiError):
        validation_page_path(home, "windows_share", "2026-10/../../x")


def _files(home: Home) -> list[Path]:
    return sorted(p for p in home.validation_docs.rglob("*") if p.is_file())


def _statements_of_a_suite_run(home: Home, tmp_path: Path) -> list[str]:
    """The SQL GX sends to DuckDB while it validates a windows_share delivery."""
    import sqlalchemy as sa

    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", remember)
    try:
        _run(home, tmp_path, "windows_share", packaged_dir("expectations"))
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", remember)
    return statements


def test_key_uniqueness_on_duckdb_counts_only_the_keys_whose_hash_repeats(
    home: Home, tmp_path: Path
) -> None:
    """GX's own SQL joins every row to a GROUP BY of the table (9 s at 10M rows); the
    provider in oemkpi.ingest.gx_engine must be the one GX picks for our engine."""
    statements = _statements_of_a_suite_run(home, tmp_path)
    uniqueness = [s for s in statements if "_num_rows" in s]
    assert uniqueness, statements
    assert all("hash(" in s and "repeated_keys" in s for s in uniqueness)


def test_a_set_of_values_on_duckdb_is_one_list_lookup_not_a_comparison_per_value(
    home: Home, tmp_path: Path
) -> None:
    """GX's ``IN (...)`` took 1.2 of the suite's 2.0 s at 10M rows; the set expectations
    (partner, country, segment, OS family, month) go through list_contains instead."""
    statements = [s.lower() for s in _statements_of_a_suite_run(home, tmp_path)]
    in_set = [s for s in statements if "in_set" in s]
    assert in_set, statements
    for column in ("partner_id", "country", "segment", "os_family", "month"):
        assert any(
            re.search(rf"not list_contains\(list_value\([^)]*\), {column}\)", s) for s in in_set
        ), column
    assert not any(re.search(r" not in \(", s) for s in statements)


def test_the_gx_engine_was_written_for_the_installed_versions() -> None:
    """oemkpi/ingest/gx_engine.py overrides GX internals; an upgrade of any of these
    packages must come with a look at those overrides (then update WRITTEN_FOR)."""
    from importlib.metadata import version

    from oemkpi.ingest.gx_engine import WRITTEN_FOR

    for package, minor in WRITTEN_FOR.items():
        assert version(package).startswith(f"{minor}."), (package, version(package), minor)


def test_a_check_row_counts_what_a_summary_entry_stands_for(home: Home) -> None:
    """1,000 listed problems and one entry standing for 5 more: the check's row says 1,005
    and the note 805 more than the page lists (it said 1,001 and 801)."""
    outcome = _rejected_windows_share(home)
    key = next(c for c in outcome.checks if c.check == "key_unique")
    listed = key.problems[0]
    key.problems = [listed] * 1000 + [summary_problem(listed.file, None, listed.rule, 5)]
    write_validation_page(home, outcome)
    page = validation_page_path(home, "windows_share", MONTH).read_text(encoding="utf-8")
    row = page.split('<a href="#check-key_unique">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">1,005</td>' in row
    assert f"and {1005 - MAX_PAGE_ROWS} more problems" in page


def test_a_cell_the_contract_could_not_read_is_not_called_empty_by_the_suite(
    home: Home,
) -> None:
    """'abc' in shipped_units reaches the suite as empty: its not-null check listed 'row 2
    ... is empty' of a cell holding 'abc', and the page's header (the record's count)
    disagreed with its checks' Problems column."""
    feed = "pc_shipments"
    rows = good_rows(feed, MONTH)
    units = header(feed).index("shipped_units")
    rows[0][units], rows[1][units] = "abc", ""  # unreadable, and truly empty
    write_csv(landing(home, feed) / "bad.csv", header(feed), rows)
    outcome = ingest(home, feed)
    assert outcome.status == "rejected"
    checks = {c.check: c for c in outcome.checks}
    assert [p.row for p in checks[CONTRACT_CHECK].problems] == [2]
    not_null = checks["shipped_units_not_null"]
    assert not not_null.passed and not_null.unexpected_count == 2  # GX's own count stays
    assert [(p.row, p.message.split(": ", 1)[1]) for p in not_null.problems] == [
        (3, "is empty; fill in the value and deliver again.")
    ]
    assert not_null.unread == 1
    write_validation_page(home, outcome)
    page = validation_page_path(home, feed, MONTH).read_text(encoding="utf-8")
    assert "· 2 problems</span>" in page
    section = page.split('id="check-shipped_units_not_null"', 1)[1].split("</section>", 1)[0]
    assert "1 of the rows it failed on is a cell the contract could not read" in section
    assert "row 2, column shipped_units: is empty" not in page
