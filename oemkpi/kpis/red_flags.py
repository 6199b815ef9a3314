"""Red-flag thresholds (reference/red_flags.yaml over built-in defaults) and evaluation.

The rules themselves are SQL (``sql/kpis/insert_red_flags_month.sql``, and
``insert_marketing_flags_month.sql`` for the marketing rules of SPEC section 9); this module
reads and checks the thresholds, converts points to fractions, and runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import yaml

from oemkpi.errors import OemkpiError
from oemkpi.home import config_file_present
from oemkpi.kpis.definitions import VOLUME_KPIS, kpi_labels
from oemkpi.months import (
    DEFAULT_FY_START_MONTH,
    add_months,
    elapsed_share,
    month_start,
    quarter_months,
    quarter_to_date,
)
from oemkpi.warehouse import first_row, sql, transaction

#: From this share of the shipments on, the units shipped with no forecast are told beside
#: the attainment (which leaves them out): below it, it is close to what it would be with them.
UNFORECAST_SHARE = 0.01

#: Stable rule ids (SPEC section 4); reports and other tools rely on them.
RULES = (
    "windows_share_drop",
    "forecast_miss",
    "target_gap",
    "attach_drop",
    "competitive_loss",
    "data_quality",
    "missing_partner_data",
    "marketing_underspend",
    "poe_missing",
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
    marketing_min_spent_share: float = 0.75
    marketing_high_spent_share: float = 0.5
    poe_after_days: float = 30
    poe_high_after_days: float = 60


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
    "marketing_min_spent_share": ("marketing_underspend", "min_spent_share"),
    "marketing_high_spent_share": ("marketing_underspend", "high_below_spent_share"),
    "poe_after_days": ("poe_missing", "after_days"),
    "poe_high_after_days": ("poe_missing", "high_after_days"),
}


#: The values a threshold may take, by the unit its name ends in: points are percentage
#: points, units are counts of devices (up to a trillion), shares are fractions of a
#: budget, days are days (up to ten years), the rest are fractions.
_RANGES: dict[str, tuple[float, float]] = {
    "_pts": (0.0, 100.0),
    "_units": (0.0, 1e12),
    "_share": (0.0, 1.0),
    "_days": (0.0, 3650.0),
    "forecast_min_attainment": (0.0, 10.0),
    "reconciliation_tolerance": (0.0, 1.0),
}


def _range(name: str) -> tuple[float, float]:
    return next(r for suffix, r in _RANGES.items() if name.endswith(suffix))


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (the safe loader
    itself keeps the last one without a word, so a pasted default would win unseen)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _shown(value: object) -> str:
    """A value from the YAML file, short: a list or mapping by its kind (a few nested
    aliases expand a 400-byte file to billions of items if written out)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple | set):
        return "a list"
    text = repr(value[:40] if isinstance(value, str) else value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def load_thresholds(path: Path) -> Thresholds:
    """Defaults, overridden by ``path`` when it exists. Unknown keys, keys given twice,
    and values that are not finite numbers in their range are refused in one sentence."""
    thresholds = Thresholds()
    if not config_file_present(path):
        return thresholds
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise OemkpiError(f"{path}{where}: {what}; fix the file.") from None
    except UnicodeDecodeError:
        raise OemkpiError(f"{path} is not UTF-8 text; save it as UTF-8.") from None
    except ValueError:  # int() refuses more than 4,300 digits
        raise OemkpiError(
            f"{path}: a number in it has more digits than can be read (over 4,300); fix the file."
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
            low, high = _range(name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (isinstance(value, int) or math.isfinite(value))
                or not low <= value <= high
            ):
                raise OemkpiError(
                    f"{path}: {section}.{key} is {_shown(value)}; give a number from "
                    f"{low:g} to {high:,.0f}."
                )
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
        "fc_uncovered_share": UNFORECAST_SHARE,
        "tg_ratio_gap": t.target_ratio_gap_pts / 100,
        "tg_volume_gap": t.target_volume_gap_pts / 100,
        "attach_drop": t.attach_drop_pts / 100,
        "cl_min_prior_units": t.competitive_loss_min_prior_units,
        "recon_tolerance": t.reconciliation_tolerance,
    }


def marketing_flag_parameters(
    t: Thresholds, month: str, fy_start_month: int = DEFAULT_FY_START_MONTH
) -> dict[str, Any]:
    """The bound parameters of ``insert_marketing_flags_month.sql``: thresholds, whether
    ``month`` closes its fiscal quarter, and its last day."""
    return {
        "month": month,
        "quarter_closes": quarter_months(month, fy_start_month)[-1] == month,
        "month_end": month_start(add_months(month, 1)) - timedelta(days=1),
        "min_spent_share": t.marketing_min_spent_share,
        "high_spent_share": t.marketing_high_spent_share,
        "poe_days": t.poe_after_days,
        "poe_high_days": t.poe_high_after_days,
    }


def evaluate_red_flags(
    con: duckdb.DuckDBPyConnection,
    month: str,
    partner_ids: list[str],
    thresholds: Thresholds,
    fy_start_month: int = DEFAULT_FY_START_MONTH,
) -> int:
    """Replace ``red_flags`` of ``month``; returns how many flags fired. A KPI whose quarter
    to date misses a month of the quarter gets no target-gap flag."""
    partial = con.execute(
        sql("reports/select_partner_qtd_missing"),
        {"month": month, "qtd_months": quarter_to_date(month, fy_start_month)},
    ).fetchall()
    params = {
        **threshold_parameters(thresholds),
        "month": month,
        "partner_ids": partner_ids,
        "volume_kpis": VOLUME_KPIS,
        "elapsed_share": elapsed_share(month, fy_start_month),
        "kpi_labels": kpi_labels(),
        "qtd_partial_partners": [partner for partner, _, _ in partial],
        "qtd_partial_kpis": [kpi for _, kpi, _ in partial],
    }
    with transaction(con):
        con.execute(sql("kpis/delete_red_flags_month"), {"month": month})
        (fired,) = first_row(con, sql("kpis/insert_red_flags_month"), params)
        (marketing,) = first_row(
            con,
            sql("kpis/insert_marketing_flags_month"),
            {
                **marketing_flag_parameters(thresholds, month, fy_start_month),
                "partner_ids": partner_ids,
            },
        )
    return int(fired) + int(marketing)


def threshold_names() -> list[str]:
    return [f.name for f in fields(Thresholds)]
