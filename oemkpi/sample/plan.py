"""What to generate: the checked arguments as a :class:`Plan`, and the tunables of the data.

The tunables are the codes of the contract's value tuples, seasonality, SKU traits
and churn, edition prices, and the red-flag thresholds the planted anomalies cross.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.contract import FORM_FACTORS, OS_FAMILIES, PRICE_BANDS
from oemkpi.months import add_months, last_complete_month, parse_month
from oemkpi.sample.catalogue import (
    COUNTRY_CATALOGUE,
    PARTNER_CATALOGUE,
    CountrySpec,
    PartnerSpec,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MAX_MONTHS = 240
MAX_SCALE = 10_000.0

# Codes are positions in the contract's value tuples.
WIN = OS_FAMILIES.index("windows")
CHROMEOS = OS_FAMILIES.index("chromeos")
LINUX = OS_FAMILIES.index("linux")
FREEDOS = OS_FAMILIES.index("freedos")
OTHER_OS = OS_FAMILIES.index("other")
WORKSTATION = FORM_FACTORS.index("workstation")
SERVER = FORM_FACTORS.index("server")
PC_FORM_FACTORS = 4  # notebook, desktop, workstation, detachable (codes 0..3)
PREMIUM = PRICE_BANDS.index("premium")
NEVER = 1 << 30

# Seasonality by calendar month (Jan..Dec): back to school, holidays, weak Q1.
SEASON = np.array(
    [
        [0.84, 0.80, 0.93, 0.90, 0.93, 0.98, 1.02, 1.14, 1.10, 1.00, 1.16, 1.20],  # consumer
        [0.90, 0.92, 1.06, 0.96, 1.00, 1.08, 0.94, 0.98, 1.05, 1.02, 1.00, 1.04],  # commercial
    ]
)
# Back-to-school Chromebooks: consumer Windows share dips a little in Aug/Sep.
WIN_SEASON = np.array([0, 0, 0, 0, 0, 0, 0, -0.004, -0.003, 0, 0, 0], dtype=float)

# SKU traits by segment: form factor (notebook, desktop, workstation, detachable),
# price band (entry, mainstream, premium) and non-Windows OS (chromeos, linux, freedos, other).
FF_P = np.array([[0.70, 0.17, 0.00, 0.13], [0.66, 0.20, 0.08, 0.06]])
FF_WEIGHT = np.array([1.0, 0.8, 0.4, 0.6])
BAND_P = np.array([[0.35, 0.43, 0.22], [0.25, 0.45, 0.30]])
BAND_WEIGHT = np.array([1.1, 1.0, 0.75])
NON_WIN_OS = np.array([CHROMEOS, LINUX, FREEDOS, OTHER_OS])
NON_WIN_P = np.array([[0.72, 0.10, 0.13, 0.05], [0.45, 0.35, 0.15, 0.05]])
LOSS_OS_P = np.array([0.65, 0.25, 0.10, 0.0])
SIZE_CODES = (
    ("NB13", "NB14", "NB15", "NB16"),
    ("DTMT", "DTSF", "DT24", "DT27"),
    ("WS14", "WS16", "WSTW", "WSTW"),
    ("DX11", "DX12", "DX13", "DX13"),
)
# Edition split of Windows units by (segment, is workstation): home, pro, pro_workstation,
# education, other.
EDITION_P = np.array(
    [
        [[0.80, 0.15, 0.00, 0.04, 0.01], [0.00, 0.55, 0.45, 0.00, 0.00]],
        [[0.07, 0.84, 0.00, 0.07, 0.02], [0.00, 0.30, 0.70, 0.00, 0.00]],
    ]
)
EDITION_PRICE = np.array([42.0, 88.0, 145.0, 28.0, 35.0])  # USD per licence
BAND_PRICE = np.array([0.90, 1.00, 1.15])

#: Average months a SKU is offered; the monthly launch / discontinuation hazard is 1/this.
SKU_LIFETIME = 20.0
SKU_MIN_LIFE = 6
#: SKUs per cell: SKU_K * scale * (cell units per month) ** SKU_EXP, at least SKU_MIN.
SKU_K = 0.40
SKU_EXP = 0.45
SKU_MIN = 4
#: SKUs below this popularity are "small" (lognormal weights, about the 35th percentile).
SMALL_SKU_WEIGHT = 0.6
#: Relative size of the three SKUs of the planted competitive loss.
LOSS_SIZES = np.array([1.3, 1.0, 0.8])
#: Natural competitive switches of SKUs this big are held back in the newest month.
QUIET_LOSS_UNITS = 900

# Red-flag thresholds the planted anomalies cross and every other partner stays clear of.
FORECAST_MISS_ATTAINMENT = 0.82
ATTACH_DROP = 0.042
WIN_DROP_GUARD = 0.004
ATTACH_DROP_GUARD = 0.010


@dataclass(frozen=True)
class Plan:
    """What to generate: where, which months, partners and countries, how many SKUs, the seed."""

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


def make_plan(
    root: Path | str,
    *,
    end_month: str | None,
    months: int,
    partners: int,
    countries: int | None,
    scale: float,
    seed: int,
    today: dt.date | None,
) -> Plan:
    """Check the arguments of :func:`~oemkpi.sample.write_sample_home` and make the plan."""

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
    return Plan(
        home=Home.at(root),
        months=tuple(add_months(first, i) for i in range(n_months)),
        partners=PARTNER_CATALOGUE[:n_partners],
        countries=COUNTRY_CATALOGUE[:n_countries],
        scale=float(scale),
        seed=int(seed),
    )


# Random-stream purposes (the first key after the seed).
R_STATIC, R_MONTHLY, R_CATALOGUE, R_MONTH, R_TARGETS = 1, 2, 3, 4, 5
