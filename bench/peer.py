"""The peer: what a data team would write instead of oemkpi, for one month.

    python bench/peer.py --home bench/out/homes/demo --month 2026-10 [--out kpis.csv] [--json]

pandas reads every file of the month of the four feeds (``pandas_kpis.read_feeds``:
the homes hold CSV, Parquet and XLSX, and the peer reads what is there), a Great
Expectations suite validates each feed through GX's pandas data source with the
same expectations as ``expectations/<feed>.json`` (their ``$PARAMETER`` values
bound to the month and the reference's partners and countries), pandas computes
the partner and the country KPIs of SPEC section 4 (``pandas_kpis.kpi_table``),
and Jinja2 writes one HTML page per partner with the two KPI tables, under
``--pages`` (default: a temporary folder, removed after).

Like the other comparison scripts it does not import ``oemkpi``. A failing
expectation is reported (``failed`` in the JSON line), not fatal: the peer is
timed whatever the data holds. Prints one JSON line with ``--json``: rows (of
the partner table), read_s, validate_s, compute_s, reports_s, failed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _feeds import header_key, parse_args
from pandas_kpis import kpi_table, read_feeds

BENCH = Path(__file__).resolve().parent
EXPECTATIONS = BENCH.parent / "expectations"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ partner }} {{ month }}</title></head>
<body>
<h1>{{ partner }}: {{ month }}</h1>
<h2>KPIs</h2>
<table>
<tr>{% for kpi in kpis %}<th>{{ kpi }}</th>{% endfor %}</tr>
<tr>{% for kpi in kpis %}<td>{{ partner_row[kpi] | num(kpi) }}</td>{% endfor %}</tr>
</table>
<h2>By country</h2>
<table>
<tr><th>country</th>{% for kpi in kpis %}<th>{{ kpi }}</th>{% endfor %}</tr>
{% for country, row in countries %}
<tr><td>{{ country }}</td>{% for kpi in kpis %}<td>{{ row[kpi] | num(kpi) }}</td>{% endfor %}</tr>
{% endfor %}
</table>
</body></html>
"""


def validate(feeds: dict[str, pd.DataFrame], home: Path, month: str) -> list[str]:
    """Each feed through its GX suite (pandas data source); the failed checks."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    datasource = context.data_sources.add_pandas("peer")
    parameters = {
        "month": [month],
        "partner_ids": _reference_column(home, "partners.csv", "partner_id"),
        "countries": _reference_column(home, "countries.csv", "country"),
    }
    failed = []
    for feed, frame in feeds.items():
        document = json.loads((EXPECTATIONS / f"{feed}.json").read_text(encoding="utf-8"))
        suite = gx.ExpectationSuite(name=feed, expectations=document["expectations"])
        if len(suite.expectations) != len(document["expectations"]):
            raise SystemExit(f"peer: GX dropped expectations of {feed}.json")
        batch = (
            datasource.add_dataframe_asset(feed)
            .add_batch_definition_whole_dataframe("whole")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        result = batch.validate(
            suite, expectation_parameters=parameters, result_format={"result_format": "SUMMARY"}
        )
        failed += [
            f"{feed}.{r.expectation_config.meta['check']}" for r in result.results if not r.success
        ]
    return failed


def write_pages(partners: pd.DataFrame, countries: pd.DataFrame, month: str, folder: Path) -> None:
    """One HTML page per partner with its KPIs and its KPIs by country."""
    import jinja2

    environment = jinja2.Environment(autoescape=True)
    environment.filters["num"] = _shown
    template = environment.from_string(PAGE)
    kpis = list(partners.columns)
    by_partner = dict(tuple(countries.groupby(level="partner_id")))
    folder.mkdir(parents=True, exist_ok=True)
    for partner, row in partners.iterrows():
        rows = by_partner.get(partner)
        listed = (
            [] if rows is None else [(c, r) for (_, c), r in rows.iterrows()]  # type: ignore[misc]
        )
        html = template.render(
            partner=partner, month=month, kpis=kpis, partner_row=row, countries=listed
        )
        (folder / f"{partner}.html").write_text(html, encoding="utf-8")


def _shown(value: float, kpi: str) -> str:
    """A volume in whole units, a ratio as a percentage, nothing for a missing value."""
    if pd.isna(value):
        return ""
    return f"{value:,.0f}" if kpi.endswith(("_units", "_usd")) else f"{value:.1%}"


def _reference_column(home: Path, name: str, column: str) -> list[str]:
    frame = pd.read_csv(home / "reference" / name, dtype=str, keep_default_na=False)
    frame.columns = [header_key(c) for c in frame.columns]
    return sorted(frame[column].str.strip().unique())


def main() -> int:
    args = parse_args(__doc__.splitlines()[0], pages=True)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    feeds = read_feeds(args.home, args.month, row_ids=True)
    seconds["read_s"] = time.perf_counter() - started

    started = time.perf_counter()
    failed = validate(feeds, args.home, args.month)
    seconds["validate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    partners = kpi_table(feeds, ["partner_id"])
    countries = kpi_table(feeds, ["partner_id", "country"])
    seconds["compute_s"] = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_pages(partners, countries, args.month, args.pages or Path(tmp) / "pages")
        seconds["reports_s"] = time.perf_counter() - started
    if args.out:
        partners.to_csv(args.out)
    if args.json:
        print(json.dumps({"rows": len(partners), **seconds, "failed": failed}))
    else:
        timings = ", ".join(f"{k.removesuffix('_s')} {v:.2f} s" for k, v in seconds.items())
        print(
            f"peer: {args.month}, {len(partners)} partners; {timings}; "
            f"failed checks: {', '.join(failed) or 'none'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
