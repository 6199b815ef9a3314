"""Hostile and broken deliveries: nothing dropped in silence, nothing read from outside the home.

Each case delivers real files into a home whose month already has a good
delivery in force, and asserts the exact sentence, what quarantine holds, and
that the earlier delivery stays in force. Limits are lowered through their
environment variables where a case would otherwise need hundreds of megabytes;
the 40 MB record and the 400 MB XLSX cell run at the defaults.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import duckdb
import pytest

from oemkpi.home import Home
from oemkpi.ingest import workbooks as workbook_helpers
from oemkpi.ingest.contract import FEEDS
from oemkpi.ingest.csv_files import Unreadable
from oemkpi.ingest.deliveries import ingest_delivery
from oemkpi.ingest.folder import read_folder
from oemkpi.ingest.limits import Limits
from oemkpi.ingest.outcomes import DeliveryOutcome
from oemkpi.ingest.workbooks import Sheet, Workbooks, close_helpers
from oemkpi.reference import load_reference
from oemkpi.warehouse import warehouse
from tests.feedfiles import good_rows, header, landing, snapshot, write_csv
from tests.hostile_files import Shared, repeated, write_raw_xlsx

FEED = "windows_share"
MONTH = "2026-10"
WHERE = f"landing/{FEED}/{MONTH}"
RECORD_ADVICE = "fix the row (a value that long is not data the contract knows) and deliver again."
NOT_A_FILE_ADVICE = (
    "put the file itself in the folder (not a link, folder, pipe or device) and deliver again."
)
XLSX_ADVICE = "deliver the sheet as CSV or Parquet, or split it into several workbooks."


def ingest(home: Home, log: list[str] | None = None) -> DeliveryOutcome:
    with warehouse(home.warehouse) as con:
        return ingest_delivery(
            con,
            home,
            FEED,
            MONTH,
            load_reference(home.reference),
            log=(log if log is not None else []).append,
        )


def in_force(home: Home) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(
            f"select {', '.join(FEEDS[FEED].column_names)} from {FEED} where month = ? "
            "order by all",
            [MONTH],
        ).fetchall()
    finally:
        con.close()


def recorded(home: Home) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(
            "select status, fingerprint, rows, problems from deliveries "
            "where feed = ? and month = ? order by checked_at",
            [FEED, MONTH],
        ).fetchall()
    finally:
        con.close()


@pytest.fixture
def loaded(home: Home) -> Home:
    """The home with a good delivery of the month in force; landing emptied again."""
    folder = landing(home, FEED, MONTH)
    write_csv(folder / "good.csv", header(FEED), good_rows(FEED, MONTH))
    assert ingest(home).status == "loaded"
    (folder / "good.csv").unlink()
    return home


def _rows_text() -> str:
    return "".join(",".join(r) + "\n" for r in good_rows(FEED, MONTH))


def _head() -> str:
    return ",".join(header(FEED)) + "\n"


def _quarantined(home: Home) -> dict[str, object]:
    folder = home.quarantine_dir(FEED, MONTH)
    return {
        p.name: json.loads(p.read_text("utf-8")) if p.name.endswith(".errors.json") else None
        for p in sorted(folder.iterdir())
    }


def _assert_rejected_earlier_stays(home: Home, outcome: DeliveryOutcome, before: list) -> None:
    assert outcome.status == "rejected"
    assert in_force(home) == before
    assert outcome.rows_in_force == len(before)


def _rejected(home: Home, before: list) -> list[str]:
    """Ingest the month, check it was rejected with the earlier rows in force; its sentences."""
    outcome = ingest(home)
    _assert_rejected_earlier_stays(home, outcome, before)
    return [p.message for p in outcome.problems]


# -- 1. no record dropped in silence ----------------------------------------------------------


@pytest.mark.parametrize("place", ["between two good rows", "last"])
def test_a_40_mb_record_is_named_at_the_default_limit(
    loaded: Home, tmp_path: Path, place: str
) -> None:
    """DuckDB's parallel reader drops a last record over its 32 MB buffer without a
    word, and skips one in the middle without a rejects row: both are named now."""
    before = in_force(loaded)
    lines = _rows_text().splitlines(keepends=True)
    big = f"{MONTH},acme,DE,consumer,{'X' * (40 << 20)},windows,5\n"
    body = lines[0] + big + "".join(lines[1:]) if place != "last" else "".join(lines) + big
    path = landing(loaded, FEED, MONTH) / "big.csv"
    path.write_text(_head() + body, encoding="utf-8")
    row = 3 if place != "last" else len(lines) + 2

    outcome = ingest(loaded)

    _assert_rejected_earlier_stays(loaded, outcome, before)
    assert [p.message for p in outcome.problems] == [
        f"{WHERE}/big.csv row {row}: the record is longer than the limit of 1 MiB "
        f"(OEMKPI_MAX_RECORD_BYTES); {RECORD_ADVICE}"
    ]
    assert outcome.rows == len(lines)  # every other row was read and checked
    documents = _quarantined(loaded)
    assert sorted(documents) == ["big.csv", "big.csv.errors.json"]
    assert (loaded.quarantine_dir(FEED, MONTH) / "big.csv").stat().st_size == path.stat().st_size


@pytest.mark.parametrize("place", ["first", "middle", "last", "last, no line break"])
def test_a_record_over_a_lowered_limit_is_named_wherever_it_is(
    loaded: Home, monkeypatch: pytest.MonkeyPatch, place: str
) -> None:
    monkeypatch.setenv("OEMKPI_MAX_RECORD_BYTES", "65536")
    before = in_force(loaded)
    lines = _rows_text().splitlines(keepends=True)
    big = f"{MONTH},acme,DE,consumer,{'X' * 200_000},windows,5"
    index = {"first": 0, "middle": 8}.get(place, len(lines))
    lines.insert(index, big + ("" if place == "last, no line break" else "\n"))
    (landing(loaded, FEED, MONTH) / "big.csv").write_text(_head() + "".join(lines), "utf-8")

    assert _rejected(loaded, before) == [
        f"{WHERE}/big.csv row {index + 2}: the record is longer than the limit of 64 KiB "
        f"(OEMKPI_MAX_RECORD_BYTES); {RECORD_ADVICE}"
    ]


def test_a_good_row_after_five_million_blank_lines_is_loaded(loaded: Home) -> None:
    """Blank lines are ignored wherever they are (SPEC section 3); DuckDB counts a run of
    them into the next record's size and rejects it as too long."""
    lines = _rows_text().splitlines(keepends=True)
    text = _head() + lines[0] + "\n" * 5_000_000 + "".join(lines[1:]) + "\n" * 3
    (landing(loaded, FEED, MONTH) / "blank.csv").write_text(text, encoding="utf-8")

    outcome = ingest(loaded)

    assert (outcome.status, outcome.problems, outcome.rows) == ("loaded", [], len(lines))
    expected = sorted(
        (r[0], r[1], r[2], r[3], r[4], r[5], int(r[6])) for r in good_rows(FEED, MONTH)
    )
    assert in_force(loaded) == expected


