"""The fleet layer: resource incidents from stream spans, impact, and the alert budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.anomaly.fleet.budget import AlertBudget, BudgetConfig, impact_severity
from services.anomaly.state_codec import METRIC_STATE_TYPES
from shared.state_codec import StateCodec

T0 = datetime(2026, 7, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def test_severity_follows_the_dollar_impact() -> None:
    assert [impact_severity(u) for u in (0.5, 1.0, 7.0)] == ["low", "medium", "high"]


def test_budget_ranks_within_a_day_and_every_incident_gets_a_decision() -> None:
    budget = AlertBudget(BudgetConfig(alerts_per_100_per_day=2.0, min_impact_usd=0.5))
    hours_usd = [(0, 0.2), (1, 4.0), (2, 1.0), (3, 9.0), (4, 0.6), (26, 0.7)]
    decisions = [budget.admit(T0 + timedelta(hours=h), u, fleet_size=100) for h, u in hours_usd]
    assert [d.notify for d in decisions] == [False, True, True, False, False, True]
    reasons = [d.suppressed_reason or "" for d in decisions]
    assert "floor" in reasons[0]
    assert "2 of 2 sent" in reasons[3]
    assert all(d.notify or d.suppressed_reason for d in decisions)


def test_allowance_scales_with_the_fleet_and_never_reaches_zero() -> None:
    budget = AlertBudget(BudgetConfig(alerts_per_100_per_day=3.0))
    assert budget.allowance(100)[1:] == (3, 21)
    assert budget.allowance(1000)[1:] == (30, 210)
    # 10 resources at 3 per 100 a day: 0.3 a day, at most one a day, three saved up
    assert budget.allowance(10) == pytest.approx((0.3, 1, 3))
    assert budget.allowance(10)[1:] == (1, 3)
    assert budget.allowance(2)[1:] == (1, 1)


def test_a_small_partition_spends_what_it_saved_where_the_incidents_are() -> None:
    """0.3 a day: a Monday alert does not hide a bigger Wednesday one; the bucket then waits."""
    budget = AlertBudget(BudgetConfig(alerts_per_100_per_day=3.0, min_impact_usd=0.1))
    days_usd = [(0, 0.2), (2, 0.5), (3, 0.9), (4, 0.8), (5.5, 0.3), (9.5, 0.3)]
    decided = [budget.admit(T0 + timedelta(days=d), u, fleet_size=10) for d, u in days_usd]
    assert [d.notify for d in decided] == [True, True, True, True, False, True]
    assert "alerts left" in (decided[4].suppressed_reason or "")


def test_the_long_run_rate_is_the_configured_one() -> None:
    rng = random.Random(11)
    budget = AlertBudget(BudgetConfig(alerts_per_100_per_day=3.0, min_impact_usd=0.0))
    sent: list[datetime] = []
    at = T0
    for _ in range(3000):
        at += timedelta(minutes=rng.randint(1, 240))
        if budget.admit(at, rng.expovariate(1.0), fleet_size=30).notify:
            sent.append(at)
    assert sent
    days = (at - T0) / timedelta(days=1)
    # 0.9 a day; at most the bucket's 7 saved up on top of the rate over the run
    assert len(sent) <= 0.9 * days + 7
    for i, t in enumerate(sent):
        assert len([s for s in sent[: i + 1] if s > t - timedelta(days=1)]) <= 1


def test_no_trailing_day_ever_sends_more_than_the_allowance() -> None:
    rng = random.Random(7)
    budget = AlertBudget(BudgetConfig(alerts_per_100_per_day=3.0, min_impact_usd=0.0))
    sent: list[datetime] = []
    at = T0
    for _ in range(2000):
        at += timedelta(minutes=rng.randint(1, 120))
        if budget.admit(at, rng.expovariate(1.0), fleet_size=200).notify:
            sent.append(at)
    assert sent
    for i, t in enumerate(sent):
        in_day = [s for s in sent[: i + 1] if s > t - timedelta(days=1)]
        assert len(in_day) <= 6


def test_replaying_the_same_incidents_from_a_restored_budget_decides_the_same() -> None:
    codec = StateCodec(METRIC_STATE_TYPES)  # the service's allow-list
    rng = random.Random(3)
    seq = [(T0 + timedelta(minutes=37 * i), rng.expovariate(0.5)) for i in range(300)]
    whole = AlertBudget()
    expected = [whole.admit(t, u, 150).notify for t, u in seq]
    first = AlertBudget()
    head = [first.admit(t, u, 150).notify for t, u in seq[:120]]
    restored = codec.decode(codec.encode(first))
    assert isinstance(restored, AlertBudget)
    tail = [restored.admit(t, u, 150).notify for t, u in seq[120:]]
    assert head + tail == expected
