"""The executive summary's sentences (SPEC section 5): 3-7 of them, true at segment level,
no sentence about a change that rounds to zero, the high flags' countries and causes named,
and a closed quarter said as met or missed."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace

import pytest

from oemkpi.reports.drivers import decompose
from oemkpi.reports.flags import flag_groups
from oemkpi.reports.marketing import MarketingActivity, MarketingSection
from oemkpi.reports.model import (
    Commentary,
    CompetitiveItem,
    FeedState,
    FlagNote,
    ForecastRow,
    KpiFigure,
    RedFlag,
)
from oemkpi.reports.narrative import Facts, summary_sentences

NAMES = {"US": "United States", "DE": "Germany", "PL": "Poland", "BR": "Brazil"}
FEEDS = [FeedState(f, "loaded", 10, 0, 0, "2026-11-03T09:00:00") for f in ("pc_shipments",)]
LABELS = {
    "shipped_units": ("PC shipments", "volume"),
    "server_units": ("Server shipments", "volume"),
    "forecast_attainment": ("Forecast attainment", "ratio"),
    "windows_share": ("Windows share", "ratio"),
    "pro_mix": ("Pro mix", "ratio"),
    "premium_mix": ("Premium mix", "ratio"),
    "license_revenue_usd": ("Licence revenue (USD)", "volume"),
    "office_attach": ("Office attach", "ratio"),
    "server_attach": ("Server attach", "ratio"),
    "office_sell_thru_units": ("Office sell-thru", "volume"),
}


def fig(kpi: str, value: float | None, mom: float | None = None, **extra) -> KpiFigure:
    label, kind = LABELS[kpi]
    fields = dict(
        kpi=kpi,
        label=label,
        kind=kind,
        value=value,
        prior_month=None,
        prior_year=None,
        mom_change=mom,
        yoy_change=None,
        qtd=None,
        target=None,
        attainment=None,
        elapsed_share=2 / 3,
        target_status="no_target",
        flagged=False,
    )
    fields.update(extra)
    return KpiFigure(**fields)  # type: ignore[arg-type]


def quiet_figures() -> dict[str, KpiFigure]:
    """A month where nothing moves: every ratio change rounds to zero."""
    return {
        "shipped_units": fig("shipped_units", 1_000_000, 0.0002),
        "forecast_attainment": fig("forecast_attainment", 0.99, 0.0),
        "windows_share": fig("windows_share", 0.9, 0.0004),
        "pro_mix": fig("pro_mix", 0.45, -0.0004),
        "premium_mix": fig("premium_mix", 0.2, 0.0),
        "license_revenue_usd": fig("license_revenue_usd", 5e7, 0.0001),
        "office_attach": fig("office_attach", 0.5, 0.0),
        "server_attach": fig("server_attach", 0.7, 0.0),
    }


def facts(**changes) -> Facts:
    base = dict(
        partner_name="Aurora Computing",
        month="2026-10",
        figures=quiet_figures(),
        drivers={},
        unit_changes={("US", "consumer"): 200.0},
        competitive=[],
        flags=[],
        names=NAMES,
        feeds=FEEDS,
        fiscal_quarter="FY27-Q2",
    )
    base.update(changes)
    return Facts(**base)  # type: ignore[arg-type]


# Office attach falls in both segments, yet rises: volume moved to commercial.
MIX_DRIVERS = decompose(
    {("US", "consumer"): (45, 100), ("US", "commercial"): (70, 100)},
    {("US", "consumer"): (22, 50), ("US", "commercial"): (103.5, 150)},
)
# The same, with no consumer volume left this month.
GONE_DRIVERS = decompose(
    {("US", "consumer"): (45, 100), ("US", "commercial"): (70, 100)},
    {("US", "commercial"): (140, 200)},
)
# Pro mix +1.0 pts from +4 pts in Poland consumer and -3 pts in Germany consumer.
OFFSET_DRIVERS = decompose(
    {("PL", "consumer"): (40, 100), ("DE", "consumer"): (40, 100)},
    {("PL", "consumer"): (48, 100), ("DE", "consumer"): (34, 100)},
)
# Pro mix falls 10 pts as volume moves to consumer; consumer's rate slips 0.01 pts, which
# rounds to nothing: at last month's mix it would have held (as with a slip the other way).
HELD_DRIVERS = decompose(
    {("US", "consumer"): (50, 100), ("US", "commercial"): (90, 100)},
    {("US", "consumer"): (149.97, 300), ("US", "commercial"): (90, 100)},
)
RATE_DRIVERS = decompose(
    {("US", "consumer"): (50, 100), ("DE", "consumer"): (50, 100)},
    {("US", "consumer"): (58, 100), ("DE", "consumer"): (52, 100)},
)
SPREAD_DRIVERS = decompose(
    {(c, "consumer"): (50, 100) for c in ("US", "DE", "PL", "BR")},
    {("US", "consumer"): (54, 100), ("DE", "consumer"): (53, 100)}
    | {("PL", "consumer"): (52, 100), ("BR", "consumer"): (51, 100)},
)
#: Three of five equal cells rose (60 % of the units): the largest is named alone.
FEW_DRIVERS = decompose(
    {(c, "consumer"): (50, 100) for c in ("US", "DE", "PL", "BR", "FR")},
    {("US", "consumer"): (53, 100), ("DE", "consumer"): (52.5, 100)}
    | {("PL", "consumer"): (52, 100), ("BR", "consumer"): (50, 100), ("FR", "consumer"): (49, 100)},
)
#: Four of five rose, holding 89 % of the units: spread, though not everywhere.
MOST_DRIVERS = decompose(
    {(c, "consumer"): (50, 100) for c in ("US", "DE", "PL", "BR", "FR")},
    {("US", "consumer"): (54, 100), ("DE", "consumer"): (53, 100)}
    | {("PL", "consumer"): (52, 100), ("BR", "consumer"): (51, 100), ("FR", "consumer"): (25, 50)},
)
HIGH_DE_DROP = RedFlag(
    "windows_share_drop", "high", "DE", "windows_share", -0.104, -0.03, "Windows share in DE fell."
)
SMALL_MOVE = CompetitiveItem("US", "United States", "commercial", "NB-1", "linux", 800, 844)


def closed(kpi: str, value: float, qtd: float, target: float, status: str) -> KpiFigure:
    kind = LABELS[kpi][1]
    attainment = qtd / target if kind == "volume" else None
    return fig(
        kpi,
        value,
        0.0,
        qtd=qtd,
        target=target,
        attainment=attainment,
        elapsed_share=1.0,
        target_status=status,
        quarter_closed=True,
    )


@pytest.mark.parametrize(
    ("case", "changes", "present", "absent"),
    [
        (
            "a zero change gets no sentence",
            {},
            ["Aurora Computing shipped 1.00M PCs in October 2026.", "No red flags this month."],
            ["0.0 pts", "0.0 %", "held steady", "rose", "fell", "flat"],
        ),
        (
            "mix-dominated: says mostly mix and where volume moved, and the rate's own fall",
            {
                "figures": {
                    **quiet_figures(),
                    "office_attach": fig("office_attach", 0.6275, 0.0525),
                },
                "drivers": {"office_attach": MIX_DRIVERS},
            },
            [
                "Office attach rose 5.3 pts to 62.8 %, mostly from mix: United States commercial "
                "(Office attach 69.0 %) gained share of the units from United States consumer "
                "(44.0 %); at last month's mix of countries and segments it would have fallen 1.0 pts."
            ],
            ["driven by", "45.0 %"],
        ),
        (
            "mix from a cell with no volume left: its rate is last month's, and says so",
            {
                "figures": {
                    **quiet_figures(),
                    "office_attach": fig("office_attach", 0.70, 0.125),
                },
                "drivers": {"office_attach": GONE_DRIVERS},
            },
            [
                "Office attach rose 12.5 pts to 70.0 %, mostly from mix: United States commercial "
                "(Office attach 70.0 %) gained share of the units from United States consumer "
                "(45.0 % last month)"
            ],
            ["driven by"],
        ),
        (
            "mix with a rate effect that rounds to nothing in the same direction: held",
            {
                "figures": {**quiet_figures(), "pro_mix": fig("pro_mix", 0.6, -0.1)},
                "drivers": {"pro_mix": HELD_DRIVERS},
            },
            [
                "Pro mix fell 10.0 pts to 60.0 %, mostly from mix: United States consumer (Pro mix "
                "50.0 %) gained share of the units from United States commercial (90.0 %); at last "
                "month's mix of countries and segments it would have held."
            ],
            ["would have fallen"],
        ),
        (
            "a driver larger than the change is not called the driver: the offsets are named",
            {
                "figures": {**quiet_figures(), "pro_mix": fig("pro_mix", 0.41, 0.01)},
                "drivers": {"pro_mix": OFFSET_DRIVERS},
            },
            [
                "Pro mix rose 1.0 pts to 41.0 %, the net of rises led by Poland consumer "
                "(+4.0 pts) and falls led by Germany consumer (−3.0 pts)."
            ],
            ["driven by", "partly offset"],
        ),
        (
            "a rate move names its driver with its part of the change",
            {
                "figures": {**quiet_figures(), "windows_share": fig("windows_share", 0.55, 0.05)},
                "drivers": {"windows_share": RATE_DRIVERS},
            },
            [
                "Windows share rose 5.0 pts to 55.0 %, driven by United States consumer (4.0 pts of it)."
            ],
            ["mostly from mix"],
        ),
        (
            "a move spread over cells: the largest part is not called what drove it",
            {
                "figures": {**quiet_figures(), "windows_share": fig("windows_share", 0.525, 0.025)},
                "drivers": {"windows_share": SPREAD_DRIVERS},
            },
            [
                "Windows share rose 2.5 pts to 52.5 %, rising in every country and segment; the "
                "largest part in United States consumer (1.0 pts of it)."
            ],
            ["driven by"],
        ),
        (
            "a high country flag is named with its country and cause",
            {
                "figures": {
                    **quiet_figures(),
                    "windows_share": fig("windows_share", 0.898, -0.002),
                },
                "flags": [HIGH_DE_DROP],
            },
            ["Windows share fell 0.2 pts to 89.8 %; in Germany it fell 10.4 pts (high red flag)."],
            ["DE "],
        ),
        (
            "a competitive move below every threshold is still told",
            {"competitive": [SMALL_MOVE]},
            ["In United States commercial, one Windows SKU moved to Linux (844 units last month)."],
            ["linux"],
        ),
        (
            "a sell-thru fall of a tenth is said, a small one is not",
            {
                "figures": {
                    **quiet_figures(),
                    "office_sell_thru_units": fig("office_sell_thru_units", 1_498_404, -0.105),
                }
            },
            ["Office sell-thru fell 10.5 % to 1.50M units."],
            ["rose"],
        ),
        (
            "a closed quarter: all met",
            {
                "figures": {
                    **quiet_figures(),
                    "pro_mix": closed("pro_mix", 0.45, 0.452, 0.45, "met"),
                    "shipped_units": closed("shipped_units", 1e6, 3.012e6, 3.0e6, "met"),
                }
            },
            ["FY27-Q2 closes with all 2 targets met."],
            ["On track", "on track"],
        ),
        (
            "a closed quarter: missed by a hair says the exact figure",
            {
                "figures": {
                    **quiet_figures(),
                    "pro_mix": closed("pro_mix", 0.45, 0.452, 0.45, "met"),
                    "shipped_units": closed("shipped_units", 1e6, 2.9988e6, 3.0e6, "missed"),
                }
            },
            ["FY27-Q2 closes with 1 of 2 targets met; missed: PC shipments at 99.96 % of target."],
            ["100.0 %", "On track"],
        ),
        (
            "a closed quarter missing a month: that target is not judged, not missed",
            {
                "figures": {
                    **quiet_figures(),
                    "pro_mix": closed("pro_mix", 0.45, 0.452, 0.45, "met"),
                    "shipped_units": replace(
                        closed("shipped_units", 1e6, 1.1e6, 3.0e6, "unavailable"),
                        qtd_months_missing=("2026-10", "2026-11"),
                    ),
                }
            },
            [
                "FY27-Q2 closes with 1 of 2 targets met; one not judged: the quarter has no "
                "data for October 2026 and November 2026."
            ],
            ["missed", "36.7 %", "all 2 targets"],
        ),
        (
            "a closed quarter of which only its last month has data: no verdict at all",
            {
                "figures": {
                    **quiet_figures(),
                    "shipped_units": replace(
                        closed("shipped_units", 1e6, 1e6, 3.0e6, "unavailable"),
                        qtd_months_missing=("2026-10", "2026-11"),
                    ),
                }
            },
            [
                "FY27-Q2 closes without a verdict on its one target: the quarter has no data for "
                "October 2026 and November 2026."
            ],
            ["missed", "met", "not judged"],
        ),
    ],
)
def test_narrative_rules(case, changes, present, absent):
    sentences = summary_sentences(facts(**changes))
    assert 3 <= len(sentences) <= 7, sentences
    text = " ".join(sentences)
    for expected in present:
        assert expected in sentences or expected in text, (case, sentences)
    for unwanted in absent:
        assert unwanted not in text, (case, unwanted, sentences)


def test_raised_target_is_said_when_it_causes_at_risk():
    at_risk = fig(
        "windows_share",
        0.915,
        0.001,
        qtd=0.915,
        target=0.94,
        target_status="at_risk",
        prior_target=0.903,
    )
    gap = RedFlag("target_gap", "high", "partner", "windows_share", 0.915, 0.93, "gap")
    sentences = summary_sentences(
        facts(figures={**quiet_figures(), "windows_share": at_risk}, flags=[gap])
    )
    assert (
        "Quarter to date, Windows share is 91.5 % against a 94.0 % target raised from 90.3 % "
        "last quarter." in sentences
    )
    assert sentences[-1] == "1 red flag (1 high): 1 target gap."
    assert not any(s.startswith("High red flag") for s in sentences)  # told already


def test_volumes_at_risk_agree_with_their_noun():
    """'Licence revenue (USD) are at 56.5 % of target' read wrong beside 'PC shipments are'."""

    def behind(kpi: str, value: float, attainment: float) -> KpiFigure:
        return fig(
            kpi,
            value,
            0.0,
            qtd=value,
            target=value / attainment,
            attainment=attainment,
            target_status="at_risk",
        )

    def told(revenue_attainment: float) -> str:
        figures = {
            **quiet_figures(),
            "shipped_units": behind("shipped_units", 1e6, 0.3),
            "license_revenue_usd": behind("license_revenue_usd", 5e7, revenue_attainment),
        }
        gaps = [
            RedFlag("target_gap", "high", "partner", k, 0.3, 0.57, "gap")
            for k in ("shipped_units", "license_revenue_usd")
        ]
        return " ".join(summary_sentences(facts(figures=figures, flags=gaps)))

    assert (
        "Quarter to date, PC shipments are at 30.0 % of target and licence revenue (USD) is at "
        "25.0 % of target, with 67 % of the quarter gone." in told(0.25)
    )
    # The same attainment is told once, and the quarter gone once (it read twice each).
    assert (
        "Quarter to date, PC shipments and licence revenue (USD) are both at 30.0 % of target, "
        "with 67 % of the quarter gone." in told(0.3)
    )


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("The pc_shipments feed has not been delivered yet.", "has not been delivered yet"),
        (
            "The pc_shipments feed is late: nothing was delivered by the due day.",
            "is late: nothing was delivered by the due day",
        ),
    ],
)
def test_a_feed_flag_says_the_feeds_state_as_the_rest_of_the_update(message: str, said: str):
    """It said 'the PC shipments feed is not usable' for a feed simply not due yet."""
    flag = RedFlag("data_quality", "high", "partner", None, 0.0, None, message, feed="pc_shipments")
    sentences = summary_sentences(facts(flags=[flag]))
    assert f"High red flag: the PC shipments feed {said}." in sentences


def test_several_high_flags_share_a_sentence_and_rule_ids_never_show():
    flags = [
        RedFlag("forecast_miss", "high", "US", "forecast_attainment", 0.72, 0.9, "m"),
        RedFlag("forecast_miss", "high", "DE", "forecast_attainment", 0.70, 0.9, "m"),
        RedFlag("data_quality", "high", "partner", None, 3.0, None, "m", feed="pc_shipments"),
        RedFlag(
            "competitive_loss", "high", "BR", "windows_share", 2600, 1000, "m", "consumer", "A"
        ),
    ]
    competitive = [CompetitiveItem("BR", "Brazil", "consumer", "A", "chromeos", 2700, 2600)]
    figures = {**quiet_figures(), "forecast_attainment": fig("forecast_attainment", 0.95, -0.03)}
    sentences = summary_sentences(facts(flags=flags, competitive=competitive, figures=figures))
    text = " ".join(sentences)
    assert 3 <= len(sentences) <= 7
    assert (
        "In Brazil consumer, one Windows SKU moved to ChromeOS (2,600 units last month)."
        in sentences
    )
    assert "below 90 % in Germany (70.0 %) and United States (72.0 %)" in text
    assert "High red flag: the PC shipments feed is not usable." in sentences
    assert sentences[-1] == (
        "4 red flags (4 high): 2 forecast misses, 1 competitive loss and 1 data-quality issue."
    )
    for raw in ("forecast_miss", "competitive_loss", "chromeos", "pc_shipments", " DE", " US "):
        assert raw not in text, raw


def test_at_most_seven_sentences_on_a_busy_month():
    moves = {
        k: dataclasses.replace(f, mom_change=0.03)
        for k, f in quiet_figures().items()
        if f.kind == "ratio"
    }
    busy = {**quiet_figures(), **moves, "license_revenue_usd": fig("license_revenue_usd", 5e7, 0.2)}
    flags = [
        HIGH_DE_DROP,
        RedFlag("attach_drop", "high", "partner", "office_attach", -0.05, -0.02, "m"),
    ]
    sentences = summary_sentences(facts(figures=busy, flags=flags, competitive=[SMALL_MOVE]))
    assert len(sentences) == 7
    assert "Germany" in " ".join(sentences)  # the high country flag is never cut
    assert not [s for s in sentences if re.search(r"\b0\.0 (pts|%)", s)]


def test_a_competitive_move_under_the_flag_competes_for_a_place_by_its_share_of_units():
    """441 units of Aurora's 3.76M led its summary, above a 2.6-pt fall of its Pro mix."""
    moves = {
        k: dataclasses.replace(f, mom_change=-0.026)
        for k, f in quiet_figures().items()
        if f.kind == "ratio" and k != "forecast_attainment"
    }
    busy = {**quiet_figures(), **moves, "shipped_units": fig("shipped_units", 3_757_564, 0.04)}
    tiny = CompetitiveItem("BR", "Brazil", "commercial", "AUR-1", "linux", 61, 441)
    told = summary_sentences(facts(figures=busy, competitive=[tiny]))
    assert len(told) == 7 and not [s for s in told if "Linux" in s]
    # 20,000 units (0.5 % of them) is news beside the same moves, and leads them.
    larger = dataclasses.replace(tiny, prior_units=20_000)
    told = summary_sentences(facts(figures=busy, competitive=[larger]))
    assert told[1] == "In Brazil commercial, one Windows SKU moved to Linux (20k units last month)."


