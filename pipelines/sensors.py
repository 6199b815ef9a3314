"""``landing_sensor``: a run for each feed-month delivery that appears or changes.

The cursor remembers each delivery folder's fingerprint (file names, sizes and
modification times). A folder whose fingerprint changed yields one run
request for that month, selecting the feed and everything downstream of it in
the asset graph, with a ``run_key`` of the delivery version: an unchanged
delivery never runs twice, and a re-delivery runs again.

A delivery still arriving is left alone: a folder is taken only once nothing
in it has changed (no file written, renamed, added or removed) for the
resource's ``landing_quiet_seconds`` (default 60). Until then its cursor entry
keeps the version last run, so a later tick takes it. The run itself still
checks that the files did not change while it read them.
"""

import json
import time
from typing import Any

import dagster as dg

from oemkpi.ingest.contract import FEED_NAMES
from oemkpi.ingest.folder import read_folder
from pipelines.jobs import monthly_update
from pipelines.partitions import monthly_partitions
from pipelines.resources import OemkpiResource


def downstream_of(feed: str, graph: Any) -> list[dg.AssetKey]:
    """The feed and every asset downstream of it in ``graph`` (the code location's asset
    graph): what a re-delivery invalidates."""
    keys = dg.AssetSelection.assets(feed).downstream().resolve(graph)
    return sorted(keys, key=lambda key: (key != dg.AssetKey(feed), key.to_user_string()))


def scan_landing(oemkpi: OemkpiResource, known_months: set[str]) -> dict[str, tuple[str, int]]:
    """``{"<feed>/<YYYY-MM>": (fingerprint, last change in ns)}`` of every delivery folder
    with something in it; links are not followed (the run refuses them)."""
    landing = oemkpi.get_home().landing
    found: dict[str, tuple[str, int]] = {}
    for feed in FEED_NAMES:
        folder = landing / feed
        if not folder.is_dir():
            continue
        for month_dir in sorted(folder.iterdir()):
            if month_dir.name not in known_months:
                continue  # not a month, or not a complete month yet
            listed = read_folder(month_dir)
            if listed.delivered:
                found[f"{feed}/{month_dir.name}"] = (listed.fingerprint(), listed.last_change_ns())
    return found


@dg.sensor(
    name="landing_sensor",
    job=monthly_update,
    minimum_interval_seconds=60,
    description="Starts monthly_update for a month when a delivery in landing/<feed>/<YYYY-MM>/ "
    "appears or changes (file names, sizes, modification times) and has then been quiet for "
    "landing_quiet_seconds (default 60), for that feed and everything downstream of it.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_sensor(context: dg.SensorEvaluationContext, oemkpi: OemkpiResource) -> dg.SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    graph = context.repository_def.asset_graph if context.repository_def else None
    if graph is None:
        raise dg.DagsterInvariantViolationError("landing_sensor needs its code location's assets.")
    months = set(monthly_partitions.get_partition_keys())
    quiet_since = time.time_ns() - int(oemkpi.landing_quiet_seconds * 1e9)
    requests = []
    cursor: dict[str, str] = {}
    for key, (print_, last_change) in sorted(scan_landing(oemkpi, months).items()):
        if seen.get(key) == print_:
            cursor[key] = print_
            continue
        if last_change > quiet_since:
            if key in seen:
                cursor[key] = seen[key]  # still arriving: taken at a later tick
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
        cursor[key] = print_
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))
