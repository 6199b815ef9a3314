"""The regional pack: one page per region for the monthly ROB meeting (SPEC section 8).

A region is a ``region`` of reference/countries.csv. Partners are multinationals, so
a region's pack lists every partner with rows in the region's countries, each with
its KPIs over those countries only (ratios of sums, MoM and YoY over the same
countries, :file:`sql/reports/select_region_kpis.sql`), its red flags scoped to those
countries and its assortment wins and losses there; for partners homed in the
region (partners.csv's ``region``) also the partner-level flags, the escalations
from commentary, the quarter's co-marketing spend against budget and the
data-quality status. It names partners side by side: it is
for the regional team, never sent to a PAM. The same model gives the regional early
warnings (:mod:`oemkpi.delivery.messages`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from oemkpi.formats import num
from oemkpi.kpis.definitions import KPI_BY_NAME, KPIS, VOLUME_KPIS
from oemkpi.months import add_months, month_label
from oemkpi.reference import Partner, Reference, region_file_name
from oemkpi.reports.data import MonthData
from oemkpi.reports.export import ASSORTMENT_FIELDS, feeds_export
from oemkpi.reports.index import INDEX_KPIS
from oemkpi.reports.marketing import marketing_section
from oemkpi.reports.model import (
    AssortmentItem,
    Commentary,
    CompetitiveItem,
    FeedState,
    RedFlag,
    escalations_due,
    feed_loaded,
)
from oemkpi.reports.render import environment, tidy_markdown
from oemkpi.reports.words import capitalize_first, join_words, os_name, plural
from oemkpi.warehouse import sql

SCHEMA_VERSION = 1
#: KPIs in the pack's table, in order: the index's headline KPIs, then forecast attainment.
PACK_KPIS = (*INDEX_KPIS, "forecast_attainment")

_LABELS = {k.name: k.label for k in KPIS}


@dataclass(frozen=True)
class RegionKpi:
    kpi: str
    label: str
    kind: str
    value: float | None
    mom_change: float | None
    yoy_change: float | None


@dataclass(frozen=True)
class RegionPartner:
    partner: Partner
    homed: bool  # the partner's home region is this one
    kpis: dict[str, RegionKpi]  # over the region's countries; empty without rows there
    country_flags: list[RedFlag]  # scoped to a country of the region
    partner_flags: list[RedFlag]  # scope partner; homed partners only
    assortment: list[AssortmentItem]  # wins and losses in the region's countries
    escalations: str | None  # commentary "## Escalations"; homed partners only
    #: A homed partner with a high red flag and no Escalations section in the PAM's
    #: commentary: its escalations are still to be written (without a high flag, none).
    escalations_due: bool
    missing_feeds: list[str]  # delivered feeds without rows for the partner
    #: Marketing spend against budget (SPEC section 9), homed partners only: :func:`marketing_for`.
    marketing: dict[str, Any] | None
    #: SKUs that left Windows in the region's countries under the assortment's floor.
    left_below_floor: list[CompetitiveItem] = field(default_factory=list)


#: The SKUs under the assortment's floor a pack names (its JSON lists every one).
PACK_BELOW_FLOOR = 10

#: The largest wins a regional pack lists (its JSON lists every one).
PACK_WINS = 10


@dataclass(frozen=True)
class RegionPack:
    region: str
    file_stem: str  # the region with spaces as "_"
    month: str
    month_label: str
    fiscal_quarter: str
    generated_at: str
    countries: list[tuple[str, str]]  # (code, name)
    partners: list[RegionPartner]
    feeds: list[FeedState]
    #: The units a SKU needs to count as a win or loss (its assortment, and so its losses).
    min_units: float = 100.0

    @property
    def marketing_loaded(self) -> bool:
        """Whether the month's marketing delivery is in: a homed partner without activities
        then has none in it, rather than none delivered."""
        return feed_loaded(self.feeds, "marketing")

    @property
    def country_flag_rows(self) -> list[tuple[Partner, RedFlag]]:
        """The flags raised in the region's countries, whoever the partner."""
        return [(p.partner, f) for p in self.partners for f in p.country_flags]

    @property
    def partner_flag_rows(self) -> list[tuple[Partner, RedFlag]]:
        """The whole-partner flags of partners homed in the region: their figures are over
        all countries, not the region's (told apart from the region's KPIs beside them)."""
        return [(p.partner, f) for p in self.partners for f in p.partner_flags]

    def _others_and_wins(
        self,
    ) -> tuple[list[tuple[Partner, AssortmentItem]], list[tuple[Partner, AssortmentItem]]]:
        """:attr:`assortment_rows` split: losses and discontinued SKUs, then wins."""
        rows = self.assortment_rows
        return [r for r in rows if r[1].type != "win"], [r for r in rows if r[1].type == "win"]

    @property
    def assortment_shown(self) -> list[tuple[Partner, AssortmentItem]]:
        """Every loss and discontinued SKU, and the largest wins (:data:`PACK_WINS`): the
        pack stays a page or two where a region lists a hundred new SKUs a month."""
        others, wins = self._others_and_wins()
        return others + wins[:PACK_WINS]

    @property
    def wins_not_shown(self) -> tuple[int, float]:
        """The wins the pack leaves to its JSON: (how many, their units this month)."""
        rest = self._others_and_wins()[1][PACK_WINS:]
        return len(rest), sum(a.units or 0 for _, a in rest)

    @property
    def assortment_rows(self) -> list[tuple[Partner, AssortmentItem]]:
        """Losses first, then wins, each the largest first, whichever partner they belong
        to: a loss by the Windows units it had last month, a win by its units this month
        (not by the larger of the two, which put a win of 418 units first for its 2,001
        units of last month on another OS)."""
        rows = [(p.partner, a) for p in self.partners for a in p.assortment]

        def size(a: AssortmentItem) -> float:
            first, second = (
                (a.units, a.prior_units) if a.type == "win" else (a.prior_units, a.units)
            )
            return first if first is not None else second or 0

        return sorted(
            rows,
            key=lambda row: (row[1].type != "loss", -size(row[1]), row[0].partner_name, row[1].sku),
        )

    @property
    def left_below_floor(self) -> list[tuple[Partner, CompetitiveItem]]:
        """SKUs that left Windows in the region's countries with fewer than
        :attr:`min_units` last month, which its assortment leaves out: the index lists every
        one, and the EMEA pack counted one where the index listed four in its countries."""
        rows = [(p.partner, i) for p in self.partners for i in p.left_below_floor]
        return sorted(rows, key=lambda r: (-(r[1].prior_units or 0), r[0].partner_name, r[1].sku))

    @property
    def no_base_words(self) -> list[str]:
        """Why an attach cell is n/a for a partner with rows in the region, while the
        attach-rate feed is in: "Server attach is n/a for Ember Devices and Fjordline
        Computers: the attach-rate feed has no Windows Server base for them in EMEA countries
        this month." (the pack showed n/a where the index and the update say why)."""
        if not any(f.feed == "attach_rate" and f.rows for f in self.feeds):
            return []  # the feed is not in: the pack's feed line says so
        notes = []
        for kpi, base in (("office_attach", "Office"), ("server_attach", "Windows Server")):
            names = [
                p.partner.partner_name
                for p in self.partners
                if p.kpis and (p.kpis.get(kpi) is None or p.kpis[kpi].value is None)
            ]
            if names:
                them = "it" if len(names) == 1 else "them"
                notes.append(
                    f"{_LABELS[kpi]} is n/a for {join_words(names)}: the attach-rate feed has "
                    f"no {base} base for {them} in {self.region} countries this month."
                )
        return notes

    @property
    def below_floor_words(self) -> str:
        """The SKUs of :attr:`left_below_floor` in a sentence under the assortment ("" when
        none), the first :data:`PACK_WINS` named and the rest counted for the JSON."""
        rows = self.left_below_floor
        if not rows:
            return ""
        named = "; ".join(
            f"{p.partner_name} {i.sku} ({i.country_name} {i.segment}, to {os_name(i.to_os)}, "
            f"{num(i.prior_units)} units last month)"
            for p, i in rows[:PACK_BELOW_FLOOR]
        )
        floor = num(self.min_units)
        text = (
            f"{capitalize_first(plural(len(rows), 'SKU'))} with fewer than {floor} units last month"
        )
        if self.assortment_rows:  # beside the table, which leaves them out
            text += f" also left Windows in {self.region} countries (the table counts SKUs of at least {floor})"
        else:
            text += f" left Windows in {self.region} countries"
        text += f": {named}"
        if len(rows) > PACK_BELOW_FLOOR:
            more = len(rows) - PACK_BELOW_FLOOR
            text += f"; {more:,} more in {self.file_stem}.json, beside this pack"
        return text + "."

    @property
    def high_country_flags(self) -> list[tuple[Partner, RedFlag]]:
        return [
            (p.partner, f) for p in self.partners for f in p.country_flags if f.severity == "high"
        ]

    @property
    def competitive_losses(self) -> list[tuple[Partner, AssortmentItem]]:
        return [
            (p.partner, a)
            for p in self.partners
            for a in p.assortment
            if a.type == "loss" and a.reason == "competitive"
        ]

    @property
    def high_partner_flags(self) -> list[tuple[Partner, RedFlag]]:
        return [
            (p.partner, f) for p in self.partners for f in p.partner_flags if f.severity == "high"
        ]


