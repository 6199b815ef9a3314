"""Marketing activities of the sample home (SPEC section 9): the optional fifth feed.

Every partner but the last (when there are three or more) delivers the state of its
co-marketing activities each month, one file per partner in CSV, Parquet or XLSX;
some months have no marketing delivery at all, and some partners skip a month. Each
fiscal quarter a partner runs three to five activities (a JMA, a launch, a campaign,
sometimes a reseller event and a training, now and then cancelled) that are planned,
run, finish and get their proof of execution approved within about four weeks.

Two anomalies are planted, described in :func:`write_marketing`'s result:

* ``marketing_underspend``: the first partner closes the last fiscal quarter that ends
  by the newest month with about 60 % of its budget spent;
* ``poe_missing``: in the newest month the second partner has a finished reseller event,
  ended 45 days before the month's end, whose proof of execution is still only submitted.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import polars as pl

from oemkpi.ingest.contract import FEEDS
from oemkpi.months import fiscal_quarter, quarter_months
from oemkpi.sample.files import Writer
from oemkpi.sample.plan import Plan

FEED = "marketing"
#: The planted underspent quarter's spend against budget.
UNDERSPEND_FACTOR = 0.6
#: Days between the planted activity's end and the newest month's end.
POE_OVERDUE_DAYS = 45
#: Proof of execution is approved this many days after an activity ends (submitted before).
APPROVED_AFTER_DAYS = 25

_CAMPAIGNS = {
    1: "Back-to-school campaign",
    2: "Holiday campaign",
    3: "New-year commercial refresh campaign",
    4: "Spring education campaign",
}


@dataclass(frozen=True)
class _Activity:
    activity_id: str
    activity: str
    kind: str
    country: str | None
    budget: float
    start: int  # month of the quarter it starts in (0-2)
    end: int  # month of the quarter it ends in (0-2)
    end_day: int
    cancelled_from: int | None = None  # month of the quarter from which it is cancelled


def _hash(*parts: object) -> int:
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def _month_end(month: str) -> dt.date:
    year, mon = int(month[:4]), int(month[5:7])
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def _quarter_activities(plan: Plan, pi: int, quarter: str) -> list[_Activity]:
    """The activities a partner runs in a fiscal quarter (deterministic)."""
    partner = plan.partners[pi]
    countries = plan.countries[pi % 3 : pi % 3 + 3] or plan.countries[:1]
    h = _hash(plan.seed, partner.partner_id, quarter)
    q = int(quarter[-1])
    tag = quarter.replace("-", "")
    first, second = countries[h % len(countries)], countries[(h >> 3) % len(countries)]
    found = [
        _Activity(
            f"{tag}-JMA",
            f"Joint marketing agreement {quarter}: retail co-op with {partner.name}",
            "jma",
            None,
            60_000 + 10_000 * (h % 7),
            0,
            2,
            20,
        ),
        _Activity(
            f"{tag}-LCH",
            f"Windows 11 notebook launch in {first.name}",
            "launch",
            first.country,
            20_000 + 5_000 * ((h >> 5) % 5),
            0,
            h % 2,
            12 + (h >> 7) % 10,
        ),
        _Activity(
            f"{tag}-CMP",
            f"{_CAMPAIGNS[q]} in {second.name}",
            "campaign",
            second.country,
            30_000 + 5_000 * ((h >> 9) % 6),
            1,
            2,
            10 + (h >> 11) % 8,
        ),
    ]
    if (h >> 13) % 3:
        found.append(
            _Activity(
                f"{tag}-EVT",
                f"Reseller event in {second.name}",
                "event",
                second.country,
                8_000 + 2_000 * ((h >> 15) % 4),
                1,
                1,
                5 + (h >> 17) % 15,
            )
        )
    if (h >> 19) % 2:
        found.append(
            _Activity(
                f"{tag}-TRN",
                f"Sales training for {first.name} resellers",
                "training",
                first.country,
                5_000 + 1_000 * ((h >> 21) % 5),
                2,
                2,
                8,
                cancelled_from=1 if (h >> 23) % 4 == 0 else None,
            )
        )
    return found


def _state(activity: _Activity, months: list[str], j: int, factor: float) -> dict[str, Any] | None:
    """The activity as of the quarter's month ``j`` (None before it is planned)."""
    month_end = _month_end(months[j])
    end_date = _month_end(months[activity.end]).replace(day=activity.end_day)
    budget = float(activity.budget)
    if activity.cancelled_from is not None and j >= activity.cancelled_from:
        return {"status": "cancelled", "spent": round(budget * 0.05, 2), "poe": "none", "end": None}
    if j < activity.start:
        return {"status": "planned", "spent": 0.0, "poe": "none", "end": end_date}
    if j < activity.end or end_date > month_end:
        share = (j - activity.start + 1) / (activity.end - activity.start + 2)
        return {
            "status": "running",
            "spent": round(budget * factor * share, 2),
            "poe": "none",
            "end": end_date,
        }
    days = (month_end - end_date).days
    return {
        "status": "done",
        "spent": round(budget * factor, 2),
        "poe": "approved" if days >= APPROVED_AFTER_DAYS else "submitted",
        "end": end_date,
    }