def test_a_country_fall_is_told_once_beside_moves_under_the_competitive_flag():
    """Moves under the competitive-loss threshold in a country whose Windows share fell
    (a high flag) were told by their sentence and again by the Windows share's."""
    figures = {**quiet_figures(), "windows_share": fig("windows_share", 0.88, -0.004)}
    items = [
        CompetitiveItem("DE", "Germany", "consumer", "NB-1", "chromeos", 900, 950),
        CompetitiveItem("DE", "Germany", "consumer", "NB-2", "chromeos", 800, 900),
    ]
    told = summary_sentences(facts(figures=figures, flags=[HIGH_DE_DROP], competitive=items))
    assert (
        "In Germany consumer, two Windows SKUs moved to ChromeOS (1,850 units last month); "
        "Windows share in Germany fell 10.4 pts." in told
    )
    assert sum("10.4 pts" in s for s in told) == 1, told


def test_offsets_are_a_net_whatever_their_sizes_and_places_are_counted_in_words():
    # Server attach -0.4 pts: India commercial -0.8, China commercial +2.0, others -1.6.
    drivers = decompose(
        {("IN", "commercial"): (70, 100), ("CN", "commercial"): (70, 100), ("DE", "x"): (70, 100)},
        {("IN", "commercial"): (62, 100), ("CN", "commercial"): (90, 100), ("DE", "x"): (54, 100)},
    )
    assert drivers is not None
    figures = {**quiet_figures(), "server_attach": fig("server_attach", 0.6867, drivers.change)}
    names = {**NAMES, "IN": "India", "CN": "China"}
    moves = [
        CompetitiveItem(c, names.get(c, c), "consumer", f"S{i}", "linux", 5, 10)
        for i, c in enumerate(["BR", "BR", "US", "DE", "PL", "IN", "CN"])
    ]
    text = " ".join(
        summary_sentences(
            facts(
                figures=figures, drivers={"server_attach": drivers}, names=names, competitive=moves
            )
        )
    )
    assert "partly offset" not in text
    assert "the net of falls led by" in text and "rises led by China commercial (+6.7 pts)" in text
    assert "left Windows in China, Germany and India and two more countries." in text
    # Four countries are named, not three and "one more country".
    four = [m for m in moves if m.country != "CN"]
    text = " ".join(
        summary_sentences(
            facts(
                figures=figures, drivers={"server_attach": drivers}, names=names, competitive=four
            )
        )
    )
    assert "left Windows in Germany, India, Poland and United States." in text, text


