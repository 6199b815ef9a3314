"""The executive summary's sentences, computed from the month's figures.

3-7 sentences a PAM can send as they are (SPEC section 5): shipments, SKUs that left
Windows (whatever their units), what moved each ratio and where, the quarter against
its targets, and the red flags, the high ones with their countries and causes named.
A ratio's driver is named only from its rate and mix effects
(:mod:`oemkpi.reports.drivers`, SPEC section 4); a change that rounds to zero gets
no sentence, and a part of a sentence that would read "0.0" is left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from oemkpi.formats import compact, counted, pct, size_pts, size_rel, usd
from oemkpi.months import add_months, month_label
from oemkpi.reports import drivers as d
from oemkpi.reports.flags import country_clause, flag_cause, partly_forecast, without_forecast
from oemkpi.reports.marketing import MarketingSection
from oemkpi.reports.model import CompetitiveItem, FeedState, ForecastRow, KpiFigure, RedFlag
from oemkpi.reports.targets import closed_status, exact_gap, exact_pct, months_words
from oemkpi.reports.words import (
    NOT_IN,
    are_together,
    count_word,
    join_words,
    mid_sentence,
    not_in_words,
    os_name,
    place,
    plural,
    rule_name,
)

MIN_SENTENCES, MAX_SENTENCES = 3, 7
#: The share of shipments with no forecast that the summary tells even when attainment
#: is on target.
UNCOVERED_NEWS = 0.05
#: The share of a partner's units whose move away from Windows, under the competitive-loss
#: flag's threshold, counts as one unit of news, as a point of Windows share does.
COMPETITIVE_NEWS = 0.001
#: A move this large counts as one unit of "news" when ranking what to say.
_SALIENCE = {
    "windows_share": 0.01,
    "pro_mix": 0.01,
    "premium_mix": 0.01,
    "office_attach": 0.02,
    "server_attach": 0.02,
    "forecast_attainment": 0.10,
    "license_revenue_usd": 0.05,
    "office_sell_thru_units": 0.10,
    "server_sell_thru_units": 0.10,
}
#: The red flag a KPI's sentence speaks for at partner scope.
_KPI_RULES = {
    "windows_share": "windows_share_drop",
    "forecast_attainment": "forecast_miss",
    "office_attach": "attach_drop",
    "server_attach": "attach_drop",
}


def zero_pts(change: float) -> bool:
    """A change of a ratio that prints as 0.0 pts."""
    return size_pts(change) == "0.0 pts"


def zero_rel(change: float) -> bool:
    return size_rel(change) == "0.0 %"


def _way(change: float) -> str:
    return "rose" if change > 0 else "fell"


@dataclass
class Sentence:
    text: str
    rank: float = 0.0
    tells: set[int] = field(default_factory=set)  # ids of the red flags it tells
    always: bool = False  # told whatever else the month has to say


@dataclass(frozen=True)
class Facts:
    """Everything the sentences are made from."""

    partner_name: str
    month: str
    figures: Mapping[str, KpiFigure]
    drivers: Mapping[str, d.Drivers | None]
    unit_changes: Mapping[tuple[str, str], float]  # (country, segment) -> shipped units M - M-1
    competitive: Sequence[CompetitiveItem]
    flags: Sequence[RedFlag]
    names: Mapping[str, str]
    feeds: Sequence[FeedState]
    forecast_rows: Sequence[ForecastRow] = ()
    fiscal_quarter: str = ""
    marketing: MarketingSection | None = None


def summary_sentences(facts: Facts) -> list[str]:
    """3-7 sentences: shipments first, the red-flag count last, the most newsworthy between."""
    first = _shipments(facts)
    last = _flag_count(facts.flags)
    middle: list[Sentence] = []
    competitive = _competitive(facts)
    if competitive and competitive.always:
        middle.append(competitive)
    quarter = _quarter(facts)
    if quarter:
        middle.append(quarter)
    marketing = _marketing(facts)
    if marketing:
        middle.append(marketing)
    already = set().union(*(s.tells for s in middle))
    movers = [s for s in (_mover(facts, kpi, already) for kpi in _SALIENCE) if s is not None]
    if competitive and competitive not in middle:
        movers.append(competitive)
    movers.sort(key=lambda s: -s.rank)
    # One place stays free for the high flags that no chosen sentence tells.
    room = MAX_SENTENCES - 2 - len(middle) - 1
    middle += movers[: max(room, 0)]
    told = set().union(first.tells, *(s.tells for s in middle))
    high = _untold_high(facts, told)
    if high:
        middle.append(high)
    elif room >= 0 and len(movers) > room:
        middle += movers[room : room + 1]
    sentences = [first.text, *(s.text for s in middle), last]
    if len(sentences) < MIN_SENTENCES:
        sentences.insert(-1, _revenue_level(facts))
    return sentences[:MAX_SENTENCES]


# --------------------------------------------------------------------------- shipments


def _shipments(facts: Facts) -> Sentence:
    figure = facts.figures["shipped_units"]
    prior = month_label(add_months(facts.month, -1))
    if figure.value is None:
        status = next((f.status for f in facts.feeds if f.feed == "pc_shipments"), "missing")
        why = not_in_words("pc_shipments", status) if status in NOT_IN else "it has no rows"
        return Sentence(
            f"PC shipments for {month_label(facts.month)} are unavailable: {why}.",
            tells={id(f) for f in facts.flags if f.feed == "pc_shipments"},
        )
    text = f"{facts.partner_name} shipped {compact(figure.value)} PCs in {month_label(facts.month)}"
    if figure.mom_change is None:
        # No month before to compare with: the year-ago change where there is one, and
        # which months are missing (both, in the data's first month).
        if figure.yoy_change is not None and not zero_rel(figure.yoy_change):
            text += f", {_signed_rel(figure.yoy_change)} on a year ago"
        missing = [prior] if figure.prior_month is None else []
        if figure.prior_year is None:
            missing.append(month_label(add_months(facts.month, -12)))
        if missing:
            text += f"; there is no {' or '.join(missing)} data to compare with"
        return Sentence(text + ".")
    parts = []
    if not zero_rel(figure.mom_change):
        parts.append(f"{_signed_rel(figure.mom_change)} on {prior}")
    if figure.yoy_change is not None and not zero_rel(figure.yoy_change):
        parts.append(f"{_signed_rel(figure.yoy_change)} on a year ago")
    if parts:
        text += ", " + " and ".join(parts)
    if not zero_rel(figure.mom_change):
        where = _unit_driver(facts)
        if where:
            text += f"; {where}"
    return Sentence(text + ".")


def _signed_rel(change: float) -> str:
    return f"{'up' if change > 0 else 'down'} {size_rel(change)}"


def _units(change: float) -> str:
    return f"{'+' if change > 0 else '−'}{compact(abs(change))} units"


def _unit_driver(facts: Facts) -> str | None:
    """The cell that drove the units' change, by SPEC's rule for a driver, or the offsets."""
    changes = facts.unit_changes
    total = sum(changes.values())
    if not changes or total == 0:
        return None
    same = {k: v for k, v in changes.items() if v * total > 0}
    against = {k: v for k, v in changes.items() if v * total < 0}
    top = max(same, key=lambda k: abs(same[k]), default=None)
    if top is not None and abs(same[top]) <= abs(total):
        what = "rise" if total > 0 else "fall"
        return f"the largest {what} was in {place(*top, facts.names)} ({_units(same[top])})"
    off = max(against, key=lambda k: abs(against[k]), default=None)
    if top is None or off is None:
        return None
    return _net_of(
        same[top],
        place(*top, facts.names),
        against[off],
        place(*off, facts.names),
        lambda v: f"{compact(abs(v))} units",
    )


def _revenue_level(facts: Facts) -> str:
    figure = facts.figures.get("license_revenue_usd")
    if figure is None or figure.value is None:
        return "Licence revenue is unavailable this month."
    return f"Licence revenue was {usd(figure.value)}."


# --------------------------------------------------------------------------- competitive watch


def _competitive(facts: Facts) -> Sentence | None:
    """Where Windows SKUs went to another OS family this month, whatever their units."""
    items = facts.competitive
    if not items:
        return None
    groups: dict[tuple[str, str], list[CompetitiveItem]] = {}
    for item in items:
        groups.setdefault((item.country, item.segment), []).append(item)

    def units(group: Sequence[CompetitiveItem]) -> float:
        return sum(i.prior_units or 0 for i in group)

    (country, segment), largest = max(groups.items(), key=lambda g: (units(g[1]), g[0]))
    to_os = Counter(i.to_os for i in largest).most_common(1)[0][0]
    text = (
        f"In {place(country, segment, facts.names)}, {plural(len(largest), 'Windows SKU')} "
        f"moved to {os_name(to_os)} ({compact(units(largest))} units last month)"
    )
    tells = {
        id(f)
        for f in facts.flags
        if f.rule == "competitive_loss" or (f.rule == "windows_share_drop" and f.scope == country)
    }
    drop = next(
        (f for f in facts.flags if f.rule == "windows_share_drop" and f.scope == country), None
    )
    if drop is not None and drop.value is not None:
        text += (
            f"; Windows share in {facts.names.get(country, country)} fell {size_pts(drop.value)}"
        )
    others = [i for key, group in groups.items() if key != (country, segment) for i in group]
    if others:
        where = sorted({i.country for i in others}, key=lambda c: facts.names.get(c, c))
        # Four countries are named; five or more, the first three and a count ("and one
        # more country" stood where naming Türkiye took no more room).
        named = where if len(where) <= 4 else where[:3]
        places = join_words([facts.names.get(c, c) for c in named])
        more = (
            f" and {plural(len(where) - 3, 'more country', 'more countries')}"
            if len(where) > 4
            else ""
        )
        text += (
            f"; {plural(len(others), 'more SKU')} ({compact(units(others))} units) left "
            f"Windows in {places}{more}"
        )
    if drop is not None or any(f.rule == "competitive_loss" for f in facts.flags):
        # A flag it tells: always told, and before the KPIs' sentences are chosen, so the
        # Windows share's does not tell the country's fall again.
        return Sentence(text + ".", 1000.0, tells, always=True)
    # Under the flag's threshold the moves compete with the KPIs' for a place: a tenth of
    # a per cent of the partner's units is one unit of news (441 units of 3.76M led
    # Aurora's summary, above its Pro mix's fall of 2.6 pts).
    shipped = facts.figures.get("shipped_units")
    total = shipped.value if shipped is not None else None
    rank = units(items) / total / COMPETITIVE_NEWS if total else 50.0
    return Sentence(text + ".", rank, tells)


# --------------------------------------------------------------------------- ratios


def _mover(facts: Facts, kpi: str, told: set[int]) -> Sentence | None:
    figure = facts.figures.get(kpi)
    if figure is None or figure.value is None:
        return None
    flagged = [
        f
        for f in facts.flags
        if f.kpi == kpi and f.rule == _KPI_RULES.get(kpi) and f.rule != "target_gap"
    ]
    boost = 100.0 if flagged else 0.0
    scale = _SALIENCE[kpi]
    if kpi == "license_revenue_usd":
        if figure.mom_change is None or zero_rel(figure.mom_change):
            return None
        prior = month_label(add_months(facts.month, -1))
        text = (
            f"Licence revenue was {usd(figure.value)}, {_signed_rel(figure.mom_change)} on {prior}."
        )
        return Sentence(text, abs(figure.mom_change) / scale)
    if figure.kind == "volume":  # sell-thru: said when it moved a tenth or more
        moved = figure.mom_change
        if moved is None or abs(moved) < scale or zero_rel(moved):
            return None
        text = f"{figure.label} {_way(moved)} {size_rel(moved)} to {compact(figure.value)} units."
        return Sentence(text, abs(moved) / scale)
    if kpi == "forecast_attainment":
        return _forecast(facts, figure, flagged, boost)
    change = figure.mom_change
    if change is None or zero_pts(change):
        return None
    text = f"{figure.label} {_way(change)} {size_pts(change)} to {pct(figure.value)}"
    drivers = facts.drivers.get(kpi)
    if drivers is not None:
        text += _driver_words(drivers, figure.label, facts)
    tells = {id(f) for f in flagged if f.scope == "partner"}
    if kpi == "windows_share":
        country_drops = [
            f
            for f in facts.flags
            if f.rule == "windows_share_drop"
            and f.scope != "partner"
            and f.severity == "high"
            and id(f) not in told
        ]
        if country_drops:
            text += "; " + _country_drops(country_drops, facts)
            tells |= {id(f) for f in country_drops}
            boost = max(boost, 100.0)
    return Sentence(text + ".", boost + abs(change) / scale, tells)


#: From this share of the units in cells that moved with the partner's ratio, a change
#: with no driver is told as spread across the partner before its largest cell is named.
BROAD_SHARE = 0.8


def _driver_words(drivers: d.Drivers, label: str, facts: Facts) -> str:
    """ ", driven by X (0.4 pts of it)", or mostly mix and where volume moved, or the offsets."""
    names = facts.names
    change = drivers.change
    if d.mostly_mix(drivers):
        gained, lost = d.volume_moves(drivers)
        text = ", mostly from mix"
        if gained is not None:
            # Shares of the units: a cell can lose share with its units flat, as others grow
            # ("volume moved from" it misled). Its rate is labelled, or "(85.3 %)" read as
            # its share of the units.
            text += f": {place(gained.country, gained.segment, names)}"
            if gained.rate_1 is not None:
                text += f" ({label} {pct(gained.rate_1)})"
            text += " gained share of the units"
            if lost is not None:
                # Both cells' rates of this month, as the tables show; a cell with no
                # volume left this month says its rate was last month's.
                text += f" from {place(lost.country, lost.segment, names)}"
                if lost.rate_1 is not None:
                    text += f" ({pct(lost.rate_1)})"
                elif lost.rate_0 is not None:
                    text += f" ({pct(lost.rate_0)} last month)"
        if not zero_pts(drivers.rate_effect):
            way = "risen" if drivers.rate_effect > 0 else "fallen"
            text += (
                f"; at last month's mix of countries and segments it would have {way} "
                f"{size_pts(drivers.rate_effect)}"
            )
        else:  # under 0.05 pts either way: held, as the tables would show it
            # "Of countries and segments": a country's own figure mixes its segments and
            # moves with them (the country table beside it showed falls).
            text += "; at last month's mix of countries and segments it would have held"
        return text
    driver = d.the_driver(drivers)
    if driver is not None and not zero_pts(driver.contribution):
        where = place(driver.country, driver.segment, names)
        # "Driven by" only what made at least half of the move; else it was spread.
        lead = "driven by" if abs(driver.contribution) * 2 >= abs(change) else "the largest part in"
        named = f"{lead} {where} ({size_pts(driver.contribution)} of it)"
        text = f", {named}"
        broad = d.share_moving_with(drivers)
        if lead != "driven by" and broad >= BROAD_SHARE:
            # Named alone, the largest cell read as the cause of a change seen everywhere.
            way = "falling" if change < 0 else "rising"
            spread = (
                "in every country and segment"
                if broad >= 1 - 1e-9
                else f"in countries and segments with {pct(broad, 0)} of the units"
            )
            text = f", {way} {spread}; {named}"
        if label == "Windows share" and change < 0:
            moved = [
                i
                for i in facts.competitive
                if i.country == driver.country and i.segment == driver.segment
            ]
            if moved:
                to_os = Counter(i.to_os for i in moved).most_common(1)[0][0]
                text += f", where {plural(len(moved), 'SKU')} moved to {os_name(to_os)}"
        return text
    if driver is not None:
        return ""
    up, down = d.offsetting(drivers)
    if up is None or down is None or zero_pts(up.contribution) or zero_pts(down.contribution):
        return ""
    up_place = place(up.country, up.segment, names)
    down_place = place(down.country, down.segment, names)
    return ", " + _net_of(up.contribution, up_place, down.contribution, down_place, size_pts)


def _net_of(first: float, first_place: str, second: float, second_place: str, size) -> str:  # type: ignore[no-untyped-def]
    """ "the net of rises led by X (+1.2 pts) and falls led by Y (−0.8 pts)": true whatever
    the two cells' sizes, since other cells move too."""

    def part(value: float, where: str) -> str:
        way = "rises" if value > 0 else "falls"
        return f"{way} led by {where} ({'+' if value > 0 else '−'}{size(value)})"

    return f"the net of {part(first, first_place)} and {part(second, second_place)}"


