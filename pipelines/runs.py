"""Launch ``monthly_update`` for a month or a month range, in process, on the shared instance.

The CLI, the demo and the tests all come through here, so a run from a shell
is the same Dagster run the UI shows (SPEC section 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.contract import FEED_NAMES
from oemkpi.months import month_range, parse_month
from oemkpi.reference import check_configuration
from oemkpi.warehouse import connect, sql
from pipelines.instance import ensure_instance
from pipelines.partitions import monthly_partitions
from pipelines.step_errors import failure_sentence

#: Dagster's public run tags for a single-run backfill over a partition range.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass
class FeedMonthStatus:
    feed: str
    month: str
    status: str  # loaded | rejected | missing
    rows: int = 0
    problems: int = 0
    quarantine: str | None = None


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


def run_months(home: Home, first: str, last: str) -> RunSummary:
    """Materialize every asset of ``monthly_update`` for ``first``..``last`` as one run."""
    months = check_months(first, last)
    check_configuration(home)  # one sentence before anything runs
    ensure_instance(home)
    from pipelines.definitions import defs  # imported late: the CLI's --help stays fast

    job = defs.resolve_job_def("monthly_update")
    run_config = {
        "resources": {"oemkpi": {"config": {"home": str(home.root)}}},
        # Naming the logger in the run config is what makes Dagster use it instead of its default.
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    tags = {"oemkpi/started_by": "cli", "oemkpi/months": f"{months[0]}..{months[-1]}"}
    with dg.DagsterInstance.get() as instance:
        if len(months) == 1:
            result = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                partition_key=months[0],
                tags=tags,
                raise_on_error=False,
            )
        else:
            result = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                raise_on_error=False,
                tags={
                    **tags,
                    RANGE_START_TAG: months[0],
                    RANGE_END_TAG: months[-1],
                },
            )
    summary = RunSummary(result.run_id, months, result.success)
    summary.changed = _changed_deliveries(result)
    if not result.success:
        summary.failure = failure_sentence(result)
    if home.warehouse.exists():
        summary.statuses = feed_statuses(home, months)
    return summary


def feed_statuses(home: Home, months: list[str]) -> list[FeedMonthStatus]:
    """The latest delivery outcome of every feed-month, ``missing`` where none was checked."""
    con = connect(home.warehouse, read_only=True)
    try:
        rows = con.execute(
            sql("feeds/select_delivery_status"), {"first": months[0], "last": months[-1]}
        ).fetchall()
    finally:
        con.close()
    found = {(r[0], r[1]): r for r in rows}
    out = []
    for month in months:
        for feed in FEED_NAMES:
            row = found.get((feed, month))
            if row is None:
                out.append(FeedMonthStatus(feed, month, "missing"))
            else:
                out.append(FeedMonthStatus(feed, month, row[2], int(row[3]), int(row[4]), row[6]))
    return out


def _changed_deliveries(result: dg.ExecuteInProcessResult) -> list[str]:
    """Feed-months whose delivery changed while the run read it (their materialization
    says status ``changed``): nothing of them was loaded or quarantined."""
    found = []
    for event in result.all_events:
        if event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        materialization = event.step_materialization_data.materialization
        status = materialization.metadata.get("status")
        if status is not None and getattr(status, "value", None) == "changed":
            found.append(
                f"{materialization.asset_key.to_user_string()} {materialization.partition}"
            )
    return found
