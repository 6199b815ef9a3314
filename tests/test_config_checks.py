"""Reference data and configuration are refused in one sentence naming the file and key,
before a run writes anything: NaN, infinity, numbers out of range, keys given twice,
unknown keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.kpis.red_flags import Thresholds, load_thresholds
from oemkpi.reference import check_configuration, load_reference

BIG = "9" * 400


def _nested_aliases(levels: int) -> str:
    """A red_flags.yaml of a few hundred bytes whose value, written out, has 9**(levels+1)
    items: each list holds the one before nine times."""
    lists = ["&l0 [" + ", ".join(["x"] * 9) + "]"]
    lists += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return f"attach_drop:\n  drop_pts: [{', '.join(lists)}]\n"


THRESHOLD_CASES = [
    (
        "attach_drop:\n  drop_pts: .nan\n",
        "attach_drop.drop_pts is nan; give a number from 0 to 100.",
    ),
    (
        "attach_drop:\n  drop_pts: .inf\n",
        "attach_drop.drop_pts is inf; give a number from 0 to 100.",
    ),
    (
        "forecast_miss:\n  min_attainment: -.inf\n",
        "forecast_miss.min_attainment is -inf; give a number from 0 to 10.",
    ),
    (
        f"assortment:\n  min_units: {BIG}\n",
        f"assortment.min_units is {BIG[:37]}...; give a number from 0 to 1,000,000,000,000.",
    ),
    (
        # Nested aliases: nine times as many items per level (written out, billions); it
        # took a minute and 6 GB to say so.
        _nested_aliases(9),
        "attach_drop.drop_pts is a list; give a number from 0 to 100.",
    ),
    (
        f"assortment:\n  min_units: {'9' * 5000}\n",
        "a number in it has more digits than can be read (over 4,300); fix the file.",
    ),
    (
        "windows_share_drop:\n  partner_drop_pts: 101\n",
        "windows_share_drop.partner_drop_pts is 101; give a number from 0 to 100.",
    ),
    (
        "data_quality:\n  reconciliation_tolerance: 2\n",
        "data_quality.reconciliation_tolerance is 2; give a number from 0 to 1.",
    ),
    (
        "marketing_underspend:\n  min_spent_share: 1.5\n",
        "marketing_underspend.min_spent_share is 1.5; give a number from 0 to 1.",
    ),
    (
        "marketing_underspend:\n  high_below_spent_share: -0.1\n",
        "marketing_underspend.high_below_spent_share is -0.1; give a number from 0 to 1.",
    ),
    (
        "poe_missing:\n  after_days: 4000\n",
        "poe_missing.after_days is 4000; give a number from 0 to 3,650.",
    ),
    (
        "poe_missing:\n  high_after_days: -1\n",
        "poe_missing.high_after_days is -1; give a number from 0 to 3,650.",
    ),
    (
        "attach_drop:\n  drop_pts: '3'\n",
        "attach_drop.drop_pts is '3'; give a number from 0 to 100.",
    ),
    (
        "attach_drop:\n  drop_pts: true\n",
        "attach_drop.drop_pts is True; give a number from 0 to 100.",
    ),
    (
        "attach_drop:\n  drop_pts: 2\n  drop_pts: 3\n",
        "line 3: the key 'drop_pts' is given twice; fix the file.",
    ),
    (
        "attach_drop:\n  drop_pts: 2\nattach_drop:\n  drop_pts: 3\n",
        "line 3: the key 'attach_drop' is given twice; fix the file.",
    ),
    (
        "attach_drop:\n  drop_points: 2\n",
        "attach_drop.drop_points is not a threshold; use one of "
        "windows_share_drop.partner_drop_pts, windows_share_drop.country_drop_pts, "
        "windows_share_drop.country_min_units, forecast_miss.min_attainment, "
        "forecast_miss.country_min_units, target_gap.ratio_gap_pts, target_gap.volume_gap_pts, "
        "attach_drop.drop_pts, competitive_loss.min_prior_units, "
        "data_quality.reconciliation_tolerance, assortment.min_units, "
        "marketing_underspend.min_spent_share, marketing_underspend.high_below_spent_share, "
        "poe_missing.after_days, poe_missing.high_after_days.",
    ),
]


@pytest.mark.parametrize(("text", "sentence"), THRESHOLD_CASES)
def test_a_bad_threshold_file_is_refused_naming_file_and_key(
    tmp_path: Path, text: str, sentence: str
) -> None:
    path = tmp_path / "red_flags.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(OemkpiError) as raised:
        load_thresholds(path)

    joiner = " " if sentence.startswith("line ") else ": "
    assert str(raised.value) == f"{path}{joiner}{sentence}"


def test_thresholds_in_range_are_taken(tmp_path: Path) -> None:
    path = tmp_path / "red_flags.yaml"
    path.write_text(
        "attach_drop:\n  drop_pts: 2.5\nassortment:\n  min_units: 0\n"
        "data_quality:\n  reconciliation_tolerance: 1\n",
        encoding="utf-8",
    )

    thresholds = load_thresholds(path)

    assert (thresholds.attach_drop_pts, thresholds.assortment_min_units) == (2.5, 0.0)
    assert thresholds.reconciliation_tolerance == 1.0
    assert thresholds.forecast_min_attainment == Thresholds().forecast_min_attainment


TARGET_CASES = [
    ("windows_share", "0.95", None),
    ("shipped_units", "1500000", None),
    ("forecast_attainment", "1.2", None),
    ("windows_share", "1.5", "is out of range for windows_share; give a number from 0 to 1"),
    ("windows_share", "-0.1", "is out of range for windows_share; give a number from 0 to 1"),
    (
        "shipped_units",
        BIG,
        "is out of range for shipped_units; give a number from 0 to 1,000,000,000,000",
    ),
    ("pro_mix", "nan", "is not a plain number; write it like 0.92 or 1500000"),
    ("pro_mix", "inf", "is not a plain number; write it like 0.92 or 1500000"),
]


@pytest.mark.parametrize(("kpi", "target", "what"), TARGET_CASES)
def test_targets_out_of_range_are_refused_with_row_and_column(
    home: Home, kpi: str, target: str, what: str | None
) -> None:
    home.targets_csv.write_text(
        f"partner_id,fiscal_quarter,kpi,target\nacme,FY27-Q2,{kpi},{target}\n", encoding="utf-8"
    )

    if what is None:
        assert load_reference(home.reference).targets[0].target == float(target)
        return
    with pytest.raises(OemkpiError) as raised:
        load_reference(home.reference)

    shown = repr(target) if len(target) <= 40 else repr(target[:37] + "...")
    assert str(raised.value) == f"{home.targets_csv} row 2, column target: value {shown} {what}."


READ_ADVICE = "fix the row (quote a value that holds a comma, close every quote) and run again."
REFERENCE_CSV_CASES = [
    (
        "targets.csv",
        "partner_id,fiscal_quarter,kpi,target\nacme,FY27-Q2,shipped_units,10,300,000\n",
        "row 2 has 6 values where the header has 4, probably because of the unquoted commas in "
        "the value '10,300,000' (column target); write it as a plain number (10300000) or in "
        "double quotes, and run again.",
    ),
    (
        "partners.csv",
        "partner_id,partner_name,region,pam_name,pam_email\n"
        "acme,Acme PCs, Inc.,EMEA,Ann Lee,ann@example.com\n",
        "row 2 has 6 values where the header has 5, probably because of the unquoted comma in "
        "the value 'Acme PCs, Inc.' (column partner_name); write it in double quotes, and run "
        "again.",
    ),
    (
        # Two values split, one comma each: no one value explains both extras; the first is named.
        "partners.csv",
        "partner_id,partner_name,region,pam_name,pam_email\n"
        "acme,Acme PCs, Inc.,EMEA,Lee, Ann,ann@example.com\n",
        "row 2 has 7 values where the header has 5 (the first extra is ' Ann'); quote a value "
        'that holds a comma ("10,300,000") or write plain numbers (10300000), and run again.',
    ),
    (
        # The row's last value is empty, so the split leaves only an empty value beyond the
        # header: not a trailing comma, since the split explains it (the region was ' Inc.').
        "partners.csv",
        "partner_id,partner_name,region,pam_name,pam_email\nacme,Acme PCs, Inc.,EMEA,Ann Lee,\n",
        "row 2 has 6 values where the header has 5, probably because of the unquoted comma in "
        "the value 'Acme PCs, Inc.' (column partner_name); write it in double quotes, and run "
        "again.",
    ),
    (
        # A value that is only extra, not split from another: the first extra is named.
        "targets.csv",
        "partner_id,fiscal_quarter,kpi,target\nacme,FY27-Q2,shipped_units,10300000,extra\n",
        "row 2 has 5 values where the header has 4 (the first extra is 'extra'); quote a value "
        'that holds a comma ("10,300,000") or write plain numbers (10300000), and run again.',
    ),
    (
        "partners.csv",
        "partner_id,partner_name,region,pam_name,pam_email\n"
        f"acme,{'A' * 200_000},EMEA,Ann Lee,ann@example.com\n",
        f"row 2 cannot be read as CSV (field larger than field limit (131072)); {READ_ADVICE}",
    ),
    (
        "partners.csv",
        'partner_id,partner_name,region,pam_name,pam_email\nacme,"Acme PCs,EMEA,Ann,a@b.c\n',
        f"row 2 cannot be read as CSV (unexpected end of data); {READ_ADVICE}",
    ),
    (
        "countries.csv",
        "country,country_name,region,subregion,region\nDE,Germany,EMEA,Western Europe,APJ\n",
        "row 1 names column region twice; keep one and run again.",
    ),
]


@pytest.mark.parametrize(("name", "text", "sentence"), REFERENCE_CSV_CASES)
def test_a_reference_csv_that_reads_wrong_is_refused_by_row(
    home: Home, name: str, text: str, sentence: str
) -> None:
    """Cells beyond the header were dropped in silence (a target of '10,300,000' became 10);
    a field over csv's limit or a quote never closed ended in a traceback."""
    path = home.reference / name
    path.write_text(text, encoding="utf-8")

    with pytest.raises(OemkpiError) as raised:
        load_reference(home.reference)

    assert str(raised.value) == f"{path} {sentence}"


