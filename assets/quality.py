"""Data quality across the feeds of a month, and its checks in the UI.

Each month's feed status (loaded, rejected, missing, late), the partners
missing from a delivered feed and the cross-feed reconciliation warnings, as
the report's appendix shows them; one Dagster check per reconciliation, plus
on-time delivery and complete partners. These checks warn; they never reject.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.feeds import feed_assets
from assets.monthly import WAREHOUSE_MONTHLY, month_results
from oemkpi import formats
from oemkpi.kpis.quality import RECONCILIATIONS, is_late, record_quality
from oemkpi.kpis.red_flags import load_thresholds
from oemkpi.reference import load_reference
from oemkpi.warehouse import sql
from pipelines.resources import OemkpiResource
from pipelines.step_errors import one_sentence

_FEED_HEADER = ("month", "feed", "status", "rows in force", "partners", "problems")
#: Feed states that need nobody's attention (an optional feed may go undelivered).
_IN_ORDER = ("loaded", "not_delivered")


@dg.asset(
    group_name="feeds",
    deps=[*(dg.AssetDep(a.key) for a in feed_assets), dg.AssetDep("kpi_sums")],
    check_specs=[
        dg.AssetCheckSpec(
            f"reconciliation_{name}",
            asset="data_quality",
            description=f"Cross-feed reconciliation {label} per partner x country x segment, "
            "within the tolerance (default 2 %). Warns; never rejects.",
        )
        for name, label in RECONCILIATIONS.items()
    ]
    + [
        dg.AssetCheckSpec(
            "feeds_on_time",
            asset="data_quality",
            description="Every feed of the month is delivered and accepted; a feed missing after "
            "the due day of the next month (default the 10th) is late.",
        ),
        dg.AssetCheckSpec(
            "partners_complete",
            asset="data_quality",
            description="Every partner of reference/partners.csv has rows in every delivered feed.",
        ),
    ],
    **WAREHOUSE_MONTHLY,
)
@one_sentence
def data_quality(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """The month's data quality across feeds, as the report's appendix shows it: each
    feed's status (loaded, rejected, missing, late) and rows in force, partners missing
    from a delivered feed, and reconciliation warnings between feeds."""
    home = oemkpi.get_home()
    reference = load_reference(home.reference)
    thresholds = load_thresholds(home.red_flags_yaml)
    today = datetime.now(UTC).date()
    months = list(context.partition_keys)
    per_month: dict[str, dict[str, Any]] = {}
    reconciliation: list[tuple[Any, ...]] = []
    feed_rows: list[tuple[Any, ...]] = []
    missing: list[tuple[Any, ...]] = []
    with oemkpi.warehouse() as con:
        for month in months:
            record_quality(
                con,
                month,
                reference.partner_ids,
                late=is_late(month, today, oemkpi.late_after_day),
                tolerance=thresholds.reconciliation_tolerance,
            )
            params = {"month": month}
            month_recon = con.execute(sql("quality/select_reconciliation_month"), params).fetchall()
            month_feeds = con.execute(sql("quality/select_feed_status_month"), params).fetchall()
            month_missing = con.execute(
                sql("quality/select_missing_partner_data_month"), params
            ).fetchall()
            reconciliation += month_recon
            feed_rows += month_feeds
            missing += month_missing
            per_month[month] = {
                "reconciliation_warnings": len(month_recon),
                "feeds_not_loaded": sum(r[2] not in _IN_ORDER for r in month_feeds),
                "partners_missing": len(month_missing),
                "feed_status": dg.MetadataValue.md(formats.md_table(_FEED_HEADER, month_feeds)),
            }
    yield from _quality_checks(reconciliation, feed_rows, missing)
    yield month_results(context, per_month)


def _quality_checks(
    reconciliation: list[tuple[Any, ...]],
    feed_rows: list[tuple[Any, ...]],
    missing: list[tuple[Any, ...]],
) -> Iterator[dg.AssetCheckResult]:
    header = ("month", "partner", "country", "segment", "left", "right", "difference")
    for name in RECONCILIATIONS:
        rows = [r for r in reconciliation if r[4] == name]
        yield dg.AssetCheckResult(
            asset_key="data_quality",
            check_name=f"reconciliation_{name}",
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "warnings": len(rows),
                "rows": dg.MetadataValue.md(
                    formats.md_table(
                        header,
                        [
                            (
                                r[0],
                                r[1],
                                r[2],
                                r[3],
                                f"{r[5]}: {formats.num(r[6])}",
                                f"{r[7]}: {formats.num(r[8])}",
                                formats.pct(r[9]),
                            )
                            for r in rows[:50]
                        ],
                    )
                ),
            },
        )
    late = [r for r in feed_rows if r[2] not in _IN_ORDER]
    yield dg.AssetCheckResult(
        asset_key="data_quality",
        check_name="feeds_on_time",
        passed=not late,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "feeds_not_loaded": len(late),
            "feeds": dg.MetadataValue.md(formats.md_table(_FEED_HEADER, late[:50])),
        },
    )
    yield dg.AssetCheckResult(
        asset_key="data_quality",
        check_name="partners_complete",
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "partners_missing": len(missing),
            "missing": dg.MetadataValue.md(
                formats.md_table(("month", "feed", "partner"), missing[:50])
            ),
        },
    )


quality_assets = [data_quality]
