"""The monthly update as HTML and Markdown, and the month's index page, from Jinja2 templates.

Templates live in ``reports/templates``. HTML templates (``*.html.j2``) are
autoescaped; Markdown templates (``*.md.j2``) run in an environment whose
``finalize`` escapes every printed value for Markdown (``|``, newlines, ``<``,
``>``, ``&``, brackets), so a value from a feed can neither break a table nor
smuggle in HTML or a link. Text that is Markdown on purpose (commentary, made
safe by :func:`oemkpi.commentary.neutralise_markdown`) is marked with
:class:`MarkdownText` and printed as it is.

Numbers are formatted only here: ``None`` prints as "n/a", never as 0.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from oemkpi.packaged import packaged_dir
from oemkpi.reports.charts import month_short, render_chart
from oemkpi.reports.commentary import neutralise_markdown, render_markdown_safe
from oemkpi.reports.model import (
    AssortmentItem,
    Chart,
    ForecastRow,
    KpiFigure,
    KpiKind,
    MarketRow,
    MonthIndex,
    MonthlyReport,
)

NA = "n/a"
NA_KPI = "n/a — data unavailable"
MINUS = "\u2212"

#: The report's sections after the headline, in SPEC order: (anchor, heading).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Executive summary"),
    ("market", "Market trends"),
    ("performance", "Partner performance"),
    ("kpis", "KPI updates"),
    ("assortment", "Assortment wins and losses"),
    ("attach", "Attach and sell-thru"),
    ("commentary", "Marketing activities, account plan and best practices"),
    ("red-flags", "Red flags and escalations"),
    ("quarter", "Quarterly conditions of satisfaction"),
    ("data-quality", "Data-quality appendix"),
)
SECTION_TITLES = dict(SECTIONS)
NO_COMMENTARY = "No commentary yet."

# ---------------------------------------------------------------------------
# Number formatting (the template filters)


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


def usd(value: float | None) -> str:
    """US dollars, abbreviated: ``"$1.23M"``, ``"$456k"``, ``"$7,890"``, ``"$789"``."""
    if value is None or not math.isfinite(value):
        return NA
    amount = _decimal(value)
    size = amount.copy_abs()
    whole = _rounded(size, 0)
    if whole < 10_000:
        text = f"${whole:,}"
    elif (thousands := _rounded(size / 1000, 0)) < 1000:
        text = f"${thousands}k"
    elif (millions := _rounded(size / 1_000_000, 2)) < 1000:
        text = f"${millions}M"
    else:
        text = f"${_rounded(size / 1_000_000_000, 2):,}B"
    return MINUS + text if amount < 0 and re.search("[1-9]", text) else text


def month_label(month: str | None, short: bool = False) -> str:
    """``"2026-10"`` -> ``"October 2026"`` (``short``: ``"Oct 26"``)."""
    if month is None:
        return NA
    if short:
        return month_short(month)
    try:
        return f"{calendar.month_name[int(month[5:7])]} {int(month[:4])}"
    except (ValueError, IndexError):
        return month


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


def change_mark(change: float | None, kind: KpiKind) -> Markup:
    """A change with arrow and word for HTML, so direction never rests on colour alone."""
    way = direction(change, kind)
    if way is None:
        return Markup('<span class="chg na">n/a</span>')
    # ``way`` and the arrow are our own constants; the figure is escaped like any value.
    # (Markup.format escapes through string.Formatter: ~5x slower, and this runs ~300
    # times per report.)
    return Markup(
        f'<span class="chg {way}">{ARROWS[way]}<span class="sr"> {way}</span> '
        f"{escape(kpi_change(change, kind))}</span>"
    )


STATUS_TEXT = {
    "on_track": "✓ On track",
    "at_risk": "⚠ At risk",
    "no_target": "No target",
    "unavailable": NA,
}
FEED_STATUS_TEXT = {
    "loaded": "✓ loaded",
    "rejected": "✗ rejected",
    "late": "⚠ late",
    "missing": "✗ missing",
}


# ---------------------------------------------------------------------------
# Markdown escaping

_MD_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "[": "\\[",
        "]": "\\]",
        "`": "\\`",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
    }
)


class MarkdownText(str):
    """Text that is Markdown on purpose and is printed as it is by the Markdown templates."""

    __slots__ = ()


def md_escape(value: Any) -> str:
    """A value as literal text in Markdown, safe inside a table cell.

    Newlines become spaces (a row is one line), ``|`` and brackets are backslash-escaped,
    ``<``, ``>`` and ``&`` become entities, so no value can open a tag or a link.
    """
    if isinstance(value, MarkdownText):
        return value
    if value is None:
        return NA
    return " ".join(str(value).split()).translate(_MD_ESCAPES)


def md_commentary(text: str | None) -> MarkdownText:
    """Commentary for the Markdown report, with raw HTML, images and unsafe links neutralised."""
    return MarkdownText(neutralise_markdown(text or "").strip())


def md_block(text: str) -> MarkdownText:
    """Mark the output of a Markdown template macro, already escaped inside, as Markdown."""
    return MarkdownText(text)


def _md_finalize(value: Any) -> Any:
    return md_escape(value)


# ---------------------------------------------------------------------------
# Helpers the templates call


def chart_svg(charts: Mapping[str, Chart], key: str) -> Markup | None:
    """The inline SVG of ``charts[key]``, or None when the report has no such chart."""
    chart = charts.get(key)
    return render_chart(chart) if chart is not None else None


def chart_summary(charts: Mapping[str, Chart], key: str) -> str | None:
    """The Markdown report's stand-in for a chart: each series' first and latest value."""
    chart = charts.get(key)
    if chart is None:
        return None
    # Charts carry no unit; the revenue chart is the one in dollars.
    kpi = "license_revenue_usd" if key == "revenue" else key
    parts = []
    for series in chart.series:
        known = [(m, v) for m, v in series.points if v is not None and math.isfinite(v)]
        if not known:
            parts.append(f"{series.name}: no data")
            continue
        (first_month, first), (last_month, last) = known[0], known[-1]
        parts.append(
            f"{series.name}: {kpi_value(first, kpi, chart.kind)} ({month_short(first_month)}) → "
            f"{kpi_value(last, kpi, chart.kind)} ({month_short(last_month)})"
        )
    if chart.target is not None:
        label = chart.target_label or "target"
        parts.append(f"{label}: {kpi_value(chart.target, kpi, chart.kind)}")
    return f"{chart.title}: " + "; ".join(parts) + "." if parts else None


def market_movers(rows: Sequence[MarketRow]) -> tuple[MarketRow | None, MarketRow | None]:
    """The biggest grower and the biggest decliner by units MoM (None where nothing moved)."""
    known = [r for r in rows if r.mom_change is not None]
    growers = [r for r in known if r.mom_change is not None and r.mom_change > 0]
    decliners = [r for r in known if r.mom_change is not None and r.mom_change < 0]
    grower = max(growers, key=lambda r: (r.mom_change, r.label), default=None)
    decliner = min(decliners, key=lambda r: (r.mom_change, r.label), default=None)
    return grower, decliner


def country_names(report: MonthlyReport) -> dict[str, str]:
    """Country code -> name, from what the report already carries."""
    names = {r.country: r.country_name for r in report.forecast_rows}
    names.update({r.code: r.label for r in report.by_country})
    return names


def kpi_map(figures: Sequence[KpiFigure]) -> dict[str, KpiFigure]:
    return {f.kpi: f for f in figures}


def orphan_commentary(report: MonthlyReport) -> list[tuple[str, str, str]]:
    """Why/COE commentary for SKUs not among this month's assortment items: (kind, sku, text).

    Shown at the end of the assortment section, so nothing a PAM wrote is lost to a typo.
    """
    if report.commentary is None:
        return []
    skus = {item.sku for item in report.assortment}
    out = [("Why", sku, text) for sku, text in report.commentary.why.items() if sku not in skus]
    out += [("COE", sku, text) for sku, text in report.commentary.coe.items() if sku not in skus]
    return out


def assortment_counts(items: Sequence[AssortmentItem]) -> dict[str, int]:
    counts = {"win": 0, "loss": 0, "discontinued": 0}
    for item in items:
        counts[item.type] = counts.get(item.type, 0) + 1
    return counts


#: New wins and discontinued SKUs listed one by one, largest first; the rest are summed up.
ASSORTMENT_LIST_LIMIT = 10


def assortment_shown(
    items: Sequence[AssortmentItem], limit: int | None = None
) -> tuple[list[AssortmentItem], list[tuple[str, int, float]]]:
    """The items to list and, per kind left out, ``(kind, count, units)``.

    Every loss, every conversion and every item with commentary is listed. Of the new
    Windows SKUs (by units this month) and the discontinued ones (by units last month)
    the ``limit`` largest are (default :data:`ASSORTMENT_LIST_LIMIT`); a busy month has
    scores of small ones, which the JSON export still lists in full.
    """
    limit = ASSORTMENT_LIST_LIMIT if limit is None else limit
    keep: set[int] = set()
    hidden: list[tuple[str, int, float]] = []
    for reason, size in (("new", "units"), ("discontinued", "prior_units")):
        group = [i for i, item in enumerate(items) if item.reason == reason]
        group.sort(key=lambda i: -(getattr(items[i], size) or 0))
        keep.update(group[:limit])
        rest = [i for i in group[limit:] if not (items[i].why or items[i].coe)]
        keep.update(i for i in group[limit:] if items[i].why or items[i].coe)
        if rest:
            units = sum(getattr(items[i], size) or 0 for i in rest)
            hidden.append((reason, len(rest), units))
    shown = [
        item
        for i, item in enumerate(items)
        if item.reason not in ("new", "discontinued") or i in keep
    ]
    return shown, hidden


def forecast_covers(row: ForecastRow) -> float | None:
    """Shipped units of the rows that carry a forecast, when that is not all of the row's."""
    if row.attainment is None or row.forecast_units is None or row.shipped_units is None:
        return None
    covered = row.attainment * row.forecast_units
    return covered if abs(covered - row.shipped_units) >= 0.5 else None


