"""The real servers the scale-out tests use, and what each test owns on them.

PostgreSQL (127.0.0.1:5432, trust), Redis (127.0.0.1:6379) and RabbitMQ
(127.0.0.1:5672, guest/guest) run on this project's machines. A test that
needs one skips with the reason when it is unreachable, unless ``CI`` is set:
then it fails, so CI never passes without the server tests. Each test owns
uniquely named PostgreSQL databases (dropped afterwards) and Celery queues, so
sessions running at the same time never meet. Workers and CLI runs are child
processes in their own process groups, stopped by group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from oemkpi.settings import VARIABLES as SCALEOUT_VARIABLES

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672
OEMKPI = str(Path(sys.executable).with_name("oemkpi"))
#: Passwords put in every URL the tests use: trust auth and a Redis without a password
#: ignore them, so they can be looked for everywhere a secret must never be.
PG_PASSWORD = "pg-s3cret-Xq7"
BROKER_PASSWORD = "broker-s3cret-Zr4"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    """Skip (or, under CI, fail) when the server does not answer."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: the server tests must run on CI.")
    pytest.skip(reason)


def require_postgres() -> None:
    require("PostgreSQL", PG_HOST, PG_PORT)


def require_redis() -> None:
    require("Redis", REDIS_HOST, REDIS_PORT)


def require_rabbitmq() -> None:
    require("RabbitMQ", RABBIT_HOST, RABBIT_PORT)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _admin() -> psycopg2.extensions.connection:
    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres")
    con.autocommit = True
    return con


@contextmanager
def pg_database(prefix: str = "oemkpi_test") -> Iterator[str]:
    """A new PostgreSQL database of this test's own, dropped afterwards."""
    name = unique(prefix)
    con = _admin()
    try:
        with con.cursor() as cur:
            cur.execute(f'create database "{name}"')
        yield name
    finally:
        with con.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        con.close()


def pg_url(database: str) -> str:
    return f"postgresql://postgres:{PG_PASSWORD}@{PG_HOST}:{PG_PORT}/{database}"


def lake_catalog(database: str) -> str:
    return f"dbname={database} host={PG_HOST} port={PG_PORT} user=postgres password={PG_PASSWORD}"


def redis_broker(db: int = 0) -> str:
    return f"redis://:{BROKER_PASSWORD}@{REDIS_HOST}:{REDIS_PORT}/{db}"


def rabbit_broker() -> str:
    return f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}//"


def free_port() -> int:
    """A port nothing listens on (a stopped server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query(database: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=database)
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        con.close()


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any scale-out variable, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in SCALEOUT_VARIABLES}
    env.pop("DAGSTER_HOME", None)
    env.update(settings)
    return env


def drop_redis_queue(queue: str, db: int = 0) -> None:
    """Remove what Celery (kombu) keeps in Redis for a queue of a test's own."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


def scaleout_env(dagster_db: str, lake_db: str, lake_data: Path, broker: str) -> dict[str, str]:
    """The four settings of the scale-out profile on this test's databases."""
    lake_data.mkdir(exist_ok=True)
    return clean_env(
        OEMKPI_INSTANCE_PG_URL=pg_url(dagster_db),
        OEMKPI_LAKE_CATALOG=lake_catalog(lake_db),
        OEMKPI_LAKE_DATA=str(lake_data),
        OEMKPI_CELERY_BROKER=broker,
    )


def step_workers(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """The Celery workers that executed the run's steps, from its event log."""
    return {
        record.dagster_event.engine_event_data.metadata["Celery worker"].value
        for record in instance.all_logs(run_id)
        if record.dagster_event is not None
        and record.dagster_event.is_engine_event
        and "Celery worker" in record.dagster_event.engine_event_data.metadata
    }


@dataclass
class Workers:
    """Celery worker processes (``oemkpi worker``), each in its own process group."""

    env: dict[str, str]
    queue: str
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, *names: str) -> None:
        """Start workers (at once) and wait until each is ready."""
        for name in names:
            with (self.logs / f"{name}.log").open("wb") as log:
                self.procs[name] = subprocess.Popen(
                    [OEMKPI, "worker", "--queue", self.queue, "--name", self.hostname(name)],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        deadline = time.monotonic() + 180
        for name in names:
            while " ready." not in self.log(name):
                if self.procs[name].poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"worker {name} did not start:\n{self.log(name)[-3000:]}")
                time.sleep(0.2)

    @staticmethod
    def hostname(name: str) -> str:
        return f"{name}@oemkpi-test"

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def pool_pids(self) -> list[int]:
        """Every worker's pool processes (their children)."""
        pids = []
        for proc in self.procs.values():
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            with suppress(OSError):
                pids += [int(p) for p in children.read_text().split()]
        return pids

    def owner(self, pid: int) -> str:
        """The worker whose pool process ``pid`` is."""
        for name, proc in self.procs.items():
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            with suppress(OSError):
                if str(pid) in children.read_text().split():
                    return name
        raise AssertionError(f"pid {pid} belongs to no worker")

    def kill(self, name: str) -> None:
        """SIGKILL the whole worker: main process and pool, as a lost machine would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in list(self.procs.items()):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            del self.procs[name]


def open_files(pid: int) -> list[str]:
    """The files process ``pid`` has open right now."""
    out = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                continue
    except OSError:
        return []
    return out


def wait_until_reading(
    pids: list[int] | Callable[[], list[int]], prefix: str, timeout: float
) -> int:
    """The pid of the first process seen with a file under ``prefix`` open (polling /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in pids() if callable(pids) else pids:
            if any(path.startswith(prefix) for path in open_files(pid)):
                return pid
        time.sleep(0.005)
    raise AssertionError(f"no process opened a file under {prefix} within {timeout} s")
