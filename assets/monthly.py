"""What every monthly asset shares: its partitions and pool, and how it reports its months."""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from pipelines.partitions import monthly_partitions, single_run
from pipelines.resources import WAREHOUSE_POOL

#: The settings of every asset that writes a month of the warehouse.
WAREHOUSE_MONTHLY: dict[str, Any] = {
    "partitions_def": monthly_partitions,
    "backfill_policy": single_run,
    "pool": WAREHOUSE_POOL,
    "kinds": {"duckdb"},
}


def month_results(
    context: dg.AssetExecutionContext,
    per_month: Mapping[str, Mapping[str, Any]],
    summary: Mapping[str, Any] | None = None,
    *,
    progress: Mapping[str, str] | None = None,
) -> dg.MaterializeResult:
    """The step's result, with each month's own numbers on the materialization of its
    partition, so charts over months (row counts, red flags) stay per month.

    A single-run range materializes every partition from one ``MaterializeResult``;
    metadata added per partition key is merged into that partition's event, so each
    partition is materialized once. ``summary`` describes the whole run (the same on
    every partition of it); it is only used for ranges. ``progress`` is a line per
    month for the log: one log message for the whole step, as every message is an
    event the instance stores.
    """
    if progress:
        context.log.info("\n".join(f"{month}: {line}" for month, line in progress.items()))
    months = list(per_month)
    if len(months) == 1:
        return dg.MaterializeResult(metadata=dict(per_month[months[0]]))
    for month in months:
        context.add_asset_metadata(dict(per_month[month]), partition_key=month)
    return dg.MaterializeResult(metadata={"run_months": len(months), **(summary or {})})
