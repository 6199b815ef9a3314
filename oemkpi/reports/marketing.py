"""Marketing activities as the reports tell them (SPEC section 9).

:func:`marketing_section` turns a partner's rows of ``marketing_quarter`` (the
activities that count for the month) into the report's section: every activity
with its spent share, and the quarter's totals, which leave cancelled activities
out, against the elapsed share of the quarter. :func:`marketing_by_partner` reads
them for every partner of a month at once: the JSON export, the index and the
regional pack all take budget, spent and share from there, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from oemkpi.formats import pct
from oemkpi.months import DEFAULT_FY_START_MONTH, elapsed_share, month_label
from oemkpi.warehouse import sql

#: An activity whose spend no longer counts (it is listed, not totalled).
CANCELLED = "cancelled"
KIND_NAMES = {
    "jma": "JMA",
    "launch": "Launch",
    "campaign": "Campaign",
    "event": "Event",
    "training": "Training",
    "other": "Other",
}
STATUS_NAMES = {
    "planned": "Planned",
    "running": "Running",
    "done": "Done",
    "cancelled": "Cancelled",
}
POE_NAMES = {
    "none": "not submitted",
    "submitted": "submitted",
    "approved": "approved",
    "rejected": "rejected",
}


def spent_share(spent: float, budget: float) -> float | None:
    """Spent over budget; None without a budget (nothing to spend against)."""
    return spent / budget if budget > 0 else None


@dataclass(frozen=True)
class MarketingActivity:
    """One activity as of the delivery that serves the month."""

    activity_id: str
    kind: str
    activity: str
    country: str | None  # None: all the partner's countries
    budget_usd: float
    spent_usd: float
    status: str
    poe_status: str
    end_date: str | None  # YYYY-MM-DD

    @property
    def spent_share(self) -> float | None:
        return spent_share(self.spent_usd, self.budget_usd)

    @property
    def counts(self) -> bool:
        """Whether the activity's budget and spend are in the totals (not cancelled)."""
        return self.status != CANCELLED

    def export(self) -> dict[str, Any]:
        return {
            "activity_id": self.activity_id,
            "kind": self.kind,
            "activity": self.activity,
            "country": self.country,
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "status": self.status,
            "poe_status": self.poe_status,
            "end_date": self.end_date,
        }


@dataclass(frozen=True)
class MarketingSection:
    """A partner's co-marketing for the month's fiscal quarter."""

    fiscal_quarter: str
    as_of: str  # the month of the delivery that serves the month
    activities: list[MarketingActivity]  # budget first
    budget_usd: float  # cancelled activities left out
    spent_usd: float
    elapsed_share: float  # of the quarter, at the end of the month

    @property
    def spent_share(self) -> float | None:
        return spent_share(self.spent_usd, self.budget_usd)

    @property
    def cancelled(self) -> int:
        return sum(not a.counts for a in self.activities)

    def export(self) -> dict[str, Any]:
        """The JSON ``marketing`` object of SPEC section 9."""
        return {
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "spent_share": self.spent_share,
            "activities": [a.export() for a in self.activities],
        }


def marketing_section(
    rows: Sequence[dict[str, Any]], month: str, fy_start_month: int = DEFAULT_FY_START_MONTH
) -> MarketingSection | None:
    """One partner's section from its ``select_partner_marketing`` rows; None without any."""
    if not rows:
        return None
    activities = [
        MarketingActivity(
            activity_id=r["activity_id"],
            kind=r["kind"],
            activity=r["activity"],
            country=r["country"],
            budget_usd=float(r["budget_usd"]),
            spent_usd=float(r["spent_usd"]),
            status=r["status"],
            poe_status=r["poe_status"],
            end_date=r["end_date"],
        )
        for r in rows
    ]
    counted = [a for a in activities if a.counts]
    return MarketingSection(
        fiscal_quarter=rows[0]["fiscal_quarter"],
        as_of=rows[0]["as_of"],
        activities=activities,
        budget_usd=sum(a.budget_usd for a in counted),
        spent_usd=sum(a.spent_usd for a in counted),
        elapsed_share=elapsed_share(month, fy_start_month),
    )


def marketing_by_partner(
    con: duckdb.DuckDBPyConnection, month: str, fy_start_month: int = DEFAULT_FY_START_MONTH
) -> dict[str, MarketingSection]:
    """Every partner's marketing section of ``month`` (partners without data are absent):
    what the regional pack shows as budget, spent and share per partner."""
    result = con.execute(sql("reports/select_partner_marketing"), {"month": month})
    columns = [d[0] for d in result.description or []]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in result.fetchall():
        record = dict(zip(columns, row, strict=True))
        grouped.setdefault(record.pop("partner_id"), []).append(record)
    out = {}
    for partner_id, rows in grouped.items():
        section = marketing_section(rows, month, fy_start_month)
        if section is not None:
            out[partner_id] = section
    return out


#: Activities in the report's body; the rest are summed in one row (all in the appendix).
MARKETING_BODY = 10


def marketing_caption(section: MarketingSection, month: str) -> str:
    """``"FY27-Q2: 53 % of the budget spent with 67 % of the quarter gone"``, or in the
    quarter's last month ``"FY27-Q1 closes with 93 % of the budget spent"``, and which
    month's delivery it is when an earlier one serves the month."""
    share = section.spent_share
    if share is None:
        text = f"{section.fiscal_quarter}: no budget for the quarter's activities"
    elif section.elapsed_share >= 1:
        text = f"{section.fiscal_quarter} closes with {pct(share, 0)} of the budget spent"
    else:
        text = (
            f"{section.fiscal_quarter}: {pct(share, 0)} of the budget spent with "
            f"{pct(section.elapsed_share, 0)} of the quarter gone"
        )
    served = delivered_for(section.as_of, month)
    if served:
        text += f" ({served})"
    return text


def delivered_for(as_of: str, month: str) -> str:
    """ "as delivered for July 2026" when an earlier month's marketing delivery serves
    ``month`` ("" when the month's own does): the update, the index and the pack say it."""
    return f"as delivered for {month_label(as_of)}" if as_of != month else ""


def marketing_rest(section: MarketingSection) -> MarketingActivity | None:
    """The activities beyond :data:`MARKETING_BODY`, summed as one row (cancelled ones
    left out of the sums); None when the body shows them all."""
    rest = section.activities[MARKETING_BODY:]
    if not rest:
        return None
    counted = [a for a in rest if a.counts]
    return MarketingActivity(
        activity_id="",
        kind="",
        activity=f"{len(rest)} other activities",
        country=None,
        budget_usd=sum(a.budget_usd for a in counted),
        spent_usd=sum(a.spent_usd for a in counted),
        status="",
        poe_status="",
        end_date=None,
    )


TEMPLATE_GLOBALS: dict[str, Any] = {
    "marketing_caption": marketing_caption,
    "marketing_rest": marketing_rest,
    "marketing_body": MARKETING_BODY,
    "marketing_kinds": KIND_NAMES,
    "marketing_statuses": STATUS_NAMES,
    "poe_names": POE_NAMES,
}
