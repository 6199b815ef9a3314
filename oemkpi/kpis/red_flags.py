"""Red-flag thresholds (reference/red_flags.yaml over built-in defaults) and evaluation.

The rules themselves are SQL (``sql/kpis/insert_red_flags_month.sql``); this module
reads and checks the thresholds, converts points to fractions, and runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import duckdb
import yaml

from oemkpi.errors import OemkpiError
from oemkpi.kpis.definitions import VOLUME_KPIS, kpi_labels
from oemkpi.months import DEFAULT_FY_START_MONTH, elapsed_share
from oemkpi.warehouse import first_row, sql, transaction

#: Stable rule ids (SPEC section 4); reports and other tools rely on them.
RULES = (
    "windows_share_drop",
    "forecast_miss",
    "target_gap",
    "attach_drop",
    "competitive_loss",
    "data_quality",
    "missing_partner_data",
)


@dataclass(frozen=True)
class Thresholds:
    """Every threshold, with SPEC section 4's defaults. Points are percentage points."""

    windows_share_partner_drop_pts: float = 1.0
    windows_share_country_drop_pts: float = 3.0
    windows_share_country_min_units: float = 1000
    forecast_min_attainment: float = 0.90
    forecast_country_min_units: float = 1000
    target_ratio_gap_pts: float = 1.0
    target_volume_gap_pts: float = 10.0
    attach_drop_pts: float = 2.0
    competitive_loss_min_prior_units: float = 1000
    reconciliation_tolerance: float = 0.02
    assortment_min_units: float = 100


#: Where each threshold lives in red_flags.yaml: (section, key).
YAML_KEYS: dict[str, tuple[str, str]] = {
    "windows_share_partner_drop_pts": ("windows_share_drop", "partner_drop_pts"),
    "windows_share_country_drop_pts": ("windows_share_drop", "country_drop_pts"),
    "windows_share_country_min_units": ("windows_share_drop", "country_min_units"),
    "forecast_min_attainment": ("forecast_miss", "min_attainment"),
    "forecast_country_min_units": ("forecast_miss", "country_min_units"),
    "target_ratio_gap_pts": ("target_gap", "ratio_gap_pts"),
    "target_volume_gap_pts": ("target_gap", "volume_gap_pts"),
    "attach_drop_pts": ("attach_drop", "drop_pts"),
    "competitive_loss_min_prior_units": ("competitive_loss", "min_prior_units"),
    "reconciliation_tolerance": ("data_quality", "reconciliation_tolerance"),
    "assortment_min_units": ("assortment", "min_units"),
}


def load_thresholds(path: Path) -> Thresholds:
    """Defaults, overridden by ``path`` when it exists; unknown keys are an error."""
    thresholds = Thresholds()
    if not path.is_file():
        return thresholds
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise OemkpiError(
            f"{path} is not valid YAML ({str(err).splitlines()[0]}); fix the file."
        ) from None
    if not isinstance(document, dict):
        raise OemkpiError(
            f"{path} must map rule ids to their thresholds, like 'attach_drop: {{drop_pts: 2.0}}'."
        )
    by_place = {place: name for name, place in YAML_KEYS.items()}
    overrides: dict[str, float] = {}
    for section, values in document.items():
        if not isinstance(values, dict):
            raise OemkpiError(
                f"{path}: {section} must hold keys and numbers, e.g. '{section}: {{...}}'."
            )
        for key, value in values.items():
            name = by_place.get((str(section), str(key)))
            if name is None:
                known = ", ".join(f"{s}.{k}" for s, k in YAML_KEYS.values())
                raise OemkpiError(
                    f"{path}: {section}.{key} is not a threshold; use one of {known}."
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise OemkpiError(f"{path}: {section}.{key} is {value!r}; give a number >= 0.")
            overrides[name] = float(value)
    return replace(thresholds, **overrides)


def threshold_parameters(t: Thresholds) -> dict[str, Any]:
    """The bound parameters of the red-flag SQL: points as fractions."""
    return {
        "ws_partner_drop": t.windows_share_partner_drop_pts / 100,
        "ws_country_drop": t.windows_share_country_drop_pts / 100,
        "ws_country_min_units": t.windows_share_country_min_units,
        "fc_min_attainment": t.forecast_min_attainment,
        "fc_country_min_units": t.forecast_country_min_units,
        "tg_ratio_gap": t.target_ratio_gap_pts / 100,
        "tg_volume_gap": t.target_volume_gap_pts / 100,
        "attach_drop": t.attach_drop_pts / 100,
        "cl_min_prior_units": t.competitive_loss_min_prior_units,
        "recon_tolerance": t.reconciliation_tolerance,
    }


def evaluate_red_flags(
    con: duckdb.DuckDBPyConnection,
    month: str,
    partner_ids: list[str],
    thresholds: Thresholds,
    fy_start_month: int = DEFAULT_FY_START_MONTH,
) -> int:
    """Replace ``red_flags`` of ``month``; returns how many flags fired."""
    params = {
        **threshold_parameters(thresholds),
        "month": month,
        "partner_ids": partner_ids,
        "volume_kpis": VOLUME_KPIS,
        "elapsed_share": elapsed_share(month, fy_start_month),
        "kpi_labels": kpi_labels(),
    }
    with transaction(con):
        con.execute(sql("kpis/delete_red_flags_month"), {"month": month})
        (fired,) = first_row(con, sql("kpis/insert_red_flags_month"), params)
    return int(fired)


def threshold_names() -> list[str]:
    return [f.name for f in fields(Thresholds)]
