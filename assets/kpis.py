"""KPI marts, assortment changes, data quality and red flags, all computed from ``sql/``.

Each asset reads the months it needs, which its partition mappings name: MoM
needs M-1, YoY M-12, quarter-to-date up to two months back, the trend charts
thirteen months. In a single-run backfill each asset runs once over the whole
range, after everything it depends on, so those months are in place.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.emit import month_results
from assets.feeds import feed_assets
from oemkpi import formats as markdown
from oemkpi.kpis.compute import compute_assortment, compute_kpis, compute_sums, load_targets
from oemkpi.kpis.quality import is_late, record_quality
from oemkpi.kpis.red_flags import RULES, evaluate_red_flags, load_thresholds
from oemkpi.reference import load_reference
from oemkpi.warehouse import sql
from pipelines.partitions import monthly_partitions, previous, single_run
from pipelines.resources import WAREHOUSE_POOL, OemkpiResource

_COMMON: dict[str, Any] = {
    "partitions_def": monthly_partitions,
    "backfill_policy": single_run,
    "pool": WAREHOUSE_POOL,
    "kinds": {"duckdb"},
}


@dg.asset(
    group_name="kpis",
    deps=[dg.AssetDep(a.key) for a in feed_assets],
    **_COMMON,
)
def kpi_sums(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """Additive sums per partner, country and segment for the month: shipped and server
    units, units with a forecast, Windows and total SKU units, Pro/premium units, licence
    revenue, attached and base units. Every KPI is a ratio of these sums at its scope."""
    per_month = {}
    progress: dict[str, str] = {}
    with oemkpi.warehouse() as con:
        for month in context.partition_keys:
            groups = compute_sums(con, month)
            per_month[month] = {"dagster/row_count": groups}
            progress[month] = f"{groups} partner x country x segment groups"
    yield month_results(context, per_month, progress=progress)


@dg.asset(
    group_name="kpis",
    deps=[dg.AssetDep("windows_share", partition_mapping=previous(1))],
    **_COMMON,
)
def assortment(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """Assortment wins and losses against the month before, per partner, country and
    segment: SKUs converted to Windows or new on Windows (wins), moved from Windows to
    another OS (competitive losses, with the OS they went to), Windows SKUs discontinued.
    Only SKUs above the minimum units count (reference/red_flags.yaml, default 100)."""
    home = oemkpi.get_home()
    thresholds = load_thresholds(home.red_flags_yaml)
    per_month = {}
    progress: dict[str, str] = {}
    with oemkpi.warehouse() as con:
        for month in context.partition_keys:
            n = compute_assortment(con, month, int(thresholds.assortment_min_units))
            counts = dict(
                con.execute(sql("kpis/select_assortment_counts"), {"month": month}).fetchall()
            )
            per_month[month] = {
                "dagster/row_count": n,
                **{
                    f"{reason}": int(counts.get(reason, 0))
                    for reason in ("converted", "new", "competitive", "discontinued")
                },
            }
            progress[month] = f"{n} assortment changes"
    yield month_results(context, per_month, progress=progress)


@dg.asset(
    group_name="kpis",
    deps=[dg.AssetDep(kpi_sums, partition_mapping=previous(12))],
    **_COMMON,
)
def kpis(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """Every KPI of SPEC section 4 per partner, and by country and by segment: value,
    prior month, same month last year, MoM and YoY change (points for ratios, relative
    for volumes), quarter-to-date and the quarter's target from reference/targets.csv."""
    home = oemkpi.get_home()
    reference = load_reference(home.reference)
    per_month = {}
    progress: dict[str, str] = {}
    with oemkpi.warehouse() as con:
        load_targets(con, reference)
        for month in context.partition_keys:
            n = compute_kpis(con, month, oemkpi.fiscal_year_start_month)
            rows = con.execute(sql("kpis/select_kpi_summary"), {"month": month}).fetchall()
            per_month[month] = {
                "dagster/row_count": n,
                "partners": len(rows),
                "summary": dg.MetadataValue.md(_kpi_summary(rows)),
            }
            progress[month] = f"KPIs for {len(rows)} partners"
    yield month_results(context, per_month, progress=progress)


def _kpi_summary(rows: list[tuple[Any, ...]]) -> str:
    def pct(v: Any) -> str:
        return "" if v is None else f"{v * 100:.1f} %"

    def num(v: Any) -> str:
        return "" if v is None else f"{v:,.0f}"

    return markdown.table(
        (
            "partner",
            "shipments",
            "forecast att.",
            "Windows share",
            "Pro mix",
            "premium mix",
            "revenue USD",
            "Office attach",
        ),
        [
            (p, num(s), pct(f), pct(w), pct(pr), pct(pm), num(r), pct(o))
            for p, s, f, w, pr, pm, r, o in rows
        ],
    )