def marketing_for(data: MonthData, partner_id: str) -> dict[str, Any] | None:
    """The partner's co-marketing spend against budget in the month's fiscal quarter (SPEC
    section 9), as the pack shows it; ``None`` without marketing data (JSON ``null``)."""
    section = marketing_section(
        data.rows("select_partner_marketing", partner_id), data.month, data.fy_start_month
    )
    if section is None:
        return None
    return {
        "fiscal_quarter": section.fiscal_quarter,
        "budget_usd": section.budget_usd,
        "spent_usd": section.spent_usd,
        "spent_share": section.spent_share,
        "elapsed_share": section.elapsed_share,
        "as_of": section.as_of,  # the month of the delivery that serves the month
    }


def _region_kpis(
    con: duckdb.DuckDBPyConnection, month: str, reference: Reference
) -> dict[tuple[str, str], dict[str, RegionKpi]]:
    result = con.execute(
        sql("reports/select_region_kpis"),
        {
            "month": month,
            "prior_month": add_months(month, -1),
            "prior_year_month": add_months(month, -12),
            "countries": [c.country for c in reference.countries],
            "regions": [c.region for c in reference.countries],
            "volume_kpis": VOLUME_KPIS,
        },
    )
    out: dict[tuple[str, str], dict[str, RegionKpi]] = {}
    for region, pid, kpi, value, mom, yoy in result.fetchall():
        known = KPI_BY_NAME[kpi]
        out.setdefault((region, pid), {})[kpi] = RegionKpi(
            kpi, known.label, known.kind, value, mom, yoy
        )
    return out


