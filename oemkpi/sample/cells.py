"""The cell model: monthly volumes and rates of every partner x country x segment, anomalies planted.

A *cell* is one partner x country x segment. Each cell has a monthly PC
volume (country market size x partner share x seasonality x growth x noise),
a target Windows share, office attach rate, server volume and server attach.

In the newest month a few anomalies are planted (a competitive loss, a
forecast miss, an office attach drop) and every other partner is kept clear
of those red-flag thresholds. The forecast miss and the attach drop are
planted here, and the cell of the competitive loss is chosen here; its SKUs
are picked in :mod:`oemkpi.sample.skus`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oemkpi.sample.catalogue import CORE_COUNTRIES, COUNTRY_CATALOGUE, PARTNER_CATALOGUE
from oemkpi.sample.plan import (
    ATTACH_DROP,
    ATTACH_DROP_GUARD,
    FORECAST_MISS_ATTAINMENT,
    R_MONTHLY,
    R_STATIC,
    SEASON,
    WIN_DROP_GUARD,
    WIN_SEASON,
    FloatArray,
    IntArray,
    Plan,
)


@dataclass
class CellModel:
    """Cell-level (partner x country x segment) monthly series, shape (cells, months)."""

    cell_p: IntArray  # partner index of each cell
    cell_c: IntArray  # country index
    cell_s: IntArray  # segment index (0 consumer, 1 commercial)
    units: IntArray  # PC units (non-server)
    win_share: FloatArray  # target Windows share of units
    office_rate: FloatArray
    server_units: IntArray
    server_rate: FloatArray
    forecast_factor: FloatArray  # shipped / forecast, by cell and month
    miss_countries: list[int]  # countries of the planted forecast miss
    loss_cell: int | None  # cell of the planted competitive loss

    @property
    def n_cells(self) -> int:
        return int(self.cell_p.size)

    @classmethod
    def build(cls, plan: Plan) -> CellModel:
        n_p, n_c, n_m = len(plan.partners), len(plan.countries), plan.n_months
        full_p, full_c = len(PARTNER_CATALOGUE), len(COUNTRY_CATALOGUE)
        # Static draws over the full catalogues, so a partner's data does not
        # depend on how many other partners or countries the home has.
        rng = plan.rng(R_STATIC)
        presence_draw = rng.random((full_p, full_c))
        share_noise = rng.lognormal(0.0, 0.25, (full_p, full_c))[:n_p, :n_c]
        tilt = rng.uniform(-0.08, 0.08, full_p)[:n_p]
        win_offset_p = rng.normal(0.0, 0.012, full_p)[:n_p]
        win_noise = rng.normal(0.0, 0.008, (full_p, full_c, 2))[:n_p, :n_c]
        win_trend = rng.uniform(-0.004, 0.004, full_p)[:n_p]
        office_p = np.stack(
            [rng.uniform(0.36, 0.48, full_p), rng.uniform(0.58, 0.72, full_p)], axis=1
        )[:n_p]
        office_noise = rng.normal(0.0, 0.015, (full_p, full_c, 2))[:n_p, :n_c]
        server_ratio = rng.uniform(0.012, 0.03, (full_p, full_c))[:n_p, :n_c]
        server_p = rng.uniform(0.62, 0.78, full_p)[:n_p]
        server_noise = rng.normal(0.0, 0.02, (full_p, full_c))[:n_p, :n_c]

        presence = np.ones((n_p, n_c), dtype=bool)
        if n_c > CORE_COUNTRIES:
            odds = np.array([p.presence for p in plan.partners])[:, None]
            presence[:, CORE_COUNTRIES:] = presence_draw[:n_p, CORE_COUNTRIES:n_c] < odds
        pp, cc = np.nonzero(presence)
        cell_p = np.repeat(pp, 2).astype(np.int64)
        cell_c = np.repeat(cc, 2).astype(np.int64)
        cell_s = np.tile(np.array([0, 1]), pp.size).astype(np.int64)

        market = np.array([c.market_k * 1000.0 for c in plan.countries])
        consumer = np.array([c.consumer_share for c in plan.countries])
        share = np.array([p.share for p in plan.partners])
        growth = np.array([p.growth for p in plan.partners])
        home_region = np.array(
            [[1.35 if c.region == p.region else 0.9 for c in plan.countries] for p in plan.partners]
        )
        cons = np.clip(consumer[cell_c] + tilt[cell_p], 0.25, 0.8)
        seg_share = np.where(cell_s == 0, cons, 1.0 - cons)
        base = (
            market[cell_c]
            * seg_share
            * share[cell_p]
            * home_region[cell_p, cell_c]
            * share_noise[cell_p, cell_c]
        )

        month_of_year = np.array([int(m[5:7]) - 1 for m in plan.months])
        years = np.arange(n_m) / 12.0
        mrng = plan.rng(R_MONTHLY)
        partner_month = mrng.lognormal(0.0, 0.03, (full_p, n_m))[:n_p]
        cell_month = mrng.lognormal(0.0, 0.04, (cell_p.size, n_m))
        units = np.rint(
            base[:, None]
            * SEASON[cell_s][:, month_of_year]
            * (1.0 + growth[cell_p, None]) ** years[None, :]
            * partner_month[cell_p]
            * cell_month
        ).astype(np.int64)

        win_base = np.array([[c.windows_consumer, c.windows_commercial] for c in plan.countries])[
            cell_c, cell_s
        ]
        win_base = win_base + win_offset_p[cell_p] + win_noise[cell_p, cell_c, cell_s]
        win_share = (
            win_base[:, None]
            + win_trend[cell_p, None] * years[None, :]
            + np.where(cell_s == 0, 1.0, 0.0)[:, None] * WIN_SEASON[month_of_year][None, :]
            + np.clip(mrng.normal(0.0, 0.003, (cell_p.size, n_m)), -0.006, 0.006)
        )
        win_share = np.clip(win_share, 0.70, 0.99)

        office_walk = _walk(mrng, (full_p, n_m), 0.003)[:n_p]
        office_rate = (
            office_p[cell_p, cell_s][:, None]
            + office_noise[cell_p, cell_c, cell_s][:, None]
            + 0.002 * years[None, :]
            + office_walk[cell_p]
            + mrng.normal(0.0, 0.002, (cell_p.size, n_m))
        )
        office_rate = np.clip(office_rate, 0.15, 0.92)

        sells_servers = np.array([p.servers for p in plan.partners])
        big_country = np.array([c.market_k >= 100 for c in plan.countries])
        has_server = (cell_s == 1) & sells_servers[cell_p] & big_country[cell_c]
        server_units = np.rint(
            units
            * np.where(has_server, server_ratio[cell_p, cell_c], 0.0)[:, None]
            * np.clip(mrng.normal(1.0, 0.05, (cell_p.size, n_m)), 0.85, 1.15)
        ).astype(np.int64)
        server_walk = _walk(mrng, (full_p, n_m), 0.004)[:n_p]
        server_rate = (
            server_p[cell_p, None]
            + server_noise[cell_p, cell_c][:, None]
            + server_walk[cell_p]
            + mrng.normal(0.0, 0.003, (cell_p.size, n_m))
        )
        server_rate = np.clip(server_rate, 0.3, 0.95)

        partner_factor = np.clip(mrng.normal(1.0, 0.02, (full_p, n_m))[:n_p], 0.965, 1.05)
        forecast_factor = partner_factor[cell_p]

        model = cls(
            cell_p=cell_p,
            cell_c=cell_c,
            cell_s=cell_s,
            units=units,
            win_share=win_share,
            office_rate=office_rate,
            server_units=server_units,
            server_rate=server_rate,
            forecast_factor=forecast_factor,
            miss_countries=[],
            loss_cell=None,
        )
        model._plant_and_guard(plan)
        return model

    def partner_ratio(self, num: FloatArray, den: FloatArray, n_p: int) -> FloatArray:
        """Ratio of sums per partner of two cell vectors (nan where the denominator is 0)."""
        top = np.bincount(self.cell_p, weights=num, minlength=n_p)
        bottom = np.bincount(self.cell_p, weights=den, minlength=n_p)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)

    def _plant_and_guard(self, plan: Plan) -> None:
        """Plant the forecast miss and attach drop; keep everyone else below thresholds."""
        planted = plan.anomaly_partners
        if planted is None:
            return
        n_p = len(plan.partners)
        last, prev = plan.n_months - 1, plan.n_months - 2
        self._plant_forecast_miss(planted["forecast_miss"], last)
        dropper = self.cell_p == planted["attach_drop"]
        self.office_rate[dropper, last] = self.office_rate[dropper, prev] - ATTACH_DROP

        units = self.units.astype(float)
        for _ in range(3):
            # Windows share at partner level: MoM drop at most ~0.4 pt.
            share = [
                self.partner_ratio(units[:, m] * self.win_share[:, m], units[:, m], n_p)
                for m in (prev, last)
            ]
            drop = np.nan_to_num(share[0] - share[1])
            lift = np.where(drop > WIN_DROP_GUARD, drop - WIN_DROP_GUARD / 2, 0.0)
            self.win_share[:, last] = np.clip(
                self.win_share[:, last] + lift[self.cell_p], 0.7, 0.995
            )

            # Office attach: MoM drop at most ~1 pt, except the planted partner (~4 pts).
            windows = units * self.win_share
            office = [
                self.partner_ratio(windows[:, m] * self.office_rate[:, m], windows[:, m], n_p)
                for m in (prev, last)
            ]
            drop = np.nan_to_num(office[0] - office[1])
            lift = np.where(drop > ATTACH_DROP_GUARD, drop - ATTACH_DROP_GUARD / 2, 0.0)
            lift[planted["attach_drop"]] = drop[planted["attach_drop"]] - ATTACH_DROP
            self.office_rate[:, last] = self.office_rate[:, last] + lift[self.cell_p]

            # Server attach: MoM drop at most ~1 pt.
            servers = self.server_units.astype(float)
            server = [
                self.partner_ratio(servers[:, m] * self.server_rate[:, m], servers[:, m], n_p)
                for m in (prev, last)
            ]
            drop = np.nan_to_num(server[0] - server[1])
            lift = np.where(drop > ATTACH_DROP_GUARD, drop - ATTACH_DROP_GUARD / 2, 0.0)
            self.server_rate[:, last] = np.clip(self.server_rate[:, last] + lift[self.cell_p], 0, 1)

        # The competitive loss: BR consumer of its partner, or that partner's largest
        # consumer country when BR is small or not in the home.
        loser = planted["competitive_loss"]
        codes = [c.country for c in plan.countries]
        candidates = np.flatnonzero((self.cell_p == loser) & (self.cell_s == 0))
        if candidates.size:
            best = int(candidates[np.argmax(self.units[candidates, prev])])
            if "BR" in codes:
                br = candidates[self.cell_c[candidates] == codes.index("BR")]
                if br.size and self.units[br[0], prev] >= 20_000:
                    best = int(br[0])
            self.loss_cell = best

    def _plant_forecast_miss(self, partner: int, month: int) -> None:
        """The partner's biggest countries ship well short of forecast (shortages there).

        Countries are taken from the largest down until they hold >= 55 % of the
        partner's units; their attainment is set so that the partner's comes to ~82 %.
        """
        cells = np.flatnonzero(self.cell_p == partner)
        units = self.units[cells, month].astype(float)
        by_country = np.bincount(self.cell_c[cells], weights=units)
        order = np.argsort(-by_country, kind="stable")
        share = np.cumsum(by_country[order]) / max(by_country.sum(), 1.0)
        countries = order[: int(np.searchsorted(share, 0.55)) + 1]
        miss = np.isin(self.cell_c[cells], countries)
        rest = float((units[~miss] / self.forecast_factor[cells[~miss], month]).sum())
        needed = units.sum() / FORECAST_MISS_ATTAINMENT - rest
        factor = units[miss].sum() / needed if needed > 0 else FORECAST_MISS_ATTAINMENT
        self.forecast_factor[cells[miss], month] = max(factor, 0.5)
        self.miss_countries = sorted(int(c) for c in countries)


def _walk(rng: np.random.Generator, shape: tuple[int, int], sd: float) -> FloatArray:
    """A mean-reverting random walk along the last axis, starting at 0."""
    steps = rng.normal(0.0, sd, shape)
    out = np.zeros(shape)
    for m in range(1, shape[1]):
        out[:, m] = 0.85 * out[:, m - 1] + steps[:, m]
    return out
