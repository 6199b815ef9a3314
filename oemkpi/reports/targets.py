"""Where a KPI stands against its quarterly target, honestly (SPEC section 4).

Before the quarter's last month a target is on track or at risk; in its last month the
quarter is closed and a target is met or missed. Printed figures never round across
the line: an attainment of 99.96 % prints as "99.96 %", not "100.0 %", so "missed" is
never set beside a figure that reads as met.
"""

from __future__ import annotations

from collections.abc import Iterable

from oemkpi.formats import compact, kpi_value, pct, pts, usd
from oemkpi.months import month_label
from oemkpi.reports.model import KpiFigure
from oemkpi.reports.words import join_words

STATUS_TEXT = {
    "on_track": "✓ On track",
    "behind": "◐ Slightly behind",
    "at_risk": "⚠ At risk",
    "met": "✓ Met",
    "missed": "✗ Missed",
    "no_target": "No target",
    "unavailable": "n/a",
}


def closed_status(figure: KpiFigure) -> str | None:
    """``met`` or ``missed`` for a closed quarter with a QTD and a target, else None."""
    if figure.target is None or figure.qtd is None:
        return None
    if figure.kind == "ratio":
        return "met" if figure.qtd >= figure.target else "missed"
    if figure.attainment is None:
        return None
    return "met" if figure.attainment >= 1.0 else "missed"


def behind(figure: KpiFigure) -> bool:
    """Short of the target's pace, though not by enough for a target-gap flag (which makes it
    at risk): a ratio's QTD below its target, a volume's attainment below the quarter gone.
    "On track" beside "−0.3 pts vs 48.8 %" was not true."""
    if figure.target is None or figure.qtd is None:
        return False
    if figure.kind == "ratio":
        return figure.qtd < figure.target
    return figure.attainment is not None and figure.attainment < figure.elapsed_share


def _places_for(value: float, line: float) -> int:
    """Decimals needed so that ``value`` printed stays on its side of ``line``."""
    for places in (1, 2, 3, 4):
        rounded = round(value * 100, places) / 100
        if (value >= line) == (rounded >= line):
            return places
    return 4


def exact_pct(value: float | None, line: float = 1.0) -> str:
    """A percent that does not round across ``line``: 0.9996 -> "99.96 %", 1.004 -> "100.4 %"."""
    if value is None:
        return pct(None)
    return pct(value, _places_for(value, line))


def exact_gap(gap: float | None) -> str:
    """A signed gap in points that does not round to zero on the wrong side: -0.0004 -> "−0.04 pts"."""
    if gap is None:
        return pts(None)
    return pts(gap, _places_for(gap, 0.0))


def _short(value: float | None, figure: KpiFigure) -> str:
    """A volume abbreviated ("8.34M", "$464.93M"), a ratio as a percent."""
    if figure.kind == "ratio":
        return pct(value)
    return usd(value) if figure.kpi.endswith("_usd") else compact(value)


def gap_words(figure: KpiFigure) -> str:
    """QTD value beside its gap: "QTD 44.5 % · +1.1 pts vs 43.4 %", "QTD 2.93M · 35.1 % of
    8.34M"; in the quarter's last month the whole quarter's: "Quarter 6.92M · 103.6 % of 6.68M"
    (not "to date" once it is closed)."""
    assert figure.target is not None
    target = _short(figure.target, figure)
    span = "Quarter" if figure.quarter_closed else "QTD"
    if figure.kind == "ratio":
        gap = None if figure.qtd is None else figure.qtd - figure.target
        return f"{span} {pct(figure.qtd)} · {exact_gap(gap)} vs {target}"
    return f"{span} {_short(figure.qtd, figure)} · {exact_pct(figure.attainment)} of {target}"


def closed_words(figure: KpiFigure) -> str:
    """The closed quarter's verdict with the exact figures: "Met: 100.4 % of 8.34M"."""
    status = closed_status(figure)
    if status is None:
        return "n/a"
    verdict = "Met" if status == "met" else "Missed"
    target = kpi_value(figure.target, figure.kpi, figure.kind)
    if figure.kind == "ratio":
        assert figure.qtd is not None and figure.target is not None
        return f"{verdict}: {pct(figure.qtd)} vs {target} ({exact_gap(figure.qtd - figure.target)})"
    return f"{verdict}: {exact_pct(figure.attainment)} of {target}"


def qtd_incomplete(figure: KpiFigure) -> bool:
    """The quarter to date has a figure but misses a month (this one or an earlier one)."""
    return figure.qtd is not None and bool(figure.qtd_months_missing)


def qtd_without(figure: KpiFigure) -> str:
    """ "without October 2026 and November 2026": the months the quarter to date lacks."""
    return "without " + months_words(figure.qtd_months_missing)


def months_words(months: Iterable[str]) -> str:
    """ "October 2023 and November 2023", in calendar order, each once."""
    return join_words([month_label(m) for m in sorted(set(months))])


def target_text(figure: KpiFigure) -> str:
    """Where a KPI stands against its target in words, for the tables and Markdown tiles."""
    if figure.target is None:
        return "No target"
    if qtd_incomplete(figure):
        return (
            f"QTD incomplete {qtd_without(figure)}, not judged; "
            f"target {kpi_value(figure.target, figure.kpi, figure.kind)}"
        )
    if figure.qtd is None:
        return f"QTD n/a vs {kpi_value(figure.target, figure.kpi, figure.kind)}"
    if figure.quarter_closed:
        return closed_words(figure)
    text = gap_words(figure)
    if figure.kind == "volume":
        text += f" with {pct(figure.elapsed_share, 0)} of the quarter gone"
    if figure.target_status in ("on_track", "behind", "at_risk"):
        text += f" · {STATUS_TEXT[figure.target_status]}"
    if figure.raised_target_at_risk:  # the quarter's section says the rest
        text += f" · target raised from {pct(figure.prior_target)}"
    return text


def status_words(figure: KpiFigure) -> str:
    """A KPI's status against its target in a table: "not judged" where the quarter to
    date misses a month (its QTD cell says which; "n/a" read as a figure missing)."""
    return "not judged" if qtd_incomplete(figure) else STATUS_TEXT[figure.target_status]


def gap_text(figure: KpiFigure) -> str:
    """The gap to target (ratios, in points) or the attainment (volumes), exactly; a dash
    where the quarter to date misses a month and nothing is judged."""
    if qtd_incomplete(figure) and figure.target is not None:
        return "—"
    if figure.target is None or figure.qtd is None:
        return "n/a"
    if figure.kind == "ratio":
        return exact_gap(figure.qtd - figure.target)
    text = f"{exact_pct(figure.attainment)} of target"
    if not figure.quarter_closed:
        text += f", {pct(figure.elapsed_share, 0)} of the quarter gone"
    return text
