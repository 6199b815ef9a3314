"""PAM commentary of the sample home: Markdown notes for some partners in the last two months.

The planted red flags get ``## Flag: <rule> <scope>`` sections with ``Why:``, ``COE:`` and
``Owner:`` lines for some flags and not others, so the reports show both a flag explained
and one whose explanation is still "to be written".
"""

from __future__ import annotations

import calendar

from oemkpi.sample.files import Writer
from oemkpi.sample.plan import Plan
from oemkpi.sample.tables import Result

_MARKETING = (
    "co-marketing campaign with the top retailers in {countries}",
    "back-to-school bundles (notebook plus Microsoft 365) in {countries}",
    "holiday promotion planning with e-commerce partners in {countries}",
    "Copilot+ PC launch events for resellers in {countries}",
)
_ACCOUNT_PLAN = (
    "Quarterly business review with {name} set for the second week of next month.",
    "Commercial refresh pipeline reviewed; Pro attach plan agreed with the product team.",
    "Joint business plan for next fiscal year in draft; volume and mix targets shared.",
    "Server attach workshop planned with the partner's enterprise sales leads.",
)
_BEST_PRACTICES = (
    "Weekly sell-out reviews with the two biggest distributors kept the forecast close to actuals.",
    "Attach offers shown at checkout in the partner's web shop lifted Office attach.",
    "A shared SKU calendar with the partner's product team flags OS changes a month ahead.",
)
_WHY = (
    "The partner won an education tender in {where} that asked for ChromeOS devices; the "
    "Windows configuration of this model lost its shelf space.",
    "A retailer in {where} priced the ChromeOS configuration of this model 60 USD lower for "
    "back-to-school, and the partner moved its allocation there.",
    "The partner's product team in {where} consolidated this model on ChromeOS to simplify "
    "its entry-level range.",
)
_COE = (
    "Offer the Windows 11 SE education bundle for the next tender and align the price with "
    "the ChromeOS configuration.",
    "Co-fund a back-to-school price point with the retailer and restore the Windows "
    "configuration for the holiday season.",
    "Review the entry-level range with the partner's product team and agree a Windows "
    "configuration in the next refresh.",
)


def planted_in(result: Result, rule: str, partner_id: str, month: str) -> bool:
    """Whether the sample planted ``rule`` for the partner in ``month``."""
    return any(
        a["rule"] == rule and a["partner_id"] == partner_id and a["month"] == month
        for a in result.anomalies
    )


def write_commentary(plan: Plan, result: Result, writer: Writer) -> None:
    """PAM commentary for some partners in the last two months (plain Markdown)."""
    n_p = len(plan.partners)
    planted = plan.anomaly_partners or {}
    loss = next((a for a in result.anomalies if a["rule"] == "competitive_loss"), None)
    country_names = {c.country: c.name for c in plan.countries}
    for month in plan.months[-2:]:
        latest = month == plan.months[-1]
        mi = plan.months.index(month)
        label = f"{calendar.month_name[int(month[5:7])]} {month[:4]}"
        chosen = {0, 1 % n_p} | ({2 % n_p} if latest else {3 % n_p})
        for pi in sorted(chosen):
            partner = plan.partners[pi]
            k = pi + mi
            countries = ", ".join(c.name for c in plan.countries[pi % 3 : pi % 3 + 3])
            underspend = planted_in(result, "marketing_underspend", partner.partner_id, month)
            poe = planted_in(result, "poe_missing", partner.partner_id, month)
            parts = [
                "## Marketing",
                f"- {label}: " + _MARKETING[k % 4].format(countries=countries) + ".",
                f"- Windows 11 refresh webinar for {partner.name} resellers; "
                f"{300 + 40 * (k % 5)} sign-ups.",
            ]
            if underspend:
                parts.append(
                    "- The quarter's co-marketing closed under budget: the partner held back "
                    "part of the retail co-op funds for next quarter's launch."
                )
            if poe:
                parts.append(
                    "- Partner summit: proof of execution submitted, approval still pending "
                    "with the Marketing Manager."
                )
            parts += [
                "",
                "## Account plan",
                "- " + _ACCOUNT_PLAN[k % 4].format(name=partner.name),
                "- " + _ACCOUNT_PLAN[(k + 1) % 4].format(name=partner.name),
                "",
                "## Best practices",
                "- " + _BEST_PRACTICES[k % 3],
                "",
            ]
            escalations = []
            if latest and planted.get("forecast_miss") == pi:
                escalations.append(
                    "- Shipments came in well below forecast: component shortages on two "
                    "notebook lines. The partner sends a recovery plan by the 15th."
                )
            own_loss = latest and loss is not None and loss["partner_id"] == partner.partner_id
            if own_loss:
                assert loss is not None
                where = country_names.get(loss["country"], loss["country"])
                escalations.append(
                    f"- {where} {loss['segment']}: three Windows SKUs moved to ChromeOS. "
                    "Escalated to the regional OEM lead."
                )
            if escalations:
                parts += ["## Escalations", *escalations, ""]
            if latest and planted.get("forecast_miss") == pi:
                parts += [
                    "## Flag: forecast_miss partner",
                    "- Why: Component shortages on two notebook lines held back the month's "
                    "builds; orders stay in the backlog.",
                    "- COE: The partner moves the forecast to the supplier's confirmed "
                    "allocation from next month and sends a recovery plan by the 15th.",
                    f"- Owner: {partner.pam_name} with the partner's supply-chain lead",
                    "",
                ]
            if own_loss:
                assert loss is not None
                parts += [
                    f"## Flag: competitive_loss {loss['country']}",
                    f"- Why: Education tenders and retail pricing in {where} favoured the "
                    "ChromeOS configurations of three models.",
                    "- COE: Windows 11 SE bundles priced for the next tender; a co-funded "
                    "back-to-school price point with the main retailer.",
                    f"- Owner: {partner.pam_name}, escalated to the regional OEM lead",
                    "",
                ]
            if own_loss:
                for i, sku in enumerate(result.loss_names):
                    parts += [
                        f"## Why: {sku}",
                        "- " + _WHY[i % 3].format(where=where),
                        "",
                        f"## COE: {sku}",
                        "- " + _COE[i % 3],
                        "",
                    ]
            if underspend:
                parts += [
                    "## Flag: marketing_underspend partner",
                    "- Why: The partner held back part of the JMA retail co-op funds for next "
                    "quarter's launch.",
                    "- COE: The unspent funds are re-planned into next quarter's JMA; spend is "
                    "reviewed monthly with the Marketing Manager.",
                    f"- Owner: {partner.pam_name} with the Marketing Manager",
                    "",
                ]
            parts += [
                "## Channel notes",
                f"- Distributor inventory is at about {4 + k % 3} weeks, within the agreed range.",
                "",
            ]
            writer.put_text(plan.home.commentary_file(month, partner.partner_id), "\n".join(parts))
