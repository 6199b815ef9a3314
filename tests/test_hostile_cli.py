"""Hostile inputs end to end, as a user meets them: ``oemkpi run`` and ``oemkpi validate``
in their own processes on a small sample home, and the failure the UI shows for a run.

Every failure is one sentence on standard error with the documented exit code, never
a traceback, and a step's failure carries the same sentence in the Dagster instance
(what the UI's run view shows), never "Error occurred while executing op".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.contract import FEED_NAMES
from oemkpi.sample import write_sample_home
from oemkpi.warehouse import interrupted_query
from pipelines.step_errors import failure_sentence, one_sentence
from tests.feedfiles import good_rows, header, snapshot, write_csv
from tests.hostile_files import write_raw_xlsx

OEMKPI = Path(sys.executable).with_name("oemkpi")
MONTH = "2026-03"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "home"
    write_sample_home(root, end_month=MONTH, months=2, partners=2, countries=2, commentary=False)
    return root


@pytest.fixture
def home(sample: Path, tmp_path: Path) -> Home:
    root = tmp_path / "home"
    shutil.copytree(sample, root)
    return Home.at(root)


def oemkpi(
    home: Home, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OEMKPI), "--home", str(home.root), *args],
        cwd=home.root.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "DAGSTER_HOME": str(home.root.parent / "dagster_home"), **(env or {})},
    )


def _one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert "DagsterExecutionStepExecutionError" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("oemkpi: ")]
    assert len(lines) == 1, stderr
    return re.sub(r"after \d+\.\d s", "after N s", re.sub(r"in \d+\.\d s", "in N s", lines[0]))


def test_a_record_over_the_limit_is_a_rejection_not_exit_0(home: Home) -> None:
    """The headline case: a big record between good rows loaded with exit 0 and "loaded";
    now the delivery is rejected by name, the run exits 1, and the reports are written."""
    folder = home.landing_dir("windows_share", MONTH)
    lines = (folder / "americas.csv").read_text("utf-8").splitlines(keepends=True)
    big = f"{MONTH},aurora,US,consumer,{'X' * 200_000},windows,5\n"
    (folder / "americas.csv").write_text("".join([*lines[:2], big, *lines[2:]]), "utf-8")
    commentary = home.commentary_dir(MONTH)
    commentary.mkdir(parents=True)
    (commentary / "zeta.md").write_text("## Marketing\nFor nobody.\n", "utf-8")

    done = oemkpi(home, "run", "--month", MONTH, env={"OEMKPI_MAX_RECORD_BYTES": "65536"})

    assert done.returncode == 1, done.stderr
    quarantine = home.quarantine_dir("windows_share", MONTH)
    assert f"  rejected: windows_share {MONTH}, 1 problem; see {quarantine}" in done.stdout
    assert _one_sentence(done.stderr) == (
        # Three of the four KPI feeds and the sample's marketing delivery are in force.
        f"oemkpi: finished {MONTH} in N s with rejected deliveries: 4 feed deliveries in "
        "force, 1 rejected, 0 missing. Fix the files named in quarantine/*/*.errors.json and "
        "run the month again."
    )
    assert (
        f"landing/windows_share/{MONTH}/americas.csv row 3: the record is longer than the "
        "limit of 64 KiB (OEMKPI_MAX_RECORD_BYTES)"
    ) in (quarantine / "americas.csv.errors.json").read_text("utf-8")
    assert (
        f"The commentary file {commentary}/zeta.md is for no partner in reference/partners.csv "
        "('zeta'), so no report shows it; name it <partner_id>.md or add the partner."
    ) in done.stdout + done.stderr
    assert (home.reports_dir(MONTH) / "index.html").is_file()


def test_a_delivery_written_during_the_run_exits_1_and_says_so(home: Home) -> None:
    path = home.landing_dir("pc_shipments", MONTH) / "late.csv"
    write_csv(path, header("pc_shipments"), [])
    stop = threading.Event()

    def append() -> None:
        with path.open("a", encoding="utf-8") as out:
            number = 0
            while not stop.is_set():
                out.write(f"{MONTH},aurora,DE,consumer,notebook,{number},\n")
                out.flush()
                number += 1
                time.sleep(0.002)

    writer = threading.Thread(target=append, daemon=True)
    writer.start()
    try:
        done = oemkpi(home, "run", "--month", MONTH)
    finally:
        stop.set()
        writer.join()

    assert done.returncode == 1, done.stderr
    assert _one_sentence(done.stderr) == (
        f"oemkpi: finished {MONTH} in N s, but the delivery of pc_shipments {MONTH} changed "
        "while it was read, so nothing of it was loaded or quarantined and the month's earlier "
        "delivery stays in force; run the month again once its files are complete."
    )
    assert not home.quarantine_dir("pc_shipments", MONTH).exists()


def test_reports_that_cannot_be_written_fail_the_run_in_one_sentence_in_cli_and_ui(
    home: Home,
) -> None:
    reports = home.root / "reports"
    reports.write_text("a file where the reports folder must go")

    done = oemkpi(home, "run", "--month", MONTH)

    sentence = (
        f"The reports of {MONTH} were not written ({reports}: File exists); the earlier "
        f"reports in {reports}/{MONTH} stay as they were: free space or fix the folder's "
        "permissions and run the month again."
    )
    assert done.returncode == 2
    assert _one_sentence(done.stderr) == f"oemkpi: the run failed after N s: {sentence}"
    # What the UI shows for the run: the step's failure is that sentence.
    with dg.DagsterInstance.from_config(str(home.root.parent / "dagster_home")) as instance:
        (run,) = instance.get_runs()
        failures = [
            e.dagster_event
            for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        ]
    (failure,) = failures
    assert failure.step_key == "monthly_reports"
    data = failure.step_failure_data
    assert data.user_failure_data.description == sentence
    assert data.error.cls_name == "Failure"


def test_a_bad_threshold_stops_a_ui_run_at_its_first_steps_before_anything_is_written(
    home: Home, dagster_home: Path
) -> None:
    """The UI launches the job without the CLI's check: the feed steps check first."""
    from pipelines.definitions import defs

    home.red_flags_yaml.write_text("attach_drop:\n  drop_pts: .nan\n", encoding="utf-8")
    sentence = f"{home.red_flags_yaml}: attach_drop.drop_pts is nan; give a number from 0 to 100."

    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("monthly_update").execute_in_process(
            run_config={"resources": {"oemkpi": {"config": {"home": str(home.root)}}}},
            instance=instance,
            partition_key=MONTH,
            raise_on_error=False,
        )

    assert not result.success
    assert failure_sentence(result) == sentence
    described = {
        e.step_key: e.step_failure_data.user_failure_data.description
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    }
    assert described == dict.fromkeys(FEED_NAMES, sentence)
    assert not home.warehouse.exists()
    assert not (home.root / "reports").exists()


