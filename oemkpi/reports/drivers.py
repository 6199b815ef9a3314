"""What moved a ratio: its month-on-month change split into rate and mix (SPEC section 4).

A partner's ratio KPI is a ratio of sums over its cells i = (country, segment). With
w_i the cell's share of the KPI's denominator and r_i the cell's ratio, in the month
before (0) and this month (1), the change R1 - R0 is exactly

    sum_i w0_i * (r1_i - r0_i)   (rate: the cells' own ratios moved)
  + sum_i (w1_i - w0_i) * r1_i   (mix: volume moved between cells)

A cell absent in one month takes the other month's rate, so its rate effect is 0
and all of it is mix. :func:`decompose` computes the effects from the cells' sums;
:func:`the_driver`, :func:`mostly_mix` and :func:`volume_moves` are SPEC's rules for
what the narrative may say about them.

A cell's mix effect as SPEC defines it, ``(w1 - w0) * r1``, is mostly the cell's size
changing: a growing cell has a large positive one even when its ratio is below the
partner's and the growth pulled the partner down. What the narrative says a cell did is
its *contribution*: its rate effect plus its centred mix ``(w1 - w0) * (r1 - R0)``
(:func:`centred_mix`), which adds up to the same change over all cells (the weights'
moves add up to 0) and has the sign of what the cell did to the partner's ratio. The
JSON export keeps SPEC's effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Ratio KPI -> (numerator, denominator) columns of kpi_sums.
RATIO_PARTS: dict[str, tuple[str, str]] = {
    "forecast_attainment": ("fc_shipped_units", "fc_forecast_units"),
    "windows_share": ("windows_units", "ws_units"),
    "pro_mix": ("pro_units", "pm_units"),
    "premium_mix": ("premium_units", "pm_units"),
    "office_attach": ("office_attached_units", "office_base_units"),
    "server_attach": ("server_attached_units", "server_base_units"),
}
#: At most this many cells in the JSON export, largest first.
EXPORT_CELLS = 10

Cell = tuple[str, str]  # (country, segment)
Sums = tuple[float, float]  # (numerator, denominator)


@dataclass(frozen=True)
class CellEffect:
    """One cell's part of a change: its rate and mix effects and what they come from."""

    country: str
    segment: str
    rate_effect: float
    mix_effect: float
    weight_0: float  # share of the denominator in the month before (0 when absent)
    weight_1: float
    rate_0: float | None  # the cell's own ratio (None when absent that month)
    rate_1: float | None
    #: What the cell did to the partner's ratio: rate effect plus centred mix.
    contribution: float

    @property
    def net(self) -> float:
        return self.rate_effect + self.mix_effect

    @property
    def size(self) -> float:
        return abs(self.rate_effect) + abs(self.mix_effect)


@dataclass(frozen=True)
class Drivers:
    """A ratio's month-on-month change with every cell's effects, largest first."""

    value_0: float
    value_1: float
    rate_effect: float
    mix_effect: float
    cells: tuple[CellEffect, ...]

    @property
    def change(self) -> float:
        return self.value_1 - self.value_0

    def export(self, limit: int = EXPORT_CELLS) -> dict[str, Any]:
        """``kpis.<ratio kpi>.mom_drivers`` of the JSON export (SPEC section 4)."""
        return {
            "rate_effect": self.rate_effect,
            "mix_effect": self.mix_effect,
            "cells": [
                {
                    "country": c.country,
                    "segment": c.segment,
                    "rate_effect": c.rate_effect,
                    "mix_effect": c.mix_effect,
                    # What the narrative names the cell by (rate effect plus centred mix),
                    # so its "(0.6 pts of it)" can be checked here. An added field.
                    "contribution": c.contribution,
                }
                for c in self.cells[:limit]
            ],
        }


def _usable(sums: Mapping[Cell, Sums]) -> dict[Cell, Sums]:
    """Cells with a positive denominator: a cell without one has no rate and no weight."""
    return {
        cell: (float(num or 0), float(den))
        for cell, (num, den) in sums.items()
        if den is not None and den > 0
    }