def reports_sell_thru(report: MonthlyReport) -> bool:
    """Whether the partner reported any sell-thru this month (else the columns are left out)."""
    k = kpi_map(report.kpis)
    keys = ("office_sell_thru_units", "server_sell_thru_units")
    if any(k[key].value is not None for key in keys if key in k):
        return True
    rows = [*report.by_country, *report.by_segment]
    return any(r.values.get(key) is not None for r in rows for key in keys)


def severity_sorted(flags: Sequence[Any]) -> list[Any]:
    """High before medium; otherwise in the order the rules produced them."""
    return sorted(flags, key=lambda f: 0 if f.severity == "high" else 1)


def qtd_incomplete(figure: KpiFigure) -> bool:
    """The quarter to date lacks this month: its figure is unavailable, earlier months are not."""
    return figure.value is None and figure.qtd is not None


def target_text(figure: KpiFigure) -> str:
    """Where a KPI stands against its quarterly target, in words."""
    if figure.target is None:
        return "No target"
    target = kpi_value(figure.target, figure.kpi, figure.kind)
    if qtd_incomplete(figure):
        return f"QTD incomplete without this month's data; target {target}"
    if figure.kind == "ratio":
        if figure.qtd is None:
            text = f"QTD n/a vs {target}"
        else:
            text = f"QTD {pct(figure.qtd)} vs {target} ({pts(figure.qtd - figure.target)})"
    elif figure.attainment is None:
        text = f"QTD n/a vs {target}"
    else:
        text = (
            f"{pct(figure.attainment, 0)} of {target} with "
            f"{pct(figure.elapsed_share, 0)} of the quarter gone"
        )
    if figure.target_status in ("on_track", "at_risk"):
        text += f" · {STATUS_TEXT[figure.target_status]}"
    return text


