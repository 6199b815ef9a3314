"""Orchestration (SPEC section 6) with real parts: the Definitions, the landing sensor,
the schedule, a single-run backfill and four concurrent CLI runs on one warehouse.

Everything is real: a sample data home written under ``tmp_path``, the DuckDB
warehouse file, a Dagster instance (SQLite) in ``tmp_path`` with the
``dagster.yaml`` that ``ensure_instance`` writes, and ``oemkpi`` processes.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from oemkpi.home import Home
from oemkpi.ingest.contract import FEED_NAMES, FEEDS
from oemkpi.ingest.folder import delivery_files, fingerprint
from oemkpi.kpis.quality import is_late
from oemkpi.months import month_range
from oemkpi.sample import write_sample_home
from pipelines.definitions import defs
from pipelines.instance import ensure_instance
from pipelines.partitions import monthly_partitions
from pipelines.resources import OemkpiResource
from pipelines.runs import run_months
from pipelines.step_errors import failure_sentence

REPO = Path(__file__).resolve().parent.parent
OEMKPI = Path(sys.executable).with_name("oemkpi")

#: Four months of a small sample home: a range backfill and four concurrent runs over them.
MONTHS = month_range("2026-01", "2026-04")
SAMPLE = {"months": 4, "partners": 3, "countries": 4, "scale": 0.2, "commentary": False}
FEED_TABLES = tuple(FEED_NAMES)
#: Tables a month writes for itself and no other month reads: wiped before the concurrent runs.
OWN_MONTH_TABLES = (
    "kpi_values",
    "assortment",
    "red_flags",
    "feed_status",
    "missing_partner_data",
    "reconciliation",
    "marketing_quarter",
)


# --------------------------------------------------------------------------- helpers
def _instance(dagster_home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(dagster_home))


def _months_in(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"select distinct month from {table} order by 1").fetchall()]


def _stable_rows(con: duckdb.DuckDBPyConnection, table: str, months: list[str]) -> list[tuple]:
    """The table's rows of ``months``, sorted, without timestamp columns (check times)."""
    columns = [
        name
        for name, type_ in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        if not type_.upper().startswith("TIMESTAMP")
    ]
    return con.execute(
        f"select {', '.join(columns)} from {table} where month in ? order by all", [months]
    ).fetchall()


def _wipe_own_month_outputs(root: Path, months: list[str]) -> None:
    """Delete what each month writes for itself, but for kpi_values: another month of its
    quarter reads which KPIs have a value (a quarter to date missing a month is not judged,
    reports/select_partner_qtd_missing.sql), so its values are spoilt instead (+1000, NULL
    kept NULL), which a run must overwrite as surely as refill. Deleted, they made February's
    target gaps depend on whether January's run came first (once in five CI runs)."""
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        for table in OWN_MONTH_TABLES:
            if table == "kpi_values":
                con.execute("update kpi_values set value = value + 1000 where month in ?", [months])
            else:
                con.execute(f"delete from {table} where month in ?", [months])
    finally:
        con.close()
    for month in months:
        shutil.rmtree(root / "reports" / month)


