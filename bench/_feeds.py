"""What the comparison scripts need to know about the feeds, kept free of the pipeline's code.

The floor (``floor_duckdb.py``) and the pandas script (``pandas_kpis.py``) must
not import ``oemkpi``: they are what someone would write by hand, so the
contract columns (SPEC section 3) and KPI list (SPEC section 4) are repeated here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: Contract columns per feed, with the SQL type each is read as.
FEED_COLUMNS: dict[str, dict[str, str]] = {
    "pc_shipments": {
        "month": "varchar",
        "partner_id": "varchar",
        "country": "varchar",
        "segment": "varchar",
        "form_factor": "varchar",
        "shipped_units": "bigint",
        "forecast_units": "bigint",
    },
    "windows_share": {
        "month": "varchar",
        "partner_id": "varchar",
        "country": "varchar",
        "segment": "varchar",
        "sku": "varchar",
        "os_family": "varchar",
        "units": "bigint",
    },
    "premium_mix": {
        "month": "varchar",
        "partner_id": "varchar",
        "country": "varchar",
        "segment": "varchar",
        "edition": "varchar",
        "price_band": "varchar",
        "units": "bigint",
        "license_revenue_usd": "double",
    },
    "attach_rate": {
        "month": "varchar",
        "partner_id": "varchar",
        "country": "varchar",
        "segment": "varchar",
        "product": "varchar",
        "base_units": "bigint",
        "attached_units": "bigint",
        "sell_thru_units": "bigint",
    },
}

#: Partner-level KPIs of SPEC section 4, in the order of the output table.
KPIS = (
    "shipped_units",
    "server_units",
    "forecast_attainment",
    "windows_share",
    "pro_mix",
    "premium_mix",
    "license_revenue_usd",
    "office_attach",
    "server_attach",
    "office_sell_thru_units",
    "server_sell_thru_units",
)

SUFFIXES = (".csv", ".parquet", ".xlsx")


def delivery_files(home: Path, feed: str, month: str) -> list[Path]:
    folder = home / "landing" / feed / month
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
    )


def header_key(name: str) -> str:
    """Headers match case-insensitively after trimming spaces (SPEC section 3)."""
    return name.strip().lower()


def parse_args(description: str, *, pages: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    if pages:
        parser.add_argument("--pages", type=Path, help="write the HTML pages here (kept)")
    parser.add_argument("--home", required=True, type=Path, help="the data home")
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--out", type=Path, help="write the KPI table to this CSV")
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench/run.py)")
    return parser.parse_args()


def report(name: str, args: argparse.Namespace, rows: int, read_s: float, compute_s: float) -> None:
    if args.json:
        print(json.dumps({"rows": rows, "read_s": read_s, "compute_s": compute_s}))
    else:
        print(
            f"{name}: {args.month}, {rows} rows (one per partner, {len(KPIS)} KPIs); "
            f"read {read_s:.2f} s, compute {compute_s:.2f} s"
        )
