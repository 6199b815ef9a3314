"""The four monthly feeds: landing -> parsed -> checked -> warehouse (or quarantine).

One asset factory serves all four feeds. Each feed-month delivery in
``landing/<feed>/<YYYY-MM>/`` is parsed against the contract and judged by
the feed's Great Expectations suite inside the step; a good delivery replaces
the month in DuckDB in one transaction, a bad one is rejected whole and
copied to ``quarantine/`` while the month's earlier data stays in force.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from assets.checks import feed_check_results, feed_check_specs
from assets.monthly import month_results
from oemkpi import formats
from oemkpi.ingest.contract import FEEDS, Feed
from oemkpi.ingest.deliveries import ingest_deliveries
from oemkpi.ingest.outcomes import DeliveryOutcome
from oemkpi.ingest.problems import problem_count
from oemkpi.ingest.validation_pages import validation_index_path, write_validation_pages
from oemkpi.reference import check_configuration
from oemkpi.warehouse import sql
from pipelines.partitions import monthly_partitions, single_run
from pipelines.resources import WAREHOUSE_POOL, OemkpiResource
from pipelines.step_errors import one_sentence


def _month_metadata(outcome: DeliveryOutcome, preview: str, page: Path | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": outcome.rows_in_force,
        "status": outcome.status,
        "partners": outcome.partners,
        "rows_delivered": outcome.rows,
        "files": ", ".join(outcome.files) or "(none)",
        "problems": problem_count(outcome.problems),
        "warnings": len(outcome.warnings),
        "preview": dg.MetadataValue.md(preview),
    }
    if page is not None:
        metadata["validation_page"] = dg.MetadataValue.path(str(page))
    if outcome.quarantine is not None:
        metadata["quarantine"] = dg.MetadataValue.path(str(outcome.quarantine))
        metadata["first_problem"] = outcome.problems[0].message
    for stage, seconds in outcome.seconds.items():
        metadata[f"seconds_{stage}"] = round(seconds, 3)
    return metadata


#: The feed with a row per SKU, by far the largest: its step runs first, so that the
#: import of Great Expectations (seconds of Python) overlaps DuckDB reading its files
#: instead of holding up a small feed's step.
LARGEST_FEED = "windows_share"


def build_feed_asset(feed: Feed) -> dg.AssetsDefinition:
    """The asset for one feed: monthly partitions, its suite's checks, the warehouse pool."""

    @dg.asset(
        name=feed.name,
        description=(
            f"{feed.description} Each month's delivery in landing/{feed.name}/<YYYY-MM>/ is "
            "parsed against the feed contract and validated by expectations/"
            f"{feed.name}.json before it replaces that month in the warehouse; a delivery with "
            "any problem is rejected whole, copied to quarantine/ with an errors.json, and the "
            "month's earlier good data stays in force."
        ),
        partitions_def=monthly_partitions,
        backfill_policy=single_run,
        group_name="feeds",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        check_specs=feed_check_specs(feed.name),
        metadata={"contract_columns": ", ".join(feed.column_names)},
        op_tags={
            "dagster/priority": "1" if feed.name == LARGEST_FEED else "0",
            # The same order on Celery workers (dagster-celery's default priority is 5).
            "dagster-celery/priority": "6" if feed.name == LARGEST_FEED else "5",
        },
    )
    @one_sentence
    def _feed(
        context: dg.AssetExecutionContext, oemkpi: OemkpiResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult | dg.AssetMaterialization]:
        home = oemkpi.get_home()
        # Reference data and configuration are checked before anything is written.
        reference = check_configuration(home)
        months = list(context.partition_keys)
        previews: dict[str, str] = {}
        # One log message for the step: each is an event the instance stores.
        lines: list[str] = []
        with oemkpi.warehouse() as con:
            outcomes = ingest_deliveries(con, home, feed.name, months, reference, log=lines.append)
            for month in months:
                rows = con.execute(sql(f"feeds/select_preview_{feed.name}"), {"month": month})
                header = [d[0] for d in rows.description or []]
                previews[month] = formats.md_table(header, rows.fetchall())
        context.log.info("\n".join(lines))
        checked = [o for o in outcomes if o.checked]
        pages = dict(
            zip((o.month for o in checked), write_validation_pages(home, checked), strict=True)
        )
        yield from feed_check_results(
            feed.name,
            outcomes,
            pages[months[0]] if len(months) == 1 and pages else validation_index_path(home),
        )
        yield month_results(
            context,
            {o.month: _month_metadata(o, previews[o.month], pages.get(o.month)) for o in outcomes},
            {
                "run_rejected_months": ", ".join(
                    o.month for o in outcomes if o.status == "rejected"
                )
                or "none",
                "run_missing_months": ", ".join(o.month for o in outcomes if o.status == "missing")
                or "none",
            },
        )

    return _feed


feed_assets: list[dg.AssetsDefinition] = [build_feed_asset(feed) for feed in FEEDS.values()]
