"""KPI marts, assortment changes and red flags, all computed from ``sql/kpis/``.

Each asset reads the months it needs, which its partition mappings name: MoM
needs M-1, YoY M-12, quarter-to-date up to two months back, the trend charts
thirteen months. In a single-run backfill each asset runs once over the whole
range, after everything it depends on, so those months are in place.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from assets.monthly import WAREHOUSE_MONTHLY, month_results
from oemkpi import formats
from oemkpi.ingest.contract import FEEDS
from oemkpi.kpis.compute import compute_assortment, compute_kpis, compute_sums, load_targets
from oemkpi.kpis.marketing import compute_marketing_quarter
from oemkpi.kpis.red_flags import RULES, evaluate_red_flags, load_thresholds
from oemkpi.reference import load_reference
from oemkpi.warehouse import sql
from pipelines.partitions import previous
from pipelines.resources import OemkpiResource
from pipelines.step_errors import one_sentence


@dg.asset(
    group_name="kpis",
    # The KPI feeds; the optional marketing feed has an asset of its own (marketing_quarter).
    deps=[dg.AssetDep(name) for name, feed in FEEDS.items() if not feed.optional],
    **WAREHOUSE_MONTHLY,
)
@one_sentence
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
    **WAREHOUSE_MONTHLY,
)
@one_sentence
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
    **WAREHOUSE_MONTHLY,
)
@one_sentence
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
    return formats.md_table(
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
            (
                p,
                formats.num(s),
                formats.pct(f),
                formats.pct(w),
                formats.pct(pr),
                formats.pct(pm),
                formats.num(r),
                formats.pct(o),
            )
            for p, s, f, w, pr, pm, r, o in rows
        ],
    )


@dg.asset(
    group_name="kpis",
    deps=[dg.AssetDep("marketing", partition_mapping=previous(2))],
    **WAREHOUSE_MONTHLY,
)
@one_sentence
def marketing_quarter(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """The co-marketing activities that count for the month: per partner, its latest
    marketing delivery within the month's fiscal quarter, only the activities of that
    quarter, with budget, spent, status and proof of execution. Cancelled activities are
    listed but left out of the totals. A month with no marketing data has no rows here."""
    per_month = {}
    progress: dict[str, str] = {}
    with oemkpi.warehouse() as con:
        for month in context.partition_keys:
            n = compute_marketing_quarter(con, month, oemkpi.fiscal_year_start_month)
            per_month[month] = {"dagster/row_count": n}
            progress[month] = f"{n} marketing activities"
    yield month_results(context, per_month, progress=progress)


@dg.asset(
    group_name="kpis",
    deps=[
        dg.AssetDep(kpis),
        dg.AssetDep(assortment),
        dg.AssetDep("data_quality"),
        dg.AssetDep(marketing_quarter),
    ],
    **WAREHOUSE_MONTHLY,
)
@one_sentence
def red_flags(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """Red flags and escalations per partner with stable rule ids (windows_share_drop,
    forecast_miss, target_gap, attach_drop, competitive_loss, data_quality,
    missing_partner_data, marketing_underspend, poe_missing), thresholds from reference/red_flags.yaml over the defaults,
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


kpi_assets = [kpi_sums, assortment, kpis, marketing_quarter, red_flags]
