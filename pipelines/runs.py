"""Launch ``monthly_update`` for a month or a month range on the shared instance.

The CLI, the demo and the tests all come through here, so a run from a shell
is the same Dagster run the UI shows (SPEC section 2). In process by default;
in the scale-out profile (``OEMKPI_CELERY_BROKER``) this process orchestrates
the run and its steps go to Celery workers (``dagster.execute_job``: Dagster's
``execute_in_process`` always runs steps in process). Either way the run
carries who runs it and frees the pool slots of dead runs before and while it
waits for one (:mod:`pipelines.recovery`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.contract import FEED_NAMES, OPTIONAL_FEEDS
from oemkpi.kpis.quality import DEFAULT_LATE_AFTER_DAY, is_late
from oemkpi.months import month_range, parse_month
from oemkpi.reference import check_configuration
from oemkpi.settings import Settings
from oemkpi.warehouse import has_warehouse, home_warehouse, sql
from pipelines.helper_processes import start_helpers
from pipelines.instance import ensure_instance
from pipelines.partitions import monthly_partitions
from pipelines.progress import interrupted_failure
from pipelines.recovery import run_presence
from pipelines.step_errors import failure_sentence

#: Dagster's public run tags for a single-run backfill over a partition range.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


@dataclass
class FeedMonthStatus:
    feed: str
    month: str
    status: str  # loaded | rejected | missing | not_delivered (an optional feed)
    rows: int = 0
    problems: int = 0
    quarantine: str | None = None
    in_force: bool = False  # a delivery of the feed-month is in the warehouse


@dataclass
class RunSummary:
    """What a run did, read back from the warehouse after it finished."""

    run_id: str
    months: list[str]
    success: bool
    statuses: list[FeedMonthStatus] = field(default_factory=list)
    failure: str | None = None
    #: "<feed> <YYYY-MM>" of deliveries that changed while the run read them
    changed: list[str] = field(default_factory=list)
    #: Messages the run's deliveries could not send (they stay in the outbox, retried at
    #: the month's next delivery)
    not_sent: int = 0

    def count(self, status: str) -> int:
        return sum(s.status == status for s in self.statuses)

    @property
    def rejected(self) -> list[FeedMonthStatus]:
        return [s for s in self.statuses if s.status == "rejected"]


def check_months(first: str, last: str) -> list[str]:
    """The months from ``first`` to ``last``, if they are partitions; else a clear error."""
    first = parse_month(first, what="first month")
    last = parse_month(last, what="last month")
    if first > last:
        raise OemkpiError(f"The range {first}..{last} is empty; put the earlier month first.")
    start = monthly_partitions.get_first_partition_key()
    end = monthly_partitions.get_last_partition_key()
    for month in (first, last):
        if end is None or not start <= month <= end:
            raise OemkpiError(
                f"The month {month} cannot be run: months from {start} to {end} "
                "(the last complete month) can."
            )
    return month_range(first, last)


def run_months(
    home: Home,
    first: str,
    last: str,
    *,
    queue: str | None = None,
    delivery: dict[str, bool] | None = None,
    only: list[str] | None = None,
) -> RunSummary:
    """Materialize every asset of ``monthly_update`` for ``first``..``last`` as one run.

    ``queue`` names the Celery queue of the run's steps (scale-out profile only);
    ``delivery`` is the ``deliveries`` step's config (``resend``, ``dry_run``,
    ``deliver_range``); ``only`` names the assets to materialize (default: all).
    """
    months = check_months(first, last)
    settings = Settings.from_env()
    if queue and not settings.uses_celery:
        raise OemkpiError("--queue names a Celery queue; it needs OEMKPI_CELERY_BROKER to be set.")
    check_configuration(home)  # one sentence before anything runs
    ensure_instance(home, settings=settings)
    run_config = {
        "resources": {"oemkpi": {"config": {"home": str(home.root)}}},
        # Naming the logger in the run config is what makes Dagster use it instead of its default.
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    if delivery:
        run_config["ops"] = {"deliveries": {"config": dict(delivery)}}
    selection = [dg.AssetKey(name) for name in only] if only else None
    tags = {"oemkpi/started_by": "cli", "oemkpi/months": f"{months[0]}..{months[-1]}"}
    if len(months) > 1:
        tags.update({RANGE_START_TAG: months[0], RANGE_END_TAG: months[-1]})
    if queue:
        tags["dagster-celery/queue"] = queue
    with dg.DagsterInstance.get() as instance:
        if settings.uses_celery:
            if len(months) == 1:
                tags[PARTITION_TAG] = months[0]
            result: Any = _execute_on_workers(instance, run_config, tags, selection)
        else:
            partition = months[0] if len(months) == 1 else None
            if only is None or set(only) & set(FEED_NAMES):
                start_helpers(home, months)
            result = _execute_in_process(instance, settings, run_config, tags, partition, selection)
    if not result.success and _interrupted(result):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM: the CLI says "interrupted"
    summary = RunSummary(result.run_id, months, result.success)
    summary.changed = _changed_deliveries(result)
    summary.not_sent = _not_sent(result)
    if not result.success:
        summary.failure = failure_sentence(result)
    if has_warehouse(home, settings):
        summary.statuses = feed_statuses(home, months)
    return summary


def _execute_in_process(
    instance: dg.DagsterInstance,
    settings: Settings,
    run_config: dict[str, Any],
    tags: dict[str, str],
    partition: str | None,
    selection: list[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import defs  # imported late: the CLI's --help stays fast

    job = defs.resolve_job_def("monthly_update")
    run_id = str(uuid.uuid4())
    with run_presence(instance, run_id, settings, log=_say) as presence:
        return job.execute_in_process(
            run_config=run_config,
            instance=instance,
            run_id=run_id,
            partition_key=partition,
            tags={**tags, **presence},
            raise_on_error=False,
            asset_selection=selection,
        )


def _execute_on_workers(
    instance: dg.DagsterInstance,
    run_config: dict[str, Any],
    tags: dict[str, str],
    selection: list[dg.AssetKey] | None = None,
) -> dg.JobExecutionResult:
    """This process orchestrates; the executor (pipelines/executor.py) sends the steps to
    Celery and keeps the run's presence."""
    import pipelines
    from pipelines.definitions import defs  # noqa: F401  (applies the Dagster patches here too)

    job = dg.build_reconstructable_job(
        "pipelines.jobs",
        "monthly_update_job",
        # Where workers import the code from when it is not installed where they run.
        reconstructor_working_directory=str(Path(pipelines.__file__).resolve().parent.parent),
    )
    with dg.execute_job(
        job, instance, run_config=run_config, tags=tags, asset_selection=selection
    ) as result:
        return result