def test_a_latin1_byte_in_an_ignored_column_rejects_the_delivery_with_its_row(
    loaded: Home,
) -> None:
    before = in_force(loaded)
    lines = _rows_text().splitlines()
    data = (",".join(header(FEED)) + ",note\n").encode()
    data += "".join(f"{line},ok\n" for line in lines[:5]).encode()
    data += f"{lines[5]},caf\xe9\n".encode("latin-1")
    data += "".join(f"{line},ok\n" for line in lines[6:]).encode()
    (landing(loaded, FEED, MONTH) / "latin1.csv").write_bytes(data)

    outcome = ingest(loaded)

    _assert_rejected_earlier_stays(loaded, outcome, before)
    assert [(p.row, p.rule) for p in outcome.problems] == [(7, "encoding")]
    assert outcome.problems[0].message == (
        f"{WHERE}/latin1.csv row 7: value '{lines[5]},caf?' is not UTF-8 text; save the file "
        "as UTF-8 and deliver again."
    )


def test_a_latin1_byte_in_an_ignored_column_between_contract_columns(loaded: Home) -> None:
    """An unread column between read ones with a bad byte made DuckDB fail with an
    internal error that ends the database: every column is read, so it is one problem."""
    before = in_force(loaded)
    head = header(FEED)
    rows = good_rows(FEED, MONTH)
    data = (",".join([*head[:2], "note", *head[2:]]) + "\n").encode()
    for number, row in enumerate(rows):
        note = b"caf\xe9" if number == 3 else b"ok"
        data += ",".join(row[:2]).encode() + b"," + note + b"," + ",".join(row[2:]).encode()
        data += b"\n"
    (landing(loaded, FEED, MONTH) / "middle.csv").write_bytes(data)

    outcome = ingest(loaded)

    _assert_rejected_earlier_stays(loaded, outcome, before)
    assert [(p.row, p.rule) for p in outcome.problems] == [(5, "encoding")]
    # The warehouse is as usable as before.
    write_csv(landing(loaded, FEED, MONTH) / "middle.csv", header(FEED), rows)
    assert ingest(loaded).status == "loaded"


