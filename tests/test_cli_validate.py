"""``oemkpi validate FILE --feed NAME``: the verdict a delivery would get, changing nothing.

Run as a user runs it (the installed console script, in its own process):
exit 0 when the file would be accepted, 1 when it would be rejected (every
problem printed with row, column and value), 2 for a usage mistake, always
one sentence and never a traceback. Nothing is loaded or quarantined and
landing is only read.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oemkpi.home import Home
from oemkpi.ingest.contract import FEEDS
from tests.feedfiles import good_rows, header, landing, snapshot, write_csv

OEMKPI = Path(sys.executable).with_name("oemkpi")
FEED = "windows_share"
MONTH = "2026-10"


def oemkpi(home: Home, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OEMKPI), "--home", str(home.root), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _state(home: Home) -> dict[str, object]:
    """Everything under the home except reference data and the scratch staging folder."""
    return {
        "warehouse": home.warehouse.exists(),
        "quarantine": (home.root / "quarantine").exists(),
        "validation": home.validation_docs.exists(),
        "staging": sorted(p.name for p in home.staging.iterdir()) if home.staging.exists() else [],
        "landing": snapshot(home.landing) if home.landing.exists() else {},
    }


def test_a_clean_file_would_be_accepted(home: Home, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "inbox" / "share.csv", header(FEED), good_rows(FEED, MONTH))
    before = _state(home)

    done = oemkpi(
        home, "validate", "inbox/share.csv", "--feed", FEED, "--month", MONTH, cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"inbox/share.csv: would be accepted, {len(good_rows(FEED))} rows for {FEED} {MONTH}.\n"
    )
    assert "Traceback" not in done.stderr
    assert _state(home) == before
    assert path.is_file()


def test_a_bad_file_would_be_rejected_with_every_problem_and_nothing_written(
    home: Home, tmp_path: Path
) -> None:
    rows = good_rows(FEED, MONTH)
    columns = FEEDS[FEED].column_names
    rows[0][columns.index("units")] = "1,234"  # parser: not a plain number
    rows[2][columns.index("os_family")] = "macos"  # suite: not in the set
    rows[4][columns.index("country")] = "XX"  # suite: not in reference
    rows[5][columns.index("sku")] = "Aero&14 <Pro>"  # fine: any printable SKU
    folder = landing(home, FEED, MONTH)
    write_csv(folder / "share.csv", header(FEED), rows)
    before = _state(home)

    # The month comes from the file's folder, as in landing.
    done = oemkpi(home, "validate", str(folder / "share.csv"), "--feed", FEED, cwd=home.root)

    name = f"landing/{FEED}/{MONTH}/share.csv"
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"{name} row 2, column units: value '1,234' is not a plain number; write plain numbers "
        "like 1234 or 1234.5 (no thousands separators, currency signs or text) and deliver again.",
        f"{name} row 4, column os_family: value 'macos' is not one of windows, chromeos, linux, "
        "freedos, other; use one of the allowed values and deliver again.",
        f"{name} row 6, column country: value 'XX' is not a country in reference/countries.csv; "
        "use a two-letter code from reference/countries.csv, or add the country there first.",
        # The unreadable number leaves units empty, which the suite's not-null check counts.
        f"{folder / 'share.csv'}: would be rejected, 3 problems (4 checks failed) "
        f"for {FEED} {MONTH}.",
    ]
    assert "Traceback" not in done.stderr
    assert _state(home) == before  # no warehouse, no quarantine, landing as it was


def test_one_problem_is_one_problem(home: Home, tmp_path: Path) -> None:
    rows = good_rows(FEED, MONTH)
    rows[1][FEEDS[FEED].column_names.index("os_family")] = "macos"
    write_csv(tmp_path / "share.csv", header(FEED), rows)

    done = oemkpi(home, "validate", "share.csv", "--feed", FEED, "--month", MONTH, cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "share.csv row 3, column os_family: value 'macos' is not one of windows, chromeos, "
        "linux, freedos, other; use one of the allowed values and deliver again.",
        f"share.csv: would be rejected, 1 problem (1 check failed) for {FEED} {MONTH}.",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["validate", "share.csv", "--feed", "window_share"],
            "oemkpi: There is no feed called 'window_share'; use one of "
            + ", ".join(FEEDS)
            + ".\n",
        ),
        (
            ["validate", "nowhere.csv", "--feed", FEED, "--month", MONTH],
            "oemkpi: There is no file nowhere.csv; give the path of a CSV, Parquet or XLSX file.\n",
        ),
        (
            ["validate", "share.csv", "--feed", FEED],
            "oemkpi: Cannot tell which month share.csv is for; give it with --month YYYY-MM.\n",
        ),
        (
            ["validate", "share.csv", "--feed", FEED, "--month", "2026-13"],
            "oemkpi: The month '2026-13' is not a month; write it as YYYY-MM, e.g. 2026-10.\n",
        ),
    ],
    ids=["unknown-feed", "missing-file", "no-month", "bad-month"],
)
def test_a_usage_mistake_is_one_sentence_and_exit_2(
    home: Home, tmp_path: Path, args: list[str], message: str
) -> None:
    write_csv(tmp_path / "share.csv", header(FEED), good_rows(FEED, MONTH))
    before = _state(home)

    done = oemkpi(home, *args, cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr == message
    assert done.stdout == ""
    assert _state(home) == before


def test_a_missing_option_is_an_argparse_usage_error(home: Home, tmp_path: Path) -> None:
    done = oemkpi(home, "validate", "share.csv", cwd=tmp_path)

    assert done.returncode == 2
    assert "the following arguments are required: --feed" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bug_is_one_sentence_and_exit_2_unless_a_traceback_is_asked_for(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines import cli

    def broken(*_: object) -> int:
        raise KeyError("partner_name\nsecond line")

    monkeypatch.setattr(cli, "_validate", broken)
    monkeypatch.setenv("OEMKPI_HOME", str(home.root))  # main sets it; restored afterwards
    args = ["--home", str(home.root), "validate", "x.csv", "--feed", FEED]

    assert cli.main(args) == 2
    assert capsys.readouterr().err == (
        "oemkpi: validate failed unexpectedly (KeyError: 'partner_name\\nsecond line'); run it "
        "again with OEMKPI_TRACEBACK=1 and report what it prints.\n"
    )
    monkeypatch.setenv("OEMKPI_TRACEBACK", "1")
    with pytest.raises(KeyError):
        cli.main(args)
