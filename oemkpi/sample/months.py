"""The month loop: allocate each month's cell units to SKUs and write its four feeds.

All vectorised with numpy, one month at a time. In the newest month natural
competitive switches of big SKUs are held back, so only the planted
competitive loss shows; the planted anomalies are then described with
numbers from the written data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from oemkpi.ingest.contract import FEEDS, SEGMENTS
from oemkpi.sample.cells import CellModel
from oemkpi.sample.files import Writer
from oemkpi.sample.plan import (
    LOSS_SIZES,
    QUIET_LOSS_UNITS,
    R_MONTH,
    WIN,
    BoolArray,
    FloatArray,
    IntArray,
    Plan,
)
from oemkpi.sample.skus import SkuCatalogue
from oemkpi.sample.tables import SUM_NAMES, Domains, Result, month_tables


def generate_months(
    plan: Plan, model: CellModel, catalogue: SkuCatalogue, writer: Writer
) -> Result:
    n_p, n_m, n_cells = len(plan.partners), plan.n_months, model.n_cells
    sums = {name: np.zeros((n_p, n_m)) for name in SUM_NAMES}
    result = Result(
        rows=dict.fromkeys(FEEDS, 0),
        anomalies=[],
        sums=sums,
        cell_windows=np.zeros((n_cells, n_m)),
        cell_units=np.zeros((n_cells, n_m)),
        loss_names=catalogue.names(catalogue.loss_skus).to_list(),
    )
    domains = Domains(plan)
    last = n_m - 1
    prev_units = np.zeros(0, dtype=np.int64)
    prev_idx = np.zeros(0, dtype=np.int64)
    for mi, month in enumerate(plan.months):
        rng = plan.rng(R_MONTH, mi)
        cat = catalogue
        idx = np.flatnonzero((cat.start <= mi) & (cat.end > mi))
        cell = cat.cell[idx]
        os_m = np.where(cat.switch[idx] <= mi, cat.os1[idx], cat.os0[idx])
        loss_pos = np.searchsorted(idx, cat.loss_skus) if cat.loss_skus.size else None
        if mi == last and plan.anomaly_partners is not None and prev_idx.size:
            # Hold back natural competitive switches of big SKUs: only the planted one shows.
            before = np.zeros(idx.size, dtype=np.int64)
            where = np.searchsorted(prev_idx, idx)
            found = where < prev_idx.size
            found[found] &= prev_idx[where[found]] == idx[found]
            before[found] = prev_units[where[found]]
            quiet = (cat.switch[idx] == mi) & (cat.os0[idx] == WIN) & (before >= QUIET_LOSS_UNITS)
            if loss_pos is not None:
                quiet[loss_pos] = False
            os_m[quiet] = WIN

        age = mi - cat.start[idx]
        ramp = np.where(age == 0, 0.35, np.where(age == 1, 0.7, 1.0))
        ramp = ramp * np.where(cat.end[idx] - mi == 1, 0.55, 1.0)
        weight = cat.weight[idx] * ramp * rng.lognormal(0.0, 0.2, idx.size)
        alloc_windows = os_m == WIN
        if loss_pos is not None and mi >= last - 1:
            alloc_windows[loss_pos] = True
            in_cell = (cell == model.loss_cell) & alloc_windows
            in_cell[loss_pos] = False
            others = float(weight[in_cell].sum())
            f = catalogue.loss_fraction * LOSS_SIZES
            weight[loss_pos] = f * others / (1.0 - f.sum())

        units = _allocate(
            cell,
            n_cells,
            weight,
            alloc_windows,
            model.units[:, mi],
            model.win_share[:, mi],
        )
        if loss_pos is not None and mi == last:
            os_m[loss_pos] = cat.os1[cat.loss_skus]
        if mi == last - 1:
            prev_idx, prev_units = idx, units

        tables = month_tables(plan, model, cat, domains, rng, mi, idx, cell, os_m, units, result)
        for feed, table in tables.items():
            result.rows[feed] += table.height
            writer.write_delivery(plan, feed, month, mi, table)
        del tables

    if plan.anomaly_partners is not None:
        result.anomalies = _anomalies(plan, model, result)
    return result


def _allocate(
    cell: npt.NDArray[np.int32],
    n_cells: int,
    weight: FloatArray,
    windows: BoolArray,
    cell_units: IntArray,
    win_share: FloatArray,
) -> IntArray:
    """Spread each cell's units over its SKUs by weight; exact integer sums.

    The Windows SKUs of a cell share ``round(units * win_share)``, the other
    SKUs the rest. Cumulative rounding keeps every count a whole number >= 0
    and each pool's sum exact.
    """
    win_weight = np.bincount(cell, weights=np.where(windows, weight, 0.0), minlength=n_cells)
    non_weight = np.bincount(cell, weights=np.where(windows, 0.0, weight), minlength=n_cells)
    pool_win = np.rint(cell_units * win_share)
    pool_win = np.where(non_weight <= 0, cell_units, np.where(win_weight <= 0, 0, pool_win))
    pool_non = cell_units - pool_win
    bounds = np.searchsorted(cell, np.arange(n_cells + 1))
    starts = bounds[:-1][bounds[:-1] < bounds[1:]]
    units = np.zeros(cell.size, dtype=np.int64)
    for mask, pool in ((windows, pool_win), (~windows, pool_non)):
        w = np.where(mask, weight, 0.0)
        cum = np.concatenate(([0.0], np.cumsum(w)))
        base = cum[bounds[:-1]]
        total = cum[bounds[1:]] - base
        local = cum[1:] - base[cell]
        denom = total[cell]
        frac = np.divide(local, denom, out=np.zeros_like(local), where=denom > 0)
        target = np.rint(pool[cell] * frac)
        before = np.concatenate(([0.0], target[:-1]))
        before[starts] = 0.0
        units += np.where(mask, target - before, 0.0).astype(np.int64)
    return units


def _anomalies(plan: Plan, model: CellModel, result: Result) -> list[dict[str, Any]]:
    """Describe what was planted in the newest month, with numbers from the written data."""
    planted = plan.anomaly_partners
    assert planted is not None
    month = plan.months[-1]
    last, prev = plan.n_months - 1, plan.n_months - 2
    ids = [p.partner_id for p in plan.partners]
    sums = result.sums
    out: list[dict[str, Any]] = []
    if model.loss_cell is not None and result.loss_names:
        cell = model.loss_cell
        country = plan.countries[int(model.cell_c[cell])]
        segment = SEGMENTS[int(model.cell_s[cell])]
        p = int(model.cell_p[cell])
        before = result.cell_windows[cell, prev] / result.cell_units[cell, prev]
        after = result.cell_windows[cell, last] / result.cell_units[cell, last]
        in_country = (model.cell_p == p) & (model.cell_c == model.cell_c[cell])
        c_before = (
            result.cell_windows[in_country, prev].sum() / result.cell_units[in_country, prev].sum()
        )
        c_after = (
            result.cell_windows[in_country, last].sum() / result.cell_units[in_country, last].sum()
        )
        skus = ", ".join(result.loss_names)
        out.append(
            {
                "rule": "competitive_loss",
                "partner_id": ids[p],
                "month": month,
                "country": country.country,
                "segment": segment,
                "detail": f"SKUs {skus} moved from windows to chromeos",
            }
        )
        out.append(
            {
                "rule": "windows_share_drop",
                "partner_id": ids[p],
                "month": month,
                "country": country.country,
                "segment": segment,
                "detail": (
                    f"{country.country} {segment} Windows share {before:.1%} -> {after:.1%}; "
                    f"{country.country} overall {c_before:.1%} -> {c_after:.1%}"
                ),
            }
        )
    p = planted["forecast_miss"]
    shipped, forecast = sums["shipped_with_forecast"][p, last], sums["forecast"][p, last]
    out.append(
        {
            "rule": "forecast_miss",
            "partner_id": ids[p],
            "month": month,
            "country": None,
            "segment": None,
            "detail": (
                f"shipped {int(shipped):,} of {int(forecast):,} forecast units "
                f"({shipped / forecast:.1%} attainment); short in "
                + ", ".join(plan.countries[c].country for c in model.miss_countries)
            ),
        }
    )
    p = planted["attach_drop"]
    office = sums["office_attached"][p] / sums["office_base"][p]
    out.append(
        {
            "rule": "attach_drop",
            "partner_id": ids[p],
            "month": month,
            "country": None,
            "segment": None,
            "detail": (
                f"office attach {office[prev]:.1%} -> {office[last]:.1%} "
                f"({(office[last] - office[prev]) * 100:+.1f} pts)"
            ),
        }
    )
    return out