def test_a_file_with_crlf_and_lf_lines_by_turns_is_loaded_whole(loaded: Home) -> None:
    """Two exports pasted together: SPEC section 3 allows either ending; DuckDB read
    such a file as 'state machine reached an invalid state', naming no row."""
    lines = _rows_text().splitlines()
    text = _head().replace("\n", "\r\n") + "".join(
        line + ("\r\n" if number % 3 else "\n") for number, line in enumerate(lines)
    )
    (landing(loaded, FEED, MONTH) / "pasted.csv").write_bytes(text.encode())

    outcome = ingest(loaded)

    assert (outcome.status, outcome.problems, outcome.rows) == ("loaded", [], len(lines))
    expected = sorted(
        (r[0], r[1], r[2], r[3], r[4], r[5], int(r[6])) for r in good_rows(FEED, MONTH)
    )
    assert in_force(loaded) == expected


def test_a_row_ending_in_a_carriage_return_alone_is_named(loaded: Home) -> None:
    before = in_force(loaded)
    lines = _rows_text().splitlines()
    data = _head() + "\n".join(lines[:4]) + "\r" + "\n".join(lines[4:]) + "\n"
    (landing(loaded, FEED, MONTH) / "mac.csv").write_bytes(data.encode())

    assert _rejected(loaded, before) == [
        f"{WHERE}/mac.csv row 5: the row ends in a carriage return alone (old Mac line "
        "endings), which a CSV reader takes as part of the row; save the file with Windows "
        "(CRLF) or Unix (LF) line endings and deliver again."
    ]
    documents = _quarantined(loaded)
    assert sorted(documents) == ["mac.csv", "mac.csv.errors.json"]
    assert [(p["row"], p["rule"]) for p in documents["mac.csv.errors.json"]["problems"]] == [
        (5, "line_ending")
    ]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_units_too_large_to_sum_are_rejected_at_the_door(loaded: Home, suffix: str) -> None:
    """A value that fits a 64-bit integer but whose month's sum does not: it was loaded,
    then every run failed in kpi_sums ('INT128 ... out of range for INT64') with the bad
    delivery in force and no quarantine; backfills over the month failed too."""
    before = in_force(loaded)
    rows = good_rows(FEED, MONTH)
    units = FEEDS[FEED].column_names.index("units")
    rows[2][units] = "9223372036854775807"
    rows[3][units] = "9999999999"  # the largest a row may hold: fine
    folder = landing(loaded, FEED, MONTH)
    if suffix == ".csv":
        write_csv(folder / "big.csv", header(FEED), rows)
    else:
        con = duckdb.connect()
        columns = ", ".join(
            f"{v!r}::bigint as {c}" if c == "units" else f"{v!r} as {c}"
            for c, v in zip(header(FEED), rows[0], strict=True)
        )
        con.execute(f"create table t as select {columns} limit 0")
        con.executemany(
            f"insert into t values ({', '.join('?' * len(header(FEED)))})",
            [
                [int(v) if c == "units" else v for c, v in zip(header(FEED), r, strict=True)]
                for r in rows
            ],
        )
        con.execute(f"copy t to '{folder / 'big.parquet'}' (format parquet)")
        con.close()

    assert _rejected(loaded, before) == [
        f"{WHERE}/big{suffix} row 4, column units: value '9223372036854775807' is larger than a "
        "row may hold (up to 9,999,999,999 units, 15 digits of dollars); check the value and "
        "deliver again."
    ]


