"""The monthly update as data: what the templates are handed.

``oemkpi.reports.data`` fills these from the warehouse; ``oemkpi.reports.render`` turns
them into HTML and Markdown. Every number is a plain value (ratios as
fractions, changes of ratios as fractions too); formatting is the
templates' business. Text from feeds and commentary is raw here and escaped
by the renderer, never before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from oemkpi.kpis.red_flags import Thresholds
from oemkpi.reference import Partner
from oemkpi.reports.marketing import MarketingSection

KpiKind = Literal["ratio", "volume"]
TargetStatus = Literal["on_track", "behind", "at_risk", "met", "missed", "no_target", "unavailable"]


@dataclass(frozen=True)
class KpiFigure:
    """One KPI of the partner for the month, with its comparisons.

    ``mom_change``/``yoy_change``: difference for ratios (0.012 = +1.2 pts), relative
    change for volumes (0.05 = +5 %). ``attainment`` is QTD / target for volume KPIs;
    ``elapsed_share`` the share of the quarter gone (1/3, 2/3, 1). In the quarter's last
    month (``quarter_closed``) the status is ``met`` or ``missed``. ``prior_target`` is
    the previous quarter's target of the KPI, to say when a raised target puts it at risk.
    """

    kpi: str
    label: str
    kind: KpiKind
    value: float | None
    prior_month: float | None
    prior_year: float | None
    mom_change: float | None
    yoy_change: float | None
    qtd: float | None
    target: float | None
    attainment: float | None
    elapsed_share: float
    target_status: TargetStatus
    flagged: bool  # a red flag names this KPI
    quarter_closed: bool = False
    prior_target: float | None = None
    #: Months of the quarter so far without the KPI's value: its QTD leaves them out.
    qtd_months_missing: tuple[str, ...] = ()

    @property
    def raised_target_at_risk(self) -> bool:
        """At risk only because the target went up: last quarter's target would be on track."""
        return (
            self.target_status == "at_risk"
            and self.kind == "ratio"
            and self.qtd is not None
            and self.target is not None
            and self.prior_target is not None
            and self.target > self.prior_target
            and self.qtd >= self.prior_target
        )


@dataclass(frozen=True)
class ForecastRow:
    """Shipments against forecast for one country x segment of the partner."""

    country: str
    country_name: str
    segment: str
    shipped_units: float | None
    forecast_units: float | None  # of the rows that have a forecast
    attainment: float | None
    forecast_shipped_units: float | None = None  # shipped in the rows that have a forecast

    @property
    def without_forecast(self) -> float:
        """The units shipped in rows that have no forecast (not in the attainment)."""
        return max(0.0, (self.shipped_units or 0) - (self.forecast_shipped_units or 0))


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[str, float | None]]  # (YYYY-MM, value), oldest first; None = no data


@dataclass(frozen=True)
class Chart:
    """A 13-month trend chart: one or more series and their targets.

    Each of ``targets`` holds each month's target of one series (its fiscal quarter's own,
    None where a quarter has none), drawn as a step line that changes where the quarter does.
    """

    key: str
    title: str
    kind: KpiKind
    series: list[Series]
    targets: tuple[Series, ...] = ()
    style: Literal["line", "stacked"] = "line"  # stacked: shares of a whole, as bars


@dataclass(frozen=True)
class AssortmentItem:
    type: Literal["win", "loss", "discontinued"]
    reason: Literal["converted", "new", "competitive", "discontinued"]
    country: str
    segment: str
    sku: str
    from_os: str | None
    to_os: str | None
    units: float | None
    prior_units: float | None
    why: str | None = None  # Markdown from commentary "## Why: <sku>"
    coe: str | None = None  # Markdown from commentary "## COE: <sku>"


@dataclass(frozen=True)
class RedFlag:
    rule: str
    severity: Literal["high", "medium"]
    scope: str  # "partner" or a country code
    kpi: str | None
    value: float | None
    threshold: float | None
    message: str
    segment: str | None = None
    sku: str | None = None
    feed: str | None = None

    @property
    def on_feed(self) -> bool:
        """A data-quality flag on a feed's delivery (rejected, late or not delivered yet),
        which every partner's update carries alike: not the partner's doing."""
        return self.rule == "data_quality" and self.feed is not None


def escalations_due(flags: Iterable[RedFlag]) -> bool:
    """Whether a partner's escalations are to be written: a high red flag of its own (a
    late or rejected feed is high for every partner, and asked every PAM for escalations)."""
    return any(f.severity == "high" and not f.on_feed for f in flags)


@dataclass(frozen=True)
class FlagNote:
    """The PAM's commentary on one red flag (``## Flag: <rule> <scope>``)."""

    why: str | None = None
    coe: str | None = None
    owner: str | None = None
    text: str | None = None  # anything under the heading not on a Why/COE/Owner line


