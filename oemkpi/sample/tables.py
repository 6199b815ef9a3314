"""One month of the four feeds as tables built from the SKU rows, and the sums they add up to.

The other feeds are aggregates of the SKU rows of windows_share, so the feeds
reconcile exactly: pc_shipments per form factor = sum of SKU units,
premium_mix = Windows SKU units split into editions, office base = Windows
units, and windows_server base = server shipments. :class:`Result` collects
row counts and partner x month sums over all months.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from oemkpi.ingest.contract import (
    EDITIONS,
    FEEDS,
    FORM_FACTORS,
    OS_FAMILIES,
    PRICE_BANDS,
    PRODUCTS,
    SEGMENTS,
)
from oemkpi.sample.catalogue import REGIONS
from oemkpi.sample.cells import CellModel
from oemkpi.sample.plan import (
    BAND_PRICE,
    EDITION_P,
    EDITION_PRICE,
    PC_FORM_FACTORS,
    PREMIUM,
    SERVER,
    WIN,
    WORKSTATION,
    BoolArray,
    FloatArray,
    IntArray,
    Plan,
)
from oemkpi.sample.skus import SkuCatalogue


@dataclass
class Result:
    """What the months wrote: rows per feed, the planted anomalies, and sums over the data."""

    rows: dict[str, int]
    anomalies: list[dict[str, Any]]
    # Partner x month sums, for targets and anomaly details.
    sums: dict[str, FloatArray]
    # Cell x month Windows and total units of windows_share.
    cell_windows: FloatArray
    cell_units: FloatArray
    loss_names: list[str]


SUM_NAMES = (
    "shipped",
    "shipped_with_forecast",
    "forecast",
    "revenue",
    "ws_windows",
    "ws_units",
    "pm_units",
    "pm_pro",
    "pm_premium",
    "office_base",
    "office_attached",
    "server_base",
    "server_attached",
)


class Domains:
    """Enum dtypes for the text columns, so big months stay small in memory."""

    def __init__(self, plan: Plan) -> None:
        self.month = {m: pl.Enum([m]) for m in plan.months}
        self.partner = pl.Enum([p.partner_id for p in plan.partners])
        self.country = pl.Enum([c.country for c in plan.countries])
        self.segment = pl.Enum(list(SEGMENTS))
        self.form_factor = pl.Enum(list(FORM_FACTORS))
        self.os_family = pl.Enum(list(OS_FAMILIES))
        self.edition = pl.Enum(list(EDITIONS))
        self.price_band = pl.Enum(list(PRICE_BANDS))
        self.product = pl.Enum(list(PRODUCTS))
        self.region_of_country: IntArray = np.array(
            [REGIONS.index(c.region) for c in plan.countries], dtype=np.int64
        )


def _enum(dtype: pl.Enum, codes: npt.NDArray[Any]) -> pl.Series:
    return pl.Series(dtype.categories, dtype=dtype).gather(np.asarray(codes, dtype=np.int64))


def _with_nulls(values: IntArray, missing: BoolArray) -> pl.Series:
    """An Int64 column with nulls where ``missing``."""
    return pl.Series(values, dtype=pl.Int64).scatter(np.flatnonzero(missing), None)


Column = Callable[[IntArray], pl.Series]


class Table:
    """One feed-month as column arrays; frames are built per file (a subset of rows)."""

    def __init__(
        self, domains: Domains, model: CellModel, month: str, cells: npt.NDArray[Any]
    ) -> None:
        self.domains = domains
        self.model = model
        self.month = month
        self.cells = cells
        self.measures: dict[str, Column] = {}

    @property
    def height(self) -> int:
        return int(self.cells.size)

    def regions(self) -> IntArray:
        """Region index of each row."""
        return self.domains.region_of_country[self.model.cell_c[self.cells]]

    def frame(self, rows: IntArray) -> pl.DataFrame:
        cells = self.cells[rows]
        d, m = self.domains, self.model
        month = pl.Series([self.month], dtype=d.month[self.month])
        data = {
            "month": month.gather(np.zeros(rows.size, dtype=np.int64)),
            "partner_id": _enum(d.partner, m.cell_p[cells]),
            "country": _enum(d.country, m.cell_c[cells]),
            "segment": _enum(d.segment, m.cell_s[cells]),
        }
        data.update({name: make(rows) for name, make in self.measures.items()})
        return pl.DataFrame(data)


def month_tables(
    plan: Plan,
    model: CellModel,
    cat: SkuCatalogue,
    domains: Domains,
    rng: np.random.Generator,
    mi: int,
    idx: IntArray,
    cell: npt.NDArray[np.int32],
    os_m: npt.NDArray[np.int8],
    units: IntArray,
    result: Result,
) -> dict[str, Table]:
    """The four feeds of one month (contract columns, contract order), and their sums."""
    n_cells = model.n_cells
    n_p = len(plan.partners)
    month = plan.months[mi]
    sums = result.sums
    is_win = os_m == WIN
    win_units = np.where(is_win, units, 0)

    def by_partner(cells: npt.NDArray[Any], values: npt.NDArray[Any]) -> FloatArray:
        return np.bincount(model.cell_p[cells], weights=values, minlength=n_p).astype(float)

    # windows_share: one row per SKU offered.
    windows_share = Table(domains, model, month, cell)
    windows_share.measures = {
        "sku": lambda rows: cat.names(idx[rows]),
        "os_family": lambda rows: _enum(domains.os_family, os_m[rows]),
        "units": lambda rows: pl.Series(units[rows]),
    }
    result.cell_windows[:, mi] = np.bincount(cell, weights=win_units, minlength=n_cells)
    result.cell_units[:, mi] = np.bincount(cell, weights=units, minlength=n_cells)
    sums["ws_windows"][:, mi] = by_partner(cell, win_units)
    sums["ws_units"][:, mi] = by_partner(cell, units)

    # pc_shipments: SKU units summed per form factor, plus servers.
    ff = cat.form_factor[idx]
    key = cell.astype(np.int64) * PC_FORM_FACTORS + ff
    count = np.bincount(key, minlength=n_cells * PC_FORM_FACTORS)
    shipped = np.bincount(key, weights=units, minlength=n_cells * PC_FORM_FACTORS)
    del key
    present = np.flatnonzero(count > 0)
    server_cells = np.flatnonzero(model.server_units[:, mi] > 0)
    pc_cells = np.concatenate([present // PC_FORM_FACTORS, server_cells])
    order = np.argsort(pc_cells, kind="stable")
    pc_cells = pc_cells[order]
    pc_ff = np.concatenate([present % PC_FORM_FACTORS, np.full(server_cells.size, SERVER)])[order]
    pc_units = np.concatenate(
        [shipped[present].astype(np.int64), model.server_units[server_cells, mi]]
    )[order]
    noise = np.clip(rng.normal(1.0, 0.015, pc_cells.size), 0.97, 1.04)
    factor = model.forecast_factor[pc_cells, mi] * noise
    forecast = np.rint(pc_units / factor).astype(np.int64)
    no_forecast = rng.random(pc_cells.size) < 0.03
    pc_shipments = Table(domains, model, month, pc_cells)
    pc_shipments.measures = {
        "form_factor": lambda rows: _enum(domains.form_factor, pc_ff[rows]),
        "shipped_units": lambda rows: pl.Series(pc_units[rows]),
        "forecast_units": lambda rows: _with_nulls(forecast[rows], no_forecast[rows]),
    }
    pcs = pc_ff != SERVER
    sums["shipped"][:, mi] = by_partner(pc_cells[pcs], pc_units[pcs])
    counted = pcs & ~no_forecast
    sums["shipped_with_forecast"][:, mi] = by_partner(pc_cells[counted], pc_units[counted])
    sums["forecast"][:, mi] = by_partner(pc_cells[counted], forecast[counted])

    # premium_mix: Windows units per (cell, band, workstation) split into editions.
    band = cat.band[idx]
    group = (cell.astype(np.int64) * 3 + band) * 2 + (ff == WORKSTATION)
    grouped = np.bincount(group, weights=win_units, minlength=n_cells * 6).astype(np.int64)
    del group, band, ff
    groups = np.flatnonzero(grouped > 0)
    g_cell, g_band, g_ws = groups // 6, (groups // 2) % 3, groups % 2
    split = rng.multinomial(grouped[groups], EDITION_P[model.cell_s[g_cell], g_ws])
    n_ed = len(EDITIONS)
    combo = np.repeat((g_cell * 3 + g_band) * n_ed, n_ed) + np.tile(np.arange(n_ed), groups.size)
    pm = np.bincount(combo, weights=split.ravel(), minlength=n_cells * 3 * n_ed).astype(np.int64)
    pm_rows = np.flatnonzero(pm > 0)
    pm_units = pm[pm_rows]
    pm_cell, pm_band, pm_edition = pm_rows // 15, (pm_rows // 5) % 3, pm_rows % 5
    price_level = np.array([c.price_level for c in plan.countries])
    revenue = np.round(
        pm_units
        * EDITION_PRICE[pm_edition]
        * BAND_PRICE[pm_band]
        * price_level[model.cell_c[pm_cell]]
        * rng.normal(1.0, 0.01, pm_rows.size),
        2,
    )
    premium_mix = Table(domains, model, month, pm_cell)
    premium_mix.measures = {
        "edition": lambda rows: _enum(domains.edition, pm_edition[rows]),
        "price_band": lambda rows: _enum(domains.price_band, pm_band[rows]),
        "units": lambda rows: pl.Series(pm_units[rows]),
        "license_revenue_usd": lambda rows: pl.Series(revenue[rows]),
    }
    pro = np.isin(pm_edition, [EDITIONS.index("pro"), EDITIONS.index("pro_workstation")])
    sums["pm_units"][:, mi] = by_partner(pm_cell, pm_units)
    sums["pm_pro"][:, mi] = by_partner(pm_cell, np.where(pro, pm_units, 0))
    sums["pm_premium"][:, mi] = by_partner(pm_cell, np.where(pm_band == PREMIUM, pm_units, 0))
    sums["revenue"][:, mi] = by_partner(pm_cell, revenue)

    # attach_rate: office on the Windows units of every cell, windows_server on servers.
    all_cells = np.arange(n_cells)
    office_base = result.cell_windows[:, mi].astype(np.int64)
    office_att = np.clip(np.rint(office_base * model.office_rate[:, mi]), 0, office_base)
    server_base = model.server_units[server_cells, mi]
    server_att = np.clip(np.rint(server_base * model.server_rate[server_cells, mi]), 0, server_base)
    at_cells = np.concatenate([all_cells, server_cells])
    order = np.argsort(at_cells, kind="stable")
    at_cells = at_cells[order]
    at_product = np.concatenate([np.zeros(n_cells), np.ones(server_cells.size)])[order]
    at_base = np.concatenate([office_base, server_base])[order].astype(np.int64)
    at_att = np.concatenate([office_att, server_att])[order].astype(np.int64)
    reports = np.array([p.sell_thru for p in plan.partners])[model.cell_p[at_cells]]
    through = np.where(at_product == 0, rng.uniform(0.86, 0.97, at_cells.size), 0.88)
    sell_thru = np.rint(at_att * through).astype(np.int64)
    attach_rate = Table(domains, model, month, at_cells)
    attach_rate.measures = {
        "product": lambda rows: _enum(domains.product, at_product[rows]),
        "base_units": lambda rows: pl.Series(at_base[rows]),
        "attached_units": lambda rows: pl.Series(at_att[rows]),
        "sell_thru_units": lambda rows: _with_nulls(sell_thru[rows], ~reports[rows]),
    }
    sums["office_base"][:, mi] = by_partner(all_cells, office_base)
    sums["office_attached"][:, mi] = by_partner(all_cells, office_att)
    sums["server_base"][:, mi] = by_partner(server_cells, server_base)
    sums["server_attached"][:, mi] = by_partner(server_cells, server_att)

    tables = {
        "pc_shipments": pc_shipments,
        "windows_share": windows_share,
        "premium_mix": premium_mix,
        "attach_rate": attach_rate,
    }
    for name, table in tables.items():
        columns = ["month", "partner_id", "country", "segment", *table.measures]
        assert columns == list(FEEDS[name].column_names), name
    return tables
