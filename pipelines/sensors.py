"""``landing_sensor``: a run for each feed-month delivery that appears or changes.

The cursor remembers each delivery folder's fingerprint (file names, sizes and
modification times). A folder whose fingerprint changed yields one run
request for that month, selecting the feed and everything downstream of it in
the asset graph, with a ``run_key`` of the delivery version: an unchanged
delivery never runs twice, and a re-delivery runs again.
"""

import json
from typing import Any

import dagster as dg

from oemkpi.ingest.contract import FEED_NAMES
from oemkpi.ingest.landing import delivery_files, fingerprint
from pipelines.jobs import monthly_update
from pipelines.partitions import monthly_partitions
from pipelines.resources import OemkpiResource


def downstream_of(feed: str, graph: Any) -> list[dg.AssetKey]:
    """The feed and every asset downstream of it in ``graph`` (the code location's asset
    graph): what a re-delivery invalidates."""
    keys = dg.AssetSelection.assets(feed).downstream().resolve(graph)
    return sorted(keys, key=lambda key: (key != dg.AssetKey(feed), key.to_user_string()))


def scan_landing(oemkpi: OemkpiResource, known_months: set[str]) -> dict[str, str]:
    """``{"<feed>/<YYYY-MM>": fingerprint}`` of every delivery folder with files."""
    landing = oemkpi.get_home().landing
    found: dict[str, str] = {}
    for feed in FEED_NAMES:
        folder = landing / feed
        if not folder.is_dir():
            continue
        for month_dir in sorted(folder.iterdir()):
            if month_dir.name not in known_months:
                continue  # not a month, or not a complete month yet
            files = delivery_files(month_dir)
            if files:
                found[f"{feed}/{month_dir.name}"] = fingerprint(files)
    return found


@dg.sensor(
    name="landing_sensor",
    job=monthly_update,
    minimum_interval_seconds=60,
    description="Starts monthly_update for a month when a delivery in landing/<feed>/<YYYY-MM>/ "
    "appears or changes (file names, sizes, modification times), for that feed and "
    "everything downstream of it.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_sensor(context: dg.SensorEvaluationContext, oemkpi: OemkpiResource) -> dg.SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    graph = context.repository_def.asset_graph if context.repository_def else None
    if graph is None:
        raise dg.DagsterInvariantViolationError("landing_sensor needs its code location's assets.")
    months = set(monthly_partitions.get_partition_keys())
    current = scan_landing(oemkpi, months)
    requests = []
    for key, print_ in sorted(current.items()):
        if seen.get(key) == print_:
            continue
        feed, month = key.split("/")
        requests.append(
            dg.RunRequest(
                run_key=f"{feed}-{month}-{print_}",
                partition_key=month,
                asset_selection=downstream_of(feed, graph),
                tags={"oemkpi/started_by": "landing_sensor", "oemkpi/delivery": key},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))
