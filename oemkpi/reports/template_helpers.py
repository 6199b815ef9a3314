"""What the report templates call: template-side logic kept out of Jinja2.

Each helper takes the report model (or part of it) and returns plain values or
escaped markup; the templates only lay them out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from oemkpi.formats import (
    ARROWS,
    MINUS,
    counted,
    direction,
    kpi_change,
    kpi_value,
    num,
    pct,
    size_pts,
    usd,
)
from oemkpi.kpis.quality import RECONCILED_FEEDS
from oemkpi.months import add_months, month_label, month_short
from oemkpi.reports.charts import chart_svg as _chart_svg
from oemkpi.reports.charts import target_steps
from oemkpi.reports.marketing import delivered_for
from oemkpi.reports.model import (
    AssortmentItem,
    Chart,
    CompetitiveItem,
    FeedState,
    KpiFigure,
    KpiKind,
    MonthIndex,
    MonthlyReport,
    Series,
    Table,
    TableRow,
    feed_loaded,
)
from oemkpi.reports.tables import table_notes
from oemkpi.reports.targets import (
    gap_text,
    gap_words,
    months_words,
    qtd_incomplete,
    qtd_without,
    status_words,
    target_text,
)
from oemkpi.reports.words import capitalize_first, not_in_words, os_name, rule_name

NA_KPI = "n/a — data unavailable"

#: The report's sections after the headline, in SPEC order: (anchor, heading).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Executive summary"),
    ("red-flags", "Red flags and escalations"),
    ("competitive", "Competitive watch"),
    ("market", "Market trends"),
    ("performance", "Partner performance"),
    ("kpis", "KPI updates"),
    ("assortment", "Assortment wins and losses"),
    ("attach", "Attach and sell-thru"),
    ("commentary", "Marketing activities, account plan and best practices"),
    ("quarter", "Quarterly conditions of satisfaction"),
    ("appendix", "Appendix: full tables and data quality"),
)
SECTION_TITLES = dict(SECTIONS)
NO_COMMENTARY = "No commentary yet."
TO_BE_WRITTEN = "to be written"
#: Escalations where none are due and the PAM wrote none.
NO_ESCALATIONS = "None due: no high red flag this month."
#: Competitive-watch SKUs in the body; the rest are in the appendix.
COMPETITIVE_BODY = 15
#: Assortment items in the body (besides those with commentary); the rest in the appendix.
ASSORTMENT_BODY = 10

FEED_STATUS_TEXT = {
    "loaded": "✓ loaded",
    "rejected": "✗ rejected",
    "late": "⚠ late",
    "missing": "not delivered yet",
    "not_delivered": "not delivered (optional)",
}


def feed_status(state: FeedState) -> str:
    """A feed's state in a table cell: a rejected re-delivery with an earlier delivery in
    force says so, beside the rows in force (a bare "rejected" beside 48 rows in force read
    as rows of the rejected delivery)."""
    if state.status == "rejected" and state.rows:
        return "✗ re-delivery rejected"
    return FEED_STATUS_TEXT.get(state.status, state.status)


#: Target statuses that judge a value against its target (the others: none set, or n/a).
JUDGED = ("on_track", "behind", "at_risk", "met", "missed")


def index_lead(index: MonthIndex) -> str:
    """The index's line above its partner table, saying only what the cells show: the
    first months have no month before or a year before, and a quarter without targets or
    with a month missing judges nothing (it said "where it stands against the quarter's
    target (the quarter closes this month: met or missed)" above cells with neither)."""
    figures = [f for r in index.rows for f in r.figures.values()]
    compared = [
        words
        for words, field in (("last month", "prior_month"), ("a year ago", "prior_year"))
        if any(getattr(f, field) is not None for f in figures)
    ]
    text = "For the regional team: partners side by side."
    if compared:
        text += f" Each value with its change on {' and on '.join(compared)}"
    else:
        text += " Each value of the month"
    statuses = {f.target_status for f in figures}
    if statuses & set(JUDGED):
        text += ", and where it stands against the quarter's target"
        if index.quarter_end:
            text += " (the quarter closes this month: met or missed)"
    text += "."
    if statuses & {"behind", "at_risk"}:
        # The marks a reader meets in the cells, each once ("◐ Slightly behind" had no key).
        text += (
            " Slightly behind: short of the target's pace, not by enough for a red flag; at "
            "risk: a target-gap red flag."
        )
    missing = [
        (label, what)
        for label, field, what in (
            ("MoM", "prior_month", "month before"),
            ("YoY", "prior_year", "month a year before"),
        )
        if figures and all(getattr(f, field) is None for f in figures)
    ]
    if missing:
        labels = " and ".join(label for label, _ in missing)
        text += (
            f" {labels} {'is' if len(missing) == 1 else 'are'} n/a: the data holds no "
            f"{' or '.join(what for _, what in missing)}."
        )
    if figures and not statuses & set(JUDGED):
        if all(f.target is None for f in figures):
            text += f" No targets are set for {index.fiscal_quarter}."
        else:
            text += f" No target is judged in {index.fiscal_quarter}: {quarter_gap_words(index)}."
    return text


def quarter_gap_words(index: MonthIndex) -> str:
    """Why the quarter's targets are not judged, as the updates say it: "the quarter has no
    data for October 2023 and November 2023" (or, with no month named, that its data is
    not all in)."""
    figures = [f for r in index.rows for f in r.figures.values()]
    if figures and all(f.target is None for f in figures):
        return "no targets are set for it"
    months = {m for f in figures for m in f.qtd_months_missing}
    if months:
        return f"the quarter has no data for {months_words(months)}"
    return "the quarter's data is not all in"


def quarter_judged(index: MonthIndex, kpis: Sequence[str]) -> bool:
    """Whether any partner's target among ``kpis`` (the scoreboard's) was met or missed: a
    quarter close with none (the data's first quarter) has no scoreboard of 42 "not
    judged" cells."""
    return any(
        r.figures[k].target_status in ("met", "missed")
        for r in index.rows
        for k in kpis
        if k in r.figures
    )


def no_skus_moved(figures: Sequence[KpiFigure | None], month: str, what: str) -> str:
    """The line where no SKU moved: "No SKU went from Windows to another OS family this
    month.", or, without last month's Windows share data (the data's first month), that
    there was nothing to compare with: the first month said no SKU moved, which it could
    not know. ``figures``: the Windows share figures the line covers (a partner's, or every
    partner's on the index)."""
    known = [f for f in figures if f is not None]
    if known and all(f.prior_month is None for f in known):
        prior = month_label(add_months(month, -1))
        return f"There is no {prior} Windows share data to compare this month's SKUs with."
    return f"No {what} this month."


def feed_flags_note(index: MonthIndex) -> str:
    """How many of the month's red flags are on feed deliveries, counted once per partner
    ("" when none): a rejected delivery raised six flags in a month of six partners, and
    the totals read as six problems."""
    feed = sum(r.feed_flags for r in index.rows)
    if not feed:
        return ""
    return f"{feed} of them on the month's feed deliveries, the same for every partner"


def scoreboard_note(index: MonthIndex) -> str:
    """What "missed" means beside the red flags: Ember's licence revenue at 98.4 % of target
    read "✗ Missed" with "Red flags: none" above it, and nothing said why."""
    ratio, volume = index.target_gap_pts
    return (
        "Missed: the quarter closed below its target. A target-gap red flag is raised only for "
        f"a ratio {size_pts(ratio / 100)} or more below its target, or a volume below "
        f"{100 - volume:g} % of it."
    )


def os_move(item: AssortmentItem) -> str:
    """An assortment change's OS families, a dash where the SKU had no row: "— → Windows"
    for a new SKU, "Windows → —" for a discontinued one (the update, its appendix and the
    regional pack alike; the pack said "new → Windows" and "Windows → gone")."""
    return f"{os_name(item.from_os) if item.from_os else '—'} → {os_name(item.to_os) if item.to_os else '—'}"


def no_data(report: MonthlyReport, feeds: Sequence[str]) -> str:
    """Why ``feeds`` have no rows this month, one sentence per feed ("" when they all do):
    what a section says instead of "no shipments" when the data is not in."""
    return " ".join(
        capitalize_first(not_in_words(f.feed, f.status, report.month_label))
        + (", and no earlier one is in force." if f.status == "rejected" else ".")
        for f in report.feeds
        if f.feed in feeds and f.incomplete
    )


def change_mark(change: float | None, kind: KpiKind) -> Markup:
    """A change with arrow and word for HTML, so direction never rests on colour alone."""
    way = direction(change, kind)
    if way is None:
        return Markup('<span class="chg na">n/a</span>')
    # ``way`` and the arrow are our own constants; the figure is escaped like any value.
    # (Markup.format escapes through string.Formatter, several times slower, and this runs
    # hundreds of times per report.)
    return Markup(
        f'<span class="chg {way}">{ARROWS[way]}<span class="sr"> {way}</span> '
        f"{escape(kpi_change(change, kind))}</span>"
    )


def chart_svg(charts: Mapping[str, Chart], key: str) -> Markup | None:
    """The inline SVG of ``charts[key]``, or None when the report has no such chart."""
    chart = charts.get(key)
    return _chart_svg(chart) if chart is not None else None


def chart_summary(charts: Mapping[str, Chart], key: str) -> str | None:
    """The Markdown report's stand-in for a chart: each series' first and latest value.

    A series named like its chart is not named twice ("Windows share: 91.2 % ...").
    """
    chart = charts.get(key)
    if chart is None or not _data_months(chart):
        return None  # "Trend over 0 months — no data" said nothing
    # Charts carry no unit; the revenue chart is the one in dollars.
    kpi = "license_revenue_usd" if key == "revenue" else key
    parts = []
    for series in chart.series:
        known = [(m, v) for m, v in series.points if v is not None and math.isfinite(v)]
        name = "" if series.name == chart.title else f"{series.name} "
        if not known:
            parts.append(f"{name}no data".strip())
            continue
        (first_month, first), (last_month, last) = known[0], known[-1]
        if first_month == last_month:  # one month of data: nothing to go from or to
            parts.append(f"{name}{kpi_value(last, kpi, chart.kind)} ({month_short(last_month)})")
            continue
        parts.append(
            f"{name}{kpi_value(first, kpi, chart.kind)} ({month_short(first_month)}) → "
            f"{kpi_value(last, kpi, chart.kind)} ({month_short(last_month)})"
        )
    # Targets from the first month with data (not "from Oct 23" before a December start).
    start = min(
        (m for series in chart.series for m, v in series.points if v is not None),
        default="",
    )
    for target in chart.targets:
        shown = Series(target.name, [(m, v) for m, v in target.points if m >= start])
        steps = target_steps(shown, lambda value: kpi_value(value, kpi, chart.kind))
        if steps:
            parts.append(steps)
    return f"{chart.title}: " + "; ".join(parts) + "." if parts else None


def trend_span(charts: Mapping[str, Chart], key: str) -> str:
    """How many months a chart's data covers, for its caption: "13 months", "10 months",
    "1 month" (a history younger than the chart's 13 months)."""
    chart = charts.get(key)
    months = _data_months(chart) if chart else set()
    return counted(len(months), "month") if months else "no data"


def _data_months(chart: Chart) -> set[str]:
    """The months any of a chart's series has a value for."""
    return {
        m for series in chart.series for m, v in series.points if v is not None and math.isfinite(v)
    }


def market_movers(table: Table) -> tuple[TableRow | None, TableRow | None]:
    """The biggest grower and the biggest decliner by units MoM (None where nothing moved)."""
    known = [(r, r.changes.get("units")) for r in table.full]
    growers = [(r, c) for r, c in known if c is not None and c > 0]
    decliners = [(r, c) for r, c in known if c is not None and c < 0]
    grower = max(growers, key=lambda rc: (rc[1], rc[0].label), default=None)
    decliner = min(decliners, key=lambda rc: (rc[1], rc[0].label), default=None)
    return (grower[0] if grower else None, decliner[0] if decliner else None)


def mover_words(table: Table) -> tuple[str, str]:
    """The verbs beside :func:`market_movers`' rows: "grew most" among three or more that
    grew, "grew more" of two segments that both grew, "grew" for the only one that did
    ("commercial grew most; consumer declined most" of a two-segment market)."""

    def word(verb: str, count: int) -> str:
        if count <= 1:  # none: no row is named with it
            return verb
        return f"{verb} more" if len(table.full) == 2 else f"{verb} most"

    changes = [r.changes.get("units") for r in table.full]
    grew = sum(1 for c in changes if c is not None and c > 0)
    fell = sum(1 for c in changes if c is not None and c < 0)
    return word("grew", grew), word("declined", fell)


def no_marketing(report: MonthlyReport) -> str:
    """What the marketing section says without activities: none delivered for the quarter,
    or, where the month's marketing delivery is in, none of this partner in it (it said
    "No marketing activities delivered" beside a data-quality table with the feed loaded)."""
    if feed_loaded(report.feeds, "marketing"):
        return (
            f"The marketing delivery lists no activities of {report.partner.partner_name} "
            f"for {report.fiscal_quarter}."
        )
    return f"No marketing activities delivered for {report.fiscal_quarter}."


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


def assortment_counts(items: Sequence[AssortmentItem]) -> list[tuple[str, str, int, float]]:
    """(type, reason, count, units) per kind of change: units this month for wins, last
    month for losses and discontinued SKUs."""
    order = (
        ("win", "converted"),
        ("win", "new"),
        ("loss", "competitive"),
        ("discontinued", "discontinued"),
    )
    out = []
    for kind, reason in order:
        group = [i for i in items if i.type == kind and i.reason == reason]
        units = sum((i.units if kind == "win" else i.prior_units) or 0 for i in group)
        out.append((kind, reason, len(group), float(units)))
    return out


def _item_size(item: AssortmentItem) -> float:
    return float((item.units if item.type == "win" else item.prior_units) or 0)


def assortment_split(
    items: Sequence[AssortmentItem], limit: int = ASSORTMENT_BODY
) -> tuple[list[AssortmentItem], list[AssortmentItem]]:
    """The body's items (the ``limit`` largest and every one with commentary) and the rest."""
    ranked = sorted(range(len(items)), key=lambda i: (-_item_size(items[i]), i))
    keep = set(ranked[:limit]) | {i for i, item in enumerate(items) if item.why or item.coe}
    body = [items[i] for i in sorted(keep, key=lambda i: (-_item_size(items[i]), i))]
    rest = [items[i] for i in ranked if i not in keep]
    return body, rest


def usd_whole(value: float | None, other: float | None = None) -> str:
    """A co-marketing amount in whole US dollars ("$42,000"), the same in every row and
    total of its table: "$42k" rows beside a total of exact sums read as adding up wrong
    ($42k + $16k + $28k + $13k against "$98k"), and "$40,000 / $39,600" beside "$120k" as
    two formats. With cents where ``other``, from which it differs, would print alike."""
    if value is None:
        return usd(value)
    text = num(value)
    if other is not None and value != other and text == num(other):
        text = num(value, 2)
    return MINUS + "$" + text[1:] if text.startswith(MINUS) else "$" + text


def listed_words(body: Sequence[AssortmentItem], limit: int = ASSORTMENT_BODY) -> str:
    """What the body of :func:`assortment_split` lists, when it leaves some out: "The 10
    largest are listed", or "The 10 largest, and 2 more with commentary, are listed"."""
    more = len(body) - limit
    if more <= 0:
        return f"The {len(body)} largest are listed"
    return f"The {limit} largest, and {more} more with commentary, are listed"


def competitive_split(
    items: Sequence[CompetitiveItem], limit: int = COMPETITIVE_BODY
) -> tuple[list[CompetitiveItem], list[CompetitiveItem]]:
    """The largest SKUs (by units last month) for the body; the rest go to the appendix."""
    ordered = sorted(items, key=lambda i: (-(i.prior_units or 0), i.country, i.segment, i.sku))
    return ordered[:limit], ordered[limit:]


def under_floor_words(items: Sequence[CompetitiveItem], floor: float) -> str:
    """The competitive watch's SKUs the assortment section leaves out (fewer than its
    ``floor`` units last month), so the two sections' counts are told apart; '' if none."""
    few = sum(i.under(floor) for i in items)
    if not few:
        return ""
    if few == len(items):
        who, them = ("It", "it") if few == 1 else ("All", "them")
    else:
        who, them = f"{few} of them", ("it" if few == 1 else "those")
    return (
        f"{who} had fewer than {num(floor)} units last month: the assortment section, which "
        f"counts SKUs of at least {num(floor)}, leaves {them} out."
    )


def competitive_by_os(items: Sequence[CompetitiveItem]) -> list[tuple[str, int, float]]:
    """(OS family name, SKUs, units last month) of the month's competitive moves."""
    out: dict[str, list[float]] = {}
    for item in items:
        entry = out.setdefault(os_name(item.to_os), [0, 0.0])
        entry[0] += 1
        entry[1] += item.prior_units or 0
    return sorted(((k, int(v[0]), v[1]) for k, v in out.items()), key=lambda t: -t[2])


def competitive_words(items: Sequence[CompetitiveItem]) -> str:
    """The competitive watch's lead: "1 SKU went from Windows last month to FreeDOS this
    month (698 units last month).", or, where SKUs went to several families, each family
    with its count (to one family, "4 SKUs ...: 4 to ChromeOS" counted them twice)."""
    by_os = competitive_by_os(items)
    head = f"{counted(len(items), 'SKU')} went from Windows last month to"
    if len(by_os) == 1:
        ((name, _, units),) = by_os
        return f"{head} {name} this month ({num(units)} units last month)."
    parts = [f"{count} to {name} ({num(units)} units last month)" for name, count, units in by_os]
    return f"{head} another OS family this month: " + "; ".join(parts) + "."


#: The attach section's columns (key, label, kind, MoM, YoY), in order.
ATTACH_COLUMNS: tuple[tuple[str, str, str, bool, bool], ...] = (
    ("office_attach", "Office attach", "ratio", True, False),
    ("server_attach", "Server attach", "ratio", True, False),
    ("office_sell_thru_units", "Office sell-thru", "volume", True, False),
    ("server_sell_thru_units", "Server sell-thru", "volume", True, False),
)


def _has_data(report: MonthlyReport, key: str) -> bool:
    """Whether the partner has a value of ``key`` this month, in total or in any row."""
    figure = kpi_map(report.kpis).get(key)
    if figure is not None and figure.value is not None:
        return True
    rows = report.attach_by_country.full + report.attach_by_segment.full
    return any(r.values.get(key) is not None for r in rows)


def reports_sell_thru(report: MonthlyReport) -> bool:
    """Whether the partner reported any sell-thru this month (else the columns are left out)."""
    return any(
        _has_data(report, key) for key in ("office_sell_thru_units", "server_sell_thru_units")
    )


def attach_columns(report: MonthlyReport) -> tuple[tuple[str, str, str, bool, bool], ...]:
    """The attach tables' columns: Office attach, and each other column the partner has a
    value for this month (a partner with no Server base had four columns of n/a)."""
    return tuple(c for c in ATTACH_COLUMNS if c[0] == "office_attach" or _has_data(report, c[0]))


def forecast_columns(report: MonthlyReport) -> tuple[tuple[str, str, str, bool, bool], ...]:
    """The columns of shipments against forecast. When some shipments carry no forecast,
    "Shipped with a forecast" stands beside them: attainment is that column over the
    forecast, and a reader dividing the columns finds the figure shown."""
    shipped = ("shipped_units", "Shipped units", "volume", False, False)
    with_forecast = ("forecast_shipped_units", "With a forecast", "volume", False, False)
    rest = (
        ("forecast_units", "Forecast units", "volume", False, False),
        ("attainment", "Attainment", "ratio", False, False),
    )
    partial = any(
        r.values.get("shipped_units") != r.values.get("forecast_shipped_units")
        for r in report.forecast.full
    )
    return (shipped, with_forecast, *rest) if partial else (shipped, *rest)


def flag_count_text(counts: Mapping[str, int]) -> str:
    """ "2 high and 1 medium red flags", "1 high red flag", "No red flags"."""
    high, medium = counts.get("high", 0), counts.get("medium", 0)
    parts = [f"{n} {severity}" for n, severity in ((high, "high"), (medium, "medium")) if n]
    if not parts:
        return "No red flags"
    return f"{' and '.join(parts)} red flag{'' if high + medium == 1 else 's'}"


def forecast_note(report: MonthlyReport) -> str:
    """What attainment divides, and how many units it leaves out for want of a forecast."""
    total = report.forecast.total
    shipped = total.values.get("shipped_units") if total else None
    with_forecast = total.values.get("forecast_shipped_units") if total else None
    if shipped is None or with_forecast is None or shipped == with_forecast:
        return "Attainment is shipped units over forecast units."
    return (
        "Attainment is the units shipped with a forecast over forecast units; "
        f"{num(shipped - with_forecast)} units shipped without a forecast are left out of it."
    )


def quarter_rule(report: MonthlyReport) -> str:
    """How a closing quarter's targets are judged, and which are not (a month without data)."""
    targeted = [k for k in report.kpis if k.target is not None]
    partial = [k for k in targeted if k.qtd_months_missing]
    if not partial:
        return "each target is met or missed on the quarter's final figures."
    lacking = months_words(m for k in partial for m in k.qtd_months_missing)
    if len(partial) == len(targeted):
        return f"no target is judged, as the quarter has no data for {lacking}."
    return (
        "each target is met or missed on the quarter's final figures, where the quarter has "
        f"data for every month (not for {lacking})."
    )


def tile_target(figure: KpiFigure) -> str:
    """The tile's "vs target" line: the QTD value beside its gap, or the closed verdict."""
    if figure.target is None:
        return "no target"
    target = kpi_value(figure.target, figure.kpi, figure.kind)
    if qtd_incomplete(figure):
        return f"QTD {qtd_without(figure)}, not judged · target {target}"
    if figure.qtd is None:
        return f"QTD n/a · {target}"
    return gap_words(figure)


def quarter_targets(report: MonthlyReport) -> list[KpiFigure]:
    return [f for f in report.kpis if f.target is not None]


def elapsed(report: MonthlyReport) -> float | None:
    return report.kpis[0].elapsed_share if report.kpis else None


def flag_name(rule: str) -> str:
    return rule_name(rule)


def closed_counts(figures: Mapping[str, KpiFigure], kpis: Sequence[str]) -> tuple[int, int]:
    """(met, judged) of a partner's targets in a closed quarter."""
    judged = [
        figures[k] for k in kpis if k in figures and figures[k].target_status in ("met", "missed")
    ]
    return sum(f.target_status == "met" for f in judged), len(judged)


#: The feed each KPI comes from, and what its missing value means when that feed is in.
_KPI_FEED = {
    "shipped_units": ("pc_shipments", "no PC shipments"),
    "server_units": ("pc_shipments", "no server shipments"),
    "forecast_attainment": ("pc_shipments", "no forecast"),
    "windows_share": ("windows_share", "no SKUs"),
    "pro_mix": ("premium_mix", "no Windows units"),
    "premium_mix": ("premium_mix", "no Windows units"),
    "license_revenue_usd": ("premium_mix", "no Windows units"),
    "office_attach": ("attach_rate", "no Office base"),
    "server_attach": ("attach_rate", "no Windows Server base"),
    "office_sell_thru_units": ("attach_rate", "not reported"),
    "server_sell_thru_units": ("attach_rate", "not reported"),
}


def na_text(report: MonthlyReport, kpi: str) -> str:
    """What a tile says for a KPI without a value: "data unavailable" when its feed is not
    in, else why there is nothing to measure ("no Windows Server base" for a partner that
    ships no servers)."""
    feed, why = _KPI_FEED.get(kpi, ("", ""))
    # The feed is not in, or has no rows for this partner: the data is what is missing.
    if not why or feed in report.missing_feeds:
        return NA_KPI
    state = next((f for f in report.feeds if f.feed == feed and f.rows == 0), None)
    if state is not None:
        return f"n/a — {_NOT_IN_SHORT.get(state.status, 'data unavailable')}"
    return f"n/a — {why}"


#: A tile's word for a feed that is not in (the summary and sections say it in full).
_NOT_IN_SHORT = {"missing": "not delivered yet", "late": "late", "rejected": "rejected"}


def figure_value(figure: KpiFigure | None) -> str:
    if figure is None:
        return kpi_value(None)
    return kpi_value(figure.value, figure.kpi, figure.kind)


#: The helpers the templates call by name.
TEMPLATE_GLOBALS: dict[str, Any] = {
    "feed_status": feed_status,
    "chart_svg": chart_svg,
    "chart_summary": chart_summary,
    "market_movers": market_movers,
    "mover_words": mover_words,
    "no_marketing": no_marketing,
    "kpi_map": kpi_map,
    "orphan_commentary": orphan_commentary,
    "assortment_counts": assortment_counts,
    "assortment_split": assortment_split,
    "listed_words": listed_words,
    "usd_whole": usd_whole,
    "under_floor_words": under_floor_words,
    "competitive_split": competitive_split,
    "competitive_words": competitive_words,
    "table_notes": table_notes,
    "reports_sell_thru": reports_sell_thru,
    "attach_columns": attach_columns,
    "forecast_columns": forecast_columns,
    "forecast_note": forecast_note,
    "flag_count_text": flag_count_text,
    "quarter_targets": quarter_targets,
    "target_text": target_text,
    "gap_text": gap_text,
    "status_words": status_words,
    "qtd_incomplete": qtd_incomplete,
    "trend_span": trend_span,
    "quarter_rule": quarter_rule,
    "na_text": na_text,
    "no_data": no_data,
    "reconciled_feeds": RECONCILED_FEEDS,
    "qtd_without": qtd_without,
    "tile_target": tile_target,
    "elapsed": elapsed,
    "flag_name": flag_name,
    "figure_value": figure_value,
    "closed_counts": closed_counts,
    "os_name": os_name,
    "os_move": os_move,
    "index_lead": index_lead,
    "quarter_gap_words": quarter_gap_words,
    "quarter_judged": quarter_judged,
    "no_skus_moved": no_skus_moved,
    "delivered_for": delivered_for,
    "scoreboard_note": scoreboard_note,
    "feed_flags_note": feed_flags_note,
    "pct": pct,
}
