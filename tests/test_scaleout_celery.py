"""The scale-out profile against real servers: PostgreSQL instance, DuckLake, Celery on Redis.

Two ``oemkpi worker`` processes are started once for the module, on a queue of
its own; the instance and the DuckLake catalog are databases of its own. Every
URL carries a password (trust auth and a password-less Redis ignore it), so the
tests can look for it everywhere a secret must never be.

* a 14-month backfill on the two workers writes the same JSON exports as the
  embedded profile, byte for byte (timestamps aside);
* four runs launched at once, with the warehouse pool opened to four (the
  writers are safe without it), all succeed and change nothing;
* a worker killed whole inside a step's load transaction: the month is as before
  or after, never between, the run fails in one sentence instead of waiting for
  ever, and the re-run succeeds with no operator and no pool slot left held.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import dagster as dg
import pytest

from oemkpi.home import Home
from oemkpi.lake import lake_warehouse
from oemkpi.months import month_range
from oemkpi.sample import write_sample_home
from oemkpi.settings import Settings
from pipelines.resources import WAREHOUSE_POOL
from tests.scaleout_servers import (
    BROKER_PASSWORD,
    OEMKPI,
    PG_PASSWORD,
    Workers,
    clean_env,
    drop_redis_queue,
    pg_database,
    query,
    redis_broker,
    require_postgres,
    require_redis,
    scaleout_env,
    step_workers,
    unique,
    wait_until_reading,
)
from tests.scaleout_state import export_texts, feed_month_rows, redeliver_padded

FIRST, LAST = "2025-02", "2026-03"  # 14 months
SAMPLE = {"end_month": LAST, "months": 14, "partners": 2, "countries": 2, "commentary": False}
SECRETS = (PG_PASSWORD, BROKER_PASSWORD)


@dataclass
class Cluster:
    base: Path
    env: dict[str, str]  # the scale-out settings (and nothing else of the test's)
    workers: Workers
    dagster_db: str
    lake_db: str

    def run(self, home: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OEMKPI, "--home", str(home), *args, "--queue", self.workers.queue],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def instance(self, home: Path) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(home / "dagster-pg"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_postgres()
    require_redis()
    base = tmp_path_factory.mktemp("celery")
    with pg_database("oemkpi_t_dagster") as dagster_db, pg_database("oemkpi_t_lake") as lake_db:
        env = scaleout_env(dagster_db, lake_db, base / "lake", redis_broker())
        workers = Workers(env, unique("oemkpi_q"), base)
        try:
            workers.start("w1", "w2")
            with mock.patch.dict(os.environ, env):  # this process reads the same instance
                yield Cluster(base, env, workers, dagster_db, lake_db)
        finally:
            workers.stop()
            drop_redis_queue(workers.queue)


@pytest.fixture(scope="module")
def backfill(cluster: Cluster) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """The same 14-month home run on the workers and, alongside, in the embedded profile."""
    home = cluster.base / "home"
    write_sample_home(home, **SAMPLE)
    embedded = cluster.base / "embedded"
    shutil.copytree(home, embedded)
    alone = subprocess.Popen(
        [OEMKPI, "--home", str(embedded), "run", "--from", FIRST, "--to", LAST],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    on_workers = cluster.run(home, "run", "--from", FIRST, "--to", LAST)
    _, err = alone.communicate(timeout=900)
    assert alone.returncode == 0, err
    assert on_workers.returncode == 0, on_workers.stdout + on_workers.stderr
    return home, embedded, on_workers


def test_a_backfill_on_two_workers_writes_what_the_embedded_profile_writes(
    cluster: Cluster, backfill: tuple[Path, Path, subprocess.CompletedProcess[str]]
) -> None:
    home, embedded, _ = backfill
    exports = export_texts(home)
    assert len([p for p in exports if "/regions/" not in p]) == 14 * 2
    assert any("/regions/" in p for p in exports)  # the regional packs' numbers too
    assert exports == export_texts(embedded)
    # The warehouse was DuckLake (Parquet under the data path), never a DuckDB file.
    assert not (home / "warehouse.duckdb").exists()
    assert any((cluster.base / "lake").rglob("*.parquet"))
    # The steps ran on both workers, and the run and its events are in PostgreSQL.
    ((run_id, status),) = query(cluster.dagster_db, "select run_id, status from runs")
    assert status == "SUCCESS"
    with cluster.instance(home) as instance:
        workers = step_workers(instance, run_id)
    assert workers == {Workers.hostname("w1"), Workers.hostname("w2")}
    ((steps,),) = query(
        cluster.dagster_db,
        "select count(*) from event_logs where run_id = %s and dagster_event_type = 'STEP_SUCCESS'",
        (run_id,),
    )
    # The five feeds, six KPI and quality steps (marketing_quarter among them), the reports,
    # the deliveries.
    assert steps == 13


def test_no_secret_reaches_the_run_config_events_logs_or_files(
    cluster: Cluster, backfill: tuple[Path, Path, subprocess.CompletedProcess[str]]
) -> None:
    home, _, on_workers = backfill
    with cluster.instance(home) as instance:
        (run,) = instance.get_runs()
        stored = str(run.run_config) + str(run.tags)
    dumped = query(cluster.dagster_db, "select run_body from runs")
    dumped += query(cluster.dagster_db, "select event from event_logs")
    texts = [stored, str(dumped), on_workers.stdout, on_workers.stderr]
    texts += [cluster.workers.log(name) for name in cluster.workers.procs]
    texts += [p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()]
    for secret in SECRETS:
        assert not any(secret in text for text in texts), secret


RUNS_QUERY = """
query {
  runsOrError {
    ... on Runs { results { runId status jobName runConfigYaml tags { key value } } }
  }
}
"""
EVENTS_QUERY = """
query ($runId: ID!) {
  logsForRun(runId: $runId) { ... on EventConnection { events { __typename } } }
}
"""


def test_the_ui_sees_the_runs_and_their_events_over_graphql(
    cluster: Cluster, backfill: tuple[Path, Path, subprocess.CompletedProcess[str]]
) -> None:
    """The GraphQL schema the UI (dagster dev, the webserver) serves, over the same instance."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import EmptyWorkspaceTarget
    from dagster_graphql.test.utils import execute_dagster_graphql

    home, _, _ = backfill
    with (
        cluster.instance(home) as instance,
        WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as workspace,
    ):
        context = workspace.create_request_context()
        (run,) = execute_dagster_graphql(context, RUNS_QUERY).data["runsOrError"]["results"]
        events = execute_dagster_graphql(context, EVENTS_QUERY, {"runId": run["runId"]}).data
    assert (run["jobName"], run["status"]) == ("monthly_update", "SUCCESS")
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert (tags["dagster/asset_partition_range_start"], tags["oemkpi/liveness"]) == (FIRST, "pg")
    assert "dagster-celery/queue" in tags
    assert not any(secret in run["runConfigYaml"] for secret in SECRETS)
    kinds = [e["__typename"] for e in events["logsForRun"]["events"]]
    assert kinds.count("ExecutionStepSuccessEvent") == 13  # marketing and deliveries included
    assert "RunSuccessEvent" in kinds