def _poe(activity_id: str, days: float, severity: str = "medium") -> RedFlag:
    return RedFlag(
        "poe_missing", severity, "DE", None, days, 30.0, "…", sku=activity_id, feed="marketing"
    )


def _section(*activities: tuple[str, str]) -> MarketingSection:
    return MarketingSection(
        "FY27-Q1",
        "2026-09",
        [
            MarketingActivity(a_id, "event", name, "DE", 1000.0, 600.0, "done", "none", None)
            for a_id, name in activities
        ],
        4000.0,
        2400.0,
        1.0,
    )


MARKETING_CASES = [
    (
        [RedFlag("marketing_underspend", "medium", "partner", None, 0.6, 0.75, "…")],
        _section(("A", "Summit")),
        "Co-marketing: FY27-Q1 closes with 60 % of the co-marketing budget spent "
        "($2,400 of $4,000).",
    ),
    (
        [_poe("A", 45)],
        _section(("A", "Summit <Berlin>")),
        # Finished activities whose proof waits less than the 30 days are not counted.
        "Co-marketing: one activity finished more than 30 days ago still lacks approved proof "
        "of execution (Summit <Berlin>).",
    ),
    (
        [replace(_poe("A", 45), threshold=1.0)],
        _section(("A", "Summit")),
        "Co-marketing: one activity finished more than 1 day ago still lacks approved proof "
        "of execution (Summit).",
    ),
    (
        [replace(_poe("A", 45), threshold=None)],
        _section(("A", "Summit")),
        "Co-marketing: one finished activity still lacks approved proof of execution (Summit).",
    ),
    (
        [
            RedFlag("marketing_underspend", "high", "partner", None, 0.4, 0.75, "…"),
            *(_poe(a, 40) for a in "ABCD"),
        ],
        _section(("A", "One"), ("B", "Two"), ("C", "Three"), ("D", "Four")),
        "Co-marketing: FY27-Q1 closes with 40 % of the co-marketing budget spent "
        "($2,400 of $4,000); four activities finished more than 30 days ago still lack approved "
        "proof of execution (One, Two, Three and 1 more).",
    ),
]


