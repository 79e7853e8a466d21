"""Usage metrics priced in dollars: unit rates, the detector, linking to the CUR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.anomaly.usage.detector import (
    STEPS_PER_DAY,
    Signal,
    UsageDetector,
    UsageDetectorConfig,
)
from services.anomaly.usage.events import UsageStreamRef, step_time, usage_event
from services.anomaly.usage.grouping import ResourceGroups
from services.anomaly.usage.link import IncidentLinker
from services.anomaly.usage.rates import Rate, UnitRateBook
from shared.events import AnomalyEvent, CostLineItem
from shared.usage_metrics import usage_metric

ACCOUNT = "111122223333"
DAY0 = 20_000  # days since the epoch: a whole number of weeks is not needed


def _line(cost: float, usage: float | None, kind: str = "Usage") -> CostLineItem:
    start = datetime(2026, 7, 1, tzinfo=UTC)
    return CostLineItem(
        id=f"l{cost}{usage}{kind}",
        attempt_id="a",
        delivery_id="d",
        billing_period=start.date(),
        source_format="cur2",
        source_file="f",
        source_row=1,
        usage_start=start,
        usage_end=start + timedelta(hours=1),
        account_id=ACCOUNT,
        service="AmazonEC2",
        usage_type="USW2-NatGateway-Bytes",
        region="us-west-2",
        line_item_type=kind,
        unblended_cost=cost,
        usage_amount=usage,
    )


def test_the_rate_is_the_accounts_cost_over_usage_not_the_list_price() -> None:
    book = UnitRateBook()
    assert book.rate(ACCOUNT, "USW2-NatGateway-Bytes", "us-west-2").source == "catalogue"
    book.learn_line(_line(4.0, 100.0))
    book.learn_line(_line(1.0, 50.0))
    book.learn_line(_line(-3.0, 10.0, "Credit"))  # credits do not teach a rate
    book.learn_line(_line(2.0, None))  # no usage amount: nothing to divide by
    rate = book.rate(ACCOUNT, "NatGateway-Bytes", "us-west-2")
    assert rate.source == "cur"
    assert rate.usd_per_unit == 5.0 / 150.0


def _run(
    det: UsageDetector,
    days: int,
    level: np.ndarray,
    jump_at: int | None = None,
    jump: float = 0.0,
    seed: int = 0,
) -> list:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    signals = []
    rate = np.full(det.n, 0.05)
    for step in range(days * STEPS_PER_DAY):
        x = level * rng.lognormal(0.0, 0.1, det.n)
        if jump_at is not None and step >= jump_at:
            x = x.copy()
            x[0] += jump
        signals += det.observe(DAY0 * STEPS_PER_DAY + step, x, rate)
    return signals


def test_a_runaway_opens_on_its_first_period_priced_and_quiet_streams_stay_quiet() -> None:
    det = UsageDetector(3, UsageDetectorConfig())
    level = np.array([2.0, 2.0, 0.5])  # GB per 5 minutes at $0.05/GB: $28.8/day
    start = 21 * STEPS_PER_DAY + 100
    signals = _run(det, 22, level, jump_at=start, jump=4.0)
    opens = [s for s in signals if s.action == "open"]
    assert [s.stream for s in opens] == [0]
    assert opens[0].step == DAY0 * STEPS_PER_DAY + start  # the first period showing it
    updates = [s for s in signals if s.stream == 0 and s.action == "update"]
    # The priced excess grows at about 4 GB x $0.05 a period.
    assert updates
    assert (
        0.8
        < updates[-1].excess_usd
        / ((updates[-1].step - DAY0 * STEPS_PER_DAY - start + 1) * 4.0 * 0.05)
        < 1.2
    )


def test_the_dollar_floor_keeps_a_tiny_resource_s_doubling_quiet() -> None:
    det = UsageDetector(1, UsageDetectorConfig(min_usd_per_day=25.0))
    start = 21 * STEPS_PER_DAY
    signals = _run(det, 22, np.array([0.01]), jump_at=start, jump=0.02)  # $0.4/day more
    assert not [s for s in signals if s.action == "open"]


def _event(
    kind: str,
    incident: str,
    usage_type: str,
    start: datetime,
    hours: int,
    impact: float,
    estimated: bool,
) -> AnomalyEvent:
    return AnomalyEvent(
        id=f"{incident}-{kind}",
        incident_id=incident,
        action="open",
        kind=kind,  # type: ignore[arg-type]
        series_id="s",
        account_id=ACCOUNT,
        service="AmazonEC2",
        usage_type=usage_type,
        window_start=start,
        window_end=start + timedelta(hours=hours),
        actual=2.0,
        expected=1.0,
        lower=0.0,
        upper=1.5,
        score=0.9,
        severity="high",
        impact_usd=impact,
        detector="d",
        reason="r",
        detected_at=start,
        impact_estimated=estimated,
        impact_rate_source="cur" if estimated else None,
    )


def test_the_cur_confirmation_joins_the_metric_incident_with_its_error() -> None:
    t0 = datetime(2026, 7, 3, 14, tzinfo=UTC)
    linker = IncidentLinker()
    linker.observe_metric(_event("metric", "m1", "USW2-NatGateway-Bytes", t0, 1, 90.0, True))
    day = datetime(2026, 7, 3, tzinfo=UTC)
    cost = _event("cost", "c1", "USW2-NatGateway-Bytes", day, 24, 100.0, False)
    linked = linker.confirm(cost)
    assert linked.incident_id == "m1"
    assert linked.linked_incident_id == "c1"
    assert linked.impact_estimate_error == -0.1
    other = _event("cost", "c2", "USW2-NatGateway-Hours", day, 24, 100.0, False)
    assert linker.confirm(other).incident_id == "c2"  # another usage type: its own incident
    later = _event("cost", "c3", "USW2-NatGateway-Bytes", day + timedelta(days=3), 24, 50.0, False)
    assert linker.confirm(later).incident_id == "c3"  # no overlap in time


def test_a_usage_incident_event_carries_a_labelled_dollar_estimate() -> None:
    spec = usage_metric("AWS/NATGateway", "BytesOutToDestination")
    assert spec is not None
    ref = UsageStreamRef(spec, ACCOUNT, "us-west-2", "nat-0abc", "USW2-NatGateway-Bytes")
    det = UsageDetector(1, UsageDetectorConfig())
    start = 21 * STEPS_PER_DAY
    signals = _run(det, 22, np.array([2.0]), jump_at=start, jump=4.0)
    opened = next(s for s in signals if s.action == "open")
    event = usage_event(ref, opened, Rate(0.05, "catalogue"), 0)
    assert event.kind == "metric"
    assert event.impact_estimated
    assert event.impact_rate_source == "catalogue"
    assert event.impact_usd == pytest.approx(opened.excess_usd, abs=1e-4)
    assert event.impact_usd > 0
    assert "catalogue list price" in event.reason
    assert event.window_start == step_time(DAY0 * STEPS_PER_DAY + start)
    AnomalyEvent.model_validate_json(event.model_dump_json())  # the shared contract


def test_a_resource_s_incident_prices_every_metric_of_its_usage_type() -> None:
    # Two NAT directions of one gateway and one other gateway.
    groups = ResourceGroups([("a", "nat-1", "NatGateway-Bytes")] * 2 + [("a", "nat-2", "X")])
    opened = Signal(0, "open", 10, 9, 3.0, 1.0, 2.0, 0.2, 50.0)
    groups.apply([opened], 10, np.array([0.1, 0.05, 9.0]))
    groups.apply([], 11, np.array([0.1, 0.05, 9.0]))
    (inc,) = groups.incidents
    # The opening backlog (0.2, this period included) + both directions' next period.
    assert inc.excess_usd == pytest.approx(0.2 + 0.05 + 0.15)
    groups.apply([Signal(0, "resolve", 12, 9, 1.0, 1.0, 0.0, 0.0, 0.0)], 12, np.zeros(3))
    assert inc.resolved_step == 12
    assert not groups.open