def test_a_resource_that_cannot_start_is_named_not_only_an_exception_during_execution() -> None:
    """A run can fail before any step does (a resource that cannot start: a server down);
    Dagster then says only "An exception was thrown during execution". The sentence is
    ours where the resource raised one, else the error Dagster wrapped."""

    @dg.asset(required_resource_keys={"server"})
    def needs_server() -> int:
        return 1

    def run_with(error: Exception) -> dg.ExecuteInProcessResult:
        @dg.resource
        def server(_context: Any) -> None:
            raise error

        return dg.materialize([needs_server], resources={"server": server}, raise_on_error=False)

    down = "The PostgreSQL server at 127.0.0.1:5432 does not answer; start it and run again."
    assert failure_sentence(run_with(OemkpiError(down))) == down
    result = run_with(RuntimeError("the pool is gone"))
    assert failure_sentence(result) == (
        f"Run {result.run_id} failed with RuntimeError: the pool is gone; open it in the Dagster "
        "UI (make ui) for details."
    )


def test_an_unexpected_error_in_a_step_is_its_type_and_first_line() -> None:
    @dg.asset
    @one_sentence
    def boom() -> Iterator[dg.MaterializeResult]:
        """Fails."""
        yield dg.MaterializeResult(metadata={"share": 1 / 0})

    result = dg.materialize([boom], raise_on_error=False)

    assert (
        failure_sentence(result) == "The step boom failed with ZeroDivisionError: division by zero."
    )
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert event.step_failure_data.error.cause.cls_name == "ZeroDivisionError"  # trace kept


