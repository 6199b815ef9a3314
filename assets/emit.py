"""How a step reports its months to the UI, for one month or a single-run range."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg


def month_results(
    asset_key: str,
    per_month: Mapping[str, Mapping[str, Any]],
    summary: Mapping[str, Any] | None = None,
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """One month: its metadata on the materialization. A range: the summary on the
    run's materialization, then each month's own numbers on a materialization of its
    partition, so charts over months (row counts, red flags) stay per month."""
    months = list(per_month)
    if len(months) == 1:
        yield dg.MaterializeResult(metadata=dict(per_month[months[0]]))
        return
    yield dg.MaterializeResult(metadata={"months": len(months), **(summary or {})})
    for month in months:
        yield dg.AssetMaterialization(
            asset_key=asset_key, partition=month, metadata=dict(per_month[month])
        )