def _country_drops(flags: Sequence[RedFlag], facts: Facts) -> str:
    parts = []
    for flag in flags:
        name = facts.names.get(flag.scope, flag.scope)
        part = f"in {name} it fell {size_pts(flag.value)}" if flag.value is not None else name
        moved = [i for i in facts.competitive if i.country == flag.scope]
        if moved:
            to_os = Counter(i.to_os for i in moved).most_common(1)[0][0]
            part += f" as {plural(len(moved), 'SKU')} moved to {os_name(to_os)}"
        parts.append(part)
    return join_words(parts) + " (high red flag" + ("s" if len(flags) > 1 else "") + ")"


def _forecast(
    facts: Facts, figure: KpiFigure, flagged: Sequence[RedFlag], boost: float
) -> Sentence | None:
    value = figure.value
    assert value is not None
    without, shipped = without_forecast(facts.forecast_rows)
    partly = partly_forecast(without, shipped)
    # Attainment on target says nothing of units the forecast never covered: from a
    # twentieth of the shipments on, that is news of its own (Ember: 98.4 % of forecast,
    # and 14 % of its units with none).
    uncovered = without / shipped if partly else 0.0
    if not flagged and value >= 0.97 and uncovered < UNCOVERED_NEWS:
        return None
    text = (
        f"Shipments with a forecast reached {pct(value)} of it"
        if partly
        else f"Shipments reached {pct(value)} of forecast"
    )
    if figure.mom_change is not None and not zero_pts(figure.mom_change):
        text += f" ({'up' if figure.mom_change > 0 else 'down'} {size_pts(figure.mom_change)})"
    weakest = min(
        (
            r
            for r in facts.forecast_rows
            if r.attainment is not None and (r.shipped_units or 0) >= 1000
        ),
        key=lambda r: r.attainment or 0,
        default=None,
    )
    if weakest is not None and weakest.attainment is not None and weakest.attainment < value:
        text += f", weakest in {weakest.country_name} {weakest.segment} ({pct(weakest.attainment)})"
    tells = {id(f) for f in flagged if f.scope == "partner"}
    countries = [f for f in flagged if f.scope != "partner" and f.value is not None]
    if countries:
        countries.sort(key=lambda f: (f.value, facts.names.get(f.scope, f.scope)))
        where = [f"{facts.names.get(f.scope, f.scope)} ({pct(f.value)})" for f in countries]
        text += f"; below {pct(countries[0].threshold, 0)} in " + join_words(where)
        tells |= {id(f) for f in countries}
        boost = max(boost, 100.0)
    if partly:
        # Attainment leaves these units out: said, or the shortfall reads as the whole's.
        text += (
            f". Another {compact(without)} units ({pct(without / shipped, 0)} of shipments) "
            "had no forecast"
        )
        most = max(facts.forecast_rows, key=lambda r: r.without_forecast)
        if most.without_forecast >= without / 2:
            text += (
                f", {compact(most.without_forecast)} of them in {most.country_name} {most.segment}"
            )
    news = max(1 - value, uncovered if uncovered >= UNCOVERED_NEWS else 0.0)
    return Sentence(text + ".", boost + news / _SALIENCE["forecast_attainment"], tells)


