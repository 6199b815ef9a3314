"""The Dagster code location: one Definitions object, assembled from its modules."""

import dagster as dg

from assets.delivery import delivery_assets
from assets.feeds import feed_assets
from assets.kpis import kpi_assets
from assets.quality import quality_assets
from assets.reports import report_assets
from pipelines import dagster_patches
from pipelines.executor import oemkpi_executor
from pipelines.jobs import monthly_update
from pipelines.progress import progress_logger
from pipelines.resources import OemkpiResource
from pipelines.schedules import monthly_update_schedule
from pipelines.sensors import landing_sensor

dagster_patches.apply()

defs = dg.Definitions(
    assets=[*feed_assets, *kpi_assets, *quality_assets, *report_assets, *delivery_assets],
    jobs=[monthly_update],
    schedules=[monthly_update_schedule],
    sensors=[landing_sensor],
    resources={"oemkpi": OemkpiResource()},
    loggers={"console": progress_logger},
    executor=oemkpi_executor,
)
