"""The floor: DuckDB alone reads one month of the four feeds and computes the partner KPIs.

    python bench/floor_duckdb.py --home bench/out/homes/demo --month 2026-10 [--out kpis.csv]

No validation, no history, no reports: the least work that gets from the
landing files to the partner-level KPIs of SPEC section 4 (ratios of sums),
so the pipeline's time for the same month can be judged against it.

CSV and Parquet are read by DuckDB itself (headers sniffed first so the
contract columns are read with explicit types, whatever their spelling).
XLSX: DuckDB's ``excel`` extension would have to be downloaded (``INSTALL
excel``), which a benchmark must not depend on, so XLSX files are read with
fastexcel (the reader polars uses, a project dependency) into Arrow and handed
to DuckDB without a copy.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
from _feeds import FEED_COLUMNS, KPIS, delivery_files, header_key, parse_args, report


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str], n: int) -> str:
    """A SELECT of the contract columns of one file, named and typed as in the contract."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        import fastexcel

        table = fastexcel.read_excel(str(path)).load_sheet(0).to_arrow()
        view = f"xlsx_{n}"
        con.register(view, table)
        headers = {header_key(h): h for h in table.column_names}
        relation = view
    elif suffix == ".parquet":
        relation = f"read_parquet({_literal(str(path))})"
        headers = {header_key(h): h for h in con.sql(f"select * from {relation} limit 0").columns}
    else:
        sniffed = con.sql(f"select * from read_csv({_literal(str(path))}, header = true) limit 0")
        headers = {header_key(h): h for h in sniffed.columns}
        types = ", ".join(
            f"{_literal(headers[c])}: {_literal(t.upper())}"
            for c, t in columns.items()
            if c in headers
        )
        relation = f"read_csv({_literal(str(path))}, header = true, types = {{{types}}})"
    select = ", ".join(
        f"cast({_quote(headers[c])} as {t}) as {c}" if c in headers else f"cast(null as {t}) as {c}"
        for c, t in columns.items()
    )
    return f"select {select} from {relation}"


KPI_SQL = """
create table partner_kpis as
with
ps as (
    select partner_id,
        coalesce(sum(shipped_units) filter (where form_factor <> 'server'), 0) as shipped_units,
        coalesce(sum(shipped_units) filter (where form_factor = 'server'), 0) as server_units,
        sum(shipped_units) filter (where form_factor <> 'server' and forecast_units is not null)
            / nullif(sum(forecast_units) filter (
                where form_factor <> 'server' and forecast_units is not null), 0)
            as forecast_attainment
    from pc_shipments group by partner_id
),
ws as (
    select partner_id,
        sum(units) filter (where os_family = 'windows') / nullif(sum(units), 0) as windows_share
    from windows_share group by partner_id
),
pm as (
    select partner_id,
        sum(units) filter (where edition in ('pro', 'pro_workstation')) / nullif(sum(units), 0)
            as pro_mix,
        sum(units) filter (where price_band = 'premium') / nullif(sum(units), 0) as premium_mix,
        coalesce(sum(license_revenue_usd), 0) as license_revenue_usd
    from premium_mix group by partner_id
),
ar as (
    select partner_id,
        sum(attached_units) filter (where product = 'office')
            / nullif(sum(base_units) filter (where product = 'office'), 0) as office_attach,
        sum(attached_units) filter (where product = 'windows_server')
            / nullif(sum(base_units) filter (where product = 'windows_server'), 0)
            as server_attach,
        sum(sell_thru_units) filter (where product = 'office') as office_sell_thru_units,
        sum(sell_thru_units) filter (where product = 'windows_server') as server_sell_thru_units
    from attach_rate group by partner_id
),
partners as (
    select partner_id from ps union select partner_id from ws
    union select partner_id from pm union select partner_id from ar
)
select partner_id, {kpis}
from partners
left join ps using (partner_id) left join ws using (partner_id)
left join pm using (partner_id) left join ar using (partner_id)
order by partner_id
"""


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    con = duckdb.connect()
    started = time.perf_counter()
    n = 0
    for feed, columns in FEED_COLUMNS.items():
        selects = []
        for path in delivery_files(args.home, feed, args.month):
            selects.append(_source(con, path, columns, n))
            n += 1
        con.execute(f"create table {feed} as " + " union all ".join(selects))
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    con.execute(KPI_SQL.format(kpis=", ".join(KPIS)))
    (rows,) = con.execute("select count(*) from partner_kpis").fetchone() or (0,)
    compute_s = time.perf_counter() - started
    if args.out:
        con.execute(f"copy partner_kpis to {_literal(str(args.out))} (header, delimiter ',')")
    report("floor_duckdb", args, int(rows), read_s, compute_s)


if __name__ == "__main__":
    main()
