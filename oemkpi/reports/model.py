"""The monthly update as data: what the templates are handed.

``oemkpi.reports.data`` fills these from the warehouse; ``oemkpi.reports.render`` turns
them into HTML and Markdown. Every number is a plain value (ratios as
fractions, changes of ratios as fractions too); formatting is the
templates' business. Text from feeds and commentary is raw here and escaped
by the renderer, never before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from oemkpi.reference import Partner

KpiKind = Literal["ratio", "volume"]
TargetStatus = Literal["on_track", "at_risk", "no_target", "unavailable"]


@dataclass(frozen=True)
class KpiFigure:
    """One KPI of the partner for the month, with its comparisons.

    ``mom_change``/``yoy_change``: difference for ratios (0.012 = +1.2 pts), relative
    change for volumes (0.05 = +5 %). ``attainment`` is QTD / target for volume KPIs;
    ``elapsed_share`` the share of the quarter gone (1/3, 2/3, 1).
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


@dataclass(frozen=True)
class ScopeRow:
    """KPIs of one country or segment of the partner (``label`` is what to print)."""

    code: str  # country code or segment name
    label: str
    values: dict[str, float | None]
    mom_changes: dict[str, float | None]


@dataclass(frozen=True)
class ForecastRow:
    """Shipments against forecast for one country x segment of the partner."""

    country: str
    country_name: str
    segment: str
    shipped_units: float | None
    forecast_units: float | None  # of the rows that have a forecast
    attainment: float | None


@dataclass(frozen=True)
class MarketRow:
    """All partners together, one country or segment: no single partner's figures."""

    code: str
    label: str
    units: float | None
    mom_change: float | None  # relative
    yoy_change: float | None  # relative
    windows_share: float | None
    windows_share_change: float | None  # points as a fraction, MoM


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[str, float | None]]  # (YYYY-MM, value), oldest first; None = no data


@dataclass(frozen=True)
class Chart:
    """A 13-month trend chart: one or more series, an optional target line."""

    key: str
    title: str
    kind: KpiKind
    series: list[Series]
    target: float | None = None
    target_label: str | None = None


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


@dataclass(frozen=True)
class FeedState:
    feed: str
    status: Literal["loaded", "rejected", "missing", "late"]
    rows: int
    problems: int
    checks_failed: int
    delivered_at: str | None
    failed_checks: list[str] = field(default_factory=list)
    first_problem: str | None = None


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


@dataclass(frozen=True)
class MonthlyReport:
    """Everything one partner's monthly update shows, in section order."""

    partner: Partner
    month: str  # YYYY-MM
    month_label: str  # "October 2026"
    fiscal_quarter: str  # "FY27-Q2"
    data_as_of: str | None  # newest delivery time of the feeds in force, ISO
    generated_at: str  # ISO, UTC
    # executive summary
    tiles: list[KpiFigure]
    summary: list[str]  # 3-6 generated sentences
    flag_counts: dict[str, int]  # {"high": n, "medium": n}
    # market trends (all partners together)
    market_by_country: list[MarketRow]
    market_by_segment: list[MarketRow]
    # partner performance
    forecast_rows: list[ForecastRow]
    # KPI tables
    by_country: list[ScopeRow]
    by_segment: list[ScopeRow]
    kpis: list[KpiFigure]  # every KPI, tiles first
    charts: dict[str, Chart]  # shipments, windows_share, mix, revenue, attach
    assortment: list[AssortmentItem]
    commentary: Commentary | None
    red_flags: list[RedFlag]
    feeds: list[FeedState]
    reconciliation: list[ReconciliationRow]
    missing_feeds: list[str]  # feeds delivered without rows for this partner
    export: dict[str, Any]  # the JSON export (SPEC section 5, schema_version 1)
    quarter_end: bool = False  # the month closes its fiscal quarter


@dataclass(frozen=True)
class IndexRow:
    """One partner's line on ``reports/<YYYY-MM>/index.html``."""

    partner: Partner
    shipped_units: float | None
    shipped_mom: float | None
    windows_share: float | None
    windows_share_mom: float | None
    pro_mix: float | None
    office_attach: float | None
    flags_high: int
    flags_medium: int
    html: str  # file name of the partner's HTML report, relative to the index
    markdown: str
    json: str


@dataclass(frozen=True)
class MonthIndex:
    month: str
    month_label: str
    fiscal_quarter: str
    generated_at: str
    rows: list[IndexRow]
    feeds: list[FeedState]