@pytest.mark.parametrize(("flags", "section", "sentence"), MARKETING_CASES)
def test_a_marketing_flag_gets_a_sentence_naming_the_spend_and_the_activities(
    flags: list[RedFlag], section: MarketingSection, sentence: str
) -> None:
    sentences = summary_sentences(facts(flags=flags, marketing=section, fiscal_quarter="FY27-Q1"))
    assert sentence in sentences
    assert all(s == sentence or "Co-marketing" not in s for s in sentences)


def test_no_marketing_flag_no_marketing_sentence() -> None:
    sentences = summary_sentences(facts(marketing=_section(("A", "Summit"))))
    assert not any("marketing" in s.lower() for s in sentences)


@pytest.mark.parametrize(
    ("drivers", "change", "words"),
    [
        (FEW_DRIVERS, 0.013, ", the largest part in United States consumer (0.6 pts of it)."),
        (
            MOST_DRIVERS,
            0.0222,
            ", rising in countries and segments with 89 % of the units; the largest part "
            "in United States consumer",
        ),
    ],
)
def test_a_change_spread_across_the_partner_is_told_as_spread(drivers, change, words):
    """'Office attach fell 4.2 pts, the largest part in United States commercial (0.6 pts of
    it)' sent the PAM after one cell where every country and segment had fallen."""
    assert drivers.change == pytest.approx(change, abs=1e-3)
    figures = {
        **quiet_figures(),
        "windows_share": fig("windows_share", drivers.value_1, drivers.change),
    }
    text = " ".join(summary_sentences(facts(figures=figures, drivers={"windows_share": drivers})))
    assert words in text


