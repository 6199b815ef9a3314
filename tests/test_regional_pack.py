"""The regional pack (SPEC section 8): reports/<YYYY-MM>/regions/<region>.html|.md|.json.

Built on a copy of ``delivery_base`` (tests/conftest.py): countries US, BR (Americas),
DE (EMEA), JP (APJ); aurora, cobalt-pc and delta_systems homed in Americas, borealis in
EMEA. The KPIs are recomputed here from the feed tables, not from kpi_sums.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.reference import load_countries, load_reference, region_file_name
from oemkpi.reports.regional import PACK_WINS
from oemkpi.reports.writing import write_month_reports
from oemkpi.warehouse import warehouse
from tests.conftest import DELIVERY_MONTH as MONTH
from tests.conftest import DELIVERY_PRIOR as PRIOR
from tests.conftest import write_reference

HOMED = {"Americas": {"aurora", "cobalt-pc", "delta_systems"}, "EMEA": {"borealis"}, "APJ": set()}
HOSTILE = "- Reseller <script>alert('x')</script> & <b>partner</b> [link](javascript:alert(1))\n"


@pytest.fixture(scope="module")
def pack_home(delivery_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Home:
    root = tmp_path_factory.mktemp("regional") / "home"
    shutil.copytree(delivery_base, root)
    home = Home.at(root)
    commentary = home.commentary_file(MONTH, "aurora")
    commentary.parent.mkdir(parents=True, exist_ok=True)
    commentary.write_text("## Escalations\n" + HOSTILE, encoding="utf-8")
    # Cobalt PC's PAM wrote commentary without escalations; Delta Systems' has written none.
    home.commentary_file(MONTH, "cobalt-pc").write_text(
        "## Account plan\n- Joint plan agreed.\n", encoding="utf-8"
    )
    with warehouse(home.warehouse, read_only=True) as con:
        write_month_reports(con, home, MONTH)
    return home


def _scalar(home: Home, query: str, month: str, pid: str, countries: list[str]) -> float | None:
    with warehouse(home.warehouse, read_only=True) as con:
        (value,) = con.execute(query, [month, pid, countries]).fetchone()
    return value


def _left_windows(home: Home, pid: str, countries: list[str]) -> list[tuple[str, str, float]]:
    """(sku, country, units last month) of the partner's SKUs that went from Windows in PRIOR
    to another OS family in MONTH in ``countries``, whatever their units: from the feed."""
    with warehouse(home.warehouse, read_only=True) as con:
        return con.execute(
            "select n.sku, n.country, o.units from windows_share n join windows_share o "
            "using (partner_id, country, segment, sku) where n.partner_id = ? "
            "and n.month = ? and o.month = ? and n.os_family <> 'windows' "
            "and o.os_family = 'windows' and list_contains(?, n.country)",
            [pid, MONTH, PRIOR, countries],
        ).fetchall()


def _marketing(home: Home, pid: str, quarter: str) -> dict[str, object] | None:
    """Budget and spent of the partner's latest marketing delivery up to MONTH within the
    quarter (Jul-Sep 2026), that quarter's rows only, cancelled left out: from the feed."""
    with warehouse(home.warehouse, read_only=True) as con:
        row = con.execute(
            "select sum(budget_usd) filter (where status <> 'cancelled'), "
            "sum(spent_usd) filter (where status <> 'cancelled'), count(*), max(month) from marketing "
            "where partner_id = $pid and fiscal_quarter = $q and month = (select max(month) "
            "from marketing where partner_id = $pid and month between '2026-07' and $m)",
            {"pid": pid, "q": quarter, "m": MONTH},
        ).fetchone()
    budget, spent, count, as_of = row
    if not count:
        return None
    return {
        "fiscal_quarter": quarter,
        "budget_usd": budget or 0.0,
        "spent_usd": spent or 0.0,
        "spent_share": spent / budget if budget else None,
        "elapsed_share": 1.0,  # September is the quarter's last month
        "as_of": as_of,  # the delivery that serves the month
    }


