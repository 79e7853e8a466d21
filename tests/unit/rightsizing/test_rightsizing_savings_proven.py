"""Savings proven: implementation detection from inventory and realised savings arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.rightsizing.billed_rate import BilledRate
from services.rightsizing.savings import (
    HOURS_PER_MONTH,
    ImplementationRecord,
    RecommendationMemo,
    detect,
    hour_of_week,
    hours_per_month,
    measure,
    to_event,
)
from services.rightsizing.sketches import InstanceState, decode_state, encode_state
from shared.events import Ec2Instance

DAY = 86_400
# Monday 2026-06-01 00:00 UTC.
MONDAY = datetime(2026, 6, 1, tzinfo=UTC)
MEMO = RecommendationMemo(
    "rec-1",
    {"m5.large": 70.08, "m5a.large": 75.0},
    run_hours=[d * 24 + h for d in range(5) for h in range(8, 18)],
    schedule_savings=100.0,
    current_monthly_cost=140.16,
    finding="idle",
)


def _inv(itype: str, state: str = "running", at: datetime = MONDAY, deleted: bool = False):
    return Ec2Instance(
        id=f"inv-{itype}-{state}-{at.isoformat()}",
        instance_id="i-1",
        account_id="111111111111",
        region="us-east-1",
        instance_type=itype,
        state=state,
        observed_at=at,
        deleted=deleted,
    )


def _rate(itype: str, hourly: float, first_day: datetime, days: int, hours: float) -> BilledRate:
    start = first_day.timestamp()
    end = start + days * DAY
    return BilledRate(itype, hourly, hourly, 0.0, 0.0, None, end, start, end, hours)


BEFORE = _rate("m5.xlarge", 0.192, MONDAY - timedelta(days=7), 7, 168.0)


def test_monday_midnight_is_hour_zero_of_the_week() -> None:
    assert hour_of_week(MONDAY.timestamp()) == 0
    assert hour_of_week((MONDAY + timedelta(days=6, hours=23)).timestamp()) == 167


def test_a_change_to_a_recommended_type_is_a_type_change_with_its_estimate() -> None:
    record = detect(MEMO, "m5.xlarge", BEFORE, _inv("m5.large"))
    assert record is not None
    assert record.kind == "type_change"
    assert (record.to_type, record.estimated) == ("m5.large", 70.08)
    assert record.before_monthly == pytest.approx(0.192 * HOURS_PER_MONTH)


def test_a_change_to_a_type_not_offered_is_not_an_implementation() -> None:
    assert detect(MEMO, "m5.xlarge", BEFORE, _inv("c5.large")) is None
    assert detect(MEMO, "m5.xlarge", BEFORE, _inv("m5.xlarge")) is None
    assert detect(None, "m5.xlarge", BEFORE, _inv("m5.large")) is None


def test_a_stop_in_the_off_hours_follows_the_schedule_and_one_in_run_hours_does_not() -> None:
    evening = MONDAY + timedelta(hours=19)
    record = detect(MEMO, "m5.xlarge", BEFORE, _inv("m5.xlarge", "stopped", evening))
    assert record is not None
    assert (record.kind, record.estimated) == ("schedule", 100.0)
    noon = MONDAY + timedelta(hours=12)
    assert detect(MEMO, "m5.xlarge", BEFORE, _inv("m5.xlarge", "stopped", noon)) is None


def test_termination_saves_the_whole_billed_cost_at_once() -> None:
    record = detect(MEMO, "m5.xlarge", BEFORE, _inv("m5.xlarge", "terminated"))
    assert record is not None
    assert record.kind == "terminated"
    event = to_event(record, "i-1", "111111111111", "us-east-1", MONDAY)
    assert event.realised_monthly_savings == pytest.approx(0.192 * HOURS_PER_MONTH, abs=1e-3)
    assert event.estimated_monthly_savings == 140.16


def test_terminating_an_instance_not_found_idle_is_not_an_implementation() -> None:
    sized = RecommendationMemo("rec-2", {"m5.large": 70.08}, finding="overprovisioned")
    assert detect(sized, "m5.xlarge", BEFORE, _inv("m5.xlarge", "terminated")) is None


def test_a_rate_billed_after_the_change_gives_the_realised_saving() -> None:
    record = detect(MEMO, "m5.xlarge", BEFORE, _inv("m5.large"))
    assert record is not None
    old_type = _rate("m5.xlarge", 0.192, MONDAY, 3, 72.0)
    assert not measure(record, old_type)  # the old type's hours say nothing about the new
    after = _rate("m5.large", 0.096, MONDAY, 7, 168.0)
    assert measure(record, after)
    event = to_event(record, "i-1", "111111111111", "us-east-1", MONDAY)
    assert event.after_monthly_cost == pytest.approx(0.096 * HOURS_PER_MONTH, abs=1e-3)
    assert event.realised_monthly_savings == pytest.approx(0.096 * HOURS_PER_MONTH, abs=1e-3)
    assert not measure(record, after)  # the same delivery again: nothing new


def test_a_schedule_is_measured_only_on_whole_days_after_the_first_stop() -> None:
    evening = MONDAY + timedelta(hours=19)
    record = detect(MEMO, "m5.xlarge", BEFORE, _inv("m5.xlarge", "stopped", evening))
    assert record is not None
    straddling = _rate("m5.xlarge", 0.192, MONDAY, 7, 120.0)
    assert not measure(record, straddling)
    after = _rate("m5.xlarge", 0.192, MONDAY + timedelta(days=1), 7, 50.0)
    assert measure(record, after)
    # 50 hours in 7 days is 7.14 hours a day, 217.3 of the month's 730.
    assert record.after_monthly == pytest.approx(0.192 * 50 / 7 * HOURS_PER_MONTH / 24)


def test_hours_per_month_is_the_window_duty_cycle() -> None:
    assert hours_per_month(BEFORE) == pytest.approx(HOURS_PER_MONTH)
    half = _rate("m5.xlarge", 0.1, MONDAY, 4, 48.0)
    assert hours_per_month(half) == pytest.approx(HOURS_PER_MONTH / 2)


def test_without_a_billed_rate_before_nothing_is_measured() -> None:
    record = detect(MEMO, "m5.xlarge", None, _inv("m5.large"))
    assert record is not None
    assert record.before_monthly is None
    assert not measure(record, _rate("m5.large", 0.096, MONDAY, 7, 168.0))
    assert to_event(record, "i-1", "a", "r", MONDAY).realised_monthly_savings is None


def test_memo_and_implementation_survive_the_state_codec() -> None:
    state = InstanceState("i-1", instance_type="m5.large", rate=BEFORE, memo=MEMO)
    state.implementation = ImplementationRecord(
        "rec-1", "type_change", "m5.xlarge", "m5.large", MONDAY.timestamp(), 70.08, 0.192, 730.0
    )
    back = decode_state(encode_state(state))
    assert back.memo == MEMO
    assert back.implementation == state.implementation
    assert back.rate == BEFORE


def test_a_weekend_off_instance_shows_its_duty_cycle_over_the_deliverys_last_week() -> None:
    """The window ends where the delivery does, not at the instance's last billed hour."""
    from datetime import date

    from services.rightsizing.rates import RateLearner
    from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted

    common = {
        "attempt_id": "a",
        "delivery_id": "d",
        "billing_period": date(2026, 6, 1),
        "account_id": "111111111111",
    }

    def line(resource: str, h: int) -> CostLineItem:
        at = MONDAY + timedelta(hours=h)
        return CostLineItem(
            id=f"{resource}-{h}",
            **common,
            source_format="cur2",
            source_file="f",
            source_row=h,
            usage_start=at,
            usage_end=at + timedelta(hours=1),
            service="AmazonEC2",
            usage_type="BoxUsage:m5.large",
            resource_id=resource,
            instance_type="m5.large",
            line_item_type="Usage",
            unblended_cost=0.1,
            amortized_cost=0.1,
            list_cost=0.1,
            usage_amount=1.0,
        )

    office = [d * 24 + h for d in range(5) for h in range(8, 18)]
    lines = [line("i-office", h) for h in office] + [line("i-always", h) for h in range(168)]
    learner = RateLearner()
    learner.on_event(
        DeliveryStarted(id="s", **common, source_format="cur2", source_uri="u", started_at=MONDAY),
        0,
    )
    for item in lines:
        learner.on_event(item, 0)
    rates = learner.on_event(
        DeliveryCompleted(
            id="c", **common, row_count=len(lines), cost_total=0.0, completed_at=MONDAY
        ),
        0,
    )
    by_id = {r.resource_id: BilledRate.of(r) for r in rates}
    assert hours_per_month(by_id["i-office"]) == pytest.approx(HOURS_PER_MONTH * 50 / 168)
    assert hours_per_month(by_id["i-always"]) == pytest.approx(HOURS_PER_MONTH)
