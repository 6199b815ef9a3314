"""The reference files of the sample home: partners, countries and quarterly targets (CSV)."""

from __future__ import annotations

import numpy as np

from oemkpi.ingest.contract import PARTNER_ID_RE
from oemkpi.months import fiscal_quarter, quarter_months
from oemkpi.sample.files import Writer
from oemkpi.sample.plan import R_TARGETS, Plan
from oemkpi.sample.tables import Result

#: KPIs a partner is behind on, by partner position (the rest are on track).
_BEHIND: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"windows_share"}),
    frozenset({"shipped_units", "license_revenue_usd"}),
    frozenset({"office_attach"}),
    frozenset(),
    frozenset({"pro_mix"}),
    frozenset({"server_attach", "premium_mix"}),
    frozenset({"shipped_units"}),
)
_RATIO_TARGETS = {
    "windows_share": ("ws_windows", "ws_units"),
    "pro_mix": ("pm_pro", "pm_units"),
    "premium_mix": ("pm_premium", "pm_units"),
    "office_attach": ("office_attached", "office_base"),
    "server_attach": ("server_attached", "server_base"),
}
_VOLUME_TARGETS = {"shipped_units": "shipped", "license_revenue_usd": "revenue"}


def write_reference(plan: Plan, result: Result, writer: Writer) -> None:
    home = plan.home
    lines = ["partner_id,partner_name,region,pam_name,pam_email"]
    for p in plan.partners:
        assert PARTNER_ID_RE.match(p.partner_id)
        lines.append(f"{p.partner_id},{p.name},{p.region},{p.pam_name},{p.pam_email}")
    writer.put_text(home.partners_csv, "\n".join(lines) + "\n")

    lines = ["country,country_name,region,subregion"]
    lines += [f"{c.country},{c.name},{c.region},{c.subregion}" for c in plan.countries]
    writer.put_text(home.countries_csv, "\n".join(lines) + "\n")
    writer.put_text(home.targets_csv, _targets_csv(plan, result))


def _targets_csv(plan: Plan, result: Result) -> str:
    """Quarterly targets near what the data delivers: some partners on track, some behind."""
    rng = plan.rng(R_TARGETS)
    quarters: dict[str, list[int]] = {}
    for mi, month in enumerate(plan.months):
        quarters.setdefault(fiscal_quarter(month), []).append(mi)
    sums = result.sums
    lines = ["partner_id,fiscal_quarter,kpi,target"]
    latest = fiscal_quarter(plan.months[-1])
    kpis = [*_VOLUME_TARGETS, *_RATIO_TARGETS]
    for pi, partner in enumerate(plan.partners):
        for quarter, months in quarters.items():
            # The newest quarter follows _BEHIND; earlier ones vary from quarter to quarter.
            draws = rng.random(len(kpis))
            behind = (
                _BEHIND[pi]
                if quarter == latest
                else frozenset(k for k, u in zip(kpis, draws, strict=True) if u < 0.12)
            )
            # Volume: what the home's months of the quarter deliver, plus the run rate for
            # months after the home's end. Months before the home's start are in no sum,
            # so on-track targets are also capped to keep every month's quarter-to-date
            # attainment clear of "elapsed share minus 10 points".
            in_quarter = quarter_months(plan.months[months[0]])
            future = sum(m > plan.months[-1] for m in in_quarter)
            elapsed = np.array([(in_quarter.index(plan.months[m]) + 1) / 3 for m in months])
            for kpi, name in _VOLUME_TARGETS.items():
                values = sums[name][pi, months]
                expected = values.sum() * (1 + future / len(months))
                if kpi in behind:
                    target = 1.18 * expected
                else:
                    cap = (np.cumsum(values) / (elapsed - 0.07)).min()
                    target = min(rng.uniform(0.93, 1.02) * expected, cap)
                lines.append(f"{partner.partner_id},{quarter},{kpi},{round(target, -3):.0f}")
            for kpi, (num, den) in _RATIO_TARGETS.items():
                bottom = sums[den][pi, months].sum()
                if bottom <= 0:
                    continue
                value = sums[num][pi, months].sum() / bottom
                offset = rng.uniform(0.015, 0.03) if kpi in behind else -rng.uniform(0.003, 0.012)
                target = min(max(value + offset, 0.0), 1.0)
                lines.append(f"{partner.partner_id},{quarter},{kpi},{target:.3f}")
    return "\n".join(lines) + "\n"