@dataclass(frozen=True)
class FlagGroup:
    """The red flags of one rule and scope, told once, with the PAM's why/COE/owner."""

    rule: str
    scope: str
    severity: Literal["high", "medium"]
    flags: list[RedFlag]
    title: str  # "Competitive loss · Brazil"
    what: str  # what happened, in plain words
    note: FlagNote | None
    #: No note of its own, but the PAM wrote on the same rule for the whole partner: each of
    #: the row's cells that the partner's note fills points there instead of asking again.
    partner_note: FlagNote | None = None
    #: What the pipeline itself knows of a flag that is not the partner's doing (a feed's
    #: delivery rejected, late or missing): the cells the PAM's note leaves empty.
    known: FlagNote | None = None

    def cell(self, name: str) -> str | None:
        """The words in one of the row's cells (``why``, ``coe`` or ``owner``): the PAM's
        own note's, the whole partner's it points to, or what the pipeline knows."""
        for note in (self.note or self.partner_note, self.known):
            text = getattr(note, name) if note else None
            if text:
                return text
        return None

    @property
    def why(self) -> str | None:
        """The row's why: the PAM's own, the whole partner's it points to, or what the
        pipeline knows of a feed's delivery."""
        return self.cell("why")

    @property
    def counted(self) -> str:
        """How many flags the row tells, when more than one, so the rows add up to the
        counts above the table: "(3 flags: 2 high, 1 medium)", "(2 flags)"."""
        if len(self.flags) < 2:
            return ""
        high = sum(f.severity == "high" for f in self.flags)
        if high in (0, len(self.flags)):
            return f"({len(self.flags)} flags)"
        return f"({len(self.flags)} flags: {high} high, {len(self.flags) - high} medium)"


@dataclass(frozen=True)
class CompetitiveItem:
    """A SKU that was Windows last month and another OS family this month (any units)."""

    country: str
    country_name: str
    segment: str
    sku: str
    to_os: str
    units: float | None
    prior_units: float | None

    def under(self, floor: float) -> bool:
        """Fewer than ``floor`` Windows units last month: under the assortment's floor, so
        not among its competitive losses (the update's note and the regional pack's list)."""
        return (self.prior_units or 0) < floor


@dataclass(frozen=True)
class TableRow:
    """One row of a body or appendix table: a place, its values and MoM changes."""

    label: str
    values: dict[str, float | None]
    changes: dict[str, float | None]
    kind: Literal["row", "other", "total"] = "row"
    count: int = 1  # rows summed into an "all other" row
    yoy: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A table as the body shows it (largest rows, "all other", total) and in full."""

    shown: list[TableRow]
    other: TableRow | None
    total: TableRow | None
    full: list[TableRow]

    @property
    def truncated(self) -> bool:
        return self.other is not None


@dataclass(frozen=True)
class FeedState:
    feed: str
    status: Literal["loaded", "rejected", "missing", "late", "not_delivered"]
    rows: int
    problems: int
    checks_failed: int
    delivered_at: str | None
    failed_checks: list[str] = field(default_factory=list)
    first_problem: str | None = None

    @property
    def incomplete(self) -> bool:
        """Late, missing, or rejected with no earlier delivery in force; an optional feed
        not delivered is complete (SPEC 9), and so is a rejected re-delivery whose earlier
        delivery stays in force."""
        if self.status == "rejected":
            return self.rows == 0
        return self.status not in ("loaded", "not_delivered")


def feed_loaded(feeds: Sequence[FeedState], feed: str) -> bool:
    """Whether ``feed``'s delivery of the month is in (a partner without rows in it has
    none there, rather than none delivered)."""
    return any(f.feed == feed and f.status == "loaded" for f in feeds)


@dataclass(frozen=True)
class ReconciliationRow:
    country: str
    segment: str
    check: str
    left_feed: str
    left_units: int
    right_feed: str
    right_units: int
    difference: float


@dataclass(frozen=True)
class Commentary:
    """A PAM's commentary file, split by heading (raw Markdown, rendered safely later)."""

    marketing: str | None = None
    account_plan: str | None = None
    best_practices: str | None = None
    escalations: str | None = None
    why: dict[str, str] = field(default_factory=dict)  # sku -> Markdown
    coe: dict[str, str] = field(default_factory=dict)  # sku -> Markdown
    notes: list[tuple[str, str]] = field(default_factory=list)  # (heading, Markdown)
    flags: dict[tuple[str, str], FlagNote] = field(default_factory=dict)  # (rule, scope)

    @property
    def main_written(self) -> bool:
        """Whether the PAM wrote any of the update's own commentary (marketing, account
        plan, best practices): a file with only flag notes leaves it still to be written."""
        return any((self.marketing, self.account_plan, self.best_practices))