SHARE = (
    "select sum(units) filter (where os_family = 'windows') / nullif(sum(units), 0) "
    "from windows_share where month = ? and partner_id = ? and list_contains(?, country)"
)
SHIPPED = (
    "select sum(shipped_units) from pc_shipments where month = ? and partner_id = ? "
    "and form_factor <> 'server' and list_contains(?, country)"
)


@pytest.mark.parametrize("region", ["Americas", "EMEA", "APJ"])
def test_each_partners_kpis_over_the_regions_countries_only(pack_home: Home, region: str) -> None:
    pack = json.loads((pack_home.regions_dir(MONTH) / f"{region}.json").read_text())
    reference = load_reference(pack_home.reference)
    countries = reference.region_countries(region)
    assert set(pack) == {
        "schema_version",
        "region",
        "month",
        "fiscal_quarter",
        "countries",
        "partners",
    }
    assert (pack["schema_version"], pack["region"], pack["month"]) == (1, region, MONTH)
    assert pack["fiscal_quarter"] == "FY27-Q1" and pack["countries"] == countries
    with warehouse(pack_home.warehouse, read_only=True) as con:
        active = {
            r[0]
            for r in con.execute(
                "select distinct partner_id from windows_share where month = ? "
                "and list_contains(?, country)",
                [MONTH, countries],
            ).fetchall()
        }
        flags = con.execute(
            "select partner_id, rule, scope, message from red_flags where month = ?", [MONTH]
        ).fetchall()
    assert {p["partner_id"] for p in pack["partners"]} == active | HOMED[region]
    for p in pack["partners"]:
        pid = p["partner_id"]
        assert set(p) == {
            "partner_id",
            "home_region",
            "kpis",
            "red_flags",
            "assortment",
            "left_windows_below_floor",
            "marketing",
            "feeds",
        }
        marketing = _marketing(pack_home, pid, "FY27-Q1") if pid in HOMED[region] else None
        if marketing is None:
            assert p["marketing"] is None
        else:
            shown = dict(p["marketing"])
            assert shown.pop("fiscal_quarter") == marketing.pop("fiscal_quarter") == "FY27-Q1"
            assert shown.pop("as_of") == marketing.pop("as_of")
            assert shown == pytest.approx(marketing, rel=1e-9)
        share, before = (_scalar(pack_home, SHARE, m, pid, countries) for m in (MONTH, PRIOR))
        kpi = p["kpis"]["windows_share"]
        assert kpi["value"] == pytest.approx(share)
        assert kpi["mom_change"] == pytest.approx(share - before)  # points, as a fraction
        shipped, shipped_before = (
            _scalar(pack_home, SHIPPED, m, pid, countries) for m in (MONTH, PRIOR)
        )
        volume = p["kpis"]["shipped_units"]
        assert volume["value"] == pytest.approx(shipped)
        assert volume["mom_change"] == pytest.approx(shipped / shipped_before - 1)
        assert volume["yoy_change"] is None  # no month a year before in this home
        expected_flags = sorted(
            (rule, scope, message)
            for fpid, rule, scope, message in flags
            if fpid == pid and (scope in countries or (scope == "partner" and pid in HOMED[region]))
        )
        assert (
            sorted((f["rule"], f["scope"], f["message"]) for f in p["red_flags"]) == expected_flags
        )
        assert all(
            a["country"] in countries and a["type"] != "discontinued" for a in p["assortment"]
        )
        # Every SKU that left Windows in the region's countries is in the pack: the
        # assortment's (100 units or more last month) or the list of those under the floor.
        left = _left_windows(pack_home, pid, countries)
        below = sorted((sku, country) for sku, country, units in left if units < 100)
        listed = sorted((i["sku"], i["country"]) for i in p["left_windows_below_floor"])
        assert listed == below, pid
        lost = {(a["sku"], a["country"]) for a in p["assortment"] if a["reason"] == "competitive"}
        assert lost | set(listed) == {(sku, country) for sku, country, _ in left}, pid