# --------------------------------------------------------------------------- quarter and flags


def _quarter(facts: Facts) -> Sentence | None:
    """A closed quarter's verdict, or the targets at risk (and a raised target said so)."""
    targeted = [f for f in facts.figures.values() if f.target is not None and f.qtd is not None]
    # A quarter to date that misses a month is not judged (and says which in the table).
    with_target = [f for f in targeted if not f.qtd_months_missing]
    unjudged = len(targeted) - len(with_target)
    gaps = {id(fl) for fl in facts.flags if fl.rule == "target_gap"}
    if targeted and all(f.quarter_closed for f in targeted):
        missed = [f for f in with_target if closed_status(f) == "missed"]
        met = len(with_target) - len(missed)
        quarter = facts.fiscal_quarter or "The quarter"
        lacking = months_words(m for f in targeted for m in f.qtd_months_missing)
        if not with_target:
            text = f"{quarter} closes without a verdict on its {plural(unjudged, 'target')}"
            unjudged = 0  # said
        elif not missed and not unjudged:
            text = f"{quarter} closes with all {len(with_target)} targets met"
        else:
            text = f"{quarter} closes with {met} of {len(targeted)} targets met"
            if missed:
                text += "; missed: " + join_words([_missed(f) for f in missed])
        if unjudged:
            text += f"; {count_word(unjudged)} not judged"
        if len(with_target) < len(targeted):
            text += f": the quarter has no data for {lacking}"
        return Sentence(text + ".", 500, gaps)
    at_risk = [f for f in with_target if f.target_status == "at_risk"]
    if not at_risk:
        return None
    parts = []
    for f in at_risk:
        if f.kind == "ratio":
            assert f.qtd is not None and f.target is not None
            part = f"{mid_sentence(f.label)} is {pct(f.qtd)} against a {pct(f.target)} target"
            if f.raised_target_at_risk and f.prior_target is not None:
                part += f" raised from {pct(f.prior_target)} last quarter"
            parts.append(part)
    # Volumes at the same attainment are told together, and the quarter gone once:
    # "PC shipments and Licence revenue (USD) are both at 56.5 % of target".
    volumes: dict[str, list[str]] = {}
    for f in at_risk:
        if f.kind != "ratio":
            volumes.setdefault(exact_pct(f.attainment), []).append(f.label)
    for attainment, labels in volumes.items():
        labels = [mid_sentence(label) for label in labels]
        parts.append(f"{join_words(labels)} {are_together(labels)} at {attainment} of target")
    text = "Quarter to date, " + join_words(parts)
    if volumes:
        share = next(f.elapsed_share for f in at_risk if f.kind != "ratio")
        text += f", with {pct(share, 0)} of the quarter gone"
    return Sentence(text + ".", 300, gaps)


