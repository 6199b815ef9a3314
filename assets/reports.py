"""The monthly business update per partner: HTML with charts, Markdown, JSON, index."""

import threading
from collections.abc import Iterator
from typing import Any

import dagster as dg

from assets.kpis import assortment, kpi_sums, kpis, marketing_quarter, red_flags
from assets.monthly import month_results
from assets.quality import data_quality
from oemkpi.reports.writing import WrittenMonth, write_reports
from pipelines.partitions import monthly_partitions, previous, single_run
from pipelines.resources import WAREHOUSE_POOL, OemkpiResource
from pipelines.step_errors import one_sentence

#: The models the report step of a run built in this process, by (run id, home, month), for
#: that run's delivery step: see :func:`take_models`. Only the latest run's are kept.
_MODELS: dict[tuple[str, str, str], WrittenMonth] = {}
_MODELS_LOCK = threading.Lock()


def _leave_models(run_id: str, root: str, month: str, models: WrittenMonth) -> None:
    with _MODELS_LOCK:
        for key in [k for k in _MODELS if k[0] != run_id]:
            del _MODELS[key]
        _MODELS[(run_id, root, month)] = models


def take_models(run_id: str, root: str, month: str) -> WrittenMonth | None:
    """The month's updates and regional packs as this run's report step built them, when
    it ran in this process (the embedded profile runs steps one after the other in one
    process); None when it ran elsewhere (another Celery worker, a range rendered by
    worker processes, ``oemkpi deliver``), and the delivery step builds them from the
    warehouse. Building them twice ran the month's report queries twice (~3 s of a
    10M-row month); taken from here, the messages say exactly what the attached reports
    say."""
    with _MODELS_LOCK:
        return _MODELS.pop((run_id, root, month), None)


@dg.asset(
    group_name="reports",
    kinds={"python", "html"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    pool=WAREHOUSE_POOL,
    deps=[
        dg.AssetDep(kpi_sums, partition_mapping=previous(12)),
        dg.AssetDep(kpis),
        dg.AssetDep(assortment),
        dg.AssetDep(data_quality),
        dg.AssetDep(red_flags),
        dg.AssetDep(marketing_quarter),
    ],
)
@one_sentence
def monthly_reports(context: dg.AssetExecutionContext, oemkpi: OemkpiResource) -> Iterator[Any]:
    """The monthly business update of every partner in reference/partners.csv, as a
    self-contained HTML page with 13-month trend charts, a Markdown version for mail and
    chat, and the JSON export, in reports/<YYYY-MM>/, with an index.html of all partners.
    PAM commentary from commentary/<YYYY-MM>/<partner_id>.md is merged in. Written also
    when a feed of the month was rejected or is missing: its KPIs show as unavailable
    and the data-quality appendix says why."""
    home = oemkpi.get_home()
    per_month: dict[str, dict[str, Any]] = {}
    progress: dict[str, str] = {}
    for written in write_reports(
        home, list(context.partition_keys), fy_start_month=oemkpi.fiscal_year_start_month
    ):
        summary_md = "\n\n".join(
            f"**{r.partner_name}** ({r.flag_counts['high']} high, "
            f"{r.flag_counts['medium']} medium red flags)\n\n"
            + "\n".join(f"- {s}" for s in r.summary)
            for r in written.reports
        )
        per_month[written.month] = {
            "index": dg.MetadataValue.path(str(written.index)),
            "reports": len(written.reports),
            "red_flags": sum(sum(r.flag_counts.values()) for r in written.reports),
            "red_flags_high": sum(r.flag_counts["high"] for r in written.reports),
            "executive_summary": dg.MetadataValue.md(summary_md),
            "folder": dg.MetadataValue.path(str(written.index.parent)),
        }
        progress[written.month] = (
            f"{len(written.reports)} partner updates in {written.index.parent}"
        )
        for warning in written.warnings:
            context.log.warning(warning)
        if written.rendered is not None:
            _leave_models(context.run_id, str(home.root), written.month, written.rendered)
    yield month_results(context, per_month, progress=progress)


report_assets = [monthly_reports]