@dg.asset(
    group_name="feeds",
    deps=[*(dg.AssetDep(a.key) for a in feed_assets), dg.AssetDep(kpi_sums)],
    check_specs=[
        dg.AssetCheckSpec(
            f"reconciliation_{name}",
            asset="data_quality",
            description=f"Cross-feed reconciliation {label} per partner x country x segment, "
            "within the tolerance (default 2 %). Warns; never rejects.",
        )
        for name, label in (
            (
                "shipments_vs_windows_share",
                "of pc_shipments non-server units with windows_share units",
            ),
            (
                "windows_share_vs_premium_mix",
                "of windows_share Windows units with premium_mix units",
            ),
            ("windows_vs_office_base", "of windows_share Windows units with Office base units"),
            ("server_vs_windows_server_base", "of server shipments with Windows Server base units"),
        )
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
    **_COMMON,
)
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
            month_recon = con.execute(
                sql("quality/select_reconciliation_month"), {"month": month}
            ).fetchall()
            month_feeds = con.execute(
                sql("quality/select_feed_status_month"), {"month": month}
            ).fetchall()
            month_missing = con.execute(
                sql("quality/select_missing_partner_data_month"), {"month": month}
            ).fetchall()
            reconciliation += month_recon
            feed_rows += month_feeds
            missing += month_missing
            per_month[month] = {
                "reconciliation_warnings": len(month_recon),
                "feeds_not_loaded": sum(r[2] != "loaded" for r in month_feeds),
                "partners_missing": len(month_missing),
                "feed_status": dg.MetadataValue.md(
                    markdown.table(
                        ("month", "feed", "status", "rows in force", "partners", "problems"),
                        month_feeds,
                    )
                ),
            }
    yield from _quality_checks(reconciliation, feed_rows, missing)
    yield month_results(context, per_month)


def _quality_checks(
    reconciliation: list[tuple[Any, ...]],
    feed_rows: list[tuple[Any, ...]],
    missing: list[tuple[Any, ...]],
) -> Iterator[dg.AssetCheckResult]:
    header = ("month", "partner", "country", "segment", "left", "right", "difference")
    for name in (
        "shipments_vs_windows_share",
        "windows_share_vs_premium_mix",
        "windows_vs_office_base",
        "server_vs_windows_server_base",
    ):
        rows = [r for r in reconciliation if r[4] == name]
        yield dg.AssetCheckResult(
            asset_key="data_quality",
            check_name=f"reconciliation_{name}",
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "warnings": len(rows),
                "rows": dg.MetadataValue.md(
                    markdown.table(
                        header,
                        [
                            (
                                r[0],
                                r[1],
                                r[2],
                                r[3],
                                f"{r[5]}: {r[6]:,}",
                                f"{r[7]}: {r[8]:,}",
                                f"{r[9] * 100:.1f} %",
                            )
                            for r in rows[:50]
                        ],
                    )
                ),
            },
        )
    late = [r for r in feed_rows if r[2] != "loaded"]
    yield dg.AssetCheckResult(
        asset_key="data_quality",
        check_name="feeds_on_time",
        passed=not late,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "feeds_not_loaded": len(late),
            "feeds": dg.MetadataValue.md(
                markdown.table(
                    ("month", "feed", "status", "rows in force", "partners", "problems"), late[:50]
                )
            ),
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
                markdown.table(("month", "feed", "partner"), missing[:50])
            ),
        },
    )


@dg.asset(
    group_name="kpis",
    deps=[dg.AssetDep(kpis), dg.AssetDep(assortment), dg.AssetDep(data_quality)],
    **_COMMON,
)
def red_flags(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """Red flags and escalations per partner with stable rule ids (windows_share_drop,
    forecast_miss, target_gap, attach_drop, competitive_loss, data_quality,
    missing_partner_data), thresholds from reference/red_flags.yaml over the defaults,
    severity high when the breach is at least twice the threshold."""
    home = oemkpi.get_home()
    reference = load_reference(home.reference)
    thresholds = load_thresholds(home.red_flags_yaml)
    per_month = {}
    progress: dict[str, str] = {}
    with oemkpi.warehouse() as con:
        for month in context.partition_keys:
            n = evaluate_red_flags(
                con, month, reference.partner_ids, thresholds, oemkpi.fiscal_year_start_month
            )
            counts = con.execute(sql("kpis/select_red_flag_counts"), {"month": month}).fetchall()
            by_rule = {rule: n for rule, _severity, n in counts}
            high = sum(n for _rule, severity, n in counts if severity == "high")
            per_month[month] = {
                "red_flags": n,
                "red_flags_high": int(high),
                **{f"flags_{rule}": int(by_rule.get(rule, 0)) for rule in RULES},
            }
            progress[month] = f"{n} red flags ({high} high)"
    yield month_results(context, per_month, progress=progress)


kpi_assets = [kpi_sums, assortment, kpis, data_quality, red_flags]
