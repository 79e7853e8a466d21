"""Commitment reports from simulated CUR lines: coverage, utilisation, alerts, purchases.

The simulator applies RIs and Savings Plans to its fleet as AWS does and writes
the CUR lines; the tracker must read back what the simulator knows.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from services.rightsizing.commitments.optimiser import optimise
from services.rightsizing.commitments.tracker import CommitmentTracker
from shared.events import CostLineItem, DeliveryCompleted
from shared.events.commitments import CommitmentAlert, CommitmentReport
from simulator import SimConfig, simulate_organisation
from simulator.commitment_lines import delivery_events
from simulator.commitments import apply_hour, build_world, uncovered_on_demand

APRIL, MAY = 30 * 24, 31 * 24


@pytest.fixture(scope="module")
def world():
    org = simulate_organisation(SimConfig(seed=5, accounts=2, days=40, instances=16))
    return build_world(org.fleet, date(2024, 4, 1), 61, seed=5)


@pytest.fixture(scope="module")
def outputs(world):
    tracker = CommitmentTracker(world.price_table())
    out: dict[str, list] = {}
    for account in sorted({m.account_id for m in world.members}):
        for first, last, attempt in ((0, APRIL, "a-apr"), (APRIL, APRIL + MAY, "a-may")):
            for event in delivery_events(world, account, first, last, f"{attempt}-{account}"):
                out.setdefault(account, []).extend(tracker.on_event(event, 0))
    return out


def _truth_coverage(world, account: str, first: int, last: int) -> tuple[float, float]:
    eligible = covered = 0.0
    sp = 0.0
    for h in range(first, last):
        for line in apply_hour(world, h):
            if world.members[line.group].account_id != account:
                continue
            od = world.on_demand[line.group] * line.amount
            eligible += od
            covered += od if line.kind != "Usage" else 0.0
            sp += od if line.kind == "SavingsPlanCoveredUsage" else 0.0
    return covered / eligible, sp / eligible


def test_coverage_is_what_the_simulator_applied(world, outputs) -> None:
    for account, events in outputs.items():
        report = [e for e in events if isinstance(e, CommitmentReport)][-1]
        coverage, sp = _truth_coverage(world, account, APRIL + MAY - 60 * 24, APRIL + MAY)
        assert report.coverage == pytest.approx(coverage, rel=1e-6)
        assert report.savings_plan_coverage == pytest.approx(sp, rel=1e-6)
        assert 0 < report.coverage <= 1
    first = [e for e in outputs[sorted(outputs)[0]] if isinstance(e, CommitmentReport)][-1]
    assert first.coverage < 1  # partly covered: the rest is what a purchase could cover


def test_the_oversized_plan_and_the_expiring_plan_raise_alerts(world, outputs) -> None:
    accounts = sorted(outputs)
    alerts = {a: [e for e in outputs[a] if isinstance(e, CommitmentAlert)] for a in accounts}
    oversized = [h for h in world.held if h.arn.endswith(alerts[accounts[1]][0].arn[-32:])]
    assert oversized
    assert [x.reason for x in alerts[accounts[1]]].count("low_utilisation") >= 1
    low = next(x for x in alerts[accounts[1]] if x.reason == "low_utilisation")
    assert low.utilisation is not None
    assert low.utilisation < 0.8
    expiring = [x for x in alerts[accounts[0]] if x.reason == "expiring"]
    assert len({x.id for x in expiring}) == 1  # one notice per plan and end, however many reports
    assert expiring[-1].days_left == pytest.approx(12.0)
    reports = [e for e in outputs[accounts[0]] if isinstance(e, CommitmentReport)]
    plan = next(c for c in reports[-1].commitments if c.kind == "savings_plan")
    assert plan.utilisation == pytest.approx(1.0)  # sized below the lowest hour: fully used


def test_the_purchase_is_the_optimum_on_the_uncovered_curve(world, outputs) -> None:
    account = sorted(outputs)[0]
    report = [e for e in outputs[account] if isinstance(e, CommitmentReport)][-1]
    rec = next(
        r for r in report.recommendations
        if r.product == "compute_sp" and r.term_years == 1 and r.lookback_days == 30
    )  # fmt: skip
    left = uncovered_on_demand(world)[:, -30 * 24 :]
    mine = [g for g, m in enumerate(world.members) if m.account_id == account]
    od = (left[mine] * world.on_demand[mine, None]).sum(axis=0)
    committed = (left[mine] * world.sp_rate[1][mine, None]).sum(axis=0)
    truth = optimise(od, committed)
    assert rec.hourly_commitment == pytest.approx(truth.commitment, abs=1e-6)
    assert rec.net_savings == pytest.approx(truth.net_savings, rel=1e-6)
    assert rec.unpriced_on_demand == 0.0
    assert {r.lookback_days for r in report.recommendations} == {7, 30, 60}
    ri = [r for r in report.recommendations if r.product == "standard_ri"]
    assert all(r.quantity and r.quantity >= 1 for r in ri)
    assert any(u.product == "ec2_instance_sp" for u in report.unpriced)


def test_without_rates_nothing_is_recommended_and_the_reason_says_so(world) -> None:
    from shared.ec2_prices import PriceTable

    tracker = CommitmentTracker(PriceTable())
    account = world.members[0].account_id
    out = []
    for event in delivery_events(world, account, 0, APRIL, "a-none"):
        out += tracker.on_event(event, 0)
    report = next(e for e in out if isinstance(e, CommitmentReport))
    assert report.recommendations == []
    assert any("prices refresh" in u.reason for u in report.unpriced)


def test_an_attempt_started_before_the_replica_read_it_is_skipped(world) -> None:
    tracker = CommitmentTracker(world.price_table())
    account = world.members[0].account_id
    events = delivery_events(world, account, 0, 48, "a-late")
    out = []
    for event in events[1:]:  # DeliveryStarted missed
        out += tracker.on_event(event, 0)
    assert out == []
    assert isinstance(events[-1], DeliveryCompleted)
    assert any(isinstance(e, CostLineItem) for e in events)
    assert np.isfinite(world.counts).all()


def test_hostile_costs_give_a_report_not_a_crash(world) -> None:
    """Negative, huge and non-finite costs on commitment lines are left out, never raised on:
    a report that failed validation would stop the consume loop for every account."""
    tracker = CommitmentTracker(world.price_table())
    account = world.members[0].account_id
    events = delivery_events(world, account, 0, 48, "a-hostile")
    bad = {"list_cost": -5.0, "savings_plan_effective_cost": float("nan"),
           "amortized_cost": float("-inf"), "reservation_effective_cost": -1e300,
           "usage_amount": float("inf")}  # fmt: skip
    hostile = [
        e.model_copy(update=bad) if isinstance(e, CostLineItem) and n % 3 == 0 else e
        for n, e in enumerate(events)
    ]
    out = []
    for event in hostile:
        out += tracker.on_event(event, 0)
    report = next(e for e in out if isinstance(e, CommitmentReport))
    assert np.isfinite(report.eligible_on_demand)
    assert 0 <= report.coverage <= 1
    assert all(c.utilisation is None or 0 <= c.utilisation <= 1 for c in report.commitments)


def test_history_is_dated_by_every_billed_hour_not_only_uncovered_ones() -> None:
    """Usage covered for five days, then On-Demand: the 30-day lookback exists (30 days
    billed), though On-Demand hours only span the last 25."""
    from services.rightsizing.commitments.recommend import recommend
    from services.rightsizing.commitments.usage import AccountUsage
    from shared.ec2_prices import PriceTable, Rates

    key = ("us-east-1", "linux", "shared", "m5.large")
    table = PriceTable({key: Rates(on_demand=0.096, compute_sp_1y_no_upfront=0.07)})
    hours = 30 * 24
    usage = AccountUsage(eligible=dict.fromkeys(range(hours), 0.096))
    usage.on_demand[key] = {h: [1.0, 0.096] for h in range(hours - 25 * 24, hours)}
    got = recommend(usage, table, (7, 30, 60), hours - 1)
    assert {r.lookback_days for r in got} == {7, 30}
    thirty = next(r for r in got if r.lookback_days == 30)
    # $0.07/h over 720 h (50.40) replaces 600 h of $0.096 (57.60): 7.20 saved, 25/30 used.
    assert thirty.hourly_commitment == pytest.approx(0.07)
    assert thirty.net_savings == pytest.approx(7.20)
    assert thirty.projected_utilisation == pytest.approx(25 / 30)


def test_projected_coverage_counts_what_is_already_covered() -> None:
    """Half the usage already under a plan; buying the rest projects full coverage."""
    from services.rightsizing.commitments.recommend import recommend
    from services.rightsizing.commitments.usage import AccountUsage
    from shared.ec2_prices import PriceTable, Rates

    key = ("us-east-1", "linux", "shared", "m5.large")
    table = PriceTable({key: Rates(on_demand=0.096, compute_sp_1y_no_upfront=0.07)})
    hours = 7 * 24
    usage = AccountUsage(
        eligible=dict.fromkeys(range(hours), 0.192), sp_covered=dict.fromkeys(range(hours), 0.096)
    )
    usage.on_demand[key] = {h: [1.0, 0.096] for h in range(hours)}
    rec = next(r for r in recommend(usage, table, (7,), hours - 1) if r.term_years == 1)
    assert rec.projected_coverage == pytest.approx(1.0)
    assert rec.projected_utilisation == pytest.approx(1.0)


def test_reserved_instances_keep_the_risk_margin_and_it_can_be_overridden() -> None:
    """Three instances 71% of the hours: the optimum buys 3 RIs, a margin on the last
    RI's use buys fewer, and the shipped margin is the default."""
    from services.rightsizing.commitments.recommend import MIN_MARGINAL_USE, recommend
    from services.rightsizing.commitments.usage import AccountUsage
    from shared.ec2_prices import PriceTable, Rates

    key = ("us-east-1", "linux", "shared", "m5.large")
    table = PriceTable({key: Rates(on_demand=1.0, ri_1y_no_upfront=0.6)})
    pattern = [3.0] * 7 + [2.0, 2.0, 1.0]
    hours = 7 * 24  # 3 instances in 119 of the 168 hours (71%), 2 in 33, 1 in 16
    usage = AccountUsage(eligible=dict.fromkeys(range(hours), 3.0))
    usage.on_demand[key] = {h: [pattern[h % 10], pattern[h % 10]] for h in range(hours)}

    def quantity(floors: dict | None) -> int | None:
        got = recommend(usage, table, (7,), hours - 1, min_marginal_use=floors)
        return next(r.quantity for r in got if r.product == "standard_ri" and r.term_years == 1)

    assert quantity({"standard_ri": 0.0}) == 3
    assert quantity({"standard_ri": 0.75}) == 2
    assert quantity({"standard_ri": 0.95}) == 1
    assert quantity(None) == quantity(MIN_MARGINAL_USE)  # the shipped margin by default
