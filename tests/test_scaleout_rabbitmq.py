"""The scale-out profile with RabbitMQ as the broker (results come back by AMQP replies).

One ``oemkpi worker`` on a queue of this module's own, a month of a small home:
the run succeeds with every step executed by that worker.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from unittest import mock

import dagster as dg
import kombu

from oemkpi.sample import write_sample_home
from tests.scaleout_servers import (
    OEMKPI,
    Workers,
    pg_database,
    rabbit_broker,
    require_postgres,
    require_rabbitmq,
    scaleout_env,
    step_workers,
    unique,
)

MONTH = "2026-03"


def test_a_month_runs_on_a_rabbitmq_worker(tmp_path: Path) -> None:
    require_postgres()
    require_rabbitmq()
    root = tmp_path / "home"
    write_sample_home(root, end_month=MONTH, months=1, partners=2, countries=2, commentary=False)
    with pg_database("oemkpi_t_dagster") as dagster_db, pg_database("oemkpi_t_lake") as lake_db:
        env = scaleout_env(dagster_db, lake_db, tmp_path / "lake", rabbit_broker())
        workers = Workers(env, unique("oemkpi_q"), tmp_path)
        try:
            workers.start("r1")
            done = subprocess.run(
                [OEMKPI, "--home", str(root), "run", "--month", MONTH, "--queue", workers.queue],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
        finally:
            workers.stop()
            with kombu.Connection(rabbit_broker()) as conn:
                kombu.Queue(workers.queue, channel=conn.default_channel).delete()
        assert done.returncode == 0, done.stdout + done.stderr
        with (
            mock.patch.dict(os.environ, env),
            dg.DagsterInstance.from_config(str(root / "dagster-pg")) as instance,
        ):
            (run,) = instance.get_runs()
            on = step_workers(instance, run.run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert on == {Workers.hostname("r1")}
    assert len(list((root / "reports" / MONTH).glob("*.json"))) == 2