def _step_windows(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of every step of a run, from its event log."""
    starts: dict[str, float] = {}
    windows = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[record.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            windows.append((starts[record.step_key], record.timestamp, record.step_key))
    return windows


# --------------------------------------------------------------------------- 1. definitions
def test_definitions_name_the_job_schedule_sensor_and_asset_groups() -> None:
    job = defs.resolve_job_def("monthly_update")
    schedule = defs.resolve_schedule_def("monthly_update_schedule")
    sensor = defs.resolve_sensor_def("landing_sensor")
    assert job.name == "monthly_update"
    assert job.partitions_def == monthly_partitions
    assert schedule.job_name == "monthly_update"
    assert sensor.job_name == "monthly_update"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")

    graph = defs.resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        groups.setdefault(node.group_name, set()).add(key.to_user_string())
        assert node.partitions_def == monthly_partitions, key
    assert set(groups) == {"feeds", "kpis", "reports", "delivery"}
    assert set(FEED_NAMES) <= groups["feeds"]
    assert {"kpi_sums", "kpis", "assortment", "red_flags"} <= groups["kpis"]
    assert groups["reports"] == {"monthly_reports"}
    assert groups["delivery"] == {"deliveries"}
    # Every feed carries its checks (the contract plus one per expectation).
    check_keys = graph.asset_check_keys
    for feed in FEED_NAMES:
        assert sum(k.asset_key == dg.AssetKey(feed) for k in check_keys) >= 2, feed
    # The job selects every asset.
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set().union(
        *groups.values()
    )


def test_loading_the_code_location_does_not_import_great_expectations(tmp_path: Path) -> None:
    """Nor matplotlib: the UI, its daemon and the workers load the code location often, and
    only a run's report and delivery steps draw charts."""
    code = (
        "import json, sys\n"
        "from pipelines.definitions import defs\n"
        "defs.resolve_job_def('monthly_update')\n"
        "defs.resolve_asset_graph()\n"
        "print(json.dumps({'gx': 'great_expectations' in sys.modules,"
        " 'matplotlib': 'matplotlib' in sys.modules}))\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster"), "OEMKPI_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"gx": False, "matplotlib": False}


# --------------------------------------------------------------------------- 2. sensor
@pytest.fixture
def sensor_home(tmp_path: Path, dagster_home: Path) -> Home:
    """Two months of the five feeds: ten delivery folders (the sample delivers marketing
    in both months); a created instance."""
    root = tmp_path / "home"
    write_sample_home(
        root, end_month="2026-03", months=2, partners=2, countries=2, commentary=False
    )
    home = Home.at(root)
    ensure_instance(home)
    return home


def _tick(
    home: Home, cursor: str | None, quiet_seconds: float = 0
) -> tuple[list[dg.RunRequest], str]:
    """One evaluation of the sensor; deliveries count as quiet at once unless told."""
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={
                "oemkpi": OemkpiResource(home=str(home.root), landing_quiet_seconds=quiet_seconds)
            },
            definitions=defs,
        )
        data = sensor.evaluate_tick(context)
    assert data.cursor is not None
    return list(data.run_requests or []), data.cursor


def _expected_selection(feed: str) -> list[dg.AssetKey]:
    """The feed first, then what depends on it (assortment reads windows_share only; the
    optional marketing feed feeds its quarter table, not the KPI sums), the deliveries
    included: a sensor run is a one-month run, which sends its month."""
    if FEEDS[feed].optional:
        return [
            dg.AssetKey(feed),
            *(
                dg.AssetKey(a)
                for a in (
                    "data_quality",
                    "deliveries",
                    "marketing_quarter",
                    "monthly_reports",
                    "red_flags",
                )
            ),
        ]
    downstream = ["data_quality", "deliveries", "kpi_sums", "kpis", "monthly_reports", "red_flags"]
    if feed == "windows_share":
        downstream = sorted([*downstream, "assortment"])
    return [dg.AssetKey(feed), *(dg.AssetKey(a) for a in downstream)]


def _folder_key(home: Home, feed: str, month: str) -> str:
    return f"{feed}-{month}-{fingerprint(delivery_files(home.landing_dir(feed, month)))}"


