"""The commitment optimiser on curves whose best commitment can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from services.rightsizing.commitments.optimiser import evaluate, optimise


def test_a_flat_curve_is_covered_entirely() -> None:
    # 4 hours at $10 On-Demand, $7 at the commitment's rate: commit $7/h, save $3 an hour.
    out = optimise(np.full(4, 10.0), np.full(4, 7.0))
    assert out.commitment == pytest.approx(7.0)
    assert out.net_savings == pytest.approx(12.0)
    assert (out.coverage, out.utilisation) == (pytest.approx(1.0), pytest.approx(1.0))
    assert out.break_even_utilisation == pytest.approx(0.7)
    assert out.monthly_savings == pytest.approx(3.0 * 730)


def test_usage_half_the_hours_is_not_worth_committing_to() -> None:
    # Covering the two busy hours at $7/h costs $28 and replaces $20 of On-Demand.
    out = optimise(np.array([10.0, 10.0, 0.0, 0.0]), np.array([7.0, 7.0, 0.0, 0.0]))
    assert out.commitment == 0.0
    assert out.net_savings == 0.0


def test_the_level_where_hours_above_match_the_rate_ratio() -> None:
    # 30% discount. At $3.5/h: covers 4 x $5 = $20 for $14 (saves 6). At $7/h:
    # covers $35 for $28 (saves 7): 3 of 4 hours are above $3.5 and 0.75 >= 0.7.
    od = np.array([10.0, 10.0, 10.0, 5.0])
    out = optimise(od, od * 0.7)
    assert out.commitment == pytest.approx(7.0)
    assert out.net_savings == pytest.approx(7.0)
    assert out.coverage == pytest.approx(35.0 / 35.0)
    assert out.utilisation == pytest.approx((7 * 3 + 3.5) / 28)
    # With a 20% discount the same curve only pays to cover the floor (1/4 < 0.8).
    shallow = optimise(od, od * 0.8)
    assert shallow.commitment == pytest.approx(4.0)
    assert shallow.net_savings == pytest.approx(4 * 5.0 - 16.0)


def test_reserved_instances_come_in_whole_instances() -> None:
    # Instance counts 2, 2, 1, 3 at $1.0 On-Demand, $0.6 reserved: 2 RIs save 7 - 4.8 = 2.2
    # (1 RI saves 4 - 2.4 = 1.6, 3 RIs save 8 - 7.2 = 0.8).
    counts = np.array([2.0, 2.0, 1.0, 3.0])
    out = optimise(counts * 1.0, counts * 0.6, unit=0.6)
    assert round(out.commitment / 0.6) == 2
    assert out.net_savings == pytest.approx(2.2)


def test_hours_without_a_rate_cover_nothing() -> None:
    out = evaluate(5.0, np.array([10.0, 10.0]), np.array([5.0, 0.0]))
    assert out.covered_on_demand == pytest.approx(10.0)
    assert out.net_savings == pytest.approx(0.0)


def test_the_sweep_beats_every_other_level() -> None:
    rng = np.random.default_rng(7)
    od = rng.gamma(2.0, 5.0, 500)
    committed = od * rng.uniform(0.55, 0.75, 500)
    best = optimise(od, committed)
    for level in np.linspace(0.0, committed.max() * 1.1, 400):
        assert evaluate(level, od, committed).net_savings <= best.net_savings + 1e-9


def test_mismatched_or_negative_curves_are_refused() -> None:
    with pytest.raises(ValueError, match="same hours"):
        optimise(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        optimise(np.array([1.0, -1.0]), np.ones(2))


def test_a_marginal_use_floor_stops_at_the_last_ri_busy_often_enough() -> None:
    # Counts: 3 instances 7 of 10 hours, 2 in two, 1 in one; $1 On-Demand, $0.6 reserved.
    # The 3rd RI is used 7/10 hours (saves 7 - 6 = 1 more): the optimum alone buys 3.
    counts = np.array([3.0] * 7 + [2.0, 2.0, 1.0])
    assert round(optimise(counts, counts * 0.6, unit=0.6).commitment / 0.6) == 3
    # Asking that the last RI be used >= 75% of hours stops at 2 (used 9/10) ...
    two = optimise(counts, counts * 0.6, unit=0.6, min_marginal_use=0.75)
    assert round(two.commitment / 0.6) == 2
    assert two.net_savings == pytest.approx(10 + 9 - 12.0)
    # ... and >= 95% at 1 (used every hour), at full utilisation.
    one = optimise(counts, counts * 0.6, unit=0.6, min_marginal_use=0.95)
    assert round(one.commitment / 0.6) == 1
    assert one.utilisation == pytest.approx(1.0)


def test_the_floor_only_caps_the_optimum_never_raises_it() -> None:
    rng = np.random.default_rng(11)
    od = rng.gamma(3.0, 4.0, 400)
    committed = od * 0.72
    bare = optimise(od, committed)
    for q in (0.5, 0.8, 0.9, 0.99):
        got = optimise(od, committed, min_marginal_use=q)
        assert got.commitment <= bare.commitment + 1e-12
        # Every level whose last dollar is used in >= q of the hours saves no more.
        for level in np.linspace(0.0, committed.max(), 300):
            if (committed >= level).mean() >= q:
                assert evaluate(level, od, committed).net_savings <= got.net_savings + 1e-9
        assert (committed >= got.commitment).mean() >= q


def test_a_floor_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        optimise(np.ones(3), np.ones(3), min_marginal_use=1.5)