def _marketing(facts: Facts) -> Sentence | None:
    """The co-marketing flags in one sentence: an underspent quarter and the finished
    activities still without approved proof of execution, named."""
    flags = [f for f in facts.flags if f.rule in ("marketing_underspend", "poe_missing")]
    if not flags:
        return None
    parts = []
    under = next((f for f in flags if f.rule == "marketing_underspend"), None)
    if under is not None:
        part = (
            f"{facts.fiscal_quarter or 'the quarter'} closes with {pct(under.value, 0)} of the "
            "co-marketing budget spent"
        )
        if facts.marketing is not None:
            part += f" ({usd(facts.marketing.spent_usd)} of {usd(facts.marketing.budget_usd)})"
        parts.append(part)
    poe = [f for f in flags if f.rule == "poe_missing"]
    if poe:
        names = (
            {a.activity_id: a.activity for a in facts.marketing.activities}
            if facts.marketing
            else {}
        )
        named = list(dict.fromkeys(names.get(f.sku or "", f.sku or "") for f in poe))
        shown = join_words(named[:3] + ([f"{len(named) - 3} more"] if len(named) > 3 else []))
        verb = "lacks" if len(poe) == 1 else "lack"
        # The days it waits for: an activity finished last week, its proof not yet approved
        # either, is not flagged and is not what the sentence counts.
        waits = [int(f.threshold) for f in poe if f.threshold is not None]
        what = (
            f"{plural(len(poe), 'activity', 'activities')} finished more than "
            f"{counted(min(waits), 'day')} ago"
            if waits and min(waits) > 0
            else plural(len(poe), "finished activity", "finished activities")
        )
        parts.append(f"{what} still {verb} approved proof of execution ({shown})")
    text = "Co-marketing: " + "; ".join(parts) + "."
    return Sentence(text, 400, {id(f) for f in flags})


