"""The sample data home: deterministic, valid against the contract, consistent, with anomalies.

One small home (14 months, 4 partners, 6 countries) is generated per module and
read back from the files (CSV, Parquet and XLSX alike); the checks recompute
what the pipeline will compute (reconciliation, assortment changes, red-flag
KPIs) with DuckDB and compare with what the generator says it planted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from oemkpi.errors import OemkpiError
from oemkpi.ingest.contract import (
    EDITIONS,
    FEEDS,
    FORM_FACTORS,
    MARKETING_KINDS,
    MARKETING_STATUSES,
    OS_FAMILIES,
    PARTNER_ID_RE,
    POE_STATUSES,
    PRICE_BANDS,
    PRODUCTS,
    SEGMENTS,
)
from oemkpi.ingest.diagnose import stage_delivery
from oemkpi.ingest.folder import delivery_files
from oemkpi.months import fiscal_quarter, month_range
from oemkpi.reference import load_reference
from oemkpi.sample import COUNTRY_CATALOGUE, SampleSummary, write_sample_home
from tests.feedfiles import read_feed

END = "2026-10"
PREV = "2026-09"
ARGS = {"end_month": END, "months": 14, "partners": 4, "countries": 6}


# --------------------------------------------------------------------------- helpers
class SampleHome:
    """A generated home, its summary, and its feeds in a DuckDB connection."""

    def __init__(self, root: Path, summary: SampleSummary) -> None:
        self.root = root
        self.summary = summary
        self.feeds = {feed: read_feed(root, feed) for feed in FEEDS}
        self.con = duckdb.connect()
        for feed, frame in self.feeds.items():
            self.con.register(feed, frame)

    def sql(self, query: str, params: list[object] | None = None) -> list[tuple]:
        return self.con.execute(query, params or []).fetchall()

    def anomaly(self, rule: str) -> dict:
        return next(a for a in self.summary.anomalies if a["rule"] == rule)

    def partner_kpi(self, kpi: str, month: str) -> dict[str, float]:
        query = {
            "windows_share": "select partner_id, sum(units) filter (os_family = 'windows') "
            "/ sum(units) from windows_share where month = ? group by all",
            "forecast_attainment": "select partner_id, sum(shipped_units) / sum(forecast_units) "
            "from pc_shipments where month = ? and form_factor <> 'server' "
            "and forecast_units is not null group by all",
            "office_attach": "select partner_id, sum(attached_units) / sum(base_units) "
            "from attach_rate where month = ? and product = 'office' group by all",
            "server_attach": "select partner_id, sum(attached_units) / sum(base_units) "
            "from attach_rate where month = ? and product = 'windows_server' group by all",
        }[kpi]
        return dict(self.sql(query, [month]))


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> SampleHome:
    root = tmp_path_factory.mktemp("sample") / "home"
    return SampleHome(root, write_sample_home(root, **ARGS))


# --------------------------------------------------------------------------- the API
def test_summary_describes_the_home(home: SampleHome) -> None:
    s = home.summary
    assert s.root == home.root.resolve()
    assert s.months == month_range("2025-09", END)
    assert s.partners == ["aurora", "borealis", "cobalt-pc", "delta_systems"]
    assert s.countries == ["US", "DE", "JP", "BR", "GB", "CN"]
    assert s.rows == {feed: home.feeds[feed].height for feed in FEEDS}
    assert s.files == sum(1 for _ in (home.root / "landing").glob("*/*/*"))
    assert {a["rule"] for a in s.anomalies} == {
        "competitive_loss",
        "windows_share_drop",
        "forecast_miss",
        "attach_drop",
        "marketing_underspend",
        "poe_missing",
    }
    for anomaly in s.anomalies:
        assert set(anomaly) == {"rule", "partner_id", "month", "country", "segment", "detail"}
        # The underspent quarter is the last one that closes by END (FY27-Q1, September).
        assert anomaly["month"] == (PREV if anomaly["rule"] == "marketing_underspend" else END)


def test_same_arguments_give_the_same_bytes_and_rerunning_keeps_mtimes(
    home: SampleHome, tmp_path: Path
) -> None:
    before = snapshot(home.root)
    other = tmp_path / "other"
    write_sample_home(other, **ARGS)
    assert {k: v[0] for k, v in snapshot(other).items()} == {k: v[0] for k, v in before.items()}

    again = write_sample_home(home.root, **ARGS)
    assert snapshot(home.root) == before  # same bytes, same modification times
    assert again == home.summary


def test_a_rerun_removes_stale_files_from_the_delivery_folders(tmp_path: Path) -> None:
    args = {"end_month": END, "months": 1, "partners": 1, "countries": 3}
    write_sample_home(tmp_path, **args)
    stray = tmp_path / "landing" / "pc_shipments" / END / "old.csv"
    stray.write_text("month\n", encoding="utf-8")
    write_sample_home(tmp_path, **args)
    assert not stray.exists()


def test_end_month_defaults_to_the_last_complete_month(tmp_path: Path) -> None:
    summary = write_sample_home(
        tmp_path, months=2, partners=1, countries=2, today=date(2027, 1, 15)
    )
    assert summary.months == ["2026-11", "2026-12"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"partners": 0}, "number of partners must be between 1 and 8"),
        ({"partners": 9}, "number of partners must be between 1 and 8"),
        ({"months": 0}, "number of months must be between 1"),
        ({"countries": 0}, "number of countries must be between 1"),
        ({"scale": 0}, "scale must be above 0"),
        ({"scale": float("nan")}, "scale must be above 0"),
        ({"end_month": "2026-13"}, "end month '2026-13' is not a month"),
        ({"end_month": "October"}, "end month 'October' is not a month"),
    ],
)
def test_invalid_arguments_raise_a_clear_error(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(OemkpiError, match=message):
        write_sample_home(tmp_path / "home", **{"end_month": END, "months": 2, **kwargs})
    assert not (tmp_path / "home").exists()


# --------------------------------------------------------------------------- reference
def test_reference_files_are_valid_and_complete(home: SampleHome) -> None:
    reference = load_reference(home.root / "reference")  # the pipeline's own checks
    assert reference.partner_ids == home.summary.partners
    assert reference.country_codes == home.summary.countries
    assert {c.region for c in reference.countries} == {"Americas", "EMEA", "APJ"}
    for partner in reference.partners:
        assert partner.pam_email.endswith("@example.com")
        assert partner.partner_name and partner.pam_name and partner.region

    quarters = {fiscal_quarter(m) for m in home.summary.months}
    assert quarters == {"FY26-Q1", "FY26-Q2", "FY26-Q3", "FY26-Q4", "FY27-Q1", "FY27-Q2"}
    targets = {(t.partner_id, t.fiscal_quarter, t.kpi): t.target for t in reference.targets}
    servers = home.sql(
        "select distinct partner_id from attach_rate where product = 'windows_server'"
    )
    volumes = {"shipped_units", "license_revenue_usd"}
    ratios = {"windows_share", "pro_mix", "premium_mix", "office_attach"}
    for partner in home.summary.partners:
        kpis = volumes | ratios | ({"server_attach"} if (partner,) in servers else set())
        for quarter in quarters:
            for kpi in kpis:
                assert (partner, quarter, kpi) in targets
    for (_, _, kpi), target in targets.items():
        assert target > 100_000 if kpi in volumes else 0.1 < target < 1


def test_targets_put_some_partners_on_track_and_some_behind(home: SampleHome) -> None:
    reference = load_reference(home.root / "reference")
    quarter = fiscal_quarter(END)  # FY27-Q2: October is its first month
    qtd = [END]
    behind: dict[str, set[str]] = {p: set() for p in home.summary.partners}
    ratio_sql = {
        "windows_share": ("windows_share", "units", "os_family = 'windows'", "true"),
        "pro_mix": ("premium_mix", "units", "edition in ('pro', 'pro_workstation')", "true"),
        "premium_mix": ("premium_mix", "units", "price_band = 'premium'", "true"),
        "office_attach": ("attach_rate", "attached_units", "product = 'office'", "product = 'office'"),
    }  # fmt: skip
    for t in reference.targets:
        if t.fiscal_quarter != quarter:
            continue
        if t.kpi in ratio_sql:
            table, measure, top, scope = ratio_sql[t.kpi]
            base = "base_units" if table == "attach_rate" else "units"
            [(value,)] = home.sql(
                f"select sum({measure}) filter ({top}) / sum({base}) filter ({scope}) "
                f"from {table} where partner_id = ? and month in (select unnest(?))",
                [t.partner_id, qtd],
            )
            if t.target - value >= 0.01:
                behind[t.partner_id].add(t.kpi)
            else:
                assert value > t.target, (t, value)  # on track means at or above target
    assert behind["aurora"] == set()
    assert behind["borealis"] == {"windows_share"}
    assert behind["delta_systems"] == {"office_attach"}


# --------------------------------------------------------------------------- files
def test_every_feed_uses_csv_parquet_and_xlsx(home: SampleHome) -> None:
    for feed in FEEDS:
        suffixes = {p.suffix for p in (home.root / "landing" / feed).glob("*/*")}
        assert suffixes == {".csv", ".parquet", ".xlsx"}, feed
    for feed in (name for name, spec in FEEDS.items() if not spec.optional):
        suffixes = {p.suffix for p in (home.root / "landing" / feed).glob("*/*")}
        assert suffixes == {".csv", ".parquet", ".xlsx"}, feed
        for month in home.summary.months:
            files = list((home.root / "landing" / feed / month).iterdir())
            assert len(files) == 3  # one per region: americas, emea, apj
            assert {p.stem for p in files} == {"americas", "emea", "apj"}


def test_csv_files_vary_in_the_ways_the_contract_allows(home: SampleHome) -> None:
    seen = {"bom": 0, "crlf": 0, "lf": 0, "extra": 0, "header": 0}
    for path in (home.root / "landing").glob("*/*/*.csv"):
        raw = path.read_bytes()
        seen["bom"] += raw.startswith(b"\xef\xbb\xbf")
        seen["crlf"] += b"\r\n" in raw
        seen["lf"] += b"\r\n" not in raw
        header = raw.decode("utf-8-sig").splitlines()[0].split(",")
        names = [h.strip().lower() for h in header]
        feed = path.parent.parent.name
        assert names[: len(FEEDS[feed].column_names)] == list(FEEDS[feed].column_names)
        seen["extra"] += names[-1] == "source_system"
        seen["header"] += any(h != h.strip().lower() for h in header)
    assert all(seen.values()), seen


def test_months_are_text_and_units_are_integers_in_parquet_and_xlsx(home: SampleHome) -> None:
    for feed in FEEDS:
        for path in (home.root / "landing" / feed).glob("*/*.*"):
            if path.suffix == ".csv":
                continue
            frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_excel(path)
            frame = frame.rename({c: c.strip().lower() for c in frame.columns})
            assert frame.schema["month"] == pl.String, path
            for column in FEEDS[feed].columns:
                if column.type == "int":
                    assert frame.schema[column.name] == pl.Int64, (path, column.name)


def test_the_project_parser_accepts_every_delivery_of_two_months(
    home: SampleHome, tmp_path: Path
) -> None:
    for month in (PREV, END):
        for name, feed in FEEDS.items():
            files = delivery_files(home.root / "landing" / name / month)
            staged = stage_delivery(feed, month, files, tmp_path / f"{name}{month}.duckdb")
            assert staged.problems == [], (name, month, staged.problems[:3])
            assert staged.present_columns == list(feed.column_names)


# --------------------------------------------------------------------------- contract
@pytest.mark.parametrize("feed", list(FEEDS))
def test_rows_follow_the_contract(home: SampleHome, feed: str) -> None:
    frame = home.feeds[feed]
    spec = FEEDS[feed]
    assert frame.filter(pl.col("month") != pl.col("_folder")).height == 0
    assert frame.get_column("month").str.contains(r"^\d{4}-\d{2}$").all()
    # Every partner but the last sends marketing, the optional feed.
    partners = home.summary.partners[:-1] if spec.optional else home.summary.partners
    assert set(frame.get_column("partner_id")) == set(partners)
    assert set(frame.get_column("country").drop_nulls()) <= set(home.summary.countries)
    assert all(PARTNER_ID_RE.match(p) for p in home.summary.partners)
    assert frame.select(spec.key_names).is_duplicated().sum() == 0  # keys unique per month
    domains = {
        "segment": SEGMENTS,
        "form_factor": FORM_FACTORS,
        "os_family": OS_FAMILIES,
        "edition": EDITIONS,
        "price_band": PRICE_BANDS,
        "product": PRODUCTS,
        "kind": MARKETING_KINDS,
        "status": MARKETING_STATUSES,
        "poe_status": POE_STATUSES,
    }
    for column in spec.columns:
        values = frame.get_column(column.name)
        if column.name in domains:
            assert set(values) <= set(domains[column.name])
        if column.type in ("int", "number"):
            assert values.drop_nulls().min() >= 0
        if not column.nullable:
            assert values.null_count() == 0, column.name
    if feed == "windows_share":
        lengths = frame.get_column("sku").str.len_chars()
        assert lengths.min() >= 1 and lengths.max() <= 64
        assert (
            frame.get_column("sku")
            .str.contains(r"^[A-Z]{3}-[A-Z]{2}[0-9A-Z]{2}P?-G\d-\d{3,}$")
            .all()
        )
    if feed == "pc_shipments":
        nulls = frame.get_column("forecast_units").null_count()
        assert 0 < nulls < frame.height * 0.1  # a few rows without forecast
        assert (
            frame.filter(pl.col("form_factor") == "server", pl.col("segment") == "consumer").height
            == 0
        )
    if feed == "attach_rate":
        assert frame.filter(pl.col("attached_units") > pl.col("base_units")).height == 0
        reporting = home.sql(
            "select partner_id, count(sell_thru_units) > 0 from attach_rate group by all"
        )
        assert {flag for _, flag in reporting} == {True, False}  # some partners report sell-thru


def test_feeds_reconcile_per_partner_country_segment_and_month(home: SampleHome) -> None:
    rows = home.sql(
        """
        with keys as (select distinct month, partner_id, country, segment from windows_share),
        pc as (select month, partner_id, country, segment,
                      sum(shipped_units) filter (form_factor <> 'server') as pcs,
                      sum(shipped_units) filter (form_factor = 'server') as servers
               from pc_shipments group by all),
        ws as (select month, partner_id, country, segment, sum(units) as units,
                      sum(units) filter (os_family = 'windows') as windows
               from windows_share group by all),
        pm as (select month, partner_id, country, segment, sum(units) as units
               from premium_mix group by all),
        att as (select month, partner_id, country, segment,
                      sum(base_units) filter (product = 'office') as office,
                      sum(base_units) filter (product = 'windows_server') as server_base
               from attach_rate group by all)
        select k.*, pc.pcs, ws.units, ws.windows, pm.units, att.office, pc.servers, att.server_base
        from keys k
        left join pc using (month, partner_id, country, segment)
        left join ws using (month, partner_id, country, segment)
        left join pm using (month, partner_id, country, segment)
        left join att using (month, partner_id, country, segment)
        """
    )
    assert len(rows) == len(home.summary.months) * len(
        home.sql("select distinct partner_id, country, segment from windows_share")
    )

    def close(a: int | None, b: int | None) -> bool:
        a, b = a or 0, b or 0
        return abs(a - b) <= 0.005 * max(a, b)

    for month, partner, country, segment, pcs, units, windows, pm, office, servers, base in rows:
        where = (month, partner, country, segment)
        assert pcs and units and windows, where
        assert close(pcs, units), where
        assert close(windows, pm), where
        assert close(windows, office), where
        assert close(servers, base), where
        assert (servers is None) == (base is None), where  # server attach only with servers


def test_realistic_volumes_and_mixes(home: SampleHome) -> None:
    [(low, high)] = home.sql(
        "select min(s), max(s) from (select partner_id, month, sum(shipped_units) s "
        "from pc_shipments where form_factor <> 'server' group by all)"
    )
    assert low > 100_000 and high < 4_500_000
    by_segment = dict(
        home.sql(
            "select segment, sum(units) filter (os_family = 'windows') / sum(units) "
            "from windows_share group by all"
        )
    )
    assert 0.80 < by_segment["consumer"] < by_segment["commercial"] < 0.97
    mix = {
        s: (pro, premium)
        for s, pro, premium in home.sql(
            "select segment, sum(units) filter (edition in ('pro', 'pro_workstation')) / sum(units), "
            "sum(units) filter (price_band = 'premium') / sum(units) from premium_mix group by all"
        )
    }
    assert mix["consumer"][0] < 0.3 < 0.7 < mix["commercial"][0]
    assert all(0.12 < premium < 0.32 for _, premium in mix.values())
    attach = {
        (s, p): r
        for s, p, r in home.sql(
            "select segment, product, sum(attached_units) / sum(base_units) from attach_rate group by all"
        )
    }
    assert 0.35 < attach["consumer", "office"] < 0.5 < 0.55 < attach["commercial", "office"] < 0.75
    assert 0.6 < attach["commercial", "windows_server"] < 0.8
    [(big, small)] = home.sql(
        "select avg((units >= 100)::int), count(*) filter (units < 100) from windows_share"
    )
    assert big > 0.7 and small > 0  # most SKUs sell at least 100 units, some fewer
    # Seasonality: the holiday month beats February for consumer shipments.
    season = dict(
        home.sql(
            "select month, sum(shipped_units) from pc_shipments where segment = 'consumer' "
            "and month in ('2025-12', '2026-02') group by all"
        )
    )
    assert season["2025-12"] > 1.2 * season["2026-02"]


# --------------------------------------------------------------------------- churn
def test_sku_catalogues_churn_every_month(home: SampleHome) -> None:
    months = home.summary.months
    switched = {"loss": 0, "conversion": 0}
    for prev, month in itertools.pairwise(months):
        [(new, gone, loss, conversion)] = home.sql(
            """
            with a as (select * from windows_share where month = ?),
                 b as (select * from windows_share where month = ?)
            select count(*) filter (a.sku is null),
                   count(*) filter (b.sku is null),
                   count(*) filter (a.os_family = 'windows' and b.os_family <> 'windows'),
                   count(*) filter (a.os_family <> 'windows' and b.os_family = 'windows')
            from a full join b using (partner_id, country, segment, sku)
            """,
            [prev, month],
        )
        assert new > 0 and gone > 0, month
        switched["loss"] += loss
        switched["conversion"] += conversion
    assert switched["loss"] >= 5 and switched["conversion"] >= 5, switched


# --------------------------------------------------------------------------- anomalies
def test_planted_competitive_loss_is_in_the_data(home: SampleHome) -> None:
    anomaly = home.anomaly("competitive_loss")
    assert (anomaly["partner_id"], anomaly["country"], anomaly["segment"]) == (
        "borealis",
        "BR",
        "consumer",
    )
    skus = re.findall(r"[A-Z]{3}-\S+?-G\d-\d+", anomaly["detail"])
    assert len(skus) == 3
    losses = home.sql(
        """
        with a as (select * from windows_share where month = ?),
             b as (select * from windows_share where month = ?)
        select partner_id, country, segment, sku, a.units, b.os_family
        from a join b using (partner_id, country, segment, sku)
        where a.os_family = 'windows' and b.os_family <> 'windows' and a.units >= 1000
        order by sku
        """,
        [PREV, END],
    )
    # The three planted SKUs are the only competitive losses of >= 1000 units, anywhere.
    assert [(p, c, s, sku, to) for p, c, s, sku, _, to in losses] == [
        ("borealis", "BR", "consumer", sku, "chromeos") for sku in sorted(skus)
    ]
    assert all(units >= 1500 for *_, units, _ in losses)

    def share(month: str, segment: str | None) -> float:
        [(value,)] = home.sql(
            "select sum(units) filter (os_family = 'windows') / sum(units) from windows_share "
            "where month = ? and partner_id = 'borealis' and country = 'BR' "
            "and (? is null or segment = ?)",
            [month, segment, segment],
        )
        return value

    assert share(PREV, "consumer") - share(END, "consumer") >= 0.03
    assert share(PREV, None) - share(END, None) >= 0.03  # the country-level red flag too
    drop = home.anomaly("windows_share_drop")
    assert (drop["partner_id"], drop["country"]) == ("borealis", "BR")

    before, after = home.partner_kpi("windows_share", PREV), home.partner_kpi("windows_share", END)
    for partner in home.summary.partners:
        if partner != "borealis":
            assert before[partner] - after[partner] < 0.01, partner


def test_planted_forecast_miss_is_in_the_data(home: SampleHome) -> None:
    anomaly = home.anomaly("forecast_miss")
    assert anomaly["partner_id"] == "cobalt-pc"
    attainment = home.partner_kpi("forecast_attainment", END)
    assert 0.78 < attainment["cobalt-pc"] < 0.86
    assert f"{attainment['cobalt-pc']:.1%}" in anomaly["detail"]
    for partner, value in attainment.items():
        if partner != "cobalt-pc":
            assert value >= 0.9, partner
    # No country of another partner misses its forecast either.
    misses = home.sql(
        "select partner_id, country, sum(shipped_units) / sum(forecast_units) a "
        "from pc_shipments where month = ? and form_factor <> 'server' "
        "and forecast_units is not null group by all having a < 0.9 and sum(shipped_units) >= 1000",
        [END],
    )
    assert {p for p, *_ in misses} == {"cobalt-pc"}
    # The miss sits in the partner's biggest countries, which the detail names.
    short = anomaly["detail"].split("short in ")[1].split(", ")
    assert sorted(c for _, c, _ in misses) == sorted(short)
    assert 1 <= len(short) <= 4
    # Earlier months: nobody misses.
    assert min(home.partner_kpi("forecast_attainment", PREV).values()) >= 0.9


def test_planted_attach_drop_is_in_the_data(home: SampleHome) -> None:
    anomaly = home.anomaly("attach_drop")
    assert anomaly["partner_id"] == "delta_systems"
    before, after = home.partner_kpi("office_attach", PREV), home.partner_kpi("office_attach", END)
    assert 0.035 <= before["delta_systems"] - after["delta_systems"] <= 0.05
    assert f"{after['delta_systems']:.1%}" in anomaly["detail"]
    for partner in home.summary.partners:
        if partner != "delta_systems":
            assert before[partner] - after[partner] < 0.02, partner
    before, after = home.partner_kpi("server_attach", PREV), home.partner_kpi("server_attach", END)
    assert before.keys() == after.keys() and len(before) >= 3
    for partner in before:
        assert before[partner] - after[partner] < 0.02, partner


def test_commentary_for_the_last_two_months(home: SampleHome) -> None:
    folders = sorted(p.name for p in (home.root / "commentary").iterdir())
    assert folders == [PREV, END]
    loss = home.anomaly("competitive_loss")
    text = (home.root / "commentary" / END / "borealis.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    for heading in ("Marketing", "Account plan", "Best practices", "Escalations", "Channel notes"):
        assert heading in headings
    for sku in re.findall(r"[A-Z]{3}-\S+?-G\d-\d+", loss["detail"]):
        assert f"Why: {sku}" in headings and f"COE: {sku}" in headings
    for path in (home.root / "commentary").rglob("*.md"):
        body = path.read_text(encoding="utf-8")
        assert "<" not in body and ">" not in body  # plain text, no HTML
        assert path.stem in home.summary.partners


def test_marketing_deliveries_plant_an_underspend_and_a_missing_proof(home: SampleHome) -> None:
    frame = home.feeds["marketing"]
    folders = {p.name for p in (home.root / "landing" / "marketing").iterdir()}
    assert set(home.summary.months) - folders  # some months have no marketing delivery
    per_month = frame.group_by("_folder").agg(pl.col("partner_id").n_unique().alias("n"))
    assert per_month.get_column("n").min() < len(home.summary.partners) - 1  # a partner skips
    # Every activity counts only in its own fiscal quarter.
    assert frame.filter(
        pl.col("fiscal_quarter") != pl.col("month").map_elements(fiscal_quarter, pl.String)
    ).is_empty()
    # The underspent quarter: about 60 % spent at its close, without cancelled activities.
    under = home.anomaly("marketing_underspend")
    closing = frame.filter(
        (pl.col("_folder") == under["month"])
        & (pl.col("partner_id") == under["partner_id"])
        & (pl.col("status") != "cancelled")
    )
    share = closing.get_column("spent_usd").sum() / closing.get_column("budget_usd").sum()
    assert 0.5 <= share < 0.75
    # Every other partner closes every quarter above the threshold.
    closes = frame.filter(
        pl.col("month").is_in([m for m in home.summary.months if m[5:] in ("03", "06", "09", "12")])
        & (pl.col("status") != "cancelled")
    )
    shares = closes.group_by("partner_id", "month").agg(
        (pl.col("spent_usd").sum() / pl.col("budget_usd").sum()).alias("share")
    )
    low = shares.filter(pl.col("share") < 0.75)
    assert low.select("partner_id", "month").rows() == [(under["partner_id"], under["month"])]
    # The one done activity without approved proof more than 30 days after its end.
    poe = home.anomaly("poe_missing")
    ends = frame.filter(pl.col("_folder") == END).with_columns(
        days=(pl.lit(dt.date(2026, 10, 31)) - pl.col("end_date").str.to_date()).dt.total_days()
    )
    overdue = ends.filter(
        (pl.col("status") == "done") & (pl.col("poe_status") != "approved") & (pl.col("days") > 30)
    )
    assert overdue.select("partner_id", "country", "days").rows() == [
        (poe["partner_id"], poe["country"], 45)
    ]
    # The commentary says why the quarter was underspent, and leaves the proof to be written.
    text = (home.root / "commentary" / under["month"] / f"{under['partner_id']}.md").read_text()
    assert "## Flag: marketing_underspend partner" in text
    assert "closed under budget" in text
    text = (home.root / "commentary" / END / f"{poe['partner_id']}.md").read_text()
    assert "approval still pending" in text and "## Flag: poe_missing" not in text


def test_without_commentary(tmp_path: Path) -> None:
    write_sample_home(tmp_path, end_month=END, months=2, partners=2, countries=2, commentary=False)
    assert not (tmp_path / "commentary").exists()


# --------------------------------------------------------------------------- sizes
def test_scale_multiplies_the_sku_rows(tmp_path: Path) -> None:
    args = {"end_month": END, "months": 2, "partners": 2, "countries": 3, "commentary": False}
    one = write_sample_home(tmp_path / "one", **args)
    three = write_sample_home(tmp_path / "three", scale=3, **args)
    ratio = three.rows["windows_share"] / one.rows["windows_share"]
    assert 2.7 < ratio < 3.3
    assert three.rows["pc_shipments"] <= one.rows["pc_shipments"] * 1.2


def test_one_partner_and_all_countries(tmp_path: Path) -> None:
    summary = write_sample_home(tmp_path, end_month=END, months=2, partners=1)
    assert summary.partners == ["aurora"]
    assert summary.countries == [c.country for c in COUNTRY_CATALOGUE]
    assert len(summary.countries) >= 28
    regions = {c.region for c in COUNTRY_CATALOGUE}
    assert regions == {"Americas", "EMEA", "APJ"}
    # Every anomaly wraps around onto the one partner.
    assert {a["partner_id"] for a in summary.anomalies} == {"aurora"}
    assert {a["rule"] for a in summary.anomalies} >= {
        "competitive_loss",
        "forecast_miss",
        "attach_drop",
    }


def test_eight_partners_have_file_safe_ids(tmp_path: Path) -> None:
    summary = write_sample_home(tmp_path, end_month=END, months=1, partners=8, countries=3)
    assert len(summary.partners) == 8
    assert all(PARTNER_ID_RE.match(p) for p in summary.partners)
    assert any("-" in p for p in summary.partners) and any("_" in p for p in summary.partners)
    assert summary.anomalies == []  # one month: nothing to compare with


def test_landing_files_carry_the_time_a_partner_would_have_delivered_them(tmp_path: Path) -> None:
    """The demo's 2023 updates said 'data as of' the day the demo ran: each file's time is a
    few days into the next month, and its nanoseconds follow its bytes, so a file rewritten
    with other bytes still changes its delivery's fingerprint."""
    import os

    from oemkpi.sample.files import _stamp

    write_sample_home(tmp_path / "home", end_month="2024-02", months=2, partners=2, countries=4)
    files = sorted((tmp_path / "home" / "landing" / "pc_shipments" / "2024-01").iterdir())
    assert files
    for path in files:
        when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        assert (when.year, when.month) == (2024, 2) and 3 <= when.day <= 8, (path, when)
    path = files[0]
    before = os.stat(path).st_mtime_ns
    path.write_bytes(path.read_bytes()[::-1])  # the same size, other bytes
    _stamp(path, "2024-01", 0, 0)
    after = os.stat(path).st_mtime_ns
    assert (
        after != before and after // 10**9 == dt.datetime(2024, 2, 3, 6, tzinfo=dt.UTC).timestamp()
    )
