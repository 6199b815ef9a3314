"""Jobs: ``monthly_update`` materializes every asset of a month (or a month range)."""

import dagster as dg

from pipelines.partitions import monthly_partitions

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
