"""The Dagster code location: one Definitions object, assembled from its modules."""

import dagster as dg

from assets.feeds import feed_assets
from pipelines.jobs import monthly_update
from pipelines.progress import progress_logger
from pipelines.resources import OemkpiResource

defs = dg.Definitions(
    assets=[*feed_assets],
    jobs=[monthly_update],
    resources={"oemkpi": OemkpiResource()},
    loggers={"console": progress_logger},
    executor=dg.in_process_executor,
)