def tile_target(figure: KpiFigure) -> str:
    """The short "vs target" line of a tile: the gap for ratios, the attainment for volumes."""
    if figure.target is None:
        return "no target"
    target = kpi_value(figure.target, figure.kpi, figure.kind)
    if qtd_incomplete(figure):
        return f"QTD incomplete · {target}"
    if figure.kind == "ratio":
        gap = None if figure.qtd is None else figure.qtd - figure.target
        return f"{pts(gap)} vs {target}"
    return f"{pct(figure.attainment, 0)} of {target}"


def kpi_label(figures: Sequence[KpiFigure], kpi: str | None) -> str:
    """A KPI's printed label, or its id when the report does not carry it."""
    if kpi is None:
        return "—"
    return next((f.label for f in figures if f.kpi == kpi), kpi)


def quarter_targets(report: MonthlyReport) -> list[KpiFigure]:
    return [f for f in report.kpis if f.target is not None]


def elapsed(report: MonthlyReport) -> float | None:
    return report.kpis[0].elapsed_share if report.kpis else None


def _filters() -> dict[str, Callable[..., Any]]:
    return {
        "pct": pct,
        "pts": pts,
        "rel": rel,
        "num": num,
        "usd": usd,
        "month_label": month_label,
        "when": when,
        "kpi_value": kpi_value,
        "kpi_change": kpi_change,
        "change_text": change_text,
        "change_mark": change_mark,
        "markdown_safe": render_markdown_safe,
        "md": md_escape,
        "md_commentary": md_commentary,
        "md_block": md_block,
    }


