"""Rate and mix (SPEC section 4): a ratio's month-on-month change split over country x
segment cells, exactly, and the rules for what the narrative may call a driver."""

from __future__ import annotations

import random

import pytest

from oemkpi.reports.drivers import (
    decompose,
    drivers_by_partner,
    mostly_mix,
    offsetting,
    the_driver,
    volume_moves,
)

US_C, US_B, DE_C = ("US", "consumer"), ("US", "commercial"), ("DE", "consumer")


@pytest.mark.parametrize(
    ("prior", "current", "rate", "mix"),
    [
        # A pure rate move: weights stay, one cell's ratio rises 10 pts on half the base.
        ({US_C: (50, 100), US_B: (60, 100)}, {US_C: (60, 100), US_B: (60, 100)}, 0.05, 0.0),
        # A pure mix move: both ratios stay, volume moves to the higher-ratio cell.
        ({US_C: (40, 100), US_B: (60, 100)}, {US_C: (20, 50), US_B: (90, 150)}, 0.0, 0.05),
        # Both fall in every cell and the total still rises: the mix outweighs the rate.
        ({US_C: (45, 100), US_B: (70, 100)}, {US_C: (22, 50), US_B: (103.5, 150)}, -0.01, 0.0625),
        # A cell absent last month takes this month's rate: all of it is mix.
        ({US_C: (50, 100)}, {US_C: (50, 100), DE_C: (80, 100)}, 0.0, 0.15),
        # A cell absent this month takes last month's rate: all of it is mix.
        ({US_C: (50, 100), DE_C: (80, 100)}, {US_C: (50, 100)}, 0.0, -0.15),
    ],
)
def test_effects_add_up_to_the_change(prior, current, rate, mix):
    drivers = decompose(prior, current)
    assert drivers is not None
    assert drivers.rate_effect == pytest.approx(rate, abs=1e-12)
    assert drivers.mix_effect == pytest.approx(mix, abs=1e-12)
    assert abs(drivers.rate_effect + drivers.mix_effect - drivers.change) <= 1e-12
    cells = drivers.cells
    assert abs(sum(c.rate_effect + c.mix_effect for c in cells) - drivers.change) <= 1e-12
    for cell in cells:
        if cell.rate_0 is None or cell.rate_1 is None:  # absent in one month
            assert cell.rate_effect == 0.0


def test_effects_add_up_on_random_partners_to_1e_12():
    rng = random.Random(7)
    for _ in range(200):
        cells = [
            (f"C{i}", s) for i in range(rng.randint(1, 30)) for s in ("consumer", "commercial")
        ]
        prior, current = {}, {}
        for cell in cells:
            if rng.random() < 0.9:
                den = rng.randint(1, 200_000)
                prior[cell] = (rng.randint(0, den), den)
            if rng.random() < 0.9:
                den = rng.randint(1, 200_000)
                current[cell] = (rng.randint(0, den), den)
        drivers = decompose(prior, current)
        if drivers is None:
            continue
        n0, d0 = (sum(v[i] for v in prior.values()) for i in (0, 1))
        n1, d1 = (sum(v[i] for v in current.values()) for i in (0, 1))
        change = n1 / d1 - n0 / d0
        assert abs(drivers.rate_effect + drivers.mix_effect - change) <= 1e-12
        assert abs(sum(c.net for c in drivers.cells) - change) <= 1e-12
        assert abs(sum(c.contribution for c in drivers.cells) - change) <= 1e-12


@pytest.mark.parametrize(
    ("prior", "current"),
    [({}, {US_C: (1, 2)}), ({US_C: (1, 0)}, {US_C: (1, 2)}), ({US_C: (1, 2)}, {US_C: (0, None)})],
)
def test_no_drivers_without_a_denominator_in_either_month(prior, current):
    assert decompose(prior, current) is None


def test_export_orders_cells_by_size_and_keeps_ten():
    prior = {(f"C{i:02d}", "consumer"): (50, 100) for i in range(12)}
    current = {(f"C{i:02d}", "consumer"): (50 + i, 100) for i in range(12)}
    exported = decompose(prior, current).export()  # type: ignore[union-attr]
    assert set(exported) == {"rate_effect", "mix_effect", "cells"}
    assert [c["country"] for c in exported["cells"]] == [f"C{i:02d}" for i in range(11, 1, -1)]
    assert set(exported["cells"][0]) == {
        "country",
        "segment",
        "rate_effect",
        "mix_effect",
        "contribution",  # what the narrative names a cell by: rate effect + centred mix
    }
    # Equal weights both months: nothing moved between cells, the contribution is the rate's.
    assert all(c["contribution"] == pytest.approx(c["rate_effect"]) for c in exported["cells"])