def test_what_lies_in_landing_where_no_run_reads_it_is_named(loaded: Home) -> None:
    """A file dropped beside the month folders, a month folder named '2026-10 ' or
    '2026-10.bak', a feed folder misspelt: each was read past in silence (a month's APJ
    rows went missing with exit 0). Each is one warning, in the step of the feed it is
    most like; the month's delivery itself loads."""
    folder = landing(loaded, FEED, MONTH)
    write_csv(folder / "emea.csv", header(FEED), good_rows(FEED, MONTH)[:3])
    feed_dir = loaded.landing / FEED
    write_csv(feed_dir / "apj.csv", header(FEED), good_rows(FEED, MONTH)[3:])
    for name in (f"{MONTH} ", f"{MONTH}.bak", "2026-13"):
        (feed_dir / name).mkdir()
    (feed_dir / ".gitkeep").write_text("", encoding="utf-8")
    (loaded.landing / "windows_shares" / MONTH).mkdir(parents=True)
    (loaded.landing / "old").mkdir()
    log: list[str] = []

    outcome = ingest(loaded, log)

    assert (outcome.status, outcome.rows) == ("loaded", 3)
    advice = (
        "move what belongs to a month into landing/<feed>/<YYYY-MM>/ and run that month "
        "again, or remove it."
    )
    assert [line for line in log if line.startswith("warning:")] == [
        f"warning: landing/{FEED}/{MONTH} : is not a month folder (YYYY-MM), so nothing in it "
        f"is read; {advice}",
        f"warning: landing/{FEED}/{MONTH}.bak: is not a month folder (YYYY-MM), so nothing in "
        f"it is read; {advice}",
        f"warning: landing/{FEED}/2026-13: is not a month folder (YYYY-MM), so nothing in it "
        f"is read; {advice}",
        f"warning: landing/{FEED}/apj.csv: is not in a month folder, so it is not read; {advice}",
        f"warning: landing/windows_shares: is not a feed's folder, so nothing in it is read (is "
        f"it {FEED}?); move its month folders into the feed's folder "
        "(landing/<feed>/<YYYY-MM>/) and run those months again, or remove it.",
    ]
    # A folder like no feed is named once, by the first feed's step.
    with warehouse(loaded.warehouse) as con:
        log = []
        ingest_delivery(
            con, loaded, "pc_shipments", MONTH, load_reference(loaded.reference), log=log.append
        )
    assert [line for line in log if "landing/old" in line] == [
        "warning: landing/old: is not a feed's folder, so nothing in it is read; move its month "
        "folders into the feed's folder (landing/<feed>/<YYYY-MM>/) and run those months "
        "again, or remove it."
    ]


def test_what_a_killed_run_left_in_staging_is_removed_once_an_hour_old(loaded: Home) -> None:
    """A run killed while it read a workbook left a copy of a partner's sheet in staging,
    for good."""
    old_sheet = loaded.staging / "xlsx-dead0001" / "sheet-0.parquet"
    old_sheet.parent.mkdir(parents=True)
    old_sheet.write_bytes(b"PAR1")
    old_db = loaded.staging / "windows_share-2026-10-dead0002.duckdb"
    old_db.write_bytes(b"")
    fresh = loaded.staging / "xlsx-busy0003"
    fresh.mkdir()
    hour_ago = time.time() - 3601
    for path in (old_sheet.parent, old_db):
        os.utime(path, (hour_ago, hour_ago))
    write_csv(landing(loaded, FEED, MONTH) / "good.csv", header(FEED), good_rows(FEED, MONTH))

    assert ingest(loaded).status == "loaded"

    assert sorted(p.name for p in loaded.staging.iterdir()) == ["xlsx-busy0003"]


# -- 2. only regular files are read -----------------------------------------------------------


SECRET = "OEMKPI_TEST_SECRET=hunter2-f00d"


def _secret_file(tmp_path: Path) -> Path:
    """A file outside the home that a link could point at (like /proc/self/environ)."""
    path = tmp_path / "outside" / "environ.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_head() + f"{MONTH},acme,DE,consumer,{SECRET},windows,5\n", "utf-8")
    return path


def _nothing_of_the_secret_anywhere(home: Home, log: list[str]) -> None:
    for path in home.root.rglob("*"):
        if home.landing in path.parents:
            continue  # where the test put it
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path
    assert not any(SECRET in line for line in log)


def _make_entry(kind: str, path: Path, tmp_path: Path) -> None:
    if kind == "link to a file":
        path.symlink_to(_secret_file(tmp_path))
    elif kind == "link to a folder":
        path.symlink_to(_secret_file(tmp_path).parent, target_is_directory=True)
    elif kind == "named pipe":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
        (path / "inner.csv").write_text(_head() + SECRET, "utf-8")
    elif kind == "device":
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            pytest.skip("creating a device node needs CAP_MKNOD (root), which this run lacks")


ENTRY_KINDS = {
    "link to a file": "a symbolic link",
    "link to a folder": "a symbolic link",
    "named pipe": "a named pipe",
    "folder": "a folder",
    "device": "a device",
}


@pytest.mark.parametrize("kind", sorted(ENTRY_KINDS))
def test_an_entry_that_is_not_a_regular_file_is_refused_and_never_read(
    loaded: Home, tmp_path: Path, kind: str
) -> None:
    before = in_force(loaded)
    folder = landing(loaded, FEED, MONTH)
    write_csv(folder / "good.csv", header(FEED), good_rows(FEED, MONTH))
    _make_entry(kind, folder / "extra.csv", tmp_path)
    log: list[str] = []

    outcome = ingest(loaded, log)

    _assert_rejected_earlier_stays(loaded, outcome, before)
    sentence = (
        f"{WHERE}/extra.csv: is {ENTRY_KINDS[kind]}, not a regular file, and is not read; "
        f"{NOT_A_FILE_ADVICE}"
    )
    assert [p.message for p in outcome.problems] == [sentence]
    documents = _quarantined(loaded)
    # Only the file that was read is copied; the refused entry gets its errors document.
    assert sorted(documents) == ["extra.csv.errors.json", "good.csv", "good.csv.errors.json"]
    assert [p["message"] for p in documents["extra.csv.errors.json"]["problems"]] == [sentence]
    good = documents["good.csv.errors.json"]
    assert (good["problems"], good["delivery_problem_count"]) == ([], 1)
    assert good["note"].startswith("No problem was found in this file;")
    _nothing_of_the_secret_anywhere(loaded, log)