def _globals() -> dict[str, Any]:
    return {
        "sections": SECTIONS,
        "section_titles": SECTION_TITLES,
        "no_commentary": NO_COMMENTARY,
        "na_kpi": NA_KPI,
        "status_text": STATUS_TEXT,
        "feed_status_text": FEED_STATUS_TEXT,
        "chart_svg": chart_svg,
        "chart_summary": chart_summary,
        "market_movers": market_movers,
        "country_names": country_names,
        "kpi_map": kpi_map,
        "orphan_commentary": orphan_commentary,
        "assortment_counts": assortment_counts,
        "assortment_shown": assortment_shown,
        "forecast_covers": forecast_covers,
        "reports_sell_thru": reports_sell_thru,
        "severity_sorted": severity_sorted,
        "quarter_targets": quarter_targets,
        "target_text": target_text,
        "qtd_incomplete": qtd_incomplete,
        "tile_target": tile_target,
        "kpi_label": kpi_label,
        "elapsed": elapsed,
    }


@lru_cache(maxsize=4)
def environment(markdown: bool = False, templates: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment for HTML (autoescaped) or Markdown (values escaped on output)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates or packaged_dir("templates")),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=(), default=False
        ),
        undefined=jinja2.StrictUndefined,
        # Templates are part of the code: no file-system check on every get_template.
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_md_finalize if markdown else None,
    )
    env.filters.update(_filters())
    env.globals.update(_globals())
    return env


def _tidy_markdown(text: str) -> str:
    """At most one blank line in a row and one newline at the end."""
    lines: list[str] = []
    for line in text.splitlines():
        # Content lines keep trailing spaces: two of them are a line break in commentary.
        if not line.strip():
            if lines and lines[-1]:
                lines.append("")
            continue
        lines.append(line)
    return "\n".join(lines).strip() + "\n"


def render_html(report: MonthlyReport) -> str:
    """The partner's monthly update as one self-contained HTML page."""
    return environment().get_template("monthly_update.html.j2").render(report=report)


def render_markdown(report: MonthlyReport) -> str:
    """The partner's monthly update as GitHub-flavoured Markdown, for mail and chat."""
    text = environment(markdown=True).get_template("monthly_update.md.j2").render(report=report)
    return _tidy_markdown(text)


def render_index(index: MonthIndex) -> str:
    """The month's overview page: every partner's headline KPIs, red flags and report links."""
    return environment().get_template("index.html.j2").render(index=index)