def test_a_fall_in_units_names_the_largest_fall_not_a_part_of_it():
    sentences = summary_sentences(
        facts(
            figures={**quiet_figures(), "shipped_units": fig("shipped_units", 9.4e5, -0.058)},
            unit_changes={("DE", "consumer"): -42_000.0, ("US", "consumer"): -20_000.0},
        )
    )
    (told,) = [s for s in sentences if "shipped" in s]
    assert told.endswith("the largest fall was in Germany consumer (−42k units).")


def test_units_without_a_forecast_are_told_beside_the_attainment_that_leaves_them_out():
    """83 % of forecast read as the whole's shortfall while 14 % of the units had none."""
    rows = [
        ForecastRow("US", "United States", "consumer", 463_738, 150_000, 0.86, 128_961),
        ForecastRow("CN", "China", "consumer", 300_000, 380_000, 0.79, 300_000),
    ]
    flags = [RedFlag("forecast_miss", "medium", "partner", "forecast_attainment", 0.81, 0.9, "m")]
    figures = {**quiet_figures(), "forecast_attainment": fig("forecast_attainment", 0.81, -0.1)}
    text = " ".join(summary_sentences(facts(flags=flags, figures=figures, forecast_rows=rows)))
    assert (
        "Shipments with a forecast reached 81.0 % of it (down 10.0 pts), weakest in China "
        "consumer (79.0 %). Another 335k units (44 % of shipments) had no forecast, 335k of "
        "them in United States consumer." in text
    )
    # Every unit with a forecast: the words stay as they were.
    covered = [replace(r, forecast_shipped_units=r.shipped_units) for r in rows]
    text = " ".join(summary_sentences(facts(flags=flags, figures=figures, forecast_rows=covered)))
    assert "Shipments reached 81.0 % of forecast (down 10.0 pts)" in text
    assert "no forecast" not in text
    # The flag's own words are its stored message (test_kpis: with the units without one).
    (group,) = flag_groups(flags, None, NAMES, figures, [])
    assert group.what == "m"


