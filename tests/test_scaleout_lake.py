"""The warehouse on DuckLake against a real PostgreSQL catalog (steps in process).

* ``oemkpi migrate-warehouse`` moves a home's ``warehouse.duckdb`` into an empty
  lake, every table with the same rows, in one transaction; it refuses a lake
  that already holds rows, and leaves the file as it was;
* a commit that conflicts with a writer outside oemkpi retries the step, and
  after the last retry fails it whole in one sentence;
* four processes attaching an empty catalog at once all succeed;
* a reader sees one snapshot; the catalog password is in no error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import dagster as dg
import duckdb
import pytest

from oemkpi.errors import OemkpiError
from oemkpi.lake import attach, forget, lake_warehouse
from oemkpi.sample import write_sample_home
from oemkpi.settings import Lake, Settings
from pipelines import resources
from pipelines.resources import OemkpiResource
from tests.scaleout_servers import (
    OEMKPI,
    PG_PASSWORD,
    clean_env,
    lake_catalog,
    pg_database,
    require_postgres,
)

FIRST, LAST = "2026-02", "2026-03"
SAMPLE = {"end_month": LAST, "months": 2, "partners": 2, "countries": 2, "commentary": False}
TABLES = [
    "pc_shipments",
    "windows_share",
    "premium_mix",
    "attach_rate",
    "deliveries",
    "delivery_checks",
    "kpi_sums",
    "targets",
    "kpi_values",
    "assortment",
    "feed_status",
    "missing_partner_data",
    "reconciliation",
    "red_flags",
    "sent_messages",
]


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    require_postgres()
    with pg_database("oemkpi_t_lake") as db:
        data = tmp_path / "lake"
        data.mkdir()
        lake = Lake(lake_catalog(db), str(data))
        try:
            yield lake
        finally:
            forget(lake)


def _lake_env(lake: Lake, **more: str) -> dict[str, str]:
    return clean_env(OEMKPI_LAKE_CATALOG=lake.catalog, OEMKPI_LAKE_DATA=lake.data_path, **more)


def _oemkpi(env: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OEMKPI, "--home", str(home), *args], env=env, capture_output=True, text=True, timeout=900
    )


def _rows(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple]]:
    return {t: con.execute(f"select * from {catalog}.{t} order by all").fetchall() for t in TABLES}


def test_migrate_warehouse_moves_every_table_whole(tmp_path: Path, lake: Lake) -> None:
    root = tmp_path / "home"
    write_sample_home(root, **SAMPLE)
    env = clean_env(DAGSTER_HOME=str(tmp_path / "dh"))
    done = _oemkpi(env, root, "run", "--from", FIRST, "--to", LAST)
    assert done.returncode == 0, done.stderr
    source = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    before = _rows(source, "main")
    source.close()
    assert all(before[t] for t in ("windows_share", "deliveries", "kpi_sums", "kpi_values"))

    moved = _oemkpi(_lake_env(lake), root, "migrate-warehouse")
    assert moved.returncode == 0, moved.stderr
    lines = moved.stdout.splitlines()
    assert lines[0] == f"Moving {root / 'warehouse.duckdb'} into the DuckLake warehouse ..."
    assert lines[1:-1] == [f"  {t}: {len(before[t])} rows" for t in TABLES]
    total = sum(len(rows) for rows in before.values())
    assert lines[-1] == (
        f"Done: 15 tables, {total} rows, in one transaction. "
        f"{root / 'warehouse.duckdb'} is unchanged: keep it as a backup, or delete it."
    )
    with lake_warehouse(lake, read_only=True) as con:
        assert _rows(con, "lake") == before
    assert (root / "warehouse.duckdb").exists()

    again = _oemkpi(_lake_env(lake), root, "migrate-warehouse")
    assert again.returncode == 2
    assert again.stderr == (
        f"oemkpi: The DuckLake warehouse already holds data ({len(before['pc_shipments'])} rows "
        "in pc_shipments); migrate-warehouse moves a warehouse into an empty one only.\n"
    )


@pytest.mark.parametrize(
    ("with_lake", "sentence"),
    [
        (
            False,
            "oemkpi: migrate-warehouse moves warehouse.duckdb into DuckLake: set "
            "OEMKPI_LAKE_CATALOG and OEMKPI_LAKE_DATA first.\n",
        ),
        (True, "oemkpi: There is no warehouse at {root}/warehouse.duckdb to move.\n"),
    ],
)
def test_migrate_warehouse_refusals(
    tmp_path: Path, lake: Lake, with_lake: bool, sentence: str
) -> None:
    root = tmp_path / "home"
    root.mkdir()
    done = _oemkpi(_lake_env(lake) if with_lake else clean_env(), root, "migrate-warehouse")
    assert (done.returncode, done.stderr) == (2, sentence.format(root=root))


def _conflicting_asset(lake: Lake, conflicts: int) -> dg.AssetsDefinition:
    """Writes one row of ``targets``; on its first ``conflicts`` tries, a writer outside
    oemkpi (a DuckLake client of its own, not under oemkpi's lock) deletes from the table
    and commits first, so this step's commit conflicts."""

    @dg.asset
    def writes_targets(context, oemkpi: OemkpiResource) -> None:  # type: ignore[no-untyped-def]
        with oemkpi.warehouse() as con:
            con.execute("insert into targets values ('outside', 'FY26-Q1', 'k', 0)")
            con.begin()
            con.execute("delete from targets where partner_id = 'step'")
            con.execute(
                "insert into targets values ('step', 'FY26-Q1', 'k', ?)", [context.retry_number]
            )
            if context.retry_number < conflicts:
                outside = attach(lake)
                outside.execute("delete from targets where partner_id = 'outside'")
                outside.close()
            con.commit()

    return writes_targets


def test_a_conflicting_commit_retries_the_step(
    tmp_path: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "conflict_wait", lambda attempt: 0.0)
    with mock.patch.dict(os.environ, _lake_env(lake)):
        result = dg.materialize(
            [_conflicting_asset(lake, conflicts=2)],
            resources={"oemkpi": OemkpiResource(home=str(tmp_path))},
            raise_on_error=False,
        )
        assert result.success
        retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert len(retries) == 2
        with lake_warehouse(lake, read_only=True) as con:
            rows = con.execute("select target from targets where partner_id = 'step'").fetchall()
        assert rows == [(2.0,)]  # the third try's row, once: the conflicting ones left nothing


def test_a_commit_that_keeps_conflicting_fails_the_step_in_one_sentence(
    tmp_path: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "conflict_wait", lambda attempt: 0.0)
    monkeypatch.setattr(resources, "CONFLICT_RETRIES", 2)
    with mock.patch.dict(os.environ, _lake_env(lake)):
        result = dg.materialize(
            [_conflicting_asset(lake, conflicts=99)],
            resources={"oemkpi": OemkpiResource(home=str(tmp_path))},
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    while error is not None and error.cls_name != "WarehouseConflict":
        error = error.cause
    assert error is not None
    assert error.message.strip() == (
        "oemkpi.warehouse.WarehouseConflict: The DuckLake warehouse kept changing under this "
        "step: 3 commits in a row conflicted with another writer, and none was kept; stop the "
        "other writer or run the months again later."
    )
    with lake_warehouse(lake, read_only=True) as con:
        assert con.execute("select count(*) from targets where partner_id = 'step'").fetchone() == (
            0,
        )


ATTACH_AT_ONCE = """
import sys
from oemkpi.lake import lake_warehouse
from oemkpi.settings import Lake
with lake_warehouse(Lake(sys.argv[1], sys.argv[2])) as con:
    print(con.execute("select count(*) from duckdb_tables() where database_name = 'lake'").fetchone()[0])
"""


def test_four_processes_attaching_an_empty_catalog_at_once_all_succeed(lake: Lake) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ATTACH_AT_ONCE, lake.catalog, lake.data_path],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outcomes
    assert [out.strip() for out, _ in outcomes] == ["15"] * 4


def test_a_reader_sees_one_snapshot_while_a_writer_replaces_a_month(lake: Lake) -> None:
    with lake_warehouse(lake) as con:
        con.execute(
            "insert into kpi_sums (month, partner_id, country, segment) values ('2026-01', 'a', 'DE', 'x')"
        )
    with lake_warehouse(lake, read_only=True) as reader:
        first = reader.execute("select partner_id from kpi_sums").fetchall()
        writer = attach(lake)
        writer.begin()
        writer.execute("delete from kpi_sums where month = '2026-01'")
        writer.execute(
            "insert into kpi_sums (month, partner_id, country, segment) values ('2026-01', 'b', 'DE', 'x')"
        )
        writer.commit()
        writer.close()
        assert reader.execute("select partner_id from kpi_sums").fetchall() == first == [("a",)]
    with lake_warehouse(lake, read_only=True) as reader:
        assert reader.execute("select partner_id from kpi_sums").fetchall() == [("b",)]


def test_the_catalog_password_is_in_no_error(tmp_path: Path) -> None:
    require_postgres()
    data = tmp_path / "lake"
    data.mkdir()
    wrong = Lake(lake_catalog("oemkpi_no_such_database"), str(data))
    with pytest.raises(OemkpiError) as caught, lake_warehouse(wrong, read_only=True):
        pass
    assert str(caught.value) == (
        "The database oemkpi_no_such_database does not exist on the PostgreSQL server at "
        "127.0.0.1:5432 (OEMKPI_LAKE_CATALOG); create it (createdb oemkpi_no_such_database) "
        "or correct the name."
    )
    assert PG_PASSWORD not in repr(caught.value) and caught.value.__cause__ is None
    assert Settings.from_env(_lake_env(wrong)).lake == wrong
