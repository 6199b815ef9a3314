"""Read back what benchmark runs did (run by bench/run.py as its own process).

    python bench/stages.py --home H --run-id ID [--run-id ID ...] --month M [--kpis-out F]

Needs ``DAGSTER_HOME`` set to the instance the runs used. Prints one JSON
object: for each run, the event-log timestamps of its start and end, each
step's seconds (STEP_START to STEP_SUCCESS/FAILURE) and the sums of the
``seconds_parse``, ``seconds_validate`` and ``seconds_load`` metadata the
feed assets attach to each feed-month; and from the warehouse the latest
delivery of every feed-month (status, rows). With ``--kpis-out`` the
partner-scope KPI values of month M are written as a wide CSV, in the layout
of the comparison scripts, for a cross-check.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from _feeds import KPIS

FEED_STAGES = ("parse", "validate", "load")


def run_stages(instance: Any, run_id: str) -> dict[str, Any]:
    import dagster as dg

    record = instance.get_run_record_by_id(run_id)
    out: dict[str, Any] = {
        "run_id": run_id,
        "status": record.dagster_run.status.value if record else None,
        "tags": dict(record.dagster_run.tags) if record else {},
        "run_start": None,
        "run_end": None,
        "steps": {},
        "feed_stages": dict.fromkeys(FEED_STAGES, 0.0),
        "feed_stages_by_feed": {},
        "events": 0,
    }
    started: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        out["events"] += 1
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == dg.DagsterEventType.RUN_START:
            out["run_start"] = entry.timestamp
        elif kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
            out["run_end"] = entry.timestamp
        elif kind == dg.DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            begin = started.get(entry.step_key)
            if begin is not None:
                out["steps"][entry.step_key] = entry.timestamp - begin
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            feed = materialization.asset_key.to_user_string()
            for stage in FEED_STAGES:
                value = materialization.metadata.get(f"seconds_{stage}")
                if value is None:
                    continue
                seconds = float(value.value)
                out["feed_stages"][stage] += seconds
                by_feed = out["feed_stages_by_feed"].setdefault(
                    feed, dict.fromkeys(FEED_STAGES, 0.0)
                )
                by_feed[stage] += seconds
    return out


def deliveries(warehouse: Path) -> list[dict[str, Any]]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            """
            select feed, month, status, rows from (
                select *, row_number() over (
                    partition by feed, month order by checked_at desc) as recency
                from deliveries)
            where recency = 1 order by month, feed
            """
        ).fetchall()
    finally:
        con.close()
    return [{"feed": f, "month": m, "status": s, "rows": int(r)} for f, m, s, r in rows]


def write_kpis(warehouse: Path, month: str, path: Path) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select partner_id, kpi, value from kpi_values "
            "where month = ? and scope = 'partner' order by partner_id",
            [month],
        ).fetchall()
    finally:
        con.close()
    table: dict[str, dict[str, Any]] = {}
    for partner, kpi, value in rows:
        table.setdefault(partner, {})[kpi] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partner_id", *KPIS])
        for partner in sorted(table):
            writer.writerow(
                [partner, *("" if (v := table[partner].get(k)) is None else v for k in KPIS)]
            )
    return len(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--run-id", action="append", default=[])
    parser.add_argument("--month", required=True)
    parser.add_argument("--kpis-out", type=Path)
    args = parser.parse_args()

    result: dict[str, Any] = {"runs": {}, "deliveries": [], "kpi_partners": None}
    if args.run_id:
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            for run_id in args.run_id:
                result["runs"][run_id] = run_stages(instance, run_id)
    warehouse = args.home / "warehouse.duckdb"
    if warehouse.exists():
        result["deliveries"] = deliveries(warehouse)
        if args.kpis_out:
            result["kpi_partners"] = write_kpis(warehouse, args.month, args.kpis_out)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