def test_trailing_empty_cells_in_a_reference_csv_are_taken(home: Home) -> None:
    home.targets_csv.write_text(
        "partner_id,fiscal_quarter,kpi,target\nacme,FY27-Q2,shipped_units,1500000,,\n",
        encoding="utf-8",
    )
    assert load_reference(home.reference).targets[0].target == 1500000.0


def test_a_run_checks_configuration_before_it_writes_anything(home: Home) -> None:
    """The CLI's run refuses before Dagster starts: no warehouse, no instance, no reports."""
    from pipelines.runs import run_months

    home.red_flags_yaml.write_text("attach_drop:\n  drop_pts: .nan\n", encoding="utf-8")

    with pytest.raises(OemkpiError) as raised:
        run_months(home, "2026-10", "2026-10")

    assert str(raised.value) == (
        f"{home.red_flags_yaml}: attach_drop.drop_pts is nan; give a number from 0 to 100."
    )
    assert sorted(p.name for p in home.root.iterdir()) == ["reference"]
    with pytest.raises(OemkpiError):
        check_configuration(home)


@pytest.mark.parametrize("kind", ["a named pipe", "a link to /dev/zero", "a folder"])
@pytest.mark.parametrize("name", ["targets.csv", "red_flags.yaml", "delivery.yaml"])
def test_a_configuration_file_that_is_not_a_file_is_refused_not_absent(
    home: Home, name: str, kind: str
) -> None:
    """A named pipe or a link to a device read as absent (targets and thresholds gone
    without a word, exit 0), or would never end."""
    path = home.reference / name
    path.unlink(missing_ok=True)
    if kind == "a named pipe":
        os.mkfifo(path)
    elif kind == "a folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")

    with pytest.raises(OemkpiError) as raised:
        check_configuration(home)

    assert str(raised.value) == (
        f"{path} is not a regular file (a folder, named pipe or device); replace it with the "
        "file itself."
    )
