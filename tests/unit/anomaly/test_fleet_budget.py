"""The fleet layer: resource incidents from stream spans, impact, and the alert budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.anomaly.fleet.budget import (
    DECIDE_AFTER,
    AlertBudget,
    BudgetConfig,
    impact_severity,
    impact_usd,
)
from services.anomaly.fleet.resource_incidents import StreamSpan, merge_spans
from services.anomaly.state_codec import METRIC_STATE_TYPES
from shared.state_codec import StateCodec

T0 = datetime(2026, 7, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def test_streams_of_one_host_merge_and_list_the_metrics_that_moved() -> None:
    spans = [
        StreamSpan("i-1|NetworkIn|Sum", T0 + 2 * FIVE, T0 + 8 * FIVE, 0.99),
        StreamSpan("i-1|CPUUtilization|Average", T0, T0 + 4 * FIVE, 1.0),
        StreamSpan("i-1|CPUUtilization|Maximum", T0 + FIVE, T0 + 3 * FIVE, 0.995),
    ]
    (incident,) = merge_spans("i-1", spans)
    assert incident.metrics == ("CPUUtilization", "NetworkIn")
    assert incident.streams == 3
    assert (incident.start, incident.end, incident.score) == (T0, T0 + 8 * FIVE, 1.0)


def test_episodes_further_apart_than_the_gap_stay_separate_whatever_the_input_order() -> None:
    spans = [
        StreamSpan("i-1|CPUUtilization|Average", T0, T0 + FIVE, 1.0),
        StreamSpan("i-1|CPUUtilization|Average", T0 + timedelta(hours=2), T0 + 25 * FIVE, 1.0),
        StreamSpan("i-1|mem_used_percent|Average", T0 + 7 * FIVE, T0 + 8 * FIVE, 1.0),
    ]
    forward = merge_spans("i-1", spans)
    assert merge_spans("i-1", spans[::-1]) == forward
    assert [i.metrics for i in forward] == [
        ("CPUUtilization", "mem_used_percent"),
        ("CPUUtilization",),
    ]


def test_impact_is_instance_time_capped_at_the_decision_point() -> None:
    assert impact_usd(2.0, timedelta(minutes=30), FIVE) == 1.0
    assert impact_usd(2.0, timedelta(hours=5), FIVE) == 2.0 * DECIDE_AFTER / timedelta(hours=1)
    assert impact_usd(1.2, timedelta(0), FIVE) == 0.1  # at least one period
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
    assert [budget.allowance(n) for n in (10, 100, 1000)] == [1, 3, 30]


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
