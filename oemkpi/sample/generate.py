"""A deterministic, realistic sample data home: reference data, the four feeds, commentary.

:func:`write_sample_home` writes what ``oemkpi demo`` runs on (SPEC section 2
layout): ``reference/`` (partners, countries, quarterly targets), every month
of the four feeds in ``landing/`` (several files per delivery, in CSV, Parquet
and XLSX, with the legal CSV variations of SPEC section 3) and PAM commentary
for the last two months.

How the numbers are made (all vectorised with numpy, one month at a time):

* a *cell* is one partner x country x segment. Each cell has a monthly PC
  volume (country market size x partner share x seasonality x growth x noise),
  a target Windows share, office attach rate, server volume and server attach;
* each cell has a SKU catalogue that churns: SKUs launch, are discontinued and
  switch operating system (both ways). A month's cell volume is spread over
  the SKUs active that month with a skewed weight, separately for the Windows
  and the non-Windows SKUs so the cell's Windows share follows its target;
* the other feeds are aggregates of the SKU rows, so the feeds reconcile
  exactly: pc_shipments per form factor = sum of SKU units, premium_mix =
  Windows SKU units split into editions, office base = Windows units, and
  windows_server base = server shipments;
* in the newest month a few anomalies are planted (a competitive loss, a
  forecast miss, an office attach drop) and every other partner is kept clear
  of those red-flag thresholds.

The same arguments give byte-identical files; a file is rewritten only when its
bytes change, so re-running keeps modification times (the landing sensor
watches them).
"""

from __future__ import annotations

import calendar
import datetime as dt
import filecmp
import io
import math
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import polars.selectors as cs

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.contract import (
    EDITIONS,
    FEEDS,
    FORM_FACTORS,
    OS_FAMILIES,
    PARTNER_ID_RE,
    PRICE_BANDS,
    PRODUCTS,
    SEGMENTS,
)
from oemkpi.months import (
    add_months,
    fiscal_quarter,
    last_complete_month,
    parse_month,
    quarter_months,
)

