"""The JSON export of one partner's month (SPEC section 5, schema_version 1).

Fields are only ever added: ``kpis.<ratio kpi>.mom_drivers`` (rate and mix, SPEC
section 4), ``competitive_watch`` (every SKU that went from Windows to another OS
family this month) and ``marketing`` (the quarter's co-marketing, SPEC section 9,
``null`` without marketing data) came after the first version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oemkpi.kpis.definitions import KPIS
from oemkpi.reports.data import MonthData
from oemkpi.reports.drivers import RATIO_PARTS, Drivers
from oemkpi.reports.marketing import MarketingSection
from oemkpi.reports.model import FeedState

SCHEMA_VERSION = 1
KPI_FIELDS = ("value", "prior_month", "prior_year", "mom_change", "yoy_change", "qtd", "target")
#: An assortment item's fields in the JSON exports (a partner's and a region's).
ASSORTMENT_FIELDS = (
    "type",
    "reason",
    "country",
    "segment",
    "sku",
    "from_os",
    "to_os",
    "units",
    "prior_units",
)


def build_export(
    data: MonthData,
    partner_id: str,
    drivers: dict[str, Drivers | None],
    marketing: MarketingSection | None = None,
) -> dict[str, Any]:
    """The JSON export for one partner and month; ``drivers`` from
    :func:`oemkpi.reports.drivers.drivers_by_partner`, ``marketing`` from
    :func:`oemkpi.reports.marketing.marketing_section`."""
    by_kpi = {r["kpi"]: r for r in data.rows("select_partner_kpis", partner_id)}
    qtd_missing = {
        r["kpi"]: list(r["months"]) for r in data.rows("select_partner_qtd_missing", partner_id)
    }
    kpis: dict[str, dict[str, Any]] = {}
    for kpi in KPIS:
        row = by_kpi.get(kpi.name, {})
        kpis[kpi.name] = {f: row.get(f) for f in KPI_FIELDS}
        # The months the quarter to date leaves out (its figure is then not judged).
        kpis[kpi.name]["qtd_months_missing"] = qtd_missing.get(kpi.name, [])
        if kpi.name in RATIO_PARTS:
            found = drivers.get(kpi.name)
            # null where M-1 (or M) has no data: there is no change to split.
            usable = found is not None and row.get("mom_change") is not None
            kpis[kpi.name]["mom_drivers"] = found.export() if usable and found else None
    by_country: dict[str, dict[str, Any]] = {}
    by_segment: dict[str, dict[str, Any]] = {}
    for r in data.rows("select_partner_scope_kpis", partner_id):
        target = by_country if r["scope"] == "country" else by_segment
        target.setdefault(r["code"], {})[r["kpi"]] = {"value": r["value"]}
    assortment = [
        {k: r[k] for k in ASSORTMENT_FIELDS}
        for r in data.rows("select_partner_assortment", partner_id)
    ]
    flags = [
        {k: r[k] for k in ("rule", "severity", "scope", "kpi", "value", "threshold", "message")}
        for r in data.rows("select_partner_red_flags", partner_id)
    ]
    watch = [
        {k: r[k] for k in ("country", "segment", "sku", "to_os", "units", "prior_units")}
        for r in data.rows("select_partner_competitive_watch", partner_id)
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "partner_id": partner_id,
        "month": data.month,
        "fiscal_quarter": data.fiscal_quarter,
        "kpis": kpis,
        "by_country": [
            {"country": code, "segment": None, "kpis": _all_kpis(values)}
            for code, values in sorted(by_country.items())
        ],
        "by_segment": [
            {"segment": code, "kpis": _all_kpis(values)}
            for code, values in sorted(by_segment.items())
        ],
        "assortment": assortment,
        "red_flags": flags,
        "feeds": feeds_export(data.feeds),
        "competitive_watch": watch,
        "marketing": marketing.export() if marketing is not None else None,
    }


def feeds_export(feeds: Sequence[FeedState]) -> dict[str, dict[str, Any]]:
    """``feeds``: each feed's status (SPEC 5: loaded, rejected, missing or late), rows in
    force and failed checks. An optional feed not delivered this month has none of those
    states (it is never missing nor late, SPEC 9) and is left out, as ``marketing`` is null."""
    return {
        f.feed: {"status": f.status, "rows": f.rows, "checks_failed": f.checks_failed}
        for f in feeds
        if f.status != "not_delivered"
    }


def _all_kpis(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {kpi.name: values.get(kpi.name, {"value": None}) for kpi in KPIS}