def test_sensor_requests_a_run_per_new_or_changed_delivery_and_none_twice(
    sensor_home: Home,
) -> None:
    home = sensor_home
    graph = defs.resolve_asset_graph()
    folders = [(feed, month) for feed in FEED_NAMES for month in ("2026-02", "2026-03")]

    # First tick: one request per delivery folder, for that month, feed and downstream.
    requests, cursor = _tick(home, None)
    assert sorted((r.tags["oemkpi/delivery"]) for r in requests) == sorted(
        f"{f}/{m}" for f, m in folders
    )
    first_keys = {}
    for request in requests:
        feed, month = request.tags["oemkpi/delivery"].split("/")
        assert request.partition_key == month
        assert request.tags[PARTITION_NAME_TAG] == month
        assert request.run_key == _folder_key(home, feed, month)
        assert request.asset_selection == _expected_selection(feed)
        # The selection covers everything the asset graph has downstream of the feed.
        downstream = dg.AssetSelection.assets(feed).downstream().resolve(graph)
        assert downstream <= set(request.asset_selection), feed
        first_keys[(feed, month)] = request.run_key
    assert len(set(first_keys.values())) == len(folders)
    assert sorted(json.loads(cursor)) == sorted(f"{f}/{m}" for f, m in folders)

    # Second tick with the returned cursor: nothing changed, nothing requested.
    requests, cursor_2 = _tick(home, cursor)
    assert requests == []
    assert json.loads(cursor_2) == json.loads(cursor)

    # A re-delivered file (new modification time): one request, that feed-month, new run key.
    changed = delivery_files(home.landing_dir("windows_share", "2026-03"))[0]
    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 3_600 * 10**9))
    requests, cursor_3 = _tick(home, cursor_2)
    assert [(r.partition_key, r.tags["oemkpi/delivery"]) for r in requests] == [
        ("2026-03", "windows_share/2026-03")
    ]
    (request,) = requests
    assert request.asset_selection == _expected_selection("windows_share")
    assert request.run_key == _folder_key(home, "windows_share", "2026-03")
    assert request.run_key not in first_keys.values()
    assert _tick(home, cursor_3)[0] == []

    # Same modification time, different size: a change as well.
    mtime_ns = changed.stat().st_mtime_ns
    with changed.open("ab") as handle:
        handle.write(b"\n")
    os.utime(changed, ns=(st.st_atime_ns, mtime_ns))
    requests, cursor_4 = _tick(home, cursor_3)
    assert [r.tags["oemkpi/delivery"] for r in requests] == ["windows_share/2026-03"]
    assert requests[0].run_key not in {*first_keys.values(), request.run_key}

    # A new month folder: one request for it. Folders that are not partitions are ignored.
    shutil.copytree(
        home.landing_dir("pc_shipments", "2026-03"), home.landing / "pc_shipments" / "2026-04"
    )
    for name in ("2099-01", "notes"):  # a month not complete yet; not a month at all
        (home.landing / "attach_rate" / name).mkdir()
        (home.landing / "attach_rate" / name / "file.csv").write_text("x\n", encoding="utf-8")
    requests, cursor_5 = _tick(home, cursor_4)
    assert [(r.partition_key, r.tags["oemkpi/delivery"]) for r in requests] == [
        ("2026-04", "pc_shipments/2026-04")
    ]
    assert requests[0].run_key == _folder_key(home, "pc_shipments", "2026-04")
    assert requests[0].asset_selection == _expected_selection("pc_shipments")
    assert _tick(home, cursor_5)[0] == []


def test_sensor_waits_until_a_delivery_has_been_quiet(sensor_home: Home) -> None:
    """A delivery still being copied is not read half-way: a folder is taken once nothing
    in it changed for landing_quiet_seconds (default 60)."""
    home = sensor_home
    assert OemkpiResource().landing_quiet_seconds == 60

    # Written just now: no run yet, and the cursor holds nothing for the folders.
    requests, cursor = _tick(home, None, quiet_seconds=60)
    assert (requests, json.loads(cursor)) == ([], {})

    # Quiet long enough (a quiet period of 0 here): one run per folder.
    requests, cursor = _tick(home, cursor, quiet_seconds=0)
    assert len(requests) == 10

    # A file written again: its folder waits, the cursor keeps the version last run.
    changed = delivery_files(home.landing_dir("attach_rate", "2026-02"))[0]
    with changed.open("ab") as handle:
        handle.write(b"\n")
    waiting, cursor_2 = _tick(home, cursor, quiet_seconds=60)
    assert waiting == []
    assert json.loads(cursor_2) == json.loads(cursor)
    requests, _ = _tick(home, cursor_2, quiet_seconds=0)
    assert [r.tags["oemkpi/delivery"] for r in requests] == ["attach_rate/2026-02"]