__all__ = ["COUNTRY_CATALOGUE", "PARTNER_CATALOGUE", "SampleSummary", "write_sample_home"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- catalogues
@dataclass(frozen=True)
class PartnerSpec:
    """A fictional multinational PC maker of the sample home."""

    partner_id: str
    name: str
    region: str
    pam_name: str
    prefix: str  # SKU prefix
    share: float  # share of each country's PC market it is present in
    growth: float  # yearly volume growth
    presence: float  # chance to sell in a country beyond the first six
    servers: bool  # sells servers
    sell_thru: bool  # reports sell-thru units

    @property
    def pam_email(self) -> str:
        return self.pam_name.lower().replace(" ", ".") + "@example.com"


@dataclass(frozen=True)
class CountrySpec:
    """A country of the sample home with the traits its data is drawn from."""

    country: str
    name: str
    region: str
    subregion: str
    market_k: int  # PC market, thousand units per month
    consumer_share: float
    windows_consumer: float
    windows_commercial: float
    price_level: float


PARTNER_CATALOGUE: tuple[PartnerSpec, ...] = (
    PartnerSpec("aurora", "Aurora Computing", "Americas", "Maya Okafor", "AUR", 0.13, 0.04, 1.0, True, True),
    PartnerSpec("borealis", "Borealis Systems", "EMEA", "Lars Henriksen", "BOR", 0.11, 0.03, 0.95, True, False),
    PartnerSpec("cobalt-pc", "Cobalt PC", "APJ", "Priya Raman", "COB", 0.08, 0.05, 0.9, True, True),
    PartnerSpec("delta_systems", "Delta Systems", "Americas", "Diego Alvarez", "DLT", 0.055, 0.02, 0.85, True, True),
    PartnerSpec("ember", "Ember Devices", "EMEA", "Sofia Marchetti", "EMB", 0.035, 0.06, 0.8, False, False),
    PartnerSpec("fjordline", "Fjordline Computers", "EMEA", "Ingrid Solberg", "FJL", 0.02, 0.03, 0.7, False, True),
    PartnerSpec("granite", "Granite Technologies", "Americas", "Marcus Bell", "GRN", 0.016, 0.045, 0.75, True, False),
    PartnerSpec("helix", "Helix Computing", "APJ", "Kenji Watanabe", "HLX", 0.014, 0.05, 0.7, False, True),
)  # fmt: skip

# The order interleaves the regions, so the first N countries span them all.
COUNTRY_CATALOGUE: tuple[CountrySpec, ...] = (
    CountrySpec("US", "United States", "Americas", "North America", 5800, 0.52, 0.83, 0.93, 1.00),
    CountrySpec("DE", "Germany", "EMEA", "Western Europe", 1000, 0.45, 0.92, 0.96, 1.05),
    CountrySpec("JP", "Japan", "APJ", "Japan", 1250, 0.42, 0.96, 0.97, 1.00),
    CountrySpec("BR", "Brazil", "Americas", "Latin America", 520, 0.58, 0.88, 0.94, 0.85),
    CountrySpec("GB", "United Kingdom", "EMEA", "UK and Ireland", 850, 0.50, 0.87, 0.95, 1.05),
    CountrySpec("CN", "China", "APJ", "Greater China", 3700, 0.55, 0.90, 0.91, 0.75),
    CountrySpec("FR", "France", "EMEA", "Western Europe", 750, 0.50, 0.91, 0.96, 1.05),
    CountrySpec("IN", "India", "APJ", "India", 1150, 0.55, 0.86, 0.92, 0.70),
    CountrySpec("CA", "Canada", "Americas", "North America", 500, 0.50, 0.86, 0.94, 0.98),
    CountrySpec("AU", "Australia", "APJ", "ANZ", 380, 0.52, 0.89, 0.95, 1.00),
    CountrySpec("MX", "Mexico", "Americas", "Latin America", 360, 0.60, 0.90, 0.94, 0.85),
    CountrySpec("IT", "Italy", "EMEA", "Southern Europe", 420, 0.52, 0.92, 0.96, 1.00),
    CountrySpec("KR", "South Korea", "APJ", "Korea", 400, 0.50, 0.93, 0.95, 0.95),
    CountrySpec("ES", "Spain", "EMEA", "Southern Europe", 330, 0.55, 0.90, 0.95, 1.00),
    CountrySpec("NL", "Netherlands", "EMEA", "Western Europe", 260, 0.45, 0.88, 0.95, 1.05),
    CountrySpec("AR", "Argentina", "Americas", "Latin America", 110, 0.60, 0.90, 0.93, 0.85),
    CountrySpec("ID", "Indonesia", "APJ", "Southeast Asia", 250, 0.60, 0.85, 0.92, 0.75),
    CountrySpec("PL", "Poland", "EMEA", "Central and Eastern Europe", 250, 0.52, 0.90, 0.94, 0.90),
    CountrySpec("SE", "Sweden", "EMEA", "Nordics", 130, 0.45, 0.86, 0.95, 1.10),
    CountrySpec("CL", "Chile", "Americas", "Latin America", 90, 0.58, 0.90, 0.94, 0.90),
    CountrySpec("TW", "Taiwan", "APJ", "Greater China", 160, 0.50, 0.93, 0.95, 0.95),
    CountrySpec("TR", "Türkiye", "EMEA", "Middle East and Africa", 170, 0.60, 0.90, 0.93, 0.85),
    CountrySpec("CH", "Switzerland", "EMEA", "Western Europe", 120, 0.45, 0.93, 0.97, 1.15),
    CountrySpec("SG", "Singapore", "APJ", "Southeast Asia", 90, 0.40, 0.90, 0.95, 1.00),
    CountrySpec("CO", "Colombia", "Americas", "Latin America", 100, 0.60, 0.89, 0.93, 0.85),
    CountrySpec("ZA", "South Africa", "EMEA", "Middle East and Africa", 90, 0.55, 0.90, 0.94, 0.90),
    CountrySpec("TH", "Thailand", "APJ", "Southeast Asia", 150, 0.58, 0.88, 0.93, 0.80),
    CountrySpec("AE", "United Arab Emirates", "EMEA", "Middle East and Africa", 80, 0.45, 0.93, 0.96, 1.05),
    CountrySpec("PE", "Peru", "Americas", "Latin America", 70, 0.60, 0.88, 0.93, 0.85),
    CountrySpec("NZ", "New Zealand", "APJ", "ANZ", 60, 0.52, 0.86, 0.95, 1.00),
    CountrySpec("SA", "Saudi Arabia", "EMEA", "Middle East and Africa", 120, 0.50, 0.93, 0.96, 1.00),
    CountrySpec("MY", "Malaysia", "APJ", "Southeast Asia", 130, 0.55, 0.87, 0.93, 0.80),
    CountrySpec("BE", "Belgium", "EMEA", "Western Europe", 140, 0.45, 0.92, 0.96, 1.05),
    CountrySpec("CZ", "Czechia", "EMEA", "Central and Eastern Europe", 110, 0.50, 0.91, 0.95, 0.90),
)  # fmt: skip

REGIONS: tuple[str, ...] = ("Americas", "EMEA", "APJ")
#: Countries every partner sells in (the first ones of the catalogue).
_CORE_COUNTRIES = 6
MAX_MONTHS = 240
MAX_SCALE = 10_000.0

# Codes are positions in the contract's value tuples.
_WIN = OS_FAMILIES.index("windows")
_CHROMEOS = OS_FAMILIES.index("chromeos")
_LINUX = OS_FAMILIES.index("linux")
_FREEDOS = OS_FAMILIES.index("freedos")
_OTHER_OS = OS_FAMILIES.index("other")
_WORKSTATION = FORM_FACTORS.index("workstation")
_SERVER = FORM_FACTORS.index("server")
_PC_FORM_FACTORS = 4  # notebook, desktop, workstation, detachable (codes 0..3)
_PREMIUM = PRICE_BANDS.index("premium")
_NEVER = 1 << 30

# Seasonality by calendar month (Jan..Dec): back to school, holidays, weak Q1.
_SEASON = np.array(
    [
        [0.84, 0.80, 0.93, 0.90, 0.93, 0.98, 1.02, 1.14, 1.10, 1.00, 1.16, 1.20],  # consumer
        [0.90, 0.92, 1.06, 0.96, 1.00, 1.08, 0.94, 0.98, 1.05, 1.02, 1.00, 1.04],  # commercial
    ]
)
# Back-to-school Chromebooks: consumer Windows share dips a little in Aug/Sep.
_WIN_SEASON = np.array([0, 0, 0, 0, 0, 0, 0, -0.004, -0.003, 0, 0, 0], dtype=float)

# SKU traits by segment: form factor (notebook, desktop, workstation, detachable),
# price band (entry, mainstream, premium) and non-Windows OS (chromeos, linux, freedos, other).
_FF_P = np.array([[0.70, 0.17, 0.00, 0.13], [0.66, 0.20, 0.08, 0.06]])
_FF_WEIGHT = np.array([1.0, 0.8, 0.4, 0.6])
_BAND_P = np.array([[0.35, 0.43, 0.22], [0.25, 0.45, 0.30]])
_BAND_WEIGHT = np.array([1.1, 1.0, 0.75])
_NON_WIN_OS = np.array([_CHROMEOS, _LINUX, _FREEDOS, _OTHER_OS])
_NON_WIN_P = np.array([[0.72, 0.10, 0.13, 0.05], [0.45, 0.35, 0.15, 0.05]])
_LOSS_OS_P = np.array([0.65, 0.25, 0.10, 0.0])
_SIZE_CODES = (
    ("NB13", "NB14", "NB15", "NB16"),
    ("DTMT", "DTSF", "DT24", "DT27"),
    ("WS14", "WS16", "WSTW", "WSTW"),
    ("DX11", "DX12", "DX13", "DX13"),
)
# Edition split of Windows units by (segment, is workstation): home, pro, pro_workstation,
# education, other.
_EDITION_P = np.array(
    [
        [[0.80, 0.15, 0.00, 0.04, 0.01], [0.00, 0.55, 0.45, 0.00, 0.00]],
        [[0.07, 0.84, 0.00, 0.07, 0.02], [0.00, 0.30, 0.70, 0.00, 0.00]],
    ]
)
_EDITION_PRICE = np.array([42.0, 88.0, 145.0, 28.0, 35.0])  # USD per licence
_BAND_PRICE = np.array([0.90, 1.00, 1.15])

#: Average months a SKU is offered; the monthly launch / discontinuation hazard is 1/this.
_SKU_LIFETIME = 20.0
_SKU_MIN_LIFE = 6
#: SKUs per cell: _SKU_K * scale * (cell units per month) ** _SKU_EXP, at least _SKU_MIN.
_SKU_K = 0.40
_SKU_EXP = 0.45
_SKU_MIN = 4
#: SKUs below this popularity are "small" (lognormal weights, about the 35th percentile).
_SMALL_SKU_WEIGHT = 0.6
#: Relative size of the three SKUs of the planted competitive loss.
_LOSS_SIZES = np.array([1.3, 1.0, 0.8])
#: Natural competitive switches of SKUs this big are held back in the newest month.
_QUIET_LOSS_UNITS = 900
#: XLSX only for files up to this many rows (the rest are CSV or Parquet).
_XLSX_MAX_ROWS = 100_000
#: A feed's smallest file goes to XLSX in every n-th month (XLSX writing is slow).
_XLSX_EVERY = {"pc_shipments": 2, "windows_share": 6, "premium_mix": 3, "attach_rate": 1}
#: Files with more rows are written through a temporary file rather than memory.
_BIG_FILE_ROWS = 250_000

_SOURCE_SYSTEMS = ("sap-bw", "oracle-ebs", "oem-portal")

# Red-flag thresholds the planted anomalies cross and every other partner stays clear of.
_FORECAST_MISS_ATTAINMENT = 0.82
_ATTACH_DROP = 0.042
_WIN_DROP_GUARD = 0.004
_ATTACH_DROP_GUARD = 0.010


# --------------------------------------------------------------------------- public API
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
    plan = _plan(
        root,
        end_month=end_month,
        months=months,
        partners=partners,
        countries=countries,
        scale=scale,
        seed=seed,
        today=today,
    )
    model = _CellModel.build(plan)
    catalogue = _Catalogue.build(plan, model)
    writer = _Writer(plan.home)
    result = _generate_months(plan, model, catalogue, writer)
    _write_reference(plan, result, writer)
    if commentary:
        _write_commentary(plan, result, writer)
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


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class _Plan:
    home: Home
    months: tuple[str, ...]
    partners: tuple[PartnerSpec, ...]
    countries: tuple[CountrySpec, ...]
    scale: float
    seed: int

    def rng(self, *keys: int) -> np.random.Generator:
        """An independent random stream for one purpose (and month, cell ...)."""
        return np.random.default_rng([self.seed % (1 << 63), *keys])

    @property
    def n_months(self) -> int:
        return len(self.months)

    @property
    def anomaly_partners(self) -> dict[str, int] | None:
        """Partner index of each planted anomaly, or None when nothing is planted."""
        if self.n_months < 2:
            return None
        n = len(self.partners)
        return {"competitive_loss": 1 % n, "forecast_miss": 2 % n, "attach_drop": 3 % n}


def _plan(
    root: Path | str,
    *,
    end_month: str | None,
    months: int,
    partners: int,
    countries: int | None,
    scale: float,
    seed: int,
    today: dt.date | None,
) -> _Plan:
    def whole(value: object, name: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise OemkpiError(f"The number of {name} must be a whole number, not {value!r}.")
        if not low <= int(value) <= high:
            raise OemkpiError(
                f"The number of {name} must be between {low} and {high}, not {value}."
            )
        return int(value)

    n_partners = whole(partners, "partners", 1, len(PARTNER_CATALOGUE))
    n_months = whole(months, "months", 1, MAX_MONTHS)
    n_countries = (
        len(COUNTRY_CATALOGUE)
        if countries is None
        else whole(countries, "countries", 1, len(COUNTRY_CATALOGUE))
    )
    if isinstance(scale, bool) or not isinstance(scale, int | float):
        raise OemkpiError(f"The scale must be a number, not {scale!r}.")
    if not (math.isfinite(scale) and 0 < scale <= MAX_SCALE):
        raise OemkpiError(f"The scale must be above 0 and at most {MAX_SCALE:g}, not {scale}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise OemkpiError(f"The seed must be a whole number, not {seed!r}.")
    if end_month is None:
        end = last_complete_month(today or dt.date.today())
    else:
        end = parse_month(end_month, what="end month")
    first = add_months(end, -(n_months - 1))
    if first < "1990-01":
        raise OemkpiError(f"The sample home would start in {first}; choose a later end month.")
    if root is None or str(root) == "":
        raise OemkpiError("Say where to write the sample home: give a folder.")
    return _Plan(
        home=Home.at(root),
        months=tuple(add_months(first, i) for i in range(n_months)),
        partners=PARTNER_CATALOGUE[:n_partners],
        countries=COUNTRY_CATALOGUE[:n_countries],
        scale=float(scale),
        seed=int(seed),
    )


# Random-stream purposes (the first key after the seed).
_R_STATIC, _R_MONTHLY, _R_CATALOGUE, _R_MONTH, _R_TARGETS = 1, 2, 3, 4, 5


# --------------------------------------------------------------------------- cell model
@dataclass
class _CellModel:
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
    def build(cls, plan: _Plan) -> _CellModel:
        n_p, n_c, n_m = len(plan.partners), len(plan.countries), plan.n_months
        full_p, full_c = len(PARTNER_CATALOGUE), len(COUNTRY_CATALOGUE)
        # Static draws over the full catalogues, so a partner's data does not
        # depend on how many other partners or countries the home has.
        rng = plan.rng(_R_STATIC)
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
        if n_c > _CORE_COUNTRIES:
            odds = np.array([p.presence for p in plan.partners])[:, None]
            presence[:, _CORE_COUNTRIES:] = presence_draw[:n_p, _CORE_COUNTRIES:n_c] < odds
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
        mrng = plan.rng(_R_MONTHLY)
        partner_month = mrng.lognormal(0.0, 0.03, (full_p, n_m))[:n_p]
        cell_month = mrng.lognormal(0.0, 0.04, (cell_p.size, n_m))
        units = np.rint(
            base[:, None]
            * _SEASON[cell_s][:, month_of_year]
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
            + np.where(cell_s == 0, 1.0, 0.0)[:, None] * _WIN_SEASON[month_of_year][None, :]
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

    def _plant_and_guard(self, plan: _Plan) -> None:
        """Plant the forecast miss and attach drop; keep everyone else below thresholds."""
        planted = plan.anomaly_partners
        if planted is None:
            return
        n_p = len(plan.partners)
        last, prev = plan.n_months - 1, plan.n_months - 2
        self._plant_forecast_miss(planted["forecast_miss"], last)
        dropper = self.cell_p == planted["attach_drop"]
        self.office_rate[dropper, last] = self.office_rate[dropper, prev] - _ATTACH_DROP

        units = self.units.astype(float)
        for _ in range(3):
            # Windows share at partner level: MoM drop at most ~0.4 pt.
            share = [
                self.partner_ratio(units[:, m] * self.win_share[:, m], units[:, m], n_p)
                for m in (prev, last)
            ]
            drop = np.nan_to_num(share[0] - share[1])
            lift = np.where(drop > _WIN_DROP_GUARD, drop - _WIN_DROP_GUARD / 2, 0.0)
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
            lift = np.where(drop > _ATTACH_DROP_GUARD, drop - _ATTACH_DROP_GUARD / 2, 0.0)
            lift[planted["attach_drop"]] = drop[planted["attach_drop"]] - _ATTACH_DROP
            self.office_rate[:, last] = self.office_rate[:, last] + lift[self.cell_p]

            # Server attach: MoM drop at most ~1 pt.
            servers = self.server_units.astype(float)
            server = [
                self.partner_ratio(servers[:, m] * self.server_rate[:, m], servers[:, m], n_p)
                for m in (prev, last)
            ]
            drop = np.nan_to_num(server[0] - server[1])
            lift = np.where(drop > _ATTACH_DROP_GUARD, drop - _ATTACH_DROP_GUARD / 2, 0.0)
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
        needed = units.sum() / _FORECAST_MISS_ATTAINMENT - rest
        factor = units[miss].sum() / needed if needed > 0 else _FORECAST_MISS_ATTAINMENT
        self.forecast_factor[cells[miss], month] = max(factor, 0.5)
        self.miss_countries = sorted(int(c) for c in countries)


def _walk(rng: np.random.Generator, shape: tuple[int, int], sd: float) -> FloatArray:
    """A mean-reverting random walk along the last axis, starting at 0."""
    steps = rng.normal(0.0, sd, shape)
    out = np.zeros(shape)
    for m in range(1, shape[1]):
        out[:, m] = 0.85 * out[:, m - 1] + steps[:, m]
    return out


# --------------------------------------------------------------------------- SKU catalogue
@dataclass
class _Catalogue:
    """Every SKU the home ever offers, sorted by cell; months are indexes into plan.months.

    Arrays use small integer types: at scale ~900 a month has ten million SKUs.
    """

    cell: npt.NDArray[np.int32]
    start: npt.NDArray[np.int32]  # first month offered
    end: npt.NDArray[np.int32]  # first month no longer offered
    os0: npt.NDArray[np.int8]  # OS family before the switch month
    os1: npt.NDArray[np.int8]  # OS family from the switch month on
    switch: npt.NDArray[np.int32]  # switch month, or _NEVER
    form_factor: npt.NDArray[np.int8]
    band: npt.NDArray[np.int8]
    weight: FloatArray  # popularity
    name_head: npt.NDArray[np.int32]  # index into heads: "AUR-NB14P-G7-"
    serial: npt.NDArray[np.int32]  # number within the cell, the end of the name
    heads: pl.Series
    loss_skus: IntArray  # the three SKUs of the planted competitive loss
    loss_fraction: float  # share of the cell's Windows units each of them gets

    @classmethod
    def build(cls, plan: _Plan, model: _CellModel) -> _Catalogue:
        rng = plan.rng(_R_CATALOGUE)
        n_cells, n_m = model.n_cells, plan.n_months
        hazard = 1.0 / _SKU_LIFETIME
        mean_units = model.units.mean(axis=1)
        per_cell = np.maximum(_SKU_MIN, np.rint(plan.scale * _SKU_K * mean_units**_SKU_EXP))
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
        # _SKU_MIN_LIFE months, on average about _SKU_LIFETIME.
        life = np.where(
            initial,
            rng.geometric(hazard, n),
            rng.geometric(1.0 / (_SKU_LIFETIME - _SKU_MIN_LIFE), n),
        ).astype(np.int32)
        end = np.where(initial, life, start + _SKU_MIN_LIFE + life).astype(np.int32)
        del life
        evergreen = serial < 2  # one Windows and one non-Windows SKU every month
        start[evergreen] = -36
        end[evergreen] = n_m + 1000

        seg = model.cell_s[cell].astype(np.int8)
        windows = rng.random(n) < model.win_share[cell, 0]
        windows[serial == 0] = True
        windows[serial == 1] = False
        non_win = _NON_WIN_OS[_choice(rng, _NON_WIN_P, seg)]
        os0 = np.where(windows, _WIN, non_win).astype(np.int8)
        loss_os = _NON_WIN_OS[_choice(rng, _LOSS_OS_P[None, :], np.zeros(n, dtype=np.int8))]
        os1 = np.where(windows, loss_os, _WIN).astype(np.int8)
        del non_win, loss_os
        form_factor = _choice(rng, _FF_P, seg)
        form_factor[evergreen] = 0
        band = _choice(rng, _BAND_P, seg)
        ws = np.flatnonzero(form_factor == _WORKSTATION)
        band[ws] = np.where(rng.random(ws.size) < 0.7, _PREMIUM, 1)
        weight = rng.lognormal(0.0, 1.0, n)
        weight *= _FF_WEIGHT[form_factor]
        weight *= _BAND_WEIGHT[band]

        # OS switches at a constant monthly rate, seen from the home's second month on:
        # away from Windows mostly small (niche, education) SKUs, to Windows any SKU.
        hazard_switch = np.where(
            windows, np.where(weight < _SMALL_SKU_WEIGHT, 0.002, 0.0003), 0.012
        )
        first_seen = np.maximum(start + 1, 1)
        when = first_seen + rng.geometric(hazard_switch).astype(np.int32) - 1
        switch = np.where((when < end) & ~evergreen, when, _NEVER).astype(np.int32)
        del hazard_switch, first_seen, when, windows
        size = rng.integers(0, 4, n, dtype=np.int8)

        # Name heads: partner prefix, form factor and size, line, generation (launch year).
        first = plan.months[0]
        first_index = int(first[:4]) * 12 + int(first[5:7]) - 1
        generation = np.clip((first_index + start) // 12 - 2019, 1, 9) - 1
        codes = [code for row in _SIZE_CODES for code in row]
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

    def _plant_loss(self, plan: _Plan, model: _CellModel) -> None:
        """Pick three established Windows SKUs of the loss cell; they go ChromeOS in the last month."""
        if model.loss_cell is None:
            return
        last = plan.n_months - 1
        lo, hi = np.searchsorted(self.cell, [model.loss_cell, model.loss_cell + 1])
        idx = np.arange(lo, hi)
        ok = (
            (self.start[idx] <= last - 3)
            & (self.end[idx] > last)
            & (self.os0[idx] == _WIN)
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
        self.os1[chosen] = _CHROMEOS
        self.switch[chosen] = last
        # Each SKU sells >= ~1600 units in M-1, and together they move the country's
        # Windows share (both segments) by >= ~5 points.
        cell = model.loss_cell
        pool = max(float(model.units[cell, last - 1] * model.win_share[cell, last - 1]), 1.0)
        country = (model.cell_p == model.cell_p[cell]) & (model.cell_c == model.cell_c[cell])
        country_units = float(model.units[country, last - 1].sum())
        per_sku = 2000.0 / pool
        together = 0.055 * country_units / (_LOSS_SIZES.sum() * pool)
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


# --------------------------------------------------------------------------- months
@dataclass
class _Result:
    rows: dict[str, int]
    anomalies: list[dict[str, Any]]
    # Partner x month sums, for targets and anomaly details.
    sums: dict[str, FloatArray]
    # Cell x month Windows and total units of windows_share.
    cell_windows: FloatArray
    cell_units: FloatArray
    loss_names: list[str]


_SUM_NAMES = (
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


def _generate_months(
    plan: _Plan, model: _CellModel, catalogue: _Catalogue, writer: _Writer
) -> _Result:
    n_p, n_m, n_cells = len(plan.partners), plan.n_months, model.n_cells
    sums = {name: np.zeros((n_p, n_m)) for name in _SUM_NAMES}
    result = _Result(
        rows=dict.fromkeys(FEEDS, 0),
        anomalies=[],
        sums=sums,
        cell_windows=np.zeros((n_cells, n_m)),
        cell_units=np.zeros((n_cells, n_m)),
        loss_names=catalogue.names(catalogue.loss_skus).to_list(),
    )
    domains = _Domains(plan)
    last = n_m - 1
    prev_units = np.zeros(0, dtype=np.int64)
    prev_idx = np.zeros(0, dtype=np.int64)
    for mi, month in enumerate(plan.months):
        rng = plan.rng(_R_MONTH, mi)
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
            quiet = (cat.switch[idx] == mi) & (cat.os0[idx] == _WIN) & (before >= _QUIET_LOSS_UNITS)
            if loss_pos is not None:
                quiet[loss_pos] = False
            os_m[quiet] = _WIN

        age = mi - cat.start[idx]
        ramp = np.where(age == 0, 0.35, np.where(age == 1, 0.7, 1.0))
        ramp = ramp * np.where(cat.end[idx] - mi == 1, 0.55, 1.0)
        weight = cat.weight[idx] * ramp * rng.lognormal(0.0, 0.2, idx.size)
        alloc_windows = os_m == _WIN
        if loss_pos is not None and mi >= last - 1:
            alloc_windows[loss_pos] = True
            in_cell = (cell == model.loss_cell) & alloc_windows
            in_cell[loss_pos] = False
            others = float(weight[in_cell].sum())
            f = catalogue.loss_fraction * _LOSS_SIZES
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

        tables = _month_tables(plan, model, cat, domains, rng, mi, idx, cell, os_m, units, result)
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


class _Domains:
    """Enum dtypes for the text columns, so big months stay small in memory."""

    def __init__(self, plan: _Plan) -> None:
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


class _Table:
    """One feed-month as column arrays; frames are built per file (a subset of rows)."""

    def __init__(
        self, domains: _Domains, model: _CellModel, month: str, cells: npt.NDArray[Any]
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


def _month_tables(
    plan: _Plan,
    model: _CellModel,
    cat: _Catalogue,
    domains: _Domains,
    rng: np.random.Generator,
    mi: int,
    idx: IntArray,
    cell: npt.NDArray[np.int32],
    os_m: npt.NDArray[np.int8],
    units: IntArray,
    result: _Result,
) -> dict[str, _Table]:
    """The four feeds of one month (contract columns, contract order), and their sums."""
    n_cells = model.n_cells
    n_p = len(plan.partners)
    month = plan.months[mi]
    sums = result.sums
    is_win = os_m == _WIN
    win_units = np.where(is_win, units, 0)

    def by_partner(cells: npt.NDArray[Any], values: npt.NDArray[Any]) -> FloatArray:
        return np.bincount(model.cell_p[cells], weights=values, minlength=n_p).astype(float)

    # windows_share: one row per SKU offered.
    windows_share = _Table(domains, model, month, cell)
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
    key = cell.astype(np.int64) * _PC_FORM_FACTORS + ff
    count = np.bincount(key, minlength=n_cells * _PC_FORM_FACTORS)
    shipped = np.bincount(key, weights=units, minlength=n_cells * _PC_FORM_FACTORS)
    del key
    present = np.flatnonzero(count > 0)
    server_cells = np.flatnonzero(model.server_units[:, mi] > 0)
    pc_cells = np.concatenate([present // _PC_FORM_FACTORS, server_cells])
    order = np.argsort(pc_cells, kind="stable")
    pc_cells = pc_cells[order]
    pc_ff = np.concatenate([present % _PC_FORM_FACTORS, np.full(server_cells.size, _SERVER)])[order]
    pc_units = np.concatenate(
        [shipped[present].astype(np.int64), model.server_units[server_cells, mi]]
    )[order]
    noise = np.clip(rng.normal(1.0, 0.015, pc_cells.size), 0.97, 1.04)
    factor = model.forecast_factor[pc_cells, mi] * noise
    forecast = np.rint(pc_units / factor).astype(np.int64)
    no_forecast = rng.random(pc_cells.size) < 0.03
    pc_shipments = _Table(domains, model, month, pc_cells)
    pc_shipments.measures = {
        "form_factor": lambda rows: _enum(domains.form_factor, pc_ff[rows]),
        "shipped_units": lambda rows: pl.Series(pc_units[rows]),
        "forecast_units": lambda rows: _with_nulls(forecast[rows], no_forecast[rows]),
    }
    pcs = pc_ff != _SERVER
    sums["shipped"][:, mi] = by_partner(pc_cells[pcs], pc_units[pcs])
    counted = pcs & ~no_forecast
    sums["shipped_with_forecast"][:, mi] = by_partner(pc_cells[counted], pc_units[counted])
    sums["forecast"][:, mi] = by_partner(pc_cells[counted], forecast[counted])

    # premium_mix: Windows units per (cell, band, workstation) split into editions.
    band = cat.band[idx]
    group = (cell.astype(np.int64) * 3 + band) * 2 + (ff == _WORKSTATION)
    grouped = np.bincount(group, weights=win_units, minlength=n_cells * 6).astype(np.int64)
    del group, band, ff
    groups = np.flatnonzero(grouped > 0)
    g_cell, g_band, g_ws = groups // 6, (groups // 2) % 3, groups % 2
    split = rng.multinomial(grouped[groups], _EDITION_P[model.cell_s[g_cell], g_ws])
    n_ed = len(EDITIONS)
    combo = np.repeat((g_cell * 3 + g_band) * n_ed, n_ed) + np.tile(np.arange(n_ed), groups.size)
    pm = np.bincount(combo, weights=split.ravel(), minlength=n_cells * 3 * n_ed).astype(np.int64)
    pm_rows = np.flatnonzero(pm > 0)
    pm_units = pm[pm_rows]
    pm_cell, pm_band, pm_edition = pm_rows // 15, (pm_rows // 5) % 3, pm_rows % 5
    price_level = np.array([c.price_level for c in plan.countries])
    revenue = np.round(
        pm_units
        * _EDITION_PRICE[pm_edition]
        * _BAND_PRICE[pm_band]
        * price_level[model.cell_c[pm_cell]]
        * rng.normal(1.0, 0.01, pm_rows.size),
        2,
    )
    premium_mix = _Table(domains, model, month, pm_cell)
    premium_mix.measures = {
        "edition": lambda rows: _enum(domains.edition, pm_edition[rows]),
        "price_band": lambda rows: _enum(domains.price_band, pm_band[rows]),
        "units": lambda rows: pl.Series(pm_units[rows]),
        "license_revenue_usd": lambda rows: pl.Series(revenue[rows]),
    }
    pro = np.isin(pm_edition, [EDITIONS.index("pro"), EDITIONS.index("pro_workstation")])
    sums["pm_units"][:, mi] = by_partner(pm_cell, pm_units)
    sums["pm_pro"][:, mi] = by_partner(pm_cell, np.where(pro, pm_units, 0))
    sums["pm_premium"][:, mi] = by_partner(pm_cell, np.where(pm_band == _PREMIUM, pm_units, 0))
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
    attach_rate = _Table(domains, model, month, at_cells)
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


def _anomalies(plan: _Plan, model: _CellModel, result: _Result) -> list[dict[str, Any]]:
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


# --------------------------------------------------------------------------- writing
class _Writer:
    """Writes files only when their bytes change; remembers what belongs to the home."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.landing_files = 0
        self._delivery_files: dict[Path, set[str]] = {}

    # -- bytes -------------------------------------------------------------
    def put_bytes(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` unless the file already holds exactly that."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def put_text(self, path: Path, text: str) -> None:
        self.put_bytes(path, text.encode("utf-8"))

    def put_via_file(self, path: Path, write: Any) -> None:
        """For big files: ``write(tmp_path)``, then keep the old file if identical."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        write(tmp)
        if path.is_file() and filecmp.cmp(tmp, path, shallow=False):
            tmp.unlink()
        else:
            os.replace(tmp, path)

    # -- deliveries --------------------------------------------------------
    def write_delivery(self, plan: _Plan, feed: str, month: str, mi: int, table: _Table) -> None:
        """Write one month of ``feed``: one file per region, formats varying by month."""
        folder = self.home.landing_dir(feed, month)
        names = self._delivery_files.setdefault(folder, set())
        fi = list(FEEDS).index(feed)
        regions = table.regions()
        rows = {ri: np.flatnonzero(regions == ri) for ri in range(len(REGIONS))}
        rows = {ri: r for ri, r in rows.items() if r.size}
        # XLSX is slow to write: the smallest file of the delivery, every few months.
        smallest = min(rows, key=lambda ri: (rows[ri].size, ri))
        xlsx = (mi + fi) % _XLSX_EVERY[feed] == 0 and rows[smallest].size <= _XLSX_MAX_ROWS
        for ri, part_rows in rows.items():
            region = REGIONS[ri]
            if xlsx and ri == smallest:
                fmt = "xlsx"
            else:
                fmt = "csv" if (fi + mi + ri) % 2 == 0 else "parquet"
            name = f"{region.lower()}.{fmt}"
            names.add(name)
            self.landing_files += 1
            path = folder / name
            flavour = zlib.crc32(f"{feed}/{month}/{region}".encode())
            part = table.frame(part_rows)
            if fmt == "csv":
                self._csv(path, part, flavour, plan)
            elif fmt == "parquet":
                self._parquet(path, part)
            else:
                self._xlsx(path, part, flavour, feed, month)
            del part

    def _csv(self, path: Path, frame: pl.DataFrame, flavour: int, plan: _Plan) -> None:
        style = (flavour >> 4) % 4
        frame = frame.rename(
            {c: _header(c, style, i) for i, c in enumerate(frame.columns)}, strict=True
        )
        if (flavour >> 6) % 4 == 0:
            systems = pl.Series(
                [_SOURCE_SYSTEMS[i % len(_SOURCE_SYSTEMS)] for i in range(len(plan.partners))]
            )
            frame = frame.with_columns(
                source_system=systems.gather(frame.get_column(frame.columns[1]).to_physical())
            )
        options: dict[str, Any] = {
            "include_bom": flavour % 3 == 0,
            "line_terminator": "\r\n" if (flavour >> 2) % 3 == 0 else "\n",
            "float_precision": 2,
            "float_scientific": False,
        }
        if frame.height > _BIG_FILE_ROWS:
            self.put_via_file(path, lambda tmp: frame.write_csv(tmp, **options))
        else:
            buffer = io.BytesIO()
            frame.write_csv(buffer, **options)
            self.put_bytes(path, buffer.getvalue())

    def _parquet(self, path: Path, frame: pl.DataFrame) -> None:
        frame = frame.with_columns(cs.enum().cast(pl.String))
        if frame.height > _BIG_FILE_ROWS:
            self.put_via_file(path, lambda tmp: frame.write_parquet(tmp, statistics=True))
        else:
            buffer = io.BytesIO()
            frame.write_parquet(buffer, statistics=True)
            self.put_bytes(path, buffer.getvalue())

    def _xlsx(self, path: Path, frame: pl.DataFrame, flavour: int, feed: str, month: str) -> None:
        import xlsxwriter

        style = 2 if (flavour >> 4) % 2 else 0
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        # A fixed creation date keeps the bytes identical between runs.
        delivered = dt.datetime.fromisoformat(add_months(month, 1) + "-05T06:00:00")
        workbook.set_properties(
            {"title": f"{feed} {month}", "author": "oemkpi sample", "created": delivered}
        )
        sheet = workbook.add_worksheet(feed)
        sheet.write_row(0, 0, [_header(c, style, i) for i, c in enumerate(frame.columns)])
        for j, column in enumerate(frame.columns):
            series = frame.get_column(column)
            if series.dtype == pl.Enum:
                series = series.cast(pl.String)
            sheet.write_column(1, j, series.to_list())
        workbook.close()
        self.put_bytes(path, buffer.getvalue())

    def remove_stale(self) -> None:
        """Delete files a previous run left in the delivery folders this run wrote."""
        for folder, names in self._delivery_files.items():
            for path in folder.iterdir():
                ours = not path.name.startswith(".") or path.name.endswith(".tmp")
                if ours and path.is_file() and path.name not in names:
                    path.unlink()


_HEADER_WORDS = {"id": "ID", "sku": "SKU", "usd": "USD", "os": "OS"}


def _header(column: str, style: int, position: int) -> str:
    """Legal spellings of a header: exact, UPPER, Title_Case, or a mix with padding."""
    title = "_".join(_HEADER_WORDS.get(w, w.capitalize()) for w in column.split("_"))
    if style == 1:
        return column.upper()
    if style == 2:
        return title
    if style == 3:
        return (column, title, f" {title} ", column.upper())[position % 4]
    return column


# --------------------------------------------------------------------------- reference
#: KPIs a partner is behind on, by partner position (the rest are on track).
_BEHIND: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"windows_share"}),
    frozenset({"shipped_units", "license_revenue_usd"}),
    frozenset({"office_attach"}),
    frozenset(),
    frozenset({"pro_mix"}),
    frozenset({"server_attach", "premium_mix"}),
    frozenset({"shipped_units"}),
)
_RATIO_TARGETS = {
    "windows_share": ("ws_windows", "ws_units"),
    "pro_mix": ("pm_pro", "pm_units"),
    "premium_mix": ("pm_premium", "pm_units"),
    "office_attach": ("office_attached", "office_base"),
    "server_attach": ("server_attached", "server_base"),
}
_VOLUME_TARGETS = {"shipped_units": "shipped", "license_revenue_usd": "revenue"}


def _write_reference(plan: _Plan, result: _Result, writer: _Writer) -> None:
    home = plan.home
    lines = ["partner_id,partner_name,region,pam_name,pam_email"]
    for p in plan.partners:
        assert PARTNER_ID_RE.match(p.partner_id)
        lines.append(f"{p.partner_id},{p.name},{p.region},{p.pam_name},{p.pam_email}")
    writer.put_text(home.partners_csv, "\n".join(lines) + "\n")

    lines = ["country,country_name,region,subregion"]
    lines += [f"{c.country},{c.name},{c.region},{c.subregion}" for c in plan.countries]
    writer.put_text(home.countries_csv, "\n".join(lines) + "\n")
    writer.put_text(home.targets_csv, _targets_csv(plan, result))


def _targets_csv(plan: _Plan, result: _Result) -> str:
    """Quarterly targets near what the data delivers: some partners on track, some behind."""
    rng = plan.rng(_R_TARGETS)
    quarters: dict[str, list[int]] = {}
    for mi, month in enumerate(plan.months):
        quarters.setdefault(fiscal_quarter(month), []).append(mi)
    sums = result.sums
    lines = ["partner_id,fiscal_quarter,kpi,target"]
    latest = fiscal_quarter(plan.months[-1])
    kpis = [*_VOLUME_TARGETS, *_RATIO_TARGETS]
    for pi, partner in enumerate(plan.partners):
        for quarter, months in quarters.items():
            # The newest quarter follows _BEHIND; earlier ones vary from quarter to quarter.
            draws = rng.random(len(kpis))
            behind = (
                _BEHIND[pi]
                if quarter == latest
                else frozenset(k for k, u in zip(kpis, draws, strict=True) if u < 0.12)
            )
            # Volume: what the home's months of the quarter deliver, plus the run rate for
            # months after the home's end. Months before the home's start are in no sum,
            # so on-track targets are also capped to keep every month's quarter-to-date
            # attainment clear of "elapsed share minus 10 points".
            in_quarter = quarter_months(plan.months[months[0]])
            future = sum(m > plan.months[-1] for m in in_quarter)
            elapsed = np.array([(in_quarter.index(plan.months[m]) + 1) / 3 for m in months])
            for kpi, name in _VOLUME_TARGETS.items():
                values = sums[name][pi, months]
                expected = values.sum() * (1 + future / len(months))
                if kpi in behind:
                    target = 1.18 * expected
                else:
                    cap = (np.cumsum(values) / (elapsed - 0.07)).min()
                    target = min(rng.uniform(0.93, 1.02) * expected, cap)
                lines.append(f"{partner.partner_id},{quarter},{kpi},{round(target, -3):.0f}")
            for kpi, (num, den) in _RATIO_TARGETS.items():
                bottom = sums[den][pi, months].sum()
                if bottom <= 0:
                    continue
                value = sums[num][pi, months].sum() / bottom
                offset = rng.uniform(0.015, 0.03) if kpi in behind else -rng.uniform(0.003, 0.012)
                target = min(max(value + offset, 0.0), 1.0)
                lines.append(f"{partner.partner_id},{quarter},{kpi},{target:.3f}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- commentary
_MARKETING = (
    "co-marketing campaign with the top retailers in {countries}",
    "back-to-school bundles (notebook plus Microsoft 365) in {countries}",
    "holiday promotion planning with e-commerce partners in {countries}",
    "Copilot+ PC launch events for resellers in {countries}",
)
_ACCOUNT_PLAN = (
    "Quarterly business review with {name} set for the second week of next month.",
    "Commercial refresh pipeline reviewed; Pro attach plan agreed with the product team.",
    "Joint business plan for next fiscal year in draft; volume and mix targets shared.",
    "Server attach workshop planned with the partner's enterprise sales leads.",
)
_BEST_PRACTICES = (
    "Weekly sell-out reviews with the two biggest distributors kept the forecast close to actuals.",
    "Attach offers shown at checkout in the partner's web shop lifted Office attach.",
    "A shared SKU calendar with the partner's product team flags OS changes a month ahead.",
)
_WHY = (
    "The partner won an education tender in {where} that asked for ChromeOS devices; the "
    "Windows configuration of this model lost its shelf space.",
    "A retailer in {where} priced the ChromeOS configuration of this model 60 USD lower for "
    "back-to-school, and the partner moved its allocation there.",
    "The partner's product team in {where} consolidated this model on ChromeOS to simplify "
    "its entry-level range.",
)
_COE = (
    "Offer the Windows 11 SE education bundle for the next tender and align the price with "
    "the ChromeOS configuration.",
    "Co-fund a back-to-school price point with the retailer and restore the Windows "
    "configuration for the holiday season.",
    "Review the entry-level range with the partner's product team and agree a Windows "
    "configuration in the next refresh.",
)


def _write_commentary(plan: _Plan, result: _Result, writer: _Writer) -> None:
    """PAM commentary for some partners in the last two months (plain Markdown)."""
    n_p = len(plan.partners)
    planted = plan.anomaly_partners or {}
    loss = next((a for a in result.anomalies if a["rule"] == "competitive_loss"), None)
    country_names = {c.country: c.name for c in plan.countries}
    for month in plan.months[-2:]:
        latest = month == plan.months[-1]
        mi = plan.months.index(month)
        label = f"{calendar.month_name[int(month[5:7])]} {month[:4]}"
        chosen = {0, 1 % n_p} | ({2 % n_p} if latest else {3 % n_p})
        for pi in sorted(chosen):
            partner = plan.partners[pi]
            k = pi + mi
            countries = ", ".join(c.name for c in plan.countries[pi % 3 : pi % 3 + 3])
            parts = [
                "## Marketing",
                f"- {label}: " + _MARKETING[k % 4].format(countries=countries) + ".",
                f"- Windows 11 refresh webinar for {partner.name} resellers; "
                f"{300 + 40 * (k % 5)} sign-ups.",
                "",
                "## Account plan",
                "- " + _ACCOUNT_PLAN[k % 4].format(name=partner.name),
                "- " + _ACCOUNT_PLAN[(k + 1) % 4].format(name=partner.name),
                "",
                "## Best practices",
                "- " + _BEST_PRACTICES[k % 3],
                "",
            ]
            escalations = []
            if latest and planted.get("forecast_miss") == pi:
                escalations.append(
                    "- Shipments came in well below forecast: component shortages on two "
                    "notebook lines. The partner sends a recovery plan by the 15th."
                )
            own_loss = latest and loss is not None and loss["partner_id"] == partner.partner_id
            if own_loss:
                assert loss is not None
                where = country_names.get(loss["country"], loss["country"])
                escalations.append(
                    f"- {where} {loss['segment']}: three Windows SKUs moved to ChromeOS. "
                    "Escalated to the regional OEM lead."
                )
            if escalations:
                parts += ["## Escalations", *escalations, ""]
            if own_loss:
                for i, sku in enumerate(result.loss_names):
                    parts += [
                        f"## Why: {sku}",
                        "- " + _WHY[i % 3].format(where=where),
                        "",
                        f"## COE: {sku}",
                        "- " + _COE[i % 3],
                        "",
                    ]
            parts += [
                "## Channel notes",
                f"- Distributor inventory is at about {4 + k % 3} weeks, within the agreed range.",
                "",
            ]
            writer.put_text(plan.home.commentary_file(month, partner.partner_id), "\n".join(parts))