def test_the_pack_is_self_contained_escaped_and_linked_from_the_index(pack_home: Home) -> None:
    folder = pack_home.reports_dir(MONTH)
    html = (folder / "regions" / "Americas.html").read_text()
    assert "<script" not in html and 'href="javascript:' not in html
    assert (
        "Reseller &lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;partner&lt;/b&gt;" in html
    )
    assert not re.search(r"""(src|href)=["']?https?://""", html)
    assert "Aurora Computing" in html and "Borealis Systems" in html  # side by side, by design
    # Nine KPI columns print on landscape pages (portrait shrank the text to ~7 pt).
    assert "@page { size: A4 landscape; }" in html
    # The count is the assortment's (its floor said), not every SKU that left Windows.
    assert "<dt>Competitive losses of 100+ units</dt>" in html
    assert (
        "<strong>Marketing spend against budget.</strong> FY27-Q1: $93,000 spent of $155,000 "
        "(60 %, as the quarter closes)." in html
    )
    markdown = (folder / "regions" / "Americas.md").read_text()
    assert "&amp;" not in markdown and "&lt;" not in markdown  # no entities (SPEC 5)
    # The commentary's tags are text: each "<" that could open one is backslashed.
    assert "\\<script>alert('x')\\</script>" in markdown
    assert re.search(r"(?<!\\)<(script|b)\b", markdown) is None
    assert "## Partners homed in Americas" in markdown
    index = (folder / "index.html").read_text()
    for region in ("Americas", "EMEA", "APJ"):
        assert f'href="regions/{region}.html"' in index
        assert f'href="regions/{region}.json"' in index
        assert (folder / "regions" / f"{region}.md").is_file()


@pytest.mark.parametrize(
    ("countries_row", "partners_region", "sentence"),
    [
        (
            "DE,Germany,EMEA/../../x,Western Europe",
            "EMEA",
            "{ref}/countries.csv row 2, column region: value 'EMEA/../../x' is not a valid region "
            "name; use 1-32 characters of letters, digits, spaces, '_' and '-', starting with a "
            "letter or digit.",
        ),
        (
            "DE,Germany,EMEA,Western Europe",
            "Europe",
            "{ref}/partners.csv partner acme, column region: value 'Europe' is not a region of "
            "countries.csv; use one of APJ, Americas, EMEA.",
        ),
    ],
)
def test_region_names_are_checked(
    home: Home, countries_row: str, partners_region: str, sentence: str
) -> None:
    countries = home.countries_csv.read_text().splitlines()
    countries[1] = countries_row
    home.countries_csv.write_text("\n".join(countries) + "\n")
    partners = home.partners_csv.read_text().replace(",EMEA,Ann Lee", f",{partners_region},Ann Lee")
    home.partners_csv.write_text(partners)
    with pytest.raises(OemkpiError) as err:
        load_reference(home.reference)
    assert str(err.value) == sentence.format(ref=home.reference)


def test_a_region_with_spaces_names_its_files_with_underscores(tmp_path: Path) -> None:
    write_reference(tmp_path)
    assert region_file_name("Latin America") == "Latin_America"
    with pytest.raises(OemkpiError, match=r"^The region '\.\./x' is not a valid region name;"):
        region_file_name("../x")


def test_the_packs_red_flags_name_countries_and_operating_systems_in_words(
    pack_home: Home,
) -> None:
    """The stored messages hold codes ("Shipments in US", "(BR consumer) ... to chromeos");
    the pack, like the partner update, says them in words."""
    folder = pack_home.reports_dir(MONTH) / "regions"
    with warehouse(pack_home.warehouse, read_only=True) as con:
        stored = con.execute(
            "select message from red_flags where month = ? and scope in ('US', 'BR')", [MONTH]
        ).fetchall()
    assert any(re.search(r"\b(in |\()(US|BR)\b", m) for (m,) in stored)  # codes are stored
    markdown = (folder / "Americas.md").read_text()
    section = markdown.split("## Red flags in Americas", 1)[1].split("\n## ", 1)[0]
    # The region's countries' flags first; the whole-partner flags of homed partners apart,
    # said to be over all their countries (they sat among the region's, unmarked).
    countries, whole = section.split(
        "**Whole-partner flags of partners homed in Americas** (over all their countries, not only those of Americas):"
    )
    lines = [line for line in countries.splitlines() if line.startswith("- ")]
    assert lines and all(line.count("United States") + line.count("Brazil") >= 2 for line in lines)
    assert [line for line in whole.splitlines() if line.startswith("- ")]
    html = (folder / "Americas.html").read_text()
    for text in (section, html.split("red-flags", 1)[1].split("</table>", 1)[0]):
        assert not re.search(r"\b(in |\()(US|BR)\b|to chromeos", text), text