def decompose(prior: Mapping[Cell, Sums], current: Mapping[Cell, Sums]) -> Drivers | None:
    """Split R1 - R0 over the cells; None when either month has no denominator at all.

    ``prior`` and ``current`` map (country, segment) to (numerator, denominator).
    """
    cells0, cells1 = _usable(prior), _usable(current)
    total0 = sum(den for _, den in cells0.values())
    total1 = sum(den for _, den in cells1.values())
    if total0 <= 0 or total1 <= 0:
        return None
    value_0 = sum(num for num, _ in cells0.values()) / total0
    value_1 = sum(num for num, _ in cells1.values()) / total1
    effects = []
    rate_total = mix_total = 0.0
    for cell in sorted(cells0.keys() | cells1.keys()):
        r0 = cells0[cell][0] / cells0[cell][1] if cell in cells0 else None
        r1 = cells1[cell][0] / cells1[cell][1] if cell in cells1 else None
        w0 = cells0[cell][1] / total0 if cell in cells0 else 0.0
        w1 = cells1[cell][1] / total1 if cell in cells1 else 0.0
        # An absent cell takes the other month's rate: no rate effect, all mix.
        rate_0 = r0 if r0 is not None else r1
        rate_1 = r1 if r1 is not None else r0
        assert rate_0 is not None and rate_1 is not None
        rate = w0 * (rate_1 - rate_0)
        mix = (w1 - w0) * rate_1
        rate_total += rate
        mix_total += mix
        contribution = rate + (w1 - w0) * (rate_1 - value_0)
        effects.append(CellEffect(cell[0], cell[1], rate, mix, w0, w1, r0, r1, contribution))
    effects.sort(key=lambda c: (-c.size, c.country, c.segment))
    return Drivers(value_0, value_1, rate_total, mix_total, tuple(effects))


def drivers_by_partner(
    rows: list[dict[str, Any]],
) -> dict[str, Drivers | None]:
    """Every ratio KPI's drivers from a partner's ``select_partner_cells`` rows."""
    out: dict[str, Drivers | None] = {}
    for kpi, (num, den) in RATIO_PARTS.items():
        months: tuple[dict[Cell, Sums], dict[Cell, Sums]] = ({}, {})
        for row in rows:
            if row[den] is not None:
                months[row["period"]][(row["country"], row["segment"])] = (row[num], row[den])
        out[kpi] = decompose(*months)
    return out


def _same_sign(value: float, change: float) -> bool:
    return value * change > 0


def the_driver(drivers: Drivers, tolerance: float = 1e-12) -> CellEffect | None:
    """The cell SPEC calls "the driver", if there is one.

    Its contribution has the sign of the change, is the largest such, and is not larger
    than the change itself; otherwise other cells offset it, and there is none.
    """
    change = drivers.change
    same = [c for c in drivers.cells if _same_sign(c.contribution, change)]
    if not same:
        return None
    top = max(same, key=lambda c: abs(c.contribution))
    return top if abs(top.contribution) <= abs(change) + tolerance else None


def offsetting(drivers: Drivers) -> tuple[CellEffect | None, CellEffect | None]:
    """The cell that contributed most with the change and the one most against it."""
    change = drivers.change
    with_change = [c for c in drivers.cells if _same_sign(c.contribution, change)]
    against = [c for c in drivers.cells if _same_sign(c.contribution, -change)]
    return (
        max(with_change, key=lambda c: abs(c.contribution), default=None),
        max(against, key=lambda c: abs(c.contribution), default=None),
    )


def share_moving_with(drivers: Drivers) -> float:
    """The share of this month's denominator in cells whose own rate moved the way the
    partner's ratio did (cells new or gone this month have no move of their own): near 1
    when a change was spread across the partner rather than led by a few cells."""
    return sum(
        c.weight_1
        for c in drivers.cells
        if c.rate_0 is not None
        and c.rate_1 is not None
        and _same_sign(c.rate_1 - c.rate_0, drivers.change)
    )


def mostly_mix(drivers: Drivers) -> bool:
    """SPEC: the total mix effect has the change's sign and is larger than the rate effect."""
    return _same_sign(drivers.mix_effect, drivers.change) and abs(drivers.mix_effect) > abs(
        drivers.rate_effect
    )


def centred_mix(cell: CellEffect) -> float:
    """A cell's share of the total mix effect: its weight's move times how far its rate is
    from last month's ratio. (Weights add up to 1 in both months, so these add up to the
    total mix effect, and a move between two cells of the same rate counts for nothing.)"""
    return cell.contribution - cell.rate_effect


def volume_moves(drivers: Drivers) -> tuple[CellEffect | None, CellEffect | None]:
    """Where volume went and where it came from, as far as it moved the ratio the way it
    went: the gaining and the losing cell whose move contributed most to the mix effect."""
    sign = 1.0 if drivers.mix_effect >= 0 else -1.0

    def helped(cell: CellEffect) -> float:
        return sign * centred_mix(cell)

    gainers = [c for c in drivers.cells if c.weight_1 > c.weight_0 and helped(c) > 0]
    losers = [c for c in drivers.cells if c.weight_1 < c.weight_0 and helped(c) > 0]
    return (max(gainers, key=helped, default=None), max(losers, key=helped, default=None))