def test_a_query_stopped_by_ctrl_c_interrupts_the_run_instead_of_failing_it() -> None:
    """DuckDB ends a query the signal reached with its own error; the CLI said "the run
    failed ... Query interrupted" where the user had pressed Ctrl-C."""
    from pipelines.runs import _interrupted

    @dg.asset
    @one_sentence
    def slow() -> Iterator[dg.MaterializeResult]:
        """Stops its query half-way, as Ctrl-C does."""
        con = duckdb.connect()
        threading.Timer(0.3, con.interrupt).start()
        con.execute("select count(*) from range(10000000000) as t (i)").fetchall()
        yield dg.MaterializeResult()

    result = dg.materialize([slow], raise_on_error=False)

    assert not result.success and _interrupted(result)
    assert interrupted_query(RuntimeError("Query interrupted"))
    assert not interrupted_query(RuntimeError("Query interrupted by a disk"))


# -- oemkpi validate never prints a traceback ---------------------------------------------------


def test_validate_a_named_pipe_is_one_sentence(home: Home) -> None:
    pipe = home.root.parent / "pipe.csv"
    os.mkfifo(pipe)

    done = oemkpi(home, "validate", str(pipe), "--feed", "windows_share", "--month", MONTH)

    assert done.returncode == 2
    assert _one_sentence(done.stderr) == (
        f"oemkpi: {pipe} is not a regular file; give the path of a CSV, Parquet or XLSX file."
    )


def test_validate_an_xlsx_bomb_is_a_rejection_not_a_traceback(home: Home) -> None:
    path = write_raw_xlsx(
        home.root.parent / "bomb.xlsx",
        [header("windows_share"), *good_rows("windows_share", MONTH)],
        far_cell="XFD1048576",
    )

    done = oemkpi(home, "validate", str(path), "--feed", "windows_share", "--month", MONTH)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    problem, verdict = done.stdout.splitlines()
    assert problem == (
        "bomb.xlsx: its first sheet needs more than 1 GiB of memory to read "
        "(OEMKPI_MAX_XLSX_MEMORY_BYTES), so it is not read; deliver the sheet as CSV or "
        "Parquet, or split it into several workbooks."
    )
    assert re.fullmatch(
        rf"{path}: would be rejected, 1 problem \(\d+ checks failed\) for windows_share {MONTH}\.",
        verdict,
    )


def _problems(home: Home, feed: str) -> str:
    """The problem sentences of ``feed``'s errors documents in quarantine."""
    quarantine = home.quarantine_dir(feed, MONTH)
    documents = [json.loads(p.read_text("utf-8")) for p in sorted(quarantine.glob("*.errors.json"))]
    return "\n".join(p["message"] for d in documents for p in d["problems"])


PATTERN_NAMES = ("*.csv", "a[1].csv", "{x,y}.csv", "what?.csv")