def test_escalations_are_to_be_written_for_high_flags_and_none_without(pack_home: Home) -> None:
    """The update and the pack agree: a partner with a high red flag and no Escalations
    section in its commentary (Cobalt PC's PAM wrote other sections; Delta Systems' PAM
    none) still has them to write; without a high flag there are none this month."""
    folder = pack_home.reports_dir(MONTH)
    with warehouse(pack_home.warehouse, read_only=True) as con:
        high = {
            pid
            for (pid,) in con.execute(
                "select distinct partner_id from red_flags where month = ? and severity = 'high'",
                [MONTH],
            ).fetchall()
        }
    assert "cobalt-pc" in high  # the case that read "None this month" with a high flag
    pack = (folder / "regions" / "Americas.md").read_text()
    html_pack = (folder / "regions" / "Americas.html").read_text()
    for pid, name in (("cobalt-pc", "Cobalt PC"), ("delta_systems", "Delta Systems")):
        due = pid in high
        words = "_to be written_" if due else "None due: no high red flag this month."
        part = pack.split(f"### {name}\n", 1)[1]
        assert part.lstrip().startswith(f"**Escalations.** {words}"), (name, part[:80])
        update = (folder / f"{pid}.md").read_text()
        expected = "_to be written_" if due else "_None due: no high red flag this month._"
        assert update.split("### Escalations\n", 1)[1].lstrip().startswith(expected), pid
        html = (folder / f"{pid}.html").read_text()
        escalations = html.split('id="escalations">Escalations</h3>', 1)[1][:120]
        assert ("None due: no high red flag this month." in escalations) == (not due), escalations
    assert html_pack.count("None due: no high red flag this month.") == len(
        {"cobalt-pc", "delta_systems"} - high
    )
    # Feeds and their states in words in the Markdown pack too, once for the month (each
    # homed partner repeated the same line).
    (feeds,) = [line for line in pack.splitlines() if line.startswith("**Feeds of the month.**")]
    assert "windows_share" not in feeds
    assert "✓ loaded; Windows share: " in feeds  # was "loaded;Windows"
    assert "**Data quality.**" not in pack  # every homed partner has rows in every feed
    # Each line is a paragraph of its own (they ran together into one).
    assert "\n\n**Feeds of the month.**" in pack and ".\n**Marketing" not in pack


def test_the_packs_wins_and_losses_come_losses_first_largest_first(pack_home: Home) -> None:
    pack = json.loads((pack_home.reports_dir(MONTH) / "regions" / "Americas.json").read_text())
    markdown = (pack_home.reports_dir(MONTH) / "regions" / "Americas.md").read_text()
    section = markdown.split("## Assortment wins and losses", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("- **")]
    items = [a for p in pack["partners"] for a in p["assortment"]]
    # Every loss and the ten largest wins; the JSON has the rest, and the pack says so.
    wins = [a for a in items if a["type"] == "win"]
    assert len(lines) == len(items) - len(wins) + min(len(wins), PACK_WINS) > 1
    more = len(wins) - PACK_WINS
    said = f"{'is' if more == 1 else 'are'} left out here; Americas.json, beside this pack, lists"
    assert (said in section) == (more > 0)
    kinds = [line.split(" · ")[1].split(" ")[0] for line in lines]
    assert kinds == sorted(kinds, key=lambda kind: kind != "loss")
    # A loss by the Windows units it had last month, a win by its units this month.
    sizes = [
        int(
            (
                re.findall(
                    r"\(([\d,]+) last month\)" if kind == "loss" else r"([\d,]+) units", line
                )
                or ["0"]
            )[0].replace(",", "")
        )
        for line, kind in zip(lines, kinds, strict=True)
    ]
    for kind in set(kinds):
        mine = [size for size, k in zip(sizes, kinds, strict=True) if k == kind]
        assert mine == sorted(mine, reverse=True), kind
    assert "n/a last month" not in section
    # A new SKU's OS move reads as in the partner's update: a dash where it had no row.
    assert any(a["from_os"] is None for a in items)
    assert ": — → Windows, " in section
    assert "new →" not in section and "→ gone" not in section