def test_a_month_folder_that_is_a_link_is_rejected_unread(loaded: Home, tmp_path: Path) -> None:
    before = in_force(loaded)
    folder = landing(loaded, FEED, MONTH)
    folder.rmdir()
    folder.symlink_to(_secret_file(tmp_path).parent, target_is_directory=True)
    log: list[str] = []

    outcome = ingest(loaded, log)

    _assert_rejected_earlier_stays(loaded, outcome, before)
    sentence = (
        f"{WHERE}: is a symbolic link, so nothing in it is read; deliver the files into a "
        "folder of their own, not a link to one, and deliver again."
    )
    assert [p.message for p in outcome.problems] == [sentence]
    documents = _quarantined(loaded)
    assert list(documents) == ["delivery.errors.json"]
    assert [p["message"] for p in documents["delivery.errors.json"]["problems"]] == [sentence]
    _nothing_of_the_secret_anywhere(loaded, log)


def test_landing_itself_may_be_a_link(loaded: Home, tmp_path: Path) -> None:
    """$OEMKPI_HOME or landing/ being a mount or a link is the operator's choice."""
    moved = tmp_path / "shared-landing"
    loaded.landing.rename(moved)
    loaded.landing.symlink_to(moved, target_is_directory=True)
    write_csv(landing(loaded, FEED, MONTH) / "good.csv", header(FEED), good_rows(FEED, MONTH))

    assert ingest(loaded).status == "loaded"