def _missed(f: KpiFigure) -> str:
    if f.kind == "ratio":
        assert f.qtd is not None and f.target is not None
        return f"{f.label} ({pct(f.qtd)} against {pct(f.target)}, {exact_gap(f.qtd - f.target)})"
    return f"{f.label} at {exact_pct(f.attainment)} of target"


def _untold_high(facts: Facts, told: set[int]) -> Sentence | None:
    high = [f for f in facts.flags if f.severity == "high" and id(f) not in told]
    if not high:
        return None
    by_rule: dict[str, list[RedFlag]] = {}
    for flag in high:
        by_rule.setdefault(flag.rule, []).append(flag)
    causes: list[str] = []
    for rule, flags in by_rule.items():
        for flag in flags:
            if flag.scope == "partner" and (cause := flag_cause(flag, facts.names)) not in causes:
                causes.append(cause)
        countries = [f for f in flags if f.scope != "partner"]
        if countries:
            causes.append(country_clause(rule, countries, facts.names))
    text = "High red flag" + ("s" if len(high) > 1 else "") + ": " + "; ".join(causes)
    return Sentence(text + ".", 0, {id(f) for f in high})


def _flag_count(flags: Sequence[RedFlag]) -> str:
    """How many red flags of which rules."""
    if not flags:
        return "No red flags this month."
    high = sum(f.severity == "high" for f in flags)
    counts = Counter(f.rule for f in flags)
    rules = sorted(counts, key=lambda r: (-counts[r], r))
    parts = [f"{counts[r]} {rule_name(r, counts[r], in_sentence=True)}" for r in rules]
    head = counted(len(flags), "red flag")
    head += f" ({high} high)" if high else ""
    return f"{head}: " + join_words(parts) + "."