def test_names_and_folders_the_readers_cannot_take_are_refused_not_read_and_not_a_crash(
    home: Home, tmp_path: Path
) -> None:
    """One run, one case per feed:
    - pc_shipments: DuckDB takes *, ?, [ and { in a path as a pattern: '*.csv' read every
      file beside it, a link to a file outside the home included, and printed its lines;
    - windows_share: a name that is not UTF-8 failed the run inside DuckDB, and one too long
      for its errors document failed it in quarantine;
    - attach_rate and premium_mix: a month folder that is a link or a file is refused
      before any row is read, and the feed's checks, finding no result, raised
      StopIteration: the run failed and wrote no reports.
    """
    outside = tmp_path / "secret.csv"
    outside.write_text("OUTSIDE-THE-HOME,1\n", "utf-8")
    folder = home.landing_dir("pc_shipments", MONTH)
    first = folder / sorted(p.name for p in folder.iterdir())[0]
    for name in PATTERN_NAMES:
        shutil.copy(first, folder / name)
    first.unlink()
    (folder / "zz.csv").symlink_to(outside)
    share = home.landing_dir("windows_share", MONTH)
    one, two = sorted(p.name for p in share.iterdir())[:2]
    os.rename(os.fsencode(share / one), os.fsencode(share) + b"/em\xff\xfeea.csv")
    os.rename(os.fsencode(share / two), os.fsencode(share / ("e" * 250 + ".csv")))
    attach = home.landing_dir("attach_rate", MONTH)
    shutil.move(attach, tmp_path / "elsewhere")
    attach.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    mix = home.landing_dir("premium_mix", MONTH)
    shutil.rmtree(mix)
    mix.write_text("not a folder\n", "utf-8")

    done = oemkpi(home, "run", "--month", MONTH)

    assert done.returncode == 1, done.stderr
    assert _one_sentence(done.stderr) == (
        f"oemkpi: finished {MONTH} in N s with rejected deliveries: 1 feed delivery in force, "
        "4 rejected, 0 missing. Fix the files named in quarantine/*/*.errors.json and run the "
        "month again."
    )
    assert (home.reports_dir(MONTH) / "index.html").is_file()
    errors = _problems(home, "pc_shipments")
    for name in PATTERN_NAMES:
        shown = " and ".join(repr(c) for c in sorted(set(name) & set("*?[]{}")))
        assert (
            f"landing/pc_shipments/{MONTH}/{name}: the file name holds {shown}, which the "
            "reader takes as a pattern for other files, so it is not read; rename the file "
            "without *, ?, [, ], { and } and deliver it again."
        ) in errors
    everything = done.stdout + done.stderr + errors
    for page in home.root.rglob("*.html"):
        everything += page.read_text("utf-8")
    assert "OUTSIDE-THE-HOME" not in everything
    errors = _problems(home, "windows_share")
    assert (
        f"landing/windows_share/{MONTH}/em\\udcff\\udcfeea.csv: the file name is not UTF-8 "
        "text (shown escaped), so it is not read; rename the file in UTF-8 and deliver it again."
    ) in errors
    assert (
        f"landing/windows_share/{MONTH}/{'e' * 250}.csv: the file name is 254 bytes long, more "
        "than 200, so it is not read; give the file a shorter name and deliver it again."
    ) in errors
    for feed in ("attach_rate", "premium_mix"):
        assert f"landing/{feed}/{MONTH}" in _problems(home, feed), feed


def test_the_demo_does_not_overwrite_a_real_home_or_send_its_fictional_mail(
    home: Home, tmp_path: Path
) -> None:
    """It replaced partners.csv and the landing files of a real home, re-ran its warehouse on
    made-up data and sent the messages through the home's SMTP server."""
    (home.reference / "partners.csv").write_text(
        "partner_id,partner_name,region,pam_name,pam_email\n"
        "acme,Acme PCs,Americas,Ann Lee,ann@example.com\n",
        "utf-8",
    )
    before = snapshot(home.root)

    done = oemkpi(home, "demo", "--months", "2", "--partners", "2")

    assert done.returncode == 2
    assert _one_sentence(done.stderr) == (
        f"oemkpi: {home.root} is a data home with partners of its own (acme), and the demo "
        "would replace its reference data, landing files and warehouse with fictional ones; "
        "give the demo a new or empty folder with --home."
    )
    assert snapshot(home.root) == before

    sample = Home.at(tmp_path / "sample")
    sample.reference.mkdir(parents=True)
    (sample.reference / "delivery.yaml").write_text("smtp: {host: mail.example}\n", "utf-8")
    done = oemkpi(sample, "demo", "--months", "2", "--partners", "2")
    assert done.returncode == 2
    assert _one_sentence(done.stderr) == (
        f"oemkpi: {sample.reference}/delivery.yaml would send the demo's fictional messages to "
        "real addresses; give the demo a home without it (--home) or move it aside."
    )
    assert sorted(p.name for p in sample.root.rglob("*")) == ["delivery.yaml", "reference"]