@pytest.mark.parametrize(
    ("us_covered", "told"),
    [
        # 97,000 of 1,000,000 units (9.7 %) with no forecast: told though on target.
        (
            366_738,
            "Shipments with a forecast reached 98.4 % of it. Another 97k units (10 % of "
            "shipments) had no forecast, 97k of them in United States consumer.",
        ),
        (426_738, None),  # 37,000 (3.7 %): under a twentieth, attainment on target is all
    ],
)
def test_many_units_without_a_forecast_are_told_when_attainment_is_on_target(
    us_covered: int, told: str | None
):
    """Ember: 98.4 % of forecast said nothing while 14 % of its units had none."""
    rows = [
        ForecastRow("US", "United States", "consumer", 463_738, us_covered, 0.984, us_covered),
        ForecastRow("CN", "China", "consumer", 536_262, 536_262, 0.984, 536_262),
    ]
    figures = {**quiet_figures(), "forecast_attainment": fig("forecast_attainment", 0.984, 0.0)}
    sentences = summary_sentences(facts(figures=figures, forecast_rows=rows))
    found = [s for s in sentences if "forecast" in s]
    assert found == ([told] if told else [])


def test_volume_target_gaps_at_the_same_attainment_are_one_clause_in_the_flag():
    figures = {
        "shipped_units": fig(
            "shipped_units", 1e6, qtd=2e6, target=4e6, attainment=0.565, elapsed_share=2 / 3
        ),
        "license_revenue_usd": fig(
            "license_revenue_usd", 5e7, qtd=1e8, target=2e8, attainment=0.565, elapsed_share=2 / 3
        ),
    }
    flags = [
        RedFlag("target_gap", "medium", "partner", kpi, 0.565, 0.667, "m")
        for kpi in ("license_revenue_usd", "shipped_units")
    ]
    (group,) = flag_groups(flags, None, NAMES, figures, [])
    assert group.what == (
        "Licence revenue (USD) and PC shipments quarter to date are both 56.5 % of the "
        "quarter's targets with 67 % of the quarter gone."
    )


