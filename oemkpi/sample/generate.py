"""Write the sample data home: :func:`write_sample_home`, the entry point, and its summary.

:func:`write_sample_home` writes what ``oemkpi demo`` runs on (SPEC section 2
layout): ``reference/`` (partners, countries, quarterly targets), every month
of the four feeds in ``landing/`` (several files per delivery, in CSV, Parquet
and XLSX, with the legal CSV variations of SPEC section 3) and PAM commentary
for the last two months.

The same arguments give byte-identical files; a file is rewritten only when its
bytes change, so re-running keeps modification times (the landing sensor
watches them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oemkpi.sample.cells import CellModel
from oemkpi.sample.commentary import write_commentary
from oemkpi.sample.files import Writer
from oemkpi.sample.marketing import write_marketing
from oemkpi.sample.months import generate_months
from oemkpi.sample.plan import make_plan
from oemkpi.sample.reference_files import write_reference
from oemkpi.sample.skus import SkuCatalogue

__all__ = ["SampleSummary", "write_sample_home"]


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`write_sample_home` wrote."""

    root: Path
    months: list[str]  # YYYY-MM, oldest first
    partners: list[str]  # partner ids
    countries: list[str]
    rows: dict[str, int]  # feed -> total rows written over all months
    files: int  # landing files of the home (written, or already identical on disk)
    anomalies: list[dict[str, Any]]  # planted anomalies (see write_sample_home)


def write_sample_home(
    root: Path | str,
    *,
    end_month: str | None = None,
    months: int = 36,
    partners: int = 6,
    countries: int | None = None,
    scale: float = 1.0,
    seed: int = 20261022,
    today: dt.date | None = None,
    commentary: bool = True,
) -> SampleSummary:
    """Write a deterministic sample data home under ``root`` and say what is in it.

    ``months`` months end at ``end_month`` (default: the last complete month
    before ``today``). ``partners`` (1-8) fictional PC makers sell in a
    partner-specific subset of the first ``countries`` countries of
    :data:`COUNTRY_CATALOGUE` (default all). ``scale`` multiplies the number
    of SKU rows in windows_share. The same arguments always give the same
    bytes; files whose bytes are unchanged are not rewritten.

    In ``end_month`` (when there are at least two months) three anomalies are
    planted and listed in :attr:`SampleSummary.anomalies`, each a dict with
    ``rule``, ``partner_id``, ``month``, ``country``, ``segment`` and ``detail``
    (country and segment None for partner-level ones):

    * ``competitive_loss``: three Windows SKUs of the 2nd partner in BR consumer
      (or its largest consumer country), each >= 1500 units in the month before,
      move to ChromeOS; the detail names them. The country-level
      ``windows_share_drop`` it causes is listed as a fourth record;
    * ``forecast_miss``: the 3rd partner ships about 82 % of its forecast;
    * ``attach_drop``: the 4th partner's office attach falls about 4 points.

    With fewer partners the positions wrap around. No other partner crosses
    those red-flag thresholds in ``end_month`` (partner Windows share drop
    < 1 pt, office and server attach drop < 2 pts, forecast attainment >= 0.9,
    no other competitive loss of a SKU with >= 1000 units).
    """
    plan = make_plan(
        root,
        end_month=end_month,
        months=months,
        partners=partners,
        countries=countries,
        scale=scale,
        seed=seed,
        today=today,
    )
    model = CellModel.build(plan)
    catalogue = SkuCatalogue.build(plan, model)
    writer = Writer(plan.home)
    result = generate_months(plan, model, catalogue, writer)
    result.rows["marketing"], planted = write_marketing(plan, writer)
    result.anomalies.extend(planted)
    write_reference(plan, result, writer)
    if commentary:
        write_commentary(plan, result, writer)
    writer.remove_stale()
    return SampleSummary(
        root=plan.home.root,
        months=list(plan.months),
        partners=[p.partner_id for p in plan.partners],
        countries=[c.country for c in plan.countries],
        rows=dict(result.rows),
        files=writer.landing_files,
        anomalies=result.anomalies,
    )
