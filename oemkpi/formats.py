"""How numbers, changes, times and table cells are shown: one set for every reader.

The reports (HTML and Markdown), the executive-summary sentences and the
Dagster UI's summaries all format through here. ``None``, and a NaN or infinity
that slipped through a division, print as "n/a", never as 0. Rounding is half
up on the decimal value as written (0.9125 -> 91.3 %), and negative numbers
carry a true minus sign.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

KpiKind = Literal["ratio", "volume"]

NA = "n/a"
MINUS = "\u2212"


def _decimal(value: float | int) -> Decimal:
    # repr gives the shortest decimal that round-trips, so 0.9125 rounds half-up as written.
    return Decimal(repr(float(value))) if not isinstance(value, int) else Decimal(value)


def _rounded(value: Decimal, places: int) -> Decimal:
    result = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    # Negative zero after rounding (-0.0004 -> -0.0) prints as plain zero.
    return result.copy_abs() if result.is_zero() else result


def _unsigned(value: Decimal, *, grouped: bool = False) -> str:
    return f"{value.copy_abs():,}" if grouped else str(value.copy_abs())


def _with_minus(value: Decimal, text: str) -> str:
    return MINUS + text if value < 0 else text


def _with_sign(value: Decimal, text: str) -> str:
    if value > 0:
        return "+" + text
    return MINUS + text if value < 0 else text


# Each filter prints None, and a NaN or infinity that slipped through a division, as "n/a".


def counted(n: int, noun: str) -> str:
    """``"1 problem"``, ``"3 problems"``: a count in figures and its noun agreeing."""
    return f"{n} {noun}{'s' * (n != 1)}"


def pct(value: float | None, places: int = 1) -> str:
    """A fraction as a percent: ``0.9123`` -> ``"91.2 %"``."""
    if value is None or not math.isfinite(value):
        return NA
    rounded = _rounded(_decimal(value) * 100, places)
    return _with_minus(rounded, f"{_unsigned(rounded)} %")


def pts(value: float | None, places: int = 1) -> str:
    """A change of a ratio, signed, in points: ``-0.023`` -> ``"−2.3 pts"``."""
    if value is None or not math.isfinite(value):
        return NA
    rounded = _rounded(_decimal(value) * 100, places)
    return _with_sign(rounded, f"{_unsigned(rounded)} pts")


def rel(value: float | None, places: int = 1) -> str:
    """A relative change, signed: ``0.051`` -> ``"+5.1 %"``."""
    if value is None or not math.isfinite(value):
        return NA
    rounded = _rounded(_decimal(value) * 100, places)
    return _with_sign(rounded, f"{_unsigned(rounded)} %")


def num(value: float | None, places: int = 0) -> str:
    """A count with thousands separators: ``1234567`` -> ``"1,234,567"``."""
    if value is None or not math.isfinite(value):
        return NA
    rounded = _rounded(_decimal(value), places)
    return _with_minus(rounded, _unsigned(rounded, grouped=True))


def compact(value: float | None) -> str:
    """A large count, abbreviated: ``"1.23M"``, ``"456k"``, ``"7,890"``, ``"1.05B"``."""
    if value is None or not math.isfinite(value):
        return NA
    amount = _decimal(value)
    size = amount.copy_abs()
    whole = _rounded(size, 0)
    if whole < 10_000:
        text = f"{whole:,}"
    elif (thousands := _rounded(size / 1000, 0)) < 1000:
        text = f"{thousands}k"
    elif (millions := _rounded(size / 1_000_000, 2)) < 1000:
        text = f"{millions}M"
    else:
        text = f"{_rounded(size / 1_000_000_000, 2):,}B"
    return MINUS + text if amount < 0 and re.search("[1-9]", text) else text


def usd(value: float | None) -> str:
    """US dollars, abbreviated: ``"$1.23M"``, ``"$456k"``, ``"$7,890"``, ``"$789"``."""
    text = compact(value)
    if text == NA:
        return NA
    return MINUS + "$" + text[1:] if text.startswith(MINUS) else "$" + text


def size_pts(value: float | None, places: int = 1) -> str:
    """The size of a change of a ratio in points, without its sign: ``-0.023`` -> ``"2.3 pts"``
    (for sentences that say "rose" or "fell")."""
    if value is None or not math.isfinite(value):
        return NA
    return f"{_unsigned(_rounded(_decimal(value) * 100, places))} pts"


def size_rel(value: float | None, places: int = 1) -> str:
    """The size of a relative change, without its sign: ``-0.051`` -> ``"5.1 %"``."""
    if value is None or not math.isfinite(value):
        return NA
    return f"{_unsigned(_rounded(_decimal(value) * 100, places))} %"


def when(iso: str | None) -> str:
    """An ISO timestamp as ``"2026-11-05 08:12 UTC"``; anything unparseable as it came."""
    if iso is None:
        return NA
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def kpi_value(value: float | None, kpi: str = "", kind: KpiKind = "volume") -> str:
    """A KPI value in its unit: percent for ratios, dollars for revenue, else a count."""
    if value is None or not math.isfinite(value):
        return NA
    if kind == "ratio":
        return pct(value)
    if kpi.endswith("_usd"):
        return usd(value)
    return num(value)


def kpi_change(change: float | None, kind: KpiKind) -> str:
    """A change in a KPI: points for ratios, relative percent for volumes."""
    return pts(change) if kind == "ratio" else rel(change)


def direction(change: float | None, kind: KpiKind = "ratio") -> str | None:
    """``"up"``, ``"down"`` or ``"flat"`` as the printed change reads; None without data."""
    if change is None:
        return None
    text = kpi_change(change, kind)
    if text.startswith("+"):
        return "up"
    return "down" if text.startswith(MINUS) else "flat"


ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}


def change_text(change: float | None, kind: KpiKind) -> str:
    """A change with its arrow, for Markdown: ``"▲ +1.2 pts"``; ``"n/a"`` without data."""
    way = direction(change, kind)
    if way is None:
        return NA
    return f"{ARROWS[way]} {kpi_change(change, kind)}"


def md_cell(value: Any, *, limit: int = 80) -> str:
    """A value made safe for a GitHub-style table cell: shown as text, never interpreted."""
    if value is None:
        return ""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False).replace("|", "\\|")
    return " ".join(text.split())


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-style Markdown table."""
    lines = [
        "| " + " | ".join(md_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines)