def _rows(
    plan: Plan, pi: int, month: str, *, underspend: str | None, poe_month: str | None
) -> list[dict[str, Any]]:
    """A partner's delivery for ``month``: its activities of the month's quarter."""
    partner = plan.partners[pi]
    quarter = fiscal_quarter(month)
    months = quarter_months(month)
    j = months.index(month)
    factor = 0.93 + (_hash(partner.partner_id, quarter) % 10) / 100
    if underspend == quarter:
        factor = UNDERSPEND_FACTOR
    rows = []
    for activity in _quarter_activities(plan, pi, quarter):
        state = _state(activity, months, j, factor)
        if state is None:
            continue
        rows.append(_row(month, partner.partner_id, quarter, activity, state))
    if poe_month == month:
        end = _month_end(month) - dt.timedelta(days=POE_OVERDUE_DAYS)
        country = plan.countries[pi % len(plan.countries)]
        rows.append(
            {
                "month": month,
                "partner_id": partner.partner_id,
                "activity_id": quarter.replace("-", "") + "-SUMMIT",
                "activity": f"Partner summit in {country.name}",
                "kind": "event",
                "country": country.country,
                "fiscal_quarter": quarter,
                "budget_usd": 15_000.0,
                "spent_usd": 14_250.0,
                "status": "done",
                "poe_status": "submitted",
                "end_date": end,
            }
        )
    return rows


def _row(
    month: str, partner_id: str, quarter: str, activity: _Activity, state: dict[str, Any]
) -> dict[str, Any]:
    return {
        "month": month,
        "partner_id": partner_id,
        "activity_id": activity.activity_id,
        "activity": activity.activity,
        "kind": activity.kind,
        "country": activity.country,
        "fiscal_quarter": quarter,
        "budget_usd": float(activity.budget),
        "spent_usd": state["spent"],
        "status": state["status"],
        "poe_status": state["poe"],
        "end_date": state["end"],
    }


def underspent_quarter(plan: Plan) -> tuple[str, str] | None:
    """The planted underspent quarter and the month that closes it: the last fiscal quarter
    that closes within the sample's months."""
    for month in reversed(plan.months):
        if quarter_months(month)[-1] == month:
            return fiscal_quarter(month), month
    return None


def write_marketing(plan: Plan, writer: Writer) -> tuple[int, list[dict[str, Any]]]:
    """Write every month's marketing deliveries; the rows written and the planted anomalies."""
    n_p = len(plan.partners)
    delivering = range(n_p - 1 if n_p >= 3 else n_p)
    last = plan.months[-1]
    closing = underspent_quarter(plan) if plan.n_months >= 2 else None
    underspend_pi, poe_pi = 0, 1 % n_p
    columns = list(FEEDS[FEED].column_names)
    # As the other feeds' frames have it (the CSV writer maps partners to source systems).
    partner_ids = pl.Enum([p.partner_id for p in plan.partners])
    written = 0
    for mi, month in enumerate(plan.months):
        # A quarter's closing month is always delivered: a quarter judged on an earlier
        # month's state would look underspent where nothing was planted.
        kept = month == last or quarter_months(month)[-1] == month
        if mi % 7 == 3 and not kept:
            continue  # nobody delivered marketing this month
        for pi in delivering:
            if (pi + 2 * mi) % 9 == 5 and not kept:
                continue  # this partner skipped the month
            rows = _rows(
                plan,
                pi,
                month,
                underspend=closing[0] if closing and pi == underspend_pi else None,
                poe_month=last if pi == poe_pi and plan.n_months >= 2 else None,
            )
            if not rows:
                continue
            frame = pl.DataFrame(
                rows,
                schema_overrides={"end_date": pl.Date, "partner_id": partner_ids},
            ).select(columns)
            fmt = ("csv", "parquet", "xlsx")[(pi + mi) % 3]
            writer.write_frame(plan, FEED, month, f"{plan.partners[pi].partner_id}.{fmt}", frame)
            written += frame.height
    anomalies: list[dict[str, Any]] = []
    if closing is not None:
        anomalies.append(
            {
                "rule": "marketing_underspend",
                "partner_id": plan.partners[underspend_pi].partner_id,
                "month": closing[1],
                "country": None,
                "segment": None,
                "detail": f"{closing[0]} closes with about {UNDERSPEND_FACTOR:.0%} of the budget spent",
            }
        )
    if plan.n_months >= 2:
        anomalies.append(
            {
                "rule": "poe_missing",
                "partner_id": plan.partners[poe_pi].partner_id,
                "month": last,
                "country": plan.countries[poe_pi % len(plan.countries)].country,
                "segment": None,
                "detail": f"a partner summit ended {POE_OVERDUE_DAYS} days before the month's "
                "end, proof of execution only submitted",
            }
        )
    return written, anomalies