@dataclass(frozen=True)
class MonthlyReport:
    """Everything one partner's monthly update shows, in section order."""

    partner: Partner
    month: str  # YYYY-MM
    month_label: str  # "October 2026"
    fiscal_quarter: str  # "FY27-Q2"
    data_as_of: str | None  # newest delivery time of the feeds in force, ISO
    generated_at: str  # ISO, UTC
    country_names: dict[str, str]
    # executive summary
    tiles: list[KpiFigure]
    summary: list[str]  # 3-7 generated sentences
    flag_counts: dict[str, int]  # {"high": n, "medium": n}
    # red flags and escalations
    flag_groups: list[FlagGroup]
    #: Commentary on flags not raised this month: (title, note, why no flag).
    flag_orphans: list[tuple[str, FlagNote, str]]
    # competitive watch: every SKU from Windows to another OS family, largest first
    competitive_watch: list[CompetitiveItem]
    # market trends (all partners together)
    market_by_country: Table
    market_by_segment: Table
    # partner performance
    forecast: Table  # country x segment
    forecast_rows: list[ForecastRow]
    # KPI tables
    kpis_by_country: Table
    kpis_by_segment: Table
    attach_by_country: Table
    attach_by_segment: Table
    kpis: list[KpiFigure]  # every KPI, tiles first
    charts: dict[str, Chart]  # shipments, windows_share, os_families, mix, revenue, attach
    assortment: list[AssortmentItem]
    commentary: Commentary | None
    red_flags: list[RedFlag]
    feeds: list[FeedState]
    reconciliation: list[ReconciliationRow]
    missing_feeds: list[str]  # feeds delivered without rows for this partner
    export: dict[str, Any]  # the JSON export (SPEC section 5, schema_version 1)
    quarter_end: bool = False  # the month closes its fiscal quarter
    marketing: MarketingSection | None = None  # the quarter's co-marketing activities
    #: The units a SKU needs to count as a win or loss (red_flags.yaml's assortment.min_units).
    assortment_min_units: float = 100.0
    #: This partner's rows in force, by feed (a feed's delivery holds every partner's).
    feed_rows: dict[str, int] = field(default_factory=dict)

    @property
    def flags_to_write(self) -> int:
        """Red flags whose row still lacks its why, correction of error or owner: what the
        PAM's message and the index count alike (the index counted rows without a why, and
        said "written" of updates whose message asked for correction and owner)."""
        return sum(
            len(g.flags)
            for g in self.flag_groups
            if not all(g.cell(name) for name in ("why", "coe", "owner"))
        )

    @property
    def escalations_due(self) -> bool:
        """A high red flag of the partner's own and no escalations written: the update
        shows them "to be written" and the message asks for them."""
        written = self.commentary is not None and bool(self.commentary.escalations)
        return not written and escalations_due(f for g in self.flag_groups for f in g.flags)


@dataclass(frozen=True)
class IndexRow:
    """One partner's line on ``reports/<YYYY-MM>/index.html``."""

    partner: Partner
    figures: dict[str, KpiFigure]  # the headline KPIs by name
    flags_high: int
    flags_medium: int
    flags: dict[str, list[str]]  # rule -> the scopes it fired for (country names, "whole partner")
    competitive: list[CompetitiveItem]
    commentary_missing: bool  # no commentary file, or nothing under its main headings
    flags_unexplained: int  # red flags still without why, correction or owner (flags_to_write)
    html: str  # file name of the partner's HTML report, relative to the index
    markdown: str
    json: str
    marketing: MarketingSection | None = None  # the quarter's co-marketing, None without data
    #: Why a headline KPI has no value, as the update's tile says it ("n/a — no Windows
    #: Server base"), by KPI.
    na: dict[str, str] = field(default_factory=dict)
    #: Of its red flags, those on the month's feed deliveries (rejected, late or missing),
    #: which every partner's update carries alike.
    feed_flags: int = 0


@dataclass(frozen=True)
class MonthIndex:
    month: str
    month_label: str
    fiscal_quarter: str
    generated_at: str
    quarter_end: bool
    rows: list[IndexRow]
    totals: dict[str, KpiFigure]  # all partners together: volumes summed, ratios of sums
    feeds: list[FeedState]
    #: (region, html, markdown, json) of each regional pack, paths relative to the index
    regions: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: red_flags.yaml's target_gap thresholds (ratio pts, volume pts), for the scoreboard.
    target_gap_pts: tuple[float, float] = (
        Thresholds.target_ratio_gap_pts,
        Thresholds.target_volume_gap_pts,
    )