def test_the_driver_is_the_largest_net_effect_with_the_changes_sign_not_larger_than_it():
    # Total +0.05: US consumer +0.04 (rate), US commercial +0.01: US consumer drives.
    d = decompose({US_C: (50, 100), US_B: (50, 100)}, {US_C: (58, 100), US_B: (52, 100)})
    assert d is not None and the_driver(d) is not None
    assert (the_driver(d).country, the_driver(d).segment) == US_C  # type: ignore[union-attr]
    # Total +0.01 from +0.04 and -0.03: the largest is larger than the change: no driver,
    # the offsetting cells instead.
    d = decompose({US_C: (50, 100), US_B: (50, 100)}, {US_C: (58, 100), US_B: (44, 100)})
    assert d is not None and the_driver(d) is None
    up, down = offsetting(d)
    assert (up.country, up.segment, down.country, down.segment) == (*US_C, *US_B)  # type: ignore[union-attr]


def test_cells_are_named_by_what_they_did_to_the_ratio_not_by_their_growth():
    """US consumer grows (half the base -> 7/12) while its own share falls 80 -> 79 %; US
    commercial's rises 90 -> 95 %. The partner's share rises 0.7 pts. SPEC's mix effect
    (w1 - w0) * r1 gives US consumer +6.1 pts for growing at all; what it did to the
    partner's share is -1.0 pts (its rate -0.5, and growth at 79 % against last month's
    85 % -0.5), and US commercial's +1.7 pts."""
    d = decompose({US_C: (800, 1000), US_B: (900, 1000)}, {US_C: (1106, 1400), US_B: (950, 1000)})
    assert d is not None and not mostly_mix(d)
    assert d.change == pytest.approx(0.02 / 3, abs=1e-12)
    by_cell = {(c.country, c.segment): c for c in d.cells}
    assert by_cell[US_C].net == pytest.approx(0.0608333, abs=1e-6)  # SPEC's effects, exported
    assert by_cell[US_C].contribution == pytest.approx(-0.01, abs=1e-12)
    assert by_cell[US_B].contribution == pytest.approx(0.05 / 3, abs=1e-12)
    assert sum(c.contribution for c in d.cells) == pytest.approx(d.change, abs=1e-12)
    assert the_driver(d) is None  # US commercial's +1.7 pts is more than the change
    up, down = offsetting(d)
    assert (up.country, up.segment, down.country, down.segment) == (*US_B, *US_C)  # type: ignore[union-attr]


def test_mostly_mix_and_where_volume_moved():
    # Attach falls in both segments, yet rises: volume moved to commercial.
    prior = {US_C: (45, 100), US_B: (70, 100)}
    current = {US_C: (22, 50), US_B: (103.5, 150)}
    d = decompose(prior, current)
    assert d is not None and d.change > 0 and mostly_mix(d)
    gained, lost = volume_moves(d)
    assert (gained.country, gained.segment) == US_B  # type: ignore[union-attr]
    assert (lost.country, lost.segment) == US_C  # type: ignore[union-attr]
    # A pure rate move is not mostly mix.
    pure = decompose({US_C: (50, 100), US_B: (50, 100)}, {US_C: (58, 100), US_B: (52, 100)})
    assert pure is not None and not mostly_mix(pure)


def test_drivers_by_partner_reads_both_months_per_kpi():
    rows = [
        {"period": 0, "country": "US", "segment": "consumer", "windows_units": 90, "ws_units": 100},
        {"period": 1, "country": "US", "segment": "consumer", "windows_units": 80, "ws_units": 100},
    ]
    for row in rows:
        for column in (
            "fc_shipped_units",
            "fc_forecast_units",
            "pro_units",
            "premium_units",
            "pm_units",
            "office_attached_units",
            "office_base_units",
            "server_attached_units",
            "server_base_units",
        ):
            row.setdefault(column, None)
    drivers = drivers_by_partner(rows)
    assert drivers["windows_share"] is not None
    assert drivers["windows_share"].change == pytest.approx(-0.1)
    assert drivers["office_attach"] is None and drivers["forecast_attainment"] is None
