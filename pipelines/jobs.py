"""Jobs: ``monthly_update`` materializes every asset of a month (or a month range)."""

import time

import dagster as dg
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

from pipelines.partitions import monthly_partitions


def _seconds_to_next_claim_check(self: InstanceConcurrencyContext) -> float:
    """How long to sleep before asking for a pool slot again: never negative.

    Dagster 1.13 returns ``min(0, ...)`` here, which is never positive, so a run whose
    step waits for the ``duckdb_warehouse`` pool spins at full CPU instead of sleeping
    (four concurrent ``oemkpi run`` on two cores took 195 s instead of 73 s). Same
    fields as the original; only the clamp differs.
    """
    if not self._pending_claims or not self._pending_timeouts:
        return 0.0
    return max(0.0, min(self._pending_timeouts.values()) - time.time())


# Pinned to dagster 1.13 (uv.lock); drop this when upstream clamps the interval itself.
if hasattr(InstanceConcurrencyContext, "interval_to_next_pending_claim_check"):
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _seconds_to_next_claim_check  # type: ignore[method-assign]

monthly_update = dg.define_asset_job(
    name="monthly_update",
    selection=dg.AssetSelection.all(),
    partitions_def=monthly_partitions,
    description=(
        "Every asset of one month: the four feeds (parsed, checked, loaded or quarantined), "
        "the KPIs and red flags, and the monthly update per partner. Launch it for a month "
        "range to backfill; each asset then runs once over the whole range, months in order."
    ),
    # One process per run: Great Expectations is imported once, and the steps run one
    # after another anyway because they share the warehouse pool.
    executor_def=dg.in_process_executor,
)
