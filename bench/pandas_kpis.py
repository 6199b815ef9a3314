"""A straightforward pandas script: one month of the four feeds -> partner KPIs.

    python bench/pandas_kpis.py --home bench/out/homes/demo --month 2026-10 [--out kpis.csv]

What an analyst would write without the pipeline: read every file of the
month with pandas' default readers, keep the contract columns, group by
partner and take ratios of sums (SPEC section 4). CSV with ``pd.read_csv``
(C engine), Parquet with ``pd.read_parquet`` (pyarrow). XLSX: pandas needs
openpyxl or python-calamine, which are not installed, so XLSX files are read
with fastexcel (a project dependency) and converted with ``to_pandas()``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from _feeds import FEED_COLUMNS, KPIS, delivery_files, header_key, parse_args, report


def _read(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path, encoding="utf-8-sig")
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        import fastexcel

        frame = fastexcel.read_excel(str(path)).load_sheet(0).to_pandas()
    frame.columns = [header_key(str(c)) for c in frame.columns]
    frame = frame.reindex(columns=list(columns))
    return frame.astype({c: "float64" for c, t in columns.items() if t != "varchar"})


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return num / den.replace(0, np.nan)


def _sum(frame: pd.DataFrame, mask: pd.Series, column: str) -> pd.Series:
    """Sum of ``column`` per partner over the rows in ``mask``; NaN where none counts."""
    picked = frame[column].where(mask)
    return picked.groupby(frame["partner_id"]).sum(min_count=1)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    started = time.perf_counter()
    feeds = {
        feed: pd.concat(
            [_read(p, columns) for p in delivery_files(args.home, feed, args.month)],
            ignore_index=True,
        )
        for feed, columns in FEED_COLUMNS.items()
    }
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    ps, ws, pm, ar = (feeds[f] for f in FEED_COLUMNS)
    pc = ps["form_factor"] != "server"
    has_fc = pc & ps["forecast_units"].notna()
    office = ar["product"] == "office"
    server = ar["product"] == "windows_server"
    everything = pd.Series(True, index=pm.index)
    kpis = pd.DataFrame(
        {
            "shipped_units": _sum(ps, pc, "shipped_units").fillna(0),
            "server_units": _sum(ps, ~pc, "shipped_units"),
            "forecast_attainment": _ratio(
                _sum(ps, has_fc, "shipped_units"), _sum(ps, has_fc, "forecast_units")
            ),
            "windows_share": _ratio(
                _sum(ws, ws["os_family"] == "windows", "units"),
                ws.groupby("partner_id")["units"].sum(),
            ),
            "pro_mix": _ratio(
                _sum(pm, pm["edition"].isin(["pro", "pro_workstation"]), "units"),
                _sum(pm, everything, "units"),
            ),
            "premium_mix": _ratio(
                _sum(pm, pm["price_band"] == "premium", "units"), _sum(pm, everything, "units")
            ),
            "license_revenue_usd": pm.groupby("partner_id")["license_revenue_usd"].sum(),
            "office_attach": _ratio(
                _sum(ar, office, "attached_units"), _sum(ar, office, "base_units")
            ),
            "server_attach": _ratio(
                _sum(ar, server, "attached_units"), _sum(ar, server, "base_units")
            ),
            "office_sell_thru_units": _sum(ar, office, "sell_thru_units"),
            "server_sell_thru_units": _sum(ar, server, "sell_thru_units"),
        }
    )
    kpis["server_units"] = kpis["server_units"].fillna(0)
    kpis = kpis.reindex(columns=list(KPIS)).sort_index()
    kpis.index.name = "partner_id"
    compute_s = time.perf_counter() - started
    if args.out:
        kpis.to_csv(args.out)
    report("pandas_kpis", args, len(kpis), read_s, compute_s)


if __name__ == "__main__":
    main()
