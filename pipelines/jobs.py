"""Jobs: ``monthly_update`` materializes every asset of a month (or a month range)."""

import dagster as dg

from pipelines.executor import oemkpi_executor
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
    # Chosen when a run starts (pipelines/executor.py): in the run's process by default, one
    # process per run, so Great Expectations is imported once and the steps, which share the
    # warehouse pool, run one after another; on Celery workers in the scale-out profile.
    executor_def=oemkpi_executor,
)


def monthly_update_job() -> dg.JobDefinition:
    """``monthly_update`` resolved, for :func:`dagster.build_reconstructable_job`: how
    Celery workers (and ``oemkpi run`` in the scale-out profile) load the job."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("monthly_update")
