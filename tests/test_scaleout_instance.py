"""The Dagster instance on a real PostgreSQL, and a dead run found by its advisory lock.

(Runs, their event logs and the UI's view of them over GraphQL are checked on
the instance the Celery module's runs fill: tests/test_scaleout_celery.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import dagster as dg

from oemkpi.home import Home
from oemkpi.settings import Settings
from pipelines.instance import DAGSTER_PG_YAML, ensure_instance
from pipelines.recovery import free_slots_of_dead_runs
from pipelines.resources import WAREHOUSE_POOL
from tests.scaleout_servers import clean_env, pg_database, pg_url, query, require_postgres


def test_the_settings_decide_the_instance_not_the_history_the_home_holds(tmp_path: Path) -> None:
    require_postgres()
    home = Home.at(tmp_path / "home")
    sqlite_home = ensure_instance(home, clean_env(), Settings())  # an embedded history
    with (
        pg_database("oemkpi_t_dagster") as db,
        mock.patch.dict(os.environ, {"OEMKPI_INSTANCE_PG_URL": pg_url(db)}),
    ):
        env = clean_env(OEMKPI_INSTANCE_PG_URL=pg_url(db))
        path = ensure_instance(home, env, Settings.from_env(env))
        assert (sqlite_home, path) == (home.root / "dagster", home.root / "dagster-pg")
        assert env["DAGSTER_HOME"] == str(path)
        assert (path / "dagster.yaml").read_text(encoding="utf-8") == DAGSTER_PG_YAML
        tables = {r[0] for r in query(db, "select tablename from pg_tables")}
        assert {"runs", "event_logs", "concurrency_slots", "alembic_version"} <= tables
        assert not list(path.glob("**/*.db"))  # nothing of it in SQLite
        # Created once; a second process finds it in place.
        assert ensure_instance(home, dict(env), Settings.from_env(env)) == path


HOLD_A_SLOT = """
import sys, time, uuid
import dagster as dg
from oemkpi.settings import Settings
from pipelines.recovery import HOST_TAG, run_presence
from pipelines.resources import WAREHOUSE_POOL

with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    run_id = str(uuid.uuid4())
    with run_presence(instance, run_id, Settings.from_env()) as tags:
        # Say another machine runs it: only the advisory lock can tell whether it lives.
        tags[HOST_TAG] = "elsewhere.example"
        instance.add_run(dg.DagsterRun(
            job_name="held", run_id=run_id, tags=tags, status=dg.DagsterRunStatus.STARTED))
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        assert storage.claim_concurrency_slot(WAREHOUSE_POOL, run_id, "hold").is_claimed
        print(run_id, flush=True)
        time.sleep(600)
"""


def test_a_run_whose_process_died_on_any_machine_is_found_by_its_advisory_lock(
    tmp_path: Path,
) -> None:
    require_postgres()
    with (
        pg_database("oemkpi_t_dagster") as db,
        mock.patch.dict(os.environ, {"OEMKPI_INSTANCE_PG_URL": pg_url(db)}),
    ):
        env = clean_env(OEMKPI_INSTANCE_PG_URL=pg_url(db))
        settings = Settings.from_env(env)
        path = ensure_instance(Home.at(tmp_path), env, settings)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_A_SLOT, str(path)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            run_id = holder.stdout.readline().strip()
            with (
                mock.patch.dict(os.environ, env),
                dg.DagsterInstance.from_config(str(path)) as instance,
            ):
                assert free_slots_of_dead_runs(instance, settings) == []  # alive: its lock is held
                holder.send_signal(signal.SIGKILL)
                holder.wait(timeout=30)
                said: list[str] = []
                assert free_slots_of_dead_runs(instance, settings, log=said.append) == [run_id]
                assert said == [
                    f"Run {run_id} died (pid {holder.pid} on elsewhere.example is gone) holding "
                    "the warehouse pool; marked it failed and freed its slots."
                ]
                assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
                info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
                assert info.claimed_slots == []
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
