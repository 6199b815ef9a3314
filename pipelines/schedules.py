"""``monthly_update_schedule``: the previous month, on the due day, at 06:00 UTC.

The day is the resource's ``late_after_day`` (default the 10th): the day after
which a missing feed counts as late is also the day the month is run. The
schedule ticks daily and skips every other day, so changing the day needs no
code change, only the resource setting.
"""

from datetime import datetime

import dagster as dg

from oemkpi.months import last_complete_month
from pipelines.jobs import monthly_update
from pipelines.resources import OemkpiResource


@dg.schedule(
    name="monthly_update_schedule",
    job=monthly_update,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Runs monthly_update for the previous month on the due day of the month "
    "(OemkpiResource.late_after_day, default the 10th) at 06:00 UTC; skips other days.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def monthly_update_schedule(
    context: dg.ScheduleEvaluationContext, oemkpi: OemkpiResource
) -> dg.RunRequest | dg.SkipReason:
    now: datetime = context.scheduled_execution_time
    if now.day != oemkpi.late_after_day:
        return dg.SkipReason(
            f"monthly_update runs on day {oemkpi.late_after_day}; today is day {now.day}."
        )
    month = last_complete_month(now.date())
    return dg.RunRequest(
        run_key=f"scheduled-{month}",
        partition_key=month,
        tags={"oemkpi/started_by": "schedule"},
    )