def test_a_delivery_over_the_byte_limit_is_rejected_unread(
    loaded: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OEMKPI_MAX_DELIVERY_BYTES", "1000")
    before = in_force(loaded)
    folder = landing(loaded, FEED, MONTH)
    write_csv(folder / "a.csv", header(FEED), good_rows(FEED, MONTH))
    write_csv(folder / "b.csv", header(FEED), good_rows(FEED, MONTH))
    size = (folder / "a.csv").stat().st_size * 2

    assert _rejected(loaded, before) == [
        f"{WHERE}: the delivery's 2 files hold {size / 1024:.1f} KiB, more than the limit of "
        "1000 bytes per delivery (OEMKPI_MAX_DELIVERY_BYTES), so none of it is read; split the "
        "month's files into smaller deliveries or, if this machine can take it, raise the limit."
    ]
    assert sorted(_quarantined(loaded)) == ["a.csv.errors.json", "b.csv.errors.json"]


# -- 3. XLSX within bounds --------------------------------------------------------------------


def _sheet_rows() -> list[list[str]]:
    return [header(FEED), *good_rows(FEED, MONTH)]


def _bomb(path: Path, bomb: str) -> Path:
    if bomb == "a cell at XFD1048576":
        return write_raw_xlsx(path, _sheet_rows(), far_cell="XFD1048576")
    rows: list[list[str | Shared]] = [header(FEED)]
    rows += [[MONTH, "acme", "DE", "consumer", Shared(0), "windows", "5"]] * 400
    return write_raw_xlsx(path, rows, [repeated(b"Q", 1 << 20)])


def _sheet_values(sheet: Sheet) -> list[tuple[str, ...]]:
    with duckdb.connect() as con:
        return con.execute("select * from read_parquet(?)", [str(sheet.parquet)]).fetchall()


def test_an_xlsx_with_a_400_mb_cell_is_refused_from_its_zip_directory(loaded: Home) -> None:
    before = in_force(loaded)
    rows: list[list[str | Shared]] = [list(r) for r in _sheet_rows()]
    rows[1][4] = Shared(0)
    path = write_raw_xlsx(
        landing(loaded, FEED, MONTH) / "big.xlsx", rows, [repeated(b"A", 400 << 20)]
    )
    assert path.stat().st_size < 1 << 20

    assert _rejected(loaded, before) == [
        f"{WHERE}/big.xlsx: its first sheet decompresses to 400 MiB of XML, more than the limit "
        f"of 256 MiB per sheet (OEMKPI_MAX_XLSX_SHEET_BYTES), so it is not read; {XLSX_ADVICE}"
    ]
    assert sorted(_quarantined(loaded)) == ["big.xlsx", "big.xlsx.errors.json"]


@pytest.mark.parametrize("bomb", ["one long string in every cell", "a cell at XFD1048576"])
def test_an_xlsx_that_needs_too_much_memory_is_one_sentence_not_an_abort(
    loaded: Home, monkeypatch: pytest.MonkeyPatch, bomb: str
) -> None:
    """Small files the zip directory cannot tell apart: the reader holds a copy of the
    string per cell, or the whole used range; in its own process it fails alone."""
    monkeypatch.setenv("OEMKPI_MAX_XLSX_MEMORY_BYTES", str(256 << 20))
    before = in_force(loaded)
    path = _bomb(landing(loaded, FEED, MONTH) / "bomb.xlsx", bomb)
    assert path.stat().st_size < 64 << 10

    assert _rejected(loaded, before) == [
        f"{WHERE}/bomb.xlsx: its first sheet needs more than 256 MiB of memory to read "
        f"(OEMKPI_MAX_XLSX_MEMORY_BYTES), so it is not read; {XLSX_ADVICE}"
    ]


def test_one_helper_process_reads_the_workbooks_of_one_feed_after_another(
    tmp_path: Path,
) -> None:
    """A feed step's helper waits for the next feed's workbooks: its imports are paid once."""
    close_helpers()
    first = write_raw_xlsx(tmp_path / "first.xlsx", _sheet_rows())
    second = write_raw_xlsx(tmp_path / "second.xlsx", _sheet_rows()[:3])
    expected = [tuple(row) for row in good_rows(FEED, MONTH)]

    books = Workbooks(tmp_path / "a", Limits())
    books.prepare([first])
    (waiting,) = workbook_helpers._IDLE
    pid = waiting.process.pid
    books.close()
    others = Workbooks(tmp_path / "b", Limits())
    others.prepare([second])

    assert [h.process.pid for h in workbook_helpers._IDLE] == [pid]
    assert books.sheet(first).header == others.sheet(second).header == header(FEED)
    assert _sheet_values(others.sheet(second)) == expected[:2]
    assert _sheet_values(Workbooks(tmp_path / "c", Limits()).sheet(first)) == expected
    close_helpers()
    assert waiting.process.returncode == 0  # it ended when its standard input closed


@pytest.mark.parametrize("bomb", ["one long string in every cell", "a cell at XFD1048576"])
def test_the_workbooks_after_one_that_ran_out_of_memory_are_read_by_a_new_helper(
    tmp_path: Path, bomb: str
) -> None:
    close_helpers()
    good = write_raw_xlsx(tmp_path / "good.xlsx", _sheet_rows())
    bad = _bomb(tmp_path / "bomb.xlsx", bomb)
    after = write_raw_xlsx(tmp_path / "after.xlsx", _sheet_rows())
    books = Workbooks(tmp_path / "xlsx", Limits(xlsx_memory_bytes=256 << 20))

    books.prepare([good, bad, after])

    with pytest.raises(Unreadable) as refused:
        books.sheet(bad)
    assert refused.value.rule == "xlsx_too_large"
    expected = [tuple(row) for row in good_rows(FEED, MONTH)]
    assert _sheet_values(books.sheet(good)) == _sheet_values(books.sheet(after)) == expected
    # The helper that read the last workbook waits for the next job, and takes it.
    (waiting,) = workbook_helpers._IDLE
    assert waiting.alive()
    assert _sheet_values(Workbooks(tmp_path / "again", books.limits).sheet(good)) == expected
    close_helpers()


def test_an_xlsx_cell_over_the_record_limit_is_named_with_its_row_and_column(
    loaded: Home,
) -> None:
    before = in_force(loaded)
    rows: list[list[str | Shared]] = [list(r) for r in _sheet_rows()]
    rows[4][4] = Shared(0)
    write_raw_xlsx(landing(loaded, FEED, MONTH) / "cell.xlsx", rows, ["S" * (2 << 20)])

    assert _rejected(loaded, before) == [
        f"{WHERE}/cell.xlsx row 5, column sku: the cell holds 2 MiB, more than the limit of "
        f"1 MiB per cell (OEMKPI_MAX_RECORD_BYTES); {RECORD_ADVICE}"
    ]


def test_a_good_xlsx_written_by_hand_loads(loaded: Home) -> None:
    write_raw_xlsx(landing(loaded, FEED, MONTH) / "good.xlsx", _sheet_rows())

    outcome = ingest(loaded)

    assert (outcome.status, outcome.rows) == ("loaded", len(good_rows(FEED, MONTH)))
    assert not list(loaded.staging.glob("xlsx-*"))  # the sheets read were removed


def test_an_xlsx_whose_first_sheet_is_hidden_is_refused_not_read(loaded: Home) -> None:
    """The contract reads the first sheet; a hidden first sheet (an old copy Excel does
    not show) was loaded in silence while the data sat on the visible second sheet."""
    import xlsxwriter

    before = in_force(loaded)
    path = landing(loaded, FEED, MONTH) / "two.xlsx"
    book = xlsxwriter.Workbook(str(path))
    old, data = book.add_worksheet("old"), book.add_worksheet("data")
    for sheet, rows in ((old, _sheet_rows()[:3]), (data, _sheet_rows())):
        for r, row in enumerate(rows):
            sheet.write_row(r, 0, row)
    data.activate()
    old.hide()
    book.close()

    assert _rejected(loaded, before) == [
        f"{WHERE}/two.xlsx: its first sheet ('old') is hidden, so the workbook is not read: the "
        "contract reads the first sheet, and a hidden one is seldom the data; delete the hidden "
        "sheet or put the data on the workbook's first sheet, and deliver again."
    ]


def test_a_workbook_with_its_data_on_the_second_sheet_says_only_the_first_is_read(
    loaded: Home,
) -> None:
    import xlsxwriter

    before = in_force(loaded)
    path = landing(loaded, FEED, MONTH) / "second.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("notes")
    data = book.add_worksheet("data")
    for r, row in enumerate(_sheet_rows()):
        data.write_row(r, 0, row)
    book.close()

    assert _rejected(loaded, before) == [
        f"{WHERE}/second.xlsx: the first sheet is empty (only the first sheet is read); "
        "deliver a file with a header row and data."
    ]


def test_a_password_protected_workbook_says_so(loaded: Home) -> None:
    """Excel saves a workbook with a password as an OLE2 compound file (the XLSX encrypted
    inside), like an old .xls: it said 'not a readable XLSX workbook (File is not a zip
    file)'. Here the file starts as such a compound file does."""
    before = in_force(loaded)
    header_block = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    (landing(loaded, FEED, MONTH) / "locked.xlsx").write_bytes(header_block + bytes(4096))

    assert _rejected(loaded, before) == [
        f"{WHERE}/locked.xlsx: it is a password-protected workbook or an old .xls file, not an "
        "XLSX workbook that can be read; save it as .xlsx without a password (or as CSV) and "
        "deliver again."
    ]


def test_a_parquet_month_as_a_time_zone_aware_timestamp_is_read_in_utc(
    loaded: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark writes timestamps time-zone aware; the month's first day at 00:00 UTC read as
    '2026-10-01 00:00:00+00' (or the machine's zone), which is no month."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("TZ", "Europe/Berlin")
    rows = good_rows(FEED, MONTH)
    first = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    columns = [pa.array([first] * len(rows), pa.timestamp("us", tz="UTC"))]
    columns += [pa.array([r[i] for r in rows]) for i in range(1, len(header(FEED)) - 1)]
    columns.append(pa.array([int(r[-1]) for r in rows]))
    pq.write_table(
        pa.table(columns, names=header(FEED)), landing(loaded, FEED, MONTH) / "s.parquet"
    )

    outcome = ingest(loaded)

    assert (outcome.status, outcome.problems, outcome.rows) == ("loaded", [], len(rows))


def test_a_parquet_with_two_columns_named_alike_but_for_case_is_rejected(loaded: Home) -> None:
    """'Units' and 'units' are two columns of the file; DuckDB exposed the second as
    'units_1', so the first won in silence (a CSV header like it is rejected)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    before = in_force(loaded)
    rows = good_rows(FEED, MONTH)
    columns = [pa.array([r[i] for r in rows]) for i in range(len(header(FEED)) - 1)]
    units = [int(r[-1]) for r in rows]
    table = pa.table(
        [*columns, pa.array(units), pa.array([1] * len(rows))],
        names=[*header(FEED)[:-1], "Units", "units"],
    )
    pq.write_table(table, landing(loaded, FEED, MONTH) / "alike.parquet")

    assert _rejected(loaded, before) == [
        f"{WHERE}/alike.parquet row 1, column units: the header names column units twice (also "
        "column 7); keep one column of that name and deliver again."
    ]


def test_a_parquet_column_over_the_limit_is_refused_from_its_footer(
    loaded: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 16 KB Parquet file can hold a 400 MB value (DuckDB then ran out of memory at a
    2 GB peak); the footer says how large each column of each row group is."""
    import polars as pl

    monkeypatch.setenv("OEMKPI_MAX_PARQUET_COLUMN_BYTES", str(64 << 10))
    before = in_force(loaded)
    rows = good_rows(FEED, MONTH)
    rows[0][4] = "P" * (1 << 20)
    frame = pl.DataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(header(FEED))}
    ).with_columns(pl.col("units").cast(pl.Int64))
    frame.write_parquet(landing(loaded, FEED, MONTH) / "big.parquet")

    assert _rejected(loaded, before) == [
        f"{WHERE}/big.parquet: its column sku decompresses to 1 MiB in one row group, more than "
        "the limit of 64 KiB (OEMKPI_MAX_PARQUET_COLUMN_BYTES), so it is not read; write "
        "the file with smaller row groups (for example 100,000 rows each) and deliver again."
    ]


# -- 9. a delivery changing while it is read --------------------------------------------------


class _Appender(threading.Thread):
    """Appends good rows with new SKUs to a delivery file until stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            while not self.stop.is_set():
                out.write(f"{MONTH},acme,DE,consumer,LATE-{self.written},windows,7\n")
                out.flush()
                self.written += 1
                time.sleep(0.001)


def test_a_delivery_written_while_it_is_read_is_left_alone_and_the_earlier_stays(
    loaded: Home,
) -> None:
    before = in_force(loaded)
    before_records = recorded(loaded)
    path = write_csv(landing(loaded, FEED, MONTH) / "slow.csv", header(FEED), good_rows(FEED))
    appender = _Appender(path)
    appender.start()
    try:
        outcome = ingest(loaded)
    finally:
        appender.stop.set()
        appender.join()

    assert appender.written > 0
    assert (outcome.status, outcome.problems, outcome.quarantine) == ("changed", [], None)
    assert outcome.summary() == (
        f"{MONTH}: the delivery changed while it was read, so nothing of it was loaded or "
        f"quarantined and the {len(before)} rows in force stay; run the month again once its "
        "files are complete"
    )
    assert in_force(loaded) == before
    assert recorded(loaded) == before_records
    assert not loaded.quarantine_dir(FEED, MONTH).exists()

    # Once it is complete, it is read, and the fingerprint recorded is the one read.
    outcome = ingest(loaded)
    assert (outcome.status, outcome.rows) == ("loaded", len(good_rows(FEED)) + appender.written)
    fingerprint = read_folder(landing(loaded, FEED, MONTH)).fingerprint()
    assert outcome.fingerprint == fingerprint
    assert recorded(loaded)[-1][:2] == ("loaded", fingerprint)


def test_a_hidden_file_is_left_out_with_a_warning_not_silently(loaded: Home) -> None:
    """'..emea.csv' (a renamed or half-copied file) dropped its rows without a word."""
    folder = landing(loaded, FEED, MONTH)
    write_csv(folder / "good.csv", header(FEED), good_rows(FEED, MONTH))
    write_csv(folder / "..emea.csv", header(FEED), good_rows(FEED, MONTH))
    write_csv(folder / "~$book.csv", header(FEED), good_rows(FEED, MONTH))
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    log: list[str] = []

    outcome = ingest(loaded, log)

    assert outcome.status == "loaded"
    assert [w.message for w in outcome.warnings] == [
        f"{WHERE}/..emea.csv: the file is not part of the delivery: its name starts with '.' "
        "(hidden); rename it if it belongs to the delivery, else nothing to do.",
        f"{WHERE}/~$book.csv: the file is not part of the delivery: its name starts with '~$' "
        "(a workbook still open in Office); rename it if it belongs to the delivery, else "
        "nothing to do.",
    ]
    assert f"warning: {outcome.warnings[0].message}" in log


# -- 10. control characters in names ----------------------------------------------------------


def test_a_file_name_with_a_line_break_is_read_and_named_escaped(loaded: Home) -> None:
    name = "emea\nrejected: pc_shipments 2026-10.csv"
    write_csv(landing(loaded, FEED, MONTH) / name, header(FEED), good_rows(FEED, MONTH))
    log: list[str] = []

    outcome = ingest(loaded, log)

    assert outcome.status == "loaded"
    escaped = "emea\\x0arejected: pc_shipments 2026-10.csv"
    assert outcome.files == [escaped]
    assert [w.message for w in outcome.warnings] == [
        f"{WHERE}/{escaped}: the file name holds control characters (shown escaped); nothing "
        "to do now; rename the file without control characters next time."
    ]
    assert all("\n" not in line for line in log)
    assert snapshot(landing(loaded, FEED, MONTH))  # landing untouched and still there
