"""``oemkpi doctor``'s sentences for what goes wrong with the servers, against real servers.

A wrong password needs a server that asks for one: the shared PostgreSQL trusts
127.0.0.1, so the test starts a PostgreSQL of its own with password (SCRAM)
authentication, in its ``tmp_path``, as an unprivileged user (a user
namespace maps root to one), and RabbitMQ's guest account checks its password.
A stopped server is a port nothing listens on. The same private PostgreSQL
shows that DuckLake gets the catalog's password through DuckDB's secret, since
the ATTACH string never carries it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from oemkpi.errors import OemkpiError
from oemkpi.lake import forget, lake_warehouse
from oemkpi.settings import Lake
from tests.scaleout_servers import (
    OEMKPI,
    clean_env,
    free_port,
    rabbit_broker,
    require_postgres,
    require_rabbitmq,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OWNER, RIGHT, WRONG = "owner", "r1ght-Pw", "wr0ng-Pw"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: the server tests must run on CI.")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def password_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A PostgreSQL of the test's own that checks passwords (SCRAM); its port."""
    if not (PG_BIN / "initdb").exists() or shutil.which("unshare") is None:
        _unavailable(f"no PostgreSQL server binaries in {PG_BIN} or no unshare")
    base = tmp_path_factory.mktemp("scram")
    (base / "pw").write_text(RIGHT + "\n", encoding="utf-8")
    as_user = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    done = subprocess.run(
        [*as_user, str(PG_BIN / "initdb"), "-D", str(base / "data"), "-U", OWNER]
        + ["-A", "scram-sha-256", f"--pwfile={base / 'pw'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        _unavailable(f"a private PostgreSQL could not be made: {done.stderr.strip()[-300:]}")
    port = free_port()
    server = subprocess.Popen(
        [*as_user, str(PG_BIN / "postgres"), "-D", str(base / "data"), "-p", str(port)]
        + ["-k", str(base), "-c", "listen_addresses=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg2.connect(
                    host="127.0.0.1", port=port, user=OWNER, password=RIGHT, dbname="postgres"
                ).close()
                break
            except psycopg2.OperationalError:
                assert server.poll() is None and time.monotonic() < deadline, "no private server"
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=60)


def _doctor(env: dict[str, str], home: Path) -> tuple[int, list[str]]:
    done = subprocess.run(
        [OEMKPI, "--home", str(home), "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stderr == ""
    return done.returncode, done.stdout.splitlines()


def test_wrong_passwords_a_closed_port_and_a_missing_data_path(
    tmp_path: Path, password_postgres: int
) -> None:
    require_rabbitmq()
    port = password_postgres
    env = clean_env(
        OEMKPI_INSTANCE_PG_URL=f"postgresql://{OWNER}:{WRONG}@127.0.0.1:{port}/postgres",
        OEMKPI_LAKE_CATALOG=f"dbname=postgres host=127.0.0.1 port={free_port()} user={OWNER} "
        f"password={WRONG}",
        OEMKPI_LAKE_DATA=str(tmp_path / "not-mounted"),
        OEMKPI_CELERY_BROKER=rabbit_broker().replace("guest:guest", f"guest:{WRONG}"),
    )
    code, lines = _doctor(env, tmp_path)
    assert code == 2
    problems = [line for line in lines if line.startswith("problem")]
    assert problems == [
        f"problem  Dagster instance: The PostgreSQL server at 127.0.0.1:{port} refused the "
        f"password for user {OWNER} (OEMKPI_INSTANCE_PG_URL); put the right password in "
        "OEMKPI_INSTANCE_PG_URL.",
        f"problem  DuckLake data path: The DuckLake data path {tmp_path / 'not-mounted'} "
        "(OEMKPI_LAKE_DATA) does not exist on this machine; mount the shared folder there (the "
        "same path on every machine), or create it.",
        f"problem  DuckLake catalog: Nothing answers at 127.0.0.1:"
        f"{env['OEMKPI_LAKE_CATALOG'].split('port=')[1].split()[0]} (OEMKPI_LAKE_CATALOG): "
        "start PostgreSQL there, or correct the host and port.",
        "problem  Celery broker: The broker at 127.0.0.1:5672 refused the user or password "
        "(OEMKPI_CELERY_BROKER); put the right ones in OEMKPI_CELERY_BROKER.",
    ]
    assert (
        lines[0] == "Profile: scale-out (PostgreSQL instance, DuckLake warehouse, Celery workers)"
    )
    assert not any(WRONG in line for line in lines)


def test_a_closed_instance_port_a_wrong_catalog_password_and_a_stopped_broker(
    tmp_path: Path, password_postgres: int
) -> None:
    port, closed, broker_port = password_postgres, free_port(), free_port()
    (tmp_path / "lake").mkdir()
    env = clean_env(
        OEMKPI_INSTANCE_PG_URL=f"postgresql://{OWNER}:{RIGHT}@127.0.0.1:{closed}/postgres",
        OEMKPI_LAKE_CATALOG=f"dbname=postgres host=127.0.0.1 port={port} user={OWNER} "
        f"password={WRONG}",
        OEMKPI_LAKE_DATA=str(tmp_path / "lake"),
        OEMKPI_CELERY_BROKER=f"redis://:{WRONG}@127.0.0.1:{broker_port}/0",
    )
    code, lines = _doctor(env, tmp_path)
    assert code == 2
    assert [line for line in lines if line.startswith("problem")] == [
        f"problem  Dagster instance: Nothing answers at 127.0.0.1:{closed} "
        "(OEMKPI_INSTANCE_PG_URL): start PostgreSQL there, or correct the host and port.",
        f"problem  DuckLake catalog: The PostgreSQL server at 127.0.0.1:{port} refused the "
        f"password for user {OWNER} (OEMKPI_LAKE_CATALOG); put the right password in "
        "OEMKPI_LAKE_CATALOG.",
        f"problem  Celery broker: Nothing answers at 127.0.0.1:{broker_port} "
        "(OEMKPI_CELERY_BROKER): start Redis or RabbitMQ there, or correct the host and port.",
    ]
    assert "ok       DuckLake extensions: ducklake and postgres_scanner load from their " in (
        "\n".join(lines)
    )
    assert not any(WRONG in line or RIGHT in line for line in lines)


def test_ducklake_gets_the_catalog_password_from_a_secret(
    tmp_path: Path, password_postgres: int
) -> None:
    require_postgres()
    (tmp_path / "lake").mkdir()
    catalog = f"dbname=postgres host=127.0.0.1 port={password_postgres} user={OWNER}"
    right = Lake(f"{catalog} password={RIGHT}", str(tmp_path / "lake"))
    try:
        with lake_warehouse(right) as con:
            con.execute("insert into targets values ('p', 'FY26-Q1', 'k', 1)")
        with lake_warehouse(right, read_only=True) as con:
            assert con.execute("select count(*) from targets").fetchone() == (1,)
            paths = [r[0] for r in con.execute("select path from duckdb_databases()").fetchall()]
            assert (
                f"postgres:user={OWNER} dbname=postgres host=127.0.0.1 port={password_postgres}"
                in (paths)
            )  # what DuckDB shows of the catalog: no password
            assert not any(RIGHT in (p or "") for p in paths)
    finally:
        forget(right)
    wrong = Lake(f"{catalog} password={WRONG}", str(tmp_path / "lake"))
    with pytest.raises(OemkpiError) as caught, lake_warehouse(wrong):
        pass
    assert str(caught.value) == (
        f"The PostgreSQL server at 127.0.0.1:{password_postgres} refused the password for user "
        f"{OWNER} (OEMKPI_LAKE_CATALOG); put the right password in OEMKPI_LAKE_CATALOG."
    )
