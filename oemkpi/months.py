"""Months as ``YYYY-MM`` strings, and the fiscal calendar.

Months travel through the whole project as plain ``YYYY-MM`` strings (the
Dagster partition keys, folder names and JSON values all use that form), so
the helpers here take and return strings.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from oemkpi.errors import OemkpiError

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

#: The fiscal year starts in July unless configured otherwise (SPEC section 4).
DEFAULT_FY_START_MONTH = 7


def parse_month(text: str, *, what: str = "month") -> str:
    """Return ``text`` if it is a valid ``YYYY-MM`` month, else raise a clear error."""
    if not isinstance(text, str) or not _MONTH_RE.match(text.strip()):
        raise OemkpiError(f"The {what} {text!r} is not a month; write it as YYYY-MM, e.g. 2026-10.")
    return text.strip()


def _split(month: str) -> tuple[int, int]:
    return int(month[:4]), int(month[5:7])


def _join(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def add_months(month: str, n: int) -> str:
    """``add_months("2026-01", -1) == "2025-12"``."""
    year, mon = _split(month)
    index = year * 12 + (mon - 1) + n
    return _join(index // 12, index % 12 + 1)


def month_range(first: str, last: str) -> list[str]:
    """All months from ``first`` to ``last`` inclusive (empty when first > last)."""
    out = []
    current = first
    while current <= last:
        out.append(current)
        current = add_months(current, 1)
    return out


def month_start(month: str) -> date:
    year, mon = _split(month)
    return date(year, mon, 1)


def last_complete_month(today: date) -> str:
    """The month before ``today``'s month: the newest month whose data can be complete."""
    return add_months(_join(today.year, today.month), -1)


def fiscal_year(month: str, fy_start_month: int = DEFAULT_FY_START_MONTH) -> int:
    """Fiscal year a month belongs to, named by the calendar year it ends in.

    With a July start, July 2026 .. June 2027 is FY27 (returned as 2027).
    """
    year, mon = _split(month)
    if fy_start_month == 1:
        return year
    return year + 1 if mon >= fy_start_month else year


def fiscal_quarter(month: str, fy_start_month: int = DEFAULT_FY_START_MONTH) -> str:
    """``fiscal_quarter("2026-10") == "FY27-Q2"`` with the default July start."""
    _, mon = _split(month)
    offset = (mon - fy_start_month) % 12
    return f"FY{fiscal_year(month, fy_start_month) % 100:02d}-Q{offset // 3 + 1}"


def quarter_months(month: str, fy_start_month: int = DEFAULT_FY_START_MONTH) -> list[str]:
    """The three months of the fiscal quarter that contains ``month``."""
    _, mon = _split(month)
    position = ((mon - fy_start_month) % 12) % 3
    first = add_months(month, -position)
    return [first, add_months(first, 1), add_months(first, 2)]


def quarter_to_date(month: str, fy_start_month: int = DEFAULT_FY_START_MONTH) -> list[str]:
    """Months of the quarter up to and including ``month``."""
    return [m for m in quarter_months(month, fy_start_month) if m <= month]


def elapsed_share(month: str, fy_start_month: int = DEFAULT_FY_START_MONTH) -> float:
    """Share of the fiscal quarter that has elapsed at the end of ``month`` (1/3, 2/3 or 1)."""
    return len(quarter_to_date(month, fy_start_month)) / 3


MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_short(month: str) -> str:
    """``"2025-10"`` -> ``"Oct 25"``; anything else is returned as it came."""
    try:
        year, mon = int(month[:4]), int(month[5:7])
    except ValueError:
        return month
    if len(month) != 7 or month[4] != "-" or not 1 <= mon <= 12:
        return month
    return f"{MONTH_ABBR[mon - 1]} {year % 100:02d}"


def month_label(month: str | None, short: bool = False) -> str:
    """``"2026-10"`` -> ``"October 2026"`` (``short``: ``"Oct 26"``); None -> ``"n/a"``."""
    if month is None:
        return "n/a"
    if short:
        return month_short(month)
    try:
        return f"{calendar.month_name[int(month[5:7])]} {int(month[:4])}"
    except (ValueError, IndexError):
        return month
