"""The SKU catalogue: every SKU each cell ever offers, with its churn and the planted loss.

Each cell has a SKU catalogue that churns: SKUs launch, are discontinued and
switch operating system (both ways). A month's cell volume is spread over
the SKUs active that month with a skewed weight, separately for the Windows
and the non-Windows SKUs so the cell's Windows share follows its target
(see :mod:`oemkpi.sample.months`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from oemkpi.ingest.contract import FORM_FACTORS
from oemkpi.sample.cells import CellModel
from oemkpi.sample.plan import (
    BAND_P,
    BAND_WEIGHT,
    CHROMEOS,
    FF_P,
    FF_WEIGHT,
    LOSS_OS_P,
    LOSS_SIZES,
    NEVER,
    NON_WIN_OS,
    NON_WIN_P,
    PREMIUM,
    R_CATALOGUE,
    SIZE_CODES,
    SKU_EXP,
    SKU_K,
    SKU_LIFETIME,
    SKU_MIN,
    SKU_MIN_LIFE,
    SMALL_SKU_WEIGHT,
    WIN,
    WORKSTATION,
    FloatArray,
    IntArray,
    Plan,
)


@dataclass
class SkuCatalogue:
    """Every SKU the home ever offers, sorted by cell; months are indexes into plan.months.

    Arrays use small integer types: at scale ~900 a month has ten million SKUs.
    """

    cell: npt.NDArray[np.int32]
    start: npt.NDArray[np.int32]  # first month offered
    end: npt.NDArray[np.int32]  # first month no longer offered
    os0: npt.NDArray[np.int8]  # OS family before the switch month
    os1: npt.NDArray[np.int8]  # OS family from the switch month on
    switch: npt.NDArray[np.int32]  # switch month, or NEVER
    form_factor: npt.NDArray[np.int8]
    band: npt.NDArray[np.int8]
    weight: FloatArray  # popularity
    name_head: npt.NDArray[np.int32]  # index into heads: "AUR-NB14P-G7-"
    serial: npt.NDArray[np.int32]  # number within the cell, the end of the name
    heads: pl.Series
    loss_skus: IntArray  # the three SKUs of the planted competitive loss
    loss_fraction: float  # share of the cell's Windows units each of them gets

    @classmethod
    def build(cls, plan: Plan, model: CellModel) -> SkuCatalogue:
        rng = plan.rng(R_CATALOGUE)
        n_cells, n_m = model.n_cells, plan.n_months
        hazard = 1.0 / SKU_LIFETIME
        mean_units = model.units.mean(axis=1)
        per_cell = np.maximum(SKU_MIN, np.rint(plan.scale * SKU_K * mean_units**SKU_EXP))
        per_cell = per_cell.astype(np.int64)
        launches = rng.poisson(per_cell[:, None] * hazard, (n_cells, n_m))
        launches[:, 0] = 0
        totals = per_cell + launches.sum(axis=1)
        n = int(totals.sum())
        cell = np.repeat(np.arange(n_cells, dtype=np.int32), totals)
        offsets = np.concatenate(([0], np.cumsum(totals)[:-1]))
        serial = (np.arange(n, dtype=np.int64) - offsets[cell]).astype(np.int32)
        initial = serial < per_cell[cell]

        # Launch month of launched SKUs: month m repeated launches[c, m] times, in cell order.
        start = np.empty(n, dtype=np.int32)
        start[initial] = -rng.integers(1, 30, int(initial.sum()), dtype=np.int32)
        start[~initial] = np.repeat(
            np.tile(np.arange(n_m, dtype=np.int32), n_cells), launches.ravel()
        )
        # Remaining life of SKUs on offer at the start; launched SKUs stay at least
        # SKU_MIN_LIFE months, on average about SKU_LIFETIME.
        life = np.where(
            initial,
            rng.geometric(hazard, n),
            rng.geometric(1.0 / (SKU_LIFETIME - SKU_MIN_LIFE), n),
        ).astype(np.int32)
        end = np.where(initial, life, start + SKU_MIN_LIFE + life).astype(np.int32)
        del life
        evergreen = serial < 2  # one Windows and one non-Windows SKU every month
        start[evergreen] = -36
        end[evergreen] = n_m + 1000

        seg = model.cell_s[cell].astype(np.int8)
        windows = rng.random(n) < model.win_share[cell, 0]
        windows[serial == 0] = True
        windows[serial == 1] = False
        non_win = NON_WIN_OS[_choice(rng, NON_WIN_P, seg)]
        os0 = np.where(windows, WIN, non_win).astype(np.int8)
        loss_os = NON_WIN_OS[_choice(rng, LOSS_OS_P[None, :], np.zeros(n, dtype=np.int8))]
        os1 = np.where(windows, loss_os, WIN).astype(np.int8)
        del non_win, loss_os
        form_factor = _choice(rng, FF_P, seg)
        form_factor[evergreen] = 0
        band = _choice(rng, BAND_P, seg)
        ws = np.flatnonzero(form_factor == WORKSTATION)
        band[ws] = np.where(rng.random(ws.size) < 0.7, PREMIUM, 1)
        weight = rng.lognormal(0.0, 1.0, n)
        weight *= FF_WEIGHT[form_factor]
        weight *= BAND_WEIGHT[band]

        # OS switches at a constant monthly rate, seen from the home's second month on:
        # away from Windows mostly small (niche, education) SKUs, to Windows any SKU.
        hazard_switch = np.where(windows, np.where(weight < SMALL_SKU_WEIGHT, 0.002, 0.0003), 0.012)
        first_seen = np.maximum(start + 1, 1)
        when = first_seen + rng.geometric(hazard_switch).astype(np.int32) - 1
        switch = np.where((when < end) & ~evergreen, when, NEVER).astype(np.int32)
        del hazard_switch, first_seen, when, windows
        size = rng.integers(0, 4, n, dtype=np.int8)

        # Name heads: partner prefix, form factor and size, line, generation (launch year).
        first = plan.months[0]
        first_index = int(first[:4]) * 12 + int(first[5:7]) - 1
        generation = np.clip((first_index + start) // 12 - 2019, 1, 9) - 1
        codes = [code for row in SIZE_CODES for code in row]
        heads = pl.Series(
            [
                f"{p.prefix}-{code}{line}-G{gen + 1}-"
                for p in plan.partners
                for code in codes
                for line in ("", "P")
                for gen in range(9)
            ]
        )
        name_head = (
            ((model.cell_p[cell] * len(codes) + form_factor * 4 + size) * 2 + seg) * 9 + generation
        ).astype(np.int32)

        catalogue = cls(
            cell=cell,
            start=start,
            end=end,
            os0=os0,
            os1=os1,
            switch=switch,
            form_factor=form_factor,
            band=band,
            weight=weight,
            name_head=name_head,
            serial=serial,
            heads=heads,
            loss_skus=np.zeros(0, dtype=np.int64),
            loss_fraction=0.0,
        )
        catalogue._plant_loss(plan, model)
        return catalogue

    def names(self, skus: IntArray) -> pl.Series:
        """Names like ``AUR-NB14-G7-042`` (consumer) or ``AUR-NB14P-G7-042`` (commercial)."""
        frame = pl.DataFrame(
            {"head": self.heads.gather(self.name_head[skus]), "serial": self.serial[skus]}
        )
        return frame.select(
            pl.concat_str(pl.col("head"), pl.col("serial").cast(pl.String).str.zfill(3))
        ).to_series()

    def _plant_loss(self, plan: Plan, model: CellModel) -> None:
        """Pick three established Windows SKUs of the loss cell; they go ChromeOS in the last month."""
        if model.loss_cell is None:
            return
        last = plan.n_months - 1
        lo, hi = np.searchsorted(self.cell, [model.loss_cell, model.loss_cell + 1])
        idx = np.arange(lo, hi)
        ok = (
            (self.start[idx] <= last - 3)
            & (self.end[idx] > last)
            & (self.os0[idx] == WIN)
            & (self.switch[idx] > last)
            & (idx - lo >= 2)
        )
        chosen = idx[ok]
        notebooks = chosen[self.form_factor[chosen] == FORM_FACTORS.index("notebook")]
        if notebooks.size >= 3:
            chosen = notebooks
        if chosen.size < 3:
            return
        chosen = np.sort(chosen[np.argsort(-self.weight[chosen], kind="stable")[:3]])
        self.loss_skus = chosen
        self.os1[chosen] = CHROMEOS
        self.switch[chosen] = last
        # Each SKU sells >= ~1600 units in M-1, and together they move the country's
        # Windows share (both segments) by >= ~5 points.
        cell = model.loss_cell
        pool = max(float(model.units[cell, last - 1] * model.win_share[cell, last - 1]), 1.0)
        country = (model.cell_p == model.cell_p[cell]) & (model.cell_c == model.cell_c[cell])
        country_units = float(model.units[country, last - 1].sum())
        per_sku = 2000.0 / pool
        together = 0.055 * country_units / (LOSS_SIZES.sum() * pool)
        self.loss_fraction = float(np.clip(max(per_sku, together), 0.025, 0.12))


def _choice(
    rng: np.random.Generator, probs: npt.NDArray[np.float64], group: npt.NDArray[Any]
) -> npt.NDArray[np.int8]:
    """One category per element: row ``group[i]`` of ``probs`` gives its probabilities."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(group.size)
    out = np.zeros(group.size, dtype=np.int8)
    for k in range(probs.shape[1] - 1):
        out += u >= cum[group, k]
    return out