def test_a_damaged_warehouse_says_so_instead_of_waiting_for_another_run(home: Home) -> None:
    home.warehouse.write_bytes(b"not a database " * 100)

    done = oemkpi(home, "run", "--month", MONTH)

    assert done.returncode == 2
    assert _one_sentence(done.stderr).endswith(
        "it is damaged or not a DuckDB database: restore it from a backup, or move it aside "
        "and run the months again to rebuild it from landing."
    )
    assert "wait for the other run" not in done.stderr


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_a_port_out_of_range_is_refused_before_anything_starts(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["ui", "--port", port])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"oemkpi ui: error: argument --port: '{port}' is not a port; give a number from 1 to "
        "65535\n"
    )


def test_a_rejected_redelivery_counts_the_earlier_delivery_in_force(home: Home) -> None:
    """The closing line said '4 feed deliveries in force, 1 rejected' after a re-delivery was
    rejected, though the earlier delivery stayed in force and all five were; then '5 in
    force, 1 rejected', six of five feeds."""
    assert oemkpi(home, "run", "--month", MONTH).returncode == 0
    folder = home.landing_dir("windows_share", MONTH)
    lines = (folder / "americas.csv").read_text("utf-8").splitlines(keepends=True)
    bad = f"{MONTH},aurora,US,consumer,SKU-1,windows,many\n"
    (folder / "americas.csv").write_text("".join([*lines[:2], bad, *lines[2:]]), "utf-8")

    done = oemkpi(home, "run", "--month", MONTH)

    assert done.returncode == 1, done.stderr
    quarantine = home.quarantine_dir("windows_share", MONTH)
    assert (
        f"  rejected: windows_share {MONTH}, 1 problem (the earlier delivery stays in force); "
        f"see {quarantine}"
    ) in done.stdout
    assert _one_sentence(done.stderr) == (
        f"oemkpi: finished {MONTH} in N s with rejected deliveries: 5 feed deliveries in "
        "force, 0 rejected, 0 missing, 1 re-delivery rejected (the earlier one in force). Fix "
        "the files named in quarantine/*/*.errors.json and run the month again."
    )


def test_a_run_writes_nothing_outside_its_data_home(home: Home, tmp_path: Path) -> None:
    """matplotlib kept its font list in ~/.cache/matplotlib and ~/.config/matplotlib: a run
    wrote outside the data home (SPEC 2). The user's home is an empty folder here."""
    user = tmp_path / "user"
    user.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME")}
    done = subprocess.run(
        [str(OEMKPI), "--home", str(home.root), "run", "--month", MONTH],
        cwd=home.root.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**env, "HOME": str(user), "DAGSTER_HOME": str(home.dagster_home)},
    )
    assert done.returncode == 0, done.stderr
    assert list(user.iterdir()) == []
    assert list((home.cache / "matplotlib").glob("fontlist-*.json"))


def test_the_closing_line_calls_a_feed_missing_past_its_due_day_late(home: Home) -> None:
    """It said '1 missing' where the reports say 'late' (March's feeds were due on 10 April)."""
    shutil.rmtree(home.landing_dir("attach_rate", MONTH))
    done = oemkpi(home, "run", "--month", MONTH)
    assert done.returncode == 0, done.stderr
    (line,) = [x.strip() for x in done.stdout.splitlines() if x.strip().startswith("Done:")]
    assert re.sub(r"in \d+\.\d s", "in N s", line).split(". Dagster run")[0] == (
        f"Done: {MONTH} in N s; 4 feed deliveries in force, 0 rejected, 0 missing, 1 late"
    )


def test_a_mistyped_home_is_left_as_it_was(tmp_path: Path) -> None:
    """Every command made <home>/cache/matplotlib first, a mistyped --home included."""
    typo = tmp_path / "typo-home"
    env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"}
    done = subprocess.run(
        [
            str(OEMKPI),
            "--home",
            str(typo),
            "validate",
            str(tmp_path / "f.csv"),
            "--feed",
            "pc_shipments",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert not typo.exists()