def test_a_pack_lists_every_loss_and_the_largest_wins() -> None:
    """A region listing 118 new SKUs printed to three pages with its escalations last: the
    pack lists every loss and the ten largest wins, and counts the rest for the JSON."""
    from oemkpi.reference import Partner
    from oemkpi.reports.model import AssortmentItem
    from oemkpi.reports.regional import RegionPack, RegionPartner

    acme = Partner("acme", "Acme", "EMEA", "Ann Lee", "ann@example.com")
    wins = [
        AssortmentItem("win", "new", "DE", "consumer", f"W-{n:02d}", None, "windows", 100 + n, None)
        for n in range(14)
    ]
    losses = [
        AssortmentItem("loss", "competitive", "DE", "consumer", f"L-{n}", "windows", "linux", 5, 50)
        for n in range(3)
    ]
    member = RegionPartner(acme, True, {}, [], [], wins + losses, None, False, [], None)
    pack = RegionPack("EMEA", "EMEA", "2026-10", "October 2026", "FY27-Q2", "", [], [member], [])
    shown = [a.sku for _, a in pack.assortment_shown]
    assert shown == ["L-0", "L-1", "L-2"] + [f"W-{n:02d}" for n in range(13, 3, -1)]
    assert pack.wins_not_shown == (4, 100 + 101 + 102 + 103)


@pytest.mark.parametrize(
    ("first", "second", "file"),
    [("Latin America", "Latin_America", "Latin_America"), ("EMEA", "emea", "emea")],
)
def test_two_regions_that_would_write_one_pack_are_refused(
    tmp_path: Path, first: str, second: str, file: str
) -> None:
    """'Latin America' and 'Latin_America' both wrote Latin_America.html: one region's pack
    overwrote the other's, silently (and 'EMEA' and 'emea' do on a case-blind disk)."""
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "countries.csv").write_text(
        f"country,country_name,region,subregion\nAR,Argentina,{first},South\n"
        f"CL,Chile,{second},South\n",
        encoding="utf-8",
    )
    with pytest.raises(OemkpiError) as err:
        load_countries(reference / "countries.csv")
    assert str(err.value) == (
        f"{reference / 'countries.csv'} row 3, column region: value {second!r} and the region "
        f"{first!r} would write the same pack ({file}.html); name them apart, or write the "
        "same region the same way."
    )


