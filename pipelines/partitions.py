"""The one monthly partitions definition every asset shares (keys ``YYYY-MM``)."""

import warnings

import dagster as dg

# backfill_policy is marked beta in Dagster 1.13; we rely on it knowingly (single-run backfills).
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

#: Months from January 2018 to the last complete month.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2018-01", fmt="%Y-%m", end_offset=0)

#: A month-range backfill is one run, so a 36-month backfill is not 36 x N processes
#: and each asset step sees its months in order.
single_run = dg.BackfillPolicy.single_run()


def previous(months: int) -> dg.TimeWindowPartitionMapping:
    """Depend on the ``months`` months before a partition as well as on the partition itself."""
    return dg.TimeWindowPartitionMapping(start_offset=-months, end_offset=0)