def build_region_packs(
    con: duckdb.DuckDBPyConnection,
    data: MonthData,
    reference: Reference,
    commentaries: Mapping[str, Commentary | None],
) -> list[RegionPack]:
    """Every region's pack for ``data.month`` (regions in countries.csv order)."""
    kpis = _region_kpis(con, data.month, reference)
    names = data.country_names
    packs = []
    for region in reference.regions:
        countries = reference.region_countries(region)
        in_region = set(countries)
        partners = []
        for partner in reference.partners:
            pid = partner.partner_id
            homed = partner.region == region
            figures = kpis.get((region, pid), {})
            if not figures and not homed:
                continue
            flags = [RedFlag(**r) for r in data.rows("select_partner_red_flags", pid)]
            commentary = commentaries.get(pid)
            partners.append(
                RegionPartner(
                    partner=partner,
                    homed=homed,
                    kpis=figures,
                    country_flags=[f for f in flags if f.scope in in_region],
                    partner_flags=[f for f in flags if f.scope == "partner"] if homed else [],
                    assortment=[
                        AssortmentItem(**a)
                        for a in data.rows("select_partner_assortment", pid)
                        if a["country"] in in_region and a["type"] in ("win", "loss")
                    ],
                    escalations=commentary.escalations if homed and commentary else None,
                    escalations_due=homed
                    and not (commentary and commentary.escalations)
                    and escalations_due(flags),
                    missing_feeds=[
                        r["feed"] for r in data.rows("select_partner_missing_feeds", pid)
                    ],
                    marketing=marketing_for(data, pid) if homed else None,
                    left_below_floor=[
                        i
                        for i in data.competitive_watch(pid)
                        if i.country in in_region and i.under(data.assortment_min_units)
                    ],
                )
            )
        packs.append(
            RegionPack(
                region=region,
                file_stem=region_file_name(region),
                month=data.month,
                month_label=month_label(data.month),
                fiscal_quarter=data.fiscal_quarter,
                generated_at=data.generated_at,
                countries=[(c, names.get(c, c)) for c in countries],
                partners=partners,
                feeds=data.feeds,
                min_units=data.assortment_min_units,
            )
        )
    return packs