def test_the_doctor_finds_every_server_and_both_workers(
    cluster: Cluster, backfill: tuple[Path, Path, subprocess.CompletedProcess[str]]
) -> None:
    home, _, _ = backfill
    done = subprocess.run(
        [OEMKPI, "--home", str(home), "doctor"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    checks = [line for line in done.stdout.splitlines() if not line.startswith(("Profile", " "))]
    assert [line.split(":")[0] for line in checks] == [
        "ok       versions",
        "ok       Dagster instance",
        "ok       DuckLake extensions",
        "ok       DuckLake data path",
        "ok       DuckLake catalog",
        "ok       Celery broker",
        "ok       Celery workers",
    ]
    assert "17 tables" in checks[4] and "1 runs" in checks[1]
    assert Workers.hostname("w1") in checks[6] and Workers.hostname("w2") in checks[6]
    assert not any(secret in done.stdout for secret in SECRETS)


def test_four_runs_at_once_on_two_workers_all_succeed_without_the_pool(
    cluster: Cluster, backfill: tuple[Path, Path, subprocess.CompletedProcess[str]]
) -> None:
    home, embedded, _ = backfill
    months = month_range("2025-12", LAST)
    with cluster.instance(home) as instance:
        # Open the pool to four: the DuckLake writers must be safe by themselves.
        instance.event_log_storage.set_concurrency_slots(WAREHOUSE_POOL, 4)
        try:
            runs = [
                subprocess.Popen(
                    [OEMKPI, "--home", str(home), "run", "--month", month]
                    + ["--queue", cluster.workers.queue],
                    env=cluster.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for month in months
            ]
            outcomes = [run.communicate(timeout=900) for run in runs]
        finally:
            instance.event_log_storage.set_concurrency_slots(WAREHOUSE_POOL, 1)
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outcomes
    assert export_texts(home) == export_texts(embedded)


def test_a_worker_killed_inside_the_load_transaction_fails_the_run_and_the_rerun_succeeds(
    cluster: Cluster, backfill: tuple[Path, Path, subprocess.CompletedProcess[str]]
) -> None:
    home, _, _ = backfill
    lake = cluster.settings().lake
    assert lake is not None
    with lake_warehouse(lake, read_only=True) as con:
        before = feed_month_rows(con, "windows_share", LAST)
    after = redeliver_padded(Home.at(home), "windows_share", LAST)

    run = subprocess.Popen(
        [OEMKPI, "--home", str(home), "run", "--month", LAST, "--queue", cluster.workers.queue],
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    landing = str(Home.at(home).landing_dir("windows_share", LAST))
    reader = wait_until_reading(cluster.workers.pool_pids, landing, timeout=600)
    lost = cluster.workers.owner(reader)
    cluster.workers.kill(lost)  # SIGKILL, main process and pool: a lost machine

    with lake_warehouse(lake, read_only=True) as con:
        assert feed_month_rows(con, "windows_share", LAST) in (before, after)
    out, err = run.communicate(timeout=600)  # ends: dagster-celery alone would wait for ever
    assert run.returncode == 2, out + err
    assert (
        f"The Celery worker {Workers.hostname(lost)} stopped answering while it ran step "
        "windows_share (killed, or its machine lost); the step failed and nothing it had not "
        "committed was kept; run the months again."
    ) in err

    rerun = cluster.run(home, "run", "--month", LAST)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    with lake_warehouse(lake, read_only=True) as con:
        assert feed_month_rows(con, "windows_share", LAST) == after
    with cluster.instance(home) as instance:
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        assert info.claimed_slots == [] and info.pending_steps == []
        failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        assert len(failed) == 1