def test_the_wins_left_out_are_said_with_the_file_that_lists_them(
    pack_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note named 'Latin America.json' where the file is Latin_America.json, and said
    '1 smaller win ... are left out'."""
    from dataclasses import replace

    from oemkpi.delivery.deliver import _month_models
    from oemkpi.reports import regional

    reference = load_reference(pack_home.reference)
    with warehouse(pack_home.warehouse, read_only=True) as con:
        _, packs = _month_models(con, pack_home, MONTH, reference, 7)
    pack = next(p for p in packs if any(a.type == "win" for _, a in p.assortment_rows))
    wins = sum(a.type == "win" for _, a in pack.assortment_rows)
    named = replace(pack, region="Latin America", file_stem="Latin_America")
    monkeypatch.setattr(regional, "PACK_WINS", wins - 1)
    one = "1 smaller win ({} units) is left out here; Latin_America.json, beside this pack, lists every one."
    units = named.wins_not_shown[1]
    for text in (regional.render_region_markdown(named), regional.render_region_html(named)):
        assert one.format(f"{units:,.0f}") in text
    monkeypatch.setattr(regional, "PACK_WINS", 0)
    assert f"{wins} smaller wins (" in regional.render_region_markdown(named)
    assert "are left out here; Latin_America.json" in regional.render_region_markdown(named)


def test_a_homed_partner_without_activities_in_a_loaded_delivery_is_not_undelivered() -> None:
    """'No co-marketing activities delivered' stood for a partner with no rows in a
    marketing delivery that was in (the update says the same, test_render)."""
    from oemkpi.reference import Partner
    from oemkpi.reports.model import FeedState
    from oemkpi.reports.regional import (
        RegionPack,
        RegionPartner,
        render_region_html,
        render_region_markdown,
    )

    fjord = Partner("fjord", "Fjordline Computers", "EMEA", "Ann Lee", "ann@example.com")
    member = RegionPartner(fjord, True, {}, [], [], [], None, False, [], None)
    loaded = FeedState("marketing", "loaded", 22, 0, 0, "2026-10-04T09:00:00")
    pack = RegionPack(
        "EMEA", "EMEA", "2026-10", "October 2026", "FY27-Q2", "", [], [member], [loaded]
    )
    said = "The marketing delivery lists no activities of Fjordline Computers for the quarter."
    assert said in render_region_html(pack) and said in render_region_markdown(pack)
    none = RegionPack("EMEA", "EMEA", "2026-10", "October 2026", "FY27-Q2", "", [], [member], [])
    assert "No co-marketing activities delivered for the quarter." in render_region_html(none)


def test_a_packs_spend_served_by_an_earlier_delivery_says_which() -> None:
    """The APJ pack showed July's spend in August as current, where the update and the index
    said it was July's delivery."""
    from oemkpi.reference import Partner
    from oemkpi.reports.regional import (
        RegionPack,
        RegionPartner,
        render_region_html,
        render_region_markdown,
    )

    acme = Partner("acme", "Acme", "APJ", "Ann Lee", "ann@example.com")
    spend = {
        "fiscal_quarter": "FY27-Q1",
        "budget_usd": 204_000.0,
        "spent_usd": 65_650.0,
        "spent_share": 65_650 / 204_000,
        "elapsed_share": 2 / 3,
        "as_of": "2026-07",
    }
    member = RegionPartner(acme, True, {}, [], [], [], None, False, [], spend)
    pack = RegionPack("APJ", "APJ", "2026-08", "August 2026", "FY27-Q1", "", [], [member], [])
    said = (
        "FY27-Q1: $65,650 spent of $204,000 (32 % with 67 % of the quarter gone), as delivered "
        "for July 2026."
    )
    assert said in render_region_html(pack)
    assert said in render_region_markdown(pack)
    current = RegionPartner(
        acme, True, {}, [], [], [], None, False, [], {**spend, "as_of": "2026-08"}
    )
    assert "as delivered" not in render_region_html(replace(pack, partners=[current]))


def test_the_pack_names_skus_that_left_windows_under_the_floor_and_ranks_wins_by_units() -> None:
    """The EMEA pack counted one competitive loss where the index listed four SKUs that left
    Windows in its countries (three under the 100-unit floor), and a win of 418 units ranked
    first by its 2,001 units of last month on another OS."""
    from oemkpi.reference import Partner
    from oemkpi.reports.model import AssortmentItem, CompetitiveItem
    from oemkpi.reports.regional import RegionPack, RegionPartner, render_region_html

    acme = Partner("acme", "Acme", "EMEA", "Ann Lee", "ann@example.com")
    wins = [
        AssortmentItem(
            "win", "converted", "DE", "consumer", "W-FELL", "chromeos", "windows", 418, 2001
        ),
        AssortmentItem("win", "new", "DE", "consumer", "W-NEW", None, "windows", 900, None),
    ]
    small = [
        CompetitiveItem("BE", "Belgium", "consumer", "S-1", "linux", 30, 40),
        CompetitiveItem("SA", "Saudi Arabia", "commercial", "S-2", "freedos", 70, 80),
    ]
    member = RegionPartner(acme, True, {}, [], [], wins, None, False, [], None, small)
    pack = RegionPack("EMEA", "EMEA", "2026-08", "August 2026", "FY27-Q1", "", [], [member], [])
    assert [a.sku for _, a in pack.assortment_shown] == ["W-NEW", "W-FELL"]
    said = (
        "Two SKUs with fewer than 100 units last month also left Windows in EMEA countries (the "
        "table counts SKUs of at least 100): Acme S-2 (Saudi Arabia commercial, to FreeDOS, 80 "
        "units last month); Acme S-1 (Belgium consumer, to Linux, 40 units last month)."
    )
    assert pack.below_floor_words == said
    assert said in render_region_html(pack)
    alone = RegionPartner(acme, True, {}, [], [], wins, None, False, [], None)
    assert replace(pack, partners=[alone]).below_floor_words == ""
    # With no table to be beside: neither "also" nor "the table".
    bare = RegionPartner(acme, True, {}, [], [], [], None, False, [], None, small)
    assert replace(pack, partners=[bare]).below_floor_words == (
        "Two SKUs with fewer than 100 units last month left Windows in EMEA countries: Acme S-2 "
        "(Saudi Arabia commercial, to FreeDOS, 80 units last month); Acme S-1 (Belgium "
        "consumer, to Linux, 40 units last month)."
    )


def test_a_homed_partner_missing_from_a_feed_says_so_under_the_months_feeds() -> None:
    """The month's feed states are said once for the pack (each homed partner repeated
    them); a partner without rows in a delivered feed says so in its own block."""
    from oemkpi.reference import Partner
    from oemkpi.reports.model import FeedState
    from oemkpi.reports.regional import (
        RegionPack,
        RegionPartner,
        render_region_html,
        render_region_markdown,
    )

    acme = Partner("acme", "Acme", "EMEA", "Ann Lee", "ann@example.com")
    bolt = Partner("bolt", "Bolt", "EMEA", "Bo Li", "bo@example.com")
    feeds = [FeedState("pc_shipments", "loaded", 10, 0, 0, None)]
    members = [
        RegionPartner(acme, True, {}, [], [], [], None, False, ["attach_rate"], None),
        RegionPartner(bolt, True, {}, [], [], [], None, False, [], None),
    ]
    pack = RegionPack("EMEA", "EMEA", "2026-08", "August 2026", "FY27-Q1", "", [], members, feeds)
    html, markdown = render_region_html(pack), render_region_markdown(pack)
    assert html.count("<strong>Feeds of the month.</strong> PC shipments: ✓ loaded.") == 1
    assert "<p><strong>Data quality.</strong> No rows for Acme in attach rate.</p>" in html
    assert html.count("Data quality.") == 1  # Bolt has rows in every feed
    assert "**Data quality.** No rows for Acme in attach rate." in markdown


def test_a_packs_attach_n_a_says_why() -> None:
    """Ember and Fjordline showed n/a under Server attach in the EMEA pack, where the index
    and their updates say they have no Windows Server base."""
    from oemkpi.reference import Partner
    from oemkpi.reports.model import FeedState
    from oemkpi.reports.regional import (
        RegionKpi,
        RegionPack,
        RegionPartner,
        render_region_html,
        render_region_markdown,
    )

    def kpis(server: float | None) -> dict[str, RegionKpi]:
        return {
            "office_attach": RegionKpi("office_attach", "Office attach", "ratio", 0.5, 0.0, None),
            "server_attach": RegionKpi(
                "server_attach", "Server attach", "ratio", server, None, None
            ),
        }

    partners = [
        RegionPartner(
            Partner(pid, name, "EMEA", "Ann Lee", "a@example.com"),
            True,
            k,
            [],
            [],
            [],
            None,
            False,
            [],
            None,
        )
        for pid, name, k in (
            ("ember", "Ember Devices", kpis(None)),
            ("fjord", "Fjordline Computers", kpis(None)),
            ("acme", "Acme", kpis(0.7)),
            ("idle", "Idle", {}),  # no rows in the region: not in the note
        )
    ]
    feeds = [FeedState("attach_rate", "loaded", 40, 0, 0, None)]
    pack = RegionPack("EMEA", "EMEA", "2026-08", "August 2026", "FY27-Q1", "", [], partners, feeds)
    said = (
        "Server attach is n/a for Ember Devices and Fjordline Computers: the attach-rate feed "
        "has no Windows Server base for them in EMEA countries this month."
    )
    assert pack.no_base_words == [said]
    assert f'<p class="note">{said}</p>' in render_region_html(pack)
    assert f"_{said}_" in render_region_markdown(pack)
    # With the feed not in, the feed line says why; no note blames a base.
    missing = replace(pack, feeds=[FeedState("attach_rate", "late", 0, 0, 0, None)])
    assert missing.no_base_words == []