def test_a_country_flag_left_blank_points_to_the_partner_rows_note_of_the_same_rule():
    """Cobalt's three forecast-miss countries each said 'to be written' under the
    partner row that gave the cause: the PAM would write it three times more."""
    flags = [
        RedFlag("forecast_miss", "high", "US", "forecast_attainment", 0.72, 0.9, "m"),
        RedFlag("forecast_miss", "high", "DE", "forecast_attainment", 0.70, 0.9, "m"),
        RedFlag("forecast_miss", "medium", "partner", "forecast_attainment", 0.83, 0.9, "m"),
        RedFlag("attach_drop", "medium", "PL", "office_attach", 0.04, 0.03, "m"),
    ]
    own = FlagNote(why="Germany's own reason.")
    partner = FlagNote(why="Component shortages.")  # no COE, no owner yet
    notes = {("forecast_miss", "partner"): partner, ("forecast_miss", "DE"): own}
    groups = {g.scope: g for g in flag_groups(flags, Commentary(flags=notes), NAMES, {}, [])}
    assert (groups["US"].note, groups["US"].partner_note, groups["US"].why) == (
        None,
        partner,
        "Component shortages.",
    )
    assert (groups["DE"].note, groups["DE"].partner_note) == (own, None)
    assert groups["partner"].partner_note is None
    assert (groups["PL"].partner_note, groups["PL"].why) == (None, None)  # another rule
    # Without the partner row's note, every country is to be written.
    bare = flag_groups(flags, Commentary(flags={("forecast_miss", "DE"): own}), NAMES, {}, [])
    assert [g.scope for g in bare if g.why is None] == ["US", "partner", "PL"]


@pytest.mark.parametrize(
    ("prior_month", "prior_year", "yoy", "said"),
    [
        # The data's first month: neither month is there.
        (None, None, None, "; there is no September 2026 or October 2025 data to compare with."),
        # Last month's shipments were not delivered; the year-ago change is still told.
        (
            None,
            950_000.0,
            0.0526,
            ", up 5.3 % on a year ago; there is no September 2026 data to compare with.",
        ),
        # Last month shipped nothing (no MoM to compute), a year ago is there: no "no data".
        (0.0, 950_000.0, 0.0526, ", up 5.3 % on a year ago."),
    ],
)
def test_shipments_without_a_month_before_say_which_months_are_missing(
    prior_month: float | None, prior_year: float | None, yoy: float | None, said: str
) -> None:
    """'there is no August 2025 data to compare with' dropped a year-ago change it had,
    and said data was missing where last month's units were zero."""
    shipped = fig(
        "shipped_units",
        1_000_000,
        None,
        prior_month=prior_month,
        prior_year=prior_year,
        yoy_change=yoy,
    )
    text = summary_sentences(facts(figures={**quiet_figures(), "shipped_units": shipped}))[0]
    assert text == f"Aurora Computing shipped 1.00M PCs in October 2026{said}"
