"""The KPIs of SPEC section 4 by name, kind and label, in the order reports show them.

Their definitions are SQL (``sql/kpis/``), always ratios of sums; this is what
the other stages need to know about them: which are ratios (changes in points)
and which are volumes (relative changes), and what to call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Kpi:
    name: str
    kind: Literal["ratio", "volume"]
    label: str


#: Every KPI, in the order reports show them.
KPIS: tuple[Kpi, ...] = (
    Kpi("shipped_units", "volume", "PC shipments"),
    Kpi("forecast_attainment", "ratio", "Forecast attainment"),
    Kpi("windows_share", "ratio", "Windows share"),
    Kpi("pro_mix", "ratio", "Pro mix"),
    Kpi("premium_mix", "ratio", "Premium mix"),
    Kpi("license_revenue_usd", "volume", "Licence revenue (USD)"),
    Kpi("office_attach", "ratio", "Office attach"),
    Kpi("server_attach", "ratio", "Server attach"),
    Kpi("server_units", "volume", "Server shipments"),
    Kpi("office_sell_thru_units", "volume", "Office sell-thru"),
    Kpi("server_sell_thru_units", "volume", "Server sell-thru"),
)
KPI_BY_NAME = {k.name: k for k in KPIS}
VOLUME_KPIS = [k.name for k in KPIS if k.kind == "volume"]


def kpi_labels() -> list[dict[str, str]]:
    """KPI labels as rows, bound into SQL that writes sentences."""
    return [{"kpi": k.name, "label": k.label} for k in KPIS]