def _interrupted(result: Any) -> bool:
    """Whether the run ended because this process was interrupted (Ctrl-C, SIGTERM)."""
    return any(event.is_run_failure and interrupted_failure(event) for event in result.all_events)


def _say(message: str) -> None:
    print(f"  {message}", flush=True)


def feed_statuses(home: Home, months: list[str]) -> list[FeedMonthStatus]:
    """The latest delivery outcome of every feed-month, ``missing`` where none was checked
    (``late`` once past its due day, as the reports say; a CLI run uses the resource's
    default due day)."""
    with home_warehouse(home, read_only=True) as con:
        rows = con.execute(
            sql("feeds/select_delivery_status"), {"first": months[0], "last": months[-1]}
        ).fetchall()
    found = {(r[0], r[1]): r for r in rows}
    today = datetime.now(UTC).date()
    out = []
    for month in months:
        for feed in FEED_NAMES:
            row = found.get((feed, month))
            if row is None:
                status = "not_delivered" if feed in OPTIONAL_FEEDS else "missing"
                if status == "missing" and is_late(month, today, DEFAULT_LATE_AFTER_DAY):
                    status = "late"
                out.append(FeedMonthStatus(feed, month, status))
            else:
                out.append(
                    FeedMonthStatus(
                        feed, month, row[2], int(row[3]), int(row[4]), row[6], bool(row[8])
                    )
                )
    return out


def _materializations(result: Any) -> Iterator[Any]:
    """The asset materializations of a finished in-process run."""
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            yield event.step_materialization_data.materialization


def _not_sent(result: Any) -> int:
    """Messages the ``deliveries`` step could not send (its materializations' ``failed``)."""
    return sum(
        int(getattr(m.metadata.get("failed"), "value", 0) or 0)
        for m in _materializations(result)
        if m.asset_key.to_user_string() == "deliveries"
    )


def _changed_deliveries(result: Any) -> list[str]:
    """Feed-months whose delivery changed while the run read it (their materialization
    says status ``changed``): nothing of them was loaded or quarantined."""
    return [
        f"{m.asset_key.to_user_string()} {m.partition}"
        for m in _materializations(result)
        if getattr(m.metadata.get("status"), "value", None) == "changed"
    ]