# --------------------------------------------------------------------------- 3. schedule
def _schedule_tick(when: datetime, **resource: Any) -> dg.RunRequest | str:
    schedule = defs.resolve_schedule_def("monthly_update_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=when,
        resources={"oemkpi": OemkpiResource(**resource)},
        repository_def=defs.get_repository_def(),
    )
    data = schedule.evaluate_tick(context)
    if data.skip_message is not None:
        assert not data.run_requests
        return data.skip_message
    (request,) = data.run_requests or []
    return request


@pytest.mark.parametrize(
    ("when", "month"),
    [
        (datetime(2026, 5, 11, 6, tzinfo=UTC), "2026-04"),
        (datetime(2026, 1, 11, 6, tzinfo=UTC), "2025-12"),
    ],
)
def test_schedule_runs_the_previous_month_the_day_after_its_due_day(
    when: datetime, month: str
) -> None:
    """On the 11th a feed still missing is late: the scheduled update says so (on the due
    day itself it was only 'not delivered yet', and nothing ran the day it became late)."""
    request = _schedule_tick(when)
    assert isinstance(request, dg.RunRequest), request
    assert request.run_key == f"scheduled-{month}"
    assert request.partition_key == month
    assert request.tags[PARTITION_NAME_TAG] == month
    assert request.asset_selection is None  # the whole job: every asset of the month
    assert is_late(month, when.date(), 10)


@pytest.mark.parametrize("day", [1, 9, 10, 12, 28])
def test_schedule_skips_other_days(day: int) -> None:
    skip = _schedule_tick(datetime(2026, 5, day, 6, tzinfo=UTC))
    assert skip == (f"monthly_update runs the day after the due day (day 10); today is day {day}.")


def test_schedule_day_follows_the_configured_due_day() -> None:
    request = _schedule_tick(datetime(2026, 5, 6, 6, tzinfo=UTC), late_after_day=5)
    assert isinstance(request, dg.RunRequest)
    assert (request.run_key, request.partition_key) == ("scheduled-2026-04", "2026-04")
    skip = _schedule_tick(datetime(2026, 5, 11, 6, tzinfo=UTC), late_after_day=5)
    assert isinstance(skip, str) and "day 5" in skip
    # A due day no month has: the tick fails with the resource's sentence (resources.py).
    with pytest.raises(dg.DagsterResourceFunctionError) as err:
        _schedule_tick(datetime(2026, 5, 11, 6, tzinfo=UTC), late_after_day=31)
    assert "late_after_day is 31; the due day must be one every month has" in str(
        err.value.__cause__
    )
    # January is due on 28 February: it runs on 1 March, not February's month.
    request = _schedule_tick(datetime(2026, 3, 1, 6, tzinfo=UTC), late_after_day=28)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-01"


# --------------------------------------------------------------------------- 4. backfill
@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Home, Path, Any]]:
    """A four-month sample home backfilled by ``run_months`` as one range, on its own instance.

    Shared by the backfill test (which inspects it) and the concurrency test (which
    copies it), so the range is run once per module.
    """
    base = tmp_path_factory.mktemp("backfill")
    root = base / "home"
    write_sample_home(root, end_month=MONTHS[-1], **SAMPLE)
    home = Home.at(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(base / "dagster"))
        summary = run_months(home, MONTHS[0], MONTHS[-1])
    yield home, base / "dagster", summary


