"""Chart axes: round tick values and their labels, chosen by us rather than the plotting
library, so every chart's axis shows the range and the gap it exists for.

Volumes start at zero (growth is not exaggerated); ratios zoom in on their values and
target, where a point of share matters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from oemkpi.reports.model import KpiKind

_STEPS = (1.0, 2.0, 2.5, 5.0)


def _candidate_steps(span: float, kind: KpiKind) -> list[float]:
    exponent = math.floor(math.log10(span)) - 2
    steps = [m * 10.0**e for e in range(exponent, exponent + 4) for m in _STEPS]
    # Units come whole: a volume axis never counts in fractions.
    return [s for s in steps if kind == "ratio" or s >= 1.0] or [1.0]


def _ticks_for(low: float, high: float, step: float) -> list[float]:
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round((first + i) * step, 12) for i in range(last - first + 1)]


def nice_ticks(low: float, high: float, *, kind: KpiKind = "volume") -> list[float]:
    """4-6 evenly spaced round tick values covering ``low``..``high``.

    Volumes start at zero when all values are positive, so growth is not
    exaggerated; ratios zoom in on their range, where a point of share matters.
    """
    low, high = min(low, high), max(low, high)
    data_low, data_high = low, high
    if kind == "volume" and low > 0:
        low = 0.0
    if high == low:
        pad = 0.01 if kind == "ratio" else max(abs(high) * 0.1, 4.0)
        floor = 0.0 if low >= 0 else -math.inf
        low, high = max(low - pad, floor), high + pad
    if kind == "volume":
        # Whole-unit steps need a span of at least three units for four ticks.
        high = max(high, math.floor(low) + 3)
    candidates = [_ticks_for(low, high, step) for step in _candidate_steps(high - low, kind)]
    fitting = [ticks for ticks in candidates if 4 <= len(ticks) <= 6]
    if not fitting:
        return min(candidates, key=lambda ticks: (abs(len(ticks) - 5), len(ticks)))
    ticks = fitting[0]
    if kind == "ratio":
        ticks = _clear_of_edges(ticks, data_low, data_high)
    return ticks


#: A line closer than this share of the axis to its bottom or top is drawn on the frame.
EDGE_SHARE = 0.03


def _clear_of_edges(ticks: list[float], low: float, high: float) -> list[float]:
    """One more step below or above where a ratio's line or target would lie on the
    axis's edge (a 20.7 % target on a 20-60 % axis read as the axis itself), while the
    axis keeps to six ticks and stays within 0-100 % for values within it (a share of
    100 % is at its top, not under a 110 % that cannot be)."""
    step, span = ticks[1] - ticks[0], ticks[-1] - ticks[0]
    if len(ticks) < 6 and low - ticks[0] < EDGE_SHARE * span and (low < 0 or ticks[0] >= step):
        ticks = [round(ticks[0] - step, 12), *ticks]
    room_above = high > 1 or ticks[-1] + step <= 1 + 1e-9
    if len(ticks) < 6 and ticks[-1] - high < EDGE_SHARE * span and room_above:
        ticks = [*ticks, round(ticks[-1] + step, 12)]
    return ticks


def _decimals(step: float) -> int:
    for places in range(4):
        if abs(round(step, places) - step) < 1e-9:
            return places
    return 4


def _half_up(value: float, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    text = str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    return "0" + text[2:] if text.startswith("-0") and not text.strip("-0.") else text


def _minus(text: str) -> str:
    return "\u2212" + text[1:] if text.startswith("-") else text


def tick_labels(ticks: Sequence[float], kind: KpiKind) -> list[str]:
    """Axis labels: percents for ratios, thousands separators or k/M for volumes."""
    if not ticks:
        return []
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    if kind == "ratio":
        places = _decimals(step * 100)
        return [_minus(f"{_half_up(t * 100, places)} %") for t in ticks]
    top = max(abs(t) for t in ticks)
    if top >= 1_000_000:
        divisor, suffix = 1_000_000.0, "M"
    elif top >= 10_000:
        divisor, suffix = 1_000.0, "k"
    else:
        places = _decimals(step)
        return [_minus(f"{Decimal(_half_up(t, places)):,}") for t in ticks]
    places = _decimals(step / divisor)
    return [_minus(f"{_half_up(t / divisor, places)}{suffix}") if t else "0" for t in ticks]
