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


def read_feeds(home: Path, month: str, *, row_ids: bool = False) -> dict[str, pd.DataFrame]:
    """Every file of ``month`` of the four feeds, one frame per feed; with ``row_ids``
    each row also has its file's name (``_file``) and its line in it (``_row``)."""

    def read(path: Path, columns: dict[str, str]) -> pd.DataFrame:
        frame = _read(path, columns)
        if row_ids:
            frame.insert(0, "_row", range(1, len(frame) + 1))
            frame.insert(0, "_file", path.name)
        return frame

    return {
        feed: pd.concat(
            [read(p, columns) for p in delivery_files(home, feed, month)], ignore_index=True
        )
        for feed, columns in FEED_COLUMNS.items()
    }


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return num / den.replace(0, np.nan)


def kpi_table(feeds: dict[str, pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """The KPIs of SPEC section 4 per group of ``by`` (``["partner_id"]``, or with
    ``"country"`` for the country table): ratios of sums over each group's rows."""
    ps, ws, pm, ar = (feeds[f] for f in FEED_COLUMNS)

    def total(
        frame: pd.DataFrame, mask: pd.Series | None, column: str, min_count: int = 1
    ) -> pd.Series:
        """Sum of ``column`` per group over the rows in ``mask``; NaN where none counts."""
        picked = frame[column] if mask is None else frame[column].where(mask)
        return picked.groupby([frame[k] for k in by]).sum(min_count=min_count)

    pc = ps["form_factor"] != "server"
    has_fc = pc & ps["forecast_units"].notna()
    office = ar["product"] == "office"
    server = ar["product"] == "windows_server"
    kpis = pd.DataFrame(
        {
            "shipped_units": total(ps, pc, "shipped_units"),
            "server_units": total(ps, ~pc, "shipped_units"),
            "forecast_attainment": _ratio(
                total(ps, has_fc, "shipped_units"), total(ps, has_fc, "forecast_units")
            ),
            "windows_share": _ratio(
                total(ws, ws["os_family"] == "windows", "units"), total(ws, None, "units")
            ),
            "pro_mix": _ratio(
                total(pm, pm["edition"].isin(["pro", "pro_workstation"]), "units"),
                total(pm, None, "units"),
            ),
            "premium_mix": _ratio(
                total(pm, pm["price_band"] == "premium", "units"), total(pm, None, "units")
            ),
            "license_revenue_usd": total(pm, None, "license_revenue_usd", min_count=0),
            "office_attach": _ratio(
                total(ar, office, "attached_units"), total(ar, office, "base_units")
            ),
            "server_attach": _ratio(
                total(ar, server, "attached_units"), total(ar, server, "base_units")
            ),
            "office_sell_thru_units": total(ar, office, "sell_thru_units"),
            "server_sell_thru_units": total(ar, server, "sell_thru_units"),
        }
    )
    for volume in ("shipped_units", "server_units"):
        kpis[volume] = kpis[volume].fillna(0)
    kpis = kpis.reindex(columns=list(KPIS)).sort_index()
    kpis.index.names = by
    return kpis


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    started = time.perf_counter()
    feeds = read_feeds(args.home, args.month)
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    kpis = kpi_table(feeds, ["partner_id"])
    compute_s = time.perf_counter() - started
    if args.out:
        kpis.to_csv(args.out)
    report("pandas_kpis", args, len(kpis), read_s, compute_s)


if __name__ == "__main__":
    main()
