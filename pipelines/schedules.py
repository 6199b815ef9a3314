"""``monthly_update_schedule``: the previous month, the day after its due day, at 06:00 UTC.

The due day is the resource's ``late_after_day`` (default the 10th): a feed still missing
after it counts as late. The month runs the next morning (default the 11th), so every feed
of the scheduled update is either in or said to be late, with its red flag and the regions'
early warning; run on the due day itself, a missing feed was only "not delivered yet", and
nothing ran on the day it became late. A delivery that arrives later starts its own run
(``landing_sensor``). The schedule ticks daily and skips every other day, so changing the
day needs no code change, only the resource setting.
"""

from datetime import timedelta

import dagster as dg

from oemkpi.kpis.quality import due_date
from oemkpi.months import add_months, last_complete_month
from pipelines.jobs import monthly_update
from pipelines.resources import OemkpiResource


@dg.schedule(
    name="monthly_update_schedule",
    job=monthly_update,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Runs monthly_update for the previous month at 06:00 UTC on the day after its "
    "due day (OemkpiResource.late_after_day, default the 10th, so the 11th), when a feed "
    "still missing counts as late; skips other days.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def monthly_update_schedule(
    context: dg.ScheduleEvaluationContext, oemkpi: OemkpiResource
) -> dg.RunRequest | dg.SkipReason:
    today = context.scheduled_execution_time.date()
    latest = last_complete_month(today)
    # A due day late in the month makes the run day the first of the month after next.
    for month in (latest, add_months(latest, -1)):
        if due_date(month, oemkpi.late_after_day) + timedelta(days=1) == today:
            return dg.RunRequest(
                run_key=f"scheduled-{month}",
                partition_key=month,
                tags={"oemkpi/started_by": "schedule"},
            )
    return dg.SkipReason(
        f"monthly_update runs the day after the due day (day {oemkpi.late_after_day}); "
        f"today is day {today.day}."
    )