def _flag_json(flag: RedFlag) -> dict[str, Any]:
    return {
        k: getattr(flag, k)
        for k in ("rule", "severity", "scope", "kpi", "value", "threshold", "message")
    }


def region_export(pack: RegionPack) -> dict[str, Any]:
    """``regions/<region>.json`` (schema_version 1): the pack's numbers."""
    feeds = feeds_export(pack.feeds)
    return {
        "schema_version": SCHEMA_VERSION,
        "region": pack.region,
        "month": pack.month,
        "fiscal_quarter": pack.fiscal_quarter,
        "countries": [code for code, _ in pack.countries],
        "partners": [
            {
                "partner_id": p.partner.partner_id,
                "home_region": p.partner.region,
                "kpis": {
                    k.name: {
                        "value": p.kpis[k.name].value if k.name in p.kpis else None,
                        "mom_change": p.kpis[k.name].mom_change if k.name in p.kpis else None,
                        "yoy_change": p.kpis[k.name].yoy_change if k.name in p.kpis else None,
                    }
                    for k in KPIS
                },
                "red_flags": [_flag_json(f) for f in p.country_flags + p.partner_flags],
                "assortment": [{k: getattr(a, k) for k in ASSORTMENT_FIELDS} for a in p.assortment],
                "left_windows_below_floor": [
                    {
                        "country": i.country,
                        "segment": i.segment,
                        "sku": i.sku,
                        "to_os": i.to_os,
                        "units": i.units,
                        "prior_units": i.prior_units,
                    }
                    for i in p.left_below_floor
                ],
                "marketing": p.marketing,
                "feeds": feeds,
            }
            for p in pack.partners
        ],
    }


def render_region_html(pack: RegionPack) -> str:
    return (
        environment()
        .get_template("regional.html.j2")
        .render(pack=pack, pack_kpis=PACK_KPIS, kpi_labels=_LABELS)
    )


def render_region_markdown(pack: RegionPack) -> str:
    text = (
        environment(markdown=True)
        .get_template("regional.md.j2")
        .render(pack=pack, pack_kpis=PACK_KPIS, kpi_labels=_LABELS)
    )
    return tidy_markdown(text)


def render_region_json(pack: RegionPack) -> str:
    from oemkpi.reports.writing import without_noise

    return (
        json.dumps(
            without_noise(region_export(pack)), indent=2, ensure_ascii=False, allow_nan=False
        )
        + "\n"
    )