def test_a_month_range_is_one_run_that_writes_every_month(
    backfilled: tuple[Home, Path, Any],
) -> None:
    home, dagster_home, summary = backfilled
    assert summary.success, summary.failure
    assert summary.months == MONTHS
    assert sorted((s.feed, s.month, s.status) for s in summary.statuses) == sorted(
        (f, m, "loaded") for f in FEED_NAMES for m in MONTHS
    )

    # One Dagster run for the whole range, and every asset materialized for every month.
    with _instance(dagster_home) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1
        (run,) = runs
        assert run.run_id == summary.run_id
        assert run.job_name == "monthly_update"
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags[ASSET_PARTITION_RANGE_START_TAG] == MONTHS[0]
        assert run.tags[ASSET_PARTITION_RANGE_END_TAG] == MONTHS[-1]
        for key in defs.resolve_asset_graph().get_all_asset_keys():
            assert instance.get_materialized_partitions(key) == set(MONTHS), key

    # The warehouse has every month in the feed and KPI tables.
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        for table in (*FEED_TABLES, "kpi_sums", "kpi_values", "feed_status"):
            assert _months_in(con, table) == MONTHS, table
        # Assortment compares with the month before: none for the first month of the home.
        assert _months_in(con, "assortment") == MONTHS[1:]
        partners = dict(
            con.execute(
                "select month, count(distinct partner_id) from kpi_values "
                "where scope = 'partner' group by month"
            ).fetchall()
        )
        assert partners == dict.fromkeys(MONTHS, 3)
        # The months ran in order inside the one run: each month's MoM sees the one before.
        prior = dict(
            con.execute(
                "select month, count(prior_month) from kpi_values "
                "where scope = 'partner' and kpi = 'shipped_units' group by month"
            ).fetchall()
        )
        assert prior == {MONTHS[0]: 0, **dict.fromkeys(MONTHS[1:], 3)}
        partner_ids = [
            r[0] for r in con.execute("select distinct partner_id from kpi_values").fetchall()
        ]
    finally:
        con.close()

    # A report per month and partner, in every format, and the month's index.
    for month in MONTHS:
        folder = home.reports_dir(month)
        assert (folder / "index.html").is_file()
        for partner in partner_ids:
            report = json.loads((folder / f"{partner}.json").read_text(encoding="utf-8"))
            assert (report["month"], report["partner_id"]) == (month, partner)
            assert report["kpis"]["shipped_units"]["value"] > 0
            assert (folder / f"{partner}.html").is_file()
            assert (folder / f"{partner}.md").is_file()


