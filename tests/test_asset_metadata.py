"""What a single-run range leaves in the Dagster UI: each month once, with its own numbers."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from oemkpi.home import Home
from oemkpi.sample import write_sample_home
from pipelines.runs import run_months

MONTHS = ["2026-08", "2026-09", "2026-10"]


def test_a_range_materializes_each_partition_once_with_its_own_metadata(
    tmp_path: Path, dagster_home: Path
) -> None:
    home = Home.at(tmp_path / "home")
    write_sample_home(home.root, end_month=MONTHS[-1], months=3, partners=2, countries=4)

    summary = run_months(home, MONTHS[0], MONTHS[-1])

    assert summary.success
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("windows_share")), limit=100
        ).records
        flags = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("red_flags")), limit=100
        ).records
    assert sorted(r.partition_key for r in records) == MONTHS
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = dict(
            con.execute("select month, count(*) from windows_share group by month").fetchall()
        )
        flag_counts = dict(
            con.execute("select month, count(*) from red_flags group by month").fetchall()
        )
    finally:
        con.close()
    for record in records:
        metadata = record.asset_materialization.metadata
        assert metadata["dagster/row_count"].value == rows[record.partition_key]
        assert metadata["status"].value == "loaded"
        assert metadata["run_months"].value == 3
    assert sorted(r.partition_key for r in flags) == MONTHS
    assert {
        r.partition_key: r.asset_materialization.metadata["red_flags"].value for r in flags
    } == {m: flag_counts.get(m, 0) for m in MONTHS}