def test_the_sqlite_storage_is_created_once_and_again_for_another_dagster(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run opens a whole instance only to create (or migrate) its storage: once per
    Dagster version, or when a database of it is gone."""
    from pipelines import instance as instance_module

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("OEMKPI_INSTANCE_PG_URL", raising=False)
    created: list[Path] = []
    real = instance_module._create_storage
    monkeypatch.setattr(
        instance_module, "_create_storage", lambda path: (created.append(path), real(path))
    )
    path = ensure_instance(home)
    assert created == [path]
    assert all((path / name).is_file() for name in instance_module.SQLITE_DATABASES)
    ensure_instance(home)
    assert created == [path]  # found ready: no instance opened
    (path / instance_module.SQLITE_READY).write_text("1.12.0", encoding="utf-8")
    ensure_instance(home)  # another Dagster wrote it: created (migrated) again
    assert len(created) == 2
    (path / "history" / "runs.db").unlink()
    ensure_instance(home)
    assert len(created) == 3 and (path / "history" / "runs.db").is_file()


# --------------------------------------------------------------------------- 5. concurrency
def test_four_concurrent_cli_runs_equal_a_sequential_run(
    backfilled: tuple[Home, Path, Any], tmp_path: Path
) -> None:
    """Four ``oemkpi run --month`` at once on one home give the numbers of a sequential run.

    A month's KPIs read other months (MoM M-1, YoY M-12, QTD, trends) and its assortment
    reads M-1's windows_share, so runs of neighbouring months started together on an
    empty warehouse would depend on which finishes first; that says nothing about
    concurrency. So the concurrent runs start from a copy of the backfilled home, where
    everything a month reads from other months (the feeds and kpi_sums) is in place and
    is rewritten by a re-run with the same values, and with everything each month writes
    only for itself (KPI values, assortment, red flags, feed status, reconciliation, the
    reports) wiped (KPI values spoilt: which of them have a value is read by the other
    months of the quarter), so the four runs must compute it again. The reference is the
    backfilled home itself: one run over the same months, in order, from the same files.
    """
    source, _, summary = backfilled
    assert summary.success
    root = tmp_path / "home"
    shutil.copytree(source.root, root, copy_function=shutil.copy2)
    _wipe_own_month_outputs(root, MONTHS)

    # Four processes started together on a fresh DAGSTER_HOME (the CLI creates it).
    dagster_home = tmp_path / "dagster"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    env.pop("OEMKPI_HOME", None)
    procs = {}
    for month in MONTHS:
        log = (tmp_path / f"run-{month}.log").open("w")
        procs[month] = (
            subprocess.Popen(
                [str(OEMKPI), "--home", str(root), "run", "--month", month],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            log,
        )
    try:
        deadline = time.monotonic() + 400
        for proc, _ in procs.values():
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc, log in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    outputs = {m: (tmp_path / f"run-{m}.log").read_text(encoding="utf-8") for m in MONTHS}
    assert {m: p.returncode for m, (p, _) in procs.items()} == dict.fromkeys(MONTHS, 0), outputs
    for month, text in outputs.items():
        assert f"Done: {month}" in text, text

    # The shared instance saw four successful runs, and the pool kept their warehouse
    # steps apart: no step of one run overlaps a step of another.
    with _instance(dagster_home) as instance:
        runs = instance.get_runs()
        assert sorted(r.tags[PARTITION_NAME_TAG] for r in runs) == MONTHS
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        windows = sorted(w for r in runs for w in _step_windows(instance, r.run_id))
    assert len(windows) == len(MONTHS) * len(defs.resolve_asset_graph().get_all_asset_keys())
    for (_, end, step), (start, _, next_step) in itertools.pairwise(windows):
        assert start >= end, (step, next_step)

    # Every number of the four months equals the sequential run's, and so does every report.
    tables = (*FEED_TABLES, "kpi_sums", *OWN_MONTH_TABLES)
    found = {}
    for name, home_root in (("concurrent", root), ("sequential", source.root)):
        con = duckdb.connect(str(home_root / "warehouse.duckdb"), read_only=True)
        try:
            found[name] = {t: _stable_rows(con, t, MONTHS) for t in tables}
        finally:
            con.close()
    assert _months_in_rows(found["concurrent"]["kpi_values"]) == MONTHS
    for table in tables:
        assert _rounded(found["concurrent"][table]) == _rounded(found["sequential"][table]), table
    for month in MONTHS:
        reports = sorted(p.name for p in source.reports_dir(month).glob("*.json"))
        assert len(reports) == SAMPLE["partners"]
        assert sorted(p.name for p in (root / "reports" / month).glob("*.json")) == reports
        for name in reports:
            a = json.loads((root / "reports" / month / name).read_text("utf-8"))
            b = json.loads((source.reports_dir(month) / name).read_text("utf-8"))
            assert _rounded(a) == _rounded(b), (month, name)


def _months_in_rows(rows: list[tuple]) -> list[str]:
    return sorted({row[0] for row in rows})


def _rounded(value: Any) -> Any:
    """``value`` with every float cut to 12 significant digits, in any nesting.

    Sums of doubles depend on the order DuckDB meets the rows in, and a rewritten
    month's rows can sit in another order: 9625523.86 against 9625523.860000001.
    """
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("setting", "sentence"),
    [
        (
            {"late_after_day": 31},
            "The oemkpi resource's late_after_day is 31; the due day must be one every month "
            "has, 1 to 28: set it so and run again.",
        ),
        (
            {"fiscal_year_start_month": 13},
            "The oemkpi resource's fiscal_year_start_month is 13; use a month from 1 to 12 and "
            "run again.",
        ),
    ],
)
def test_a_resource_setting_no_month_can_use_stops_the_run_in_one_sentence(
    tmp_path: Path, setting: dict[str, int], sentence: str
) -> None:
    """A due day of 31 failed the data-quality step of a 30-day month with a Python error."""

    @dg.asset
    def uses_the_setting(oemkpi: OemkpiResource) -> int:
        return oemkpi.late_after_day

    result = dg.materialize(
        [uses_the_setting],
        resources={"oemkpi": OemkpiResource(home=str(tmp_path / "home"), **setting)},
        raise_on_error=False,
    )
    assert failure_sentence(result) == sentence
