"""The customer's own rate: learned from completed CUR deliveries, used for savings, RI flagged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.rightsizing.billed_rate import BilledRate
from services.rightsizing.catalogue import Catalogue
from services.rightsizing.evaluate import EvaluationConfig, evaluate_fleet
from services.rightsizing.intake import apply_rate
from services.rightsizing.rates import RATE_WINDOW_DAYS, RateLearner
from services.rightsizing.recommender import SizingPolicy, assess_instance
from services.rightsizing.sketches import InstanceState, decode_state, encode_state
from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted
from tests.unit.rightsizing.rightsizing_synth import make_state, noisy

T0 = datetime(2024, 5, 1, tzinfo=UTC)
PERIOD = date(2024, 5, 1)
RI = "arn:aws:ec2:us-east-1:111111111111:reserved-instances/r-1"
SP = "arn:aws:savingsplans::111111111111:savingsplan/sp-1"
NOW = datetime(2026, 1, 19, tzinfo=UTC)


def started(attempt: str, delivery: str = "d-1", account: str = "111111111111") -> DeliveryStarted:
    return DeliveryStarted(
        id=f"s-{attempt}-{account}",
        attempt_id=attempt,
        delivery_id=delivery,
        billing_period=PERIOD,
        account_id=account,
        source_format="cur2",
        source_uri="s3://b/k",
        started_at=T0,
    )


def completed(
    attempt: str, delivery: str = "d-1", account: str = "111111111111"
) -> DeliveryCompleted:
    return DeliveryCompleted(
        id=f"c-{attempt}-{account}",
        attempt_id=attempt,
        delivery_id=delivery,
        billing_period=PERIOD,
        account_id=account,
        row_count=0,
        cost_total=0.0,
        completed_at=T0,
    )


def hour(attempt: str, h: int, effective: float, *, resource: str = "i-1",
         itype: str = "m5.large", kind: str = "Usage", ri: str | None = None,
         sp: str | None = None, usage_type: str = "BoxUsage:m5.large",
         account: str = "111111111111") -> CostLineItem:  # fmt: skip
    start = T0 + timedelta(hours=h)
    return CostLineItem(
        id=f"{attempt}-{account}-{resource}-{h}-{kind}",
        attempt_id=attempt,
        delivery_id="d-1",
        billing_period=PERIOD,
        source_format="cur2",
        source_file="f",
        source_row=h,
        usage_start=start,
        usage_end=start + timedelta(hours=1),
        account_id=account,
        service="AmazonEC2",
        usage_type=usage_type,
        resource_id=resource,
        instance_type=itype,
        line_item_type=kind,
        unblended_cost=0.096,
        amortized_cost=effective,
        list_cost=0.096,
        usage_amount=1.0,
        reservation_arn=ri,
        savings_plan_arn=sp,
    )


def feed(learner: RateLearner, events: list) -> list:
    return [rate for e in events for rate in learner.on_event(e, partition=0)]


def test_a_rate_comes_only_from_a_completed_attempt_with_coverage_shares() -> None:
    learner = RateLearner()
    lines = [hour("a", h, 0.06, kind="DiscountedUsage", ri=RI) for h in range(3)]
    lines.append(hour("a", 3, 0.096))
    lines.append(hour("a", 3, 0.0, kind="SavingsPlanNegation", sp=SP))  # not an instance hour
    lines.append(hour("a", 3, 0.5, usage_type="EBS:VolumeUsage.gp3"))  # not compute
    assert feed(learner, [started("a"), *lines]) == []
    (rate,) = feed(learner, [completed("a")])
    assert rate.resource_id == "i-1"
    assert rate.instance_type == "m5.large"
    assert rate.hours == 4
    assert rate.effective_hourly == pytest.approx((3 * 0.06 + 0.096) / 4)
    assert rate.on_demand_hourly == pytest.approx(0.096)
    assert (rate.reserved_share, rate.savings_plan_share) == (0.75, 0.0)
    assert rate.reservation_arn == RI
    assert rate.savings_plan_arn is None
    assert rate.through == T0 + timedelta(hours=4)
    assert learner.attempts_in_flight == 0


def test_an_attempt_whose_start_was_not_seen_or_was_superseded_yields_nothing() -> None:
    learner = RateLearner()
    # Joined mid-attempt (restart, rebalance): its sums would be short.
    assert feed(learner, [hour("a", 0, 0.06), completed("a")]) == []
    # A newer attempt of the same delivery supersedes one still in flight.
    feed(learner, [started("b"), hour("b", 0, 0.06), started("c"), hour("c", 0, 0.07)])
    assert feed(learner, [completed("b")]) == []
    (rate,) = feed(learner, [completed("c")])
    assert rate.effective_hourly == pytest.approx(0.07)
    # Dropped partitions (revoked, or a batch that failed) forget their sums.
    feed(learner, [started("d"), hour("d", 0, 0.06)])
    learner.drop([0])
    assert feed(learner, [completed("d")]) == []


def test_each_account_of_one_attempt_completes_on_its_own_marker() -> None:
    learner = RateLearner()
    other = "222222222222"
    feed(learner, [started("a"), hour("a", 0, 0.06), started("a", account=other)])
    feed(learner, [hour("a", 0, 0.05, resource="i-2", account=other)])
    (first,) = feed(learner, [completed("a")])
    assert (first.resource_id, first.effective_hourly) == ("i-1", 0.06)
    (second,) = feed(learner, [completed("a", account=other)])
    assert (second.resource_id, second.account_id) == ("i-2", other)


def test_the_rate_covers_the_latest_type_and_the_last_days_billed() -> None:
    learner = RateLearner()
    old_days = [hour("a", h, 0.2, itype="m5.xlarge", usage_type="BoxUsage:m5.xlarge")
                for h in range(24)]  # fmt: skip
    first = 24 * 2
    days = RATE_WINDOW_DAYS + 3
    recent = [
        hour("a", first + 24 * d, 0.096 if d < 3 else 0.06, kind="Usage") for d in range(days)
    ]
    (rate,) = feed(learner, [started("a"), *old_days, *recent, completed("a")])
    assert rate.instance_type == "m5.large"  # resized: the type it runs as now
    assert rate.hours == RATE_WINDOW_DAYS
    assert rate.effective_hourly == pytest.approx(0.06)  # older, pricier days fell out


def test_the_state_keeps_the_latest_billed_rate_through_its_codec() -> None:
    learner = RateLearner()
    (may,) = feed(learner, [started("a"), hour("a", 30 * 24, 0.06, ri=RI), completed("a")])
    (april,) = feed(learner, [started("b", "d-0"), hour("b", 0, 0.096), completed("b", "d-0")])
    state = InstanceState("i-1")
    assert apply_rate(state, may)
    assert not apply_rate(state, april)  # an older month redelivered never wins
    assert not apply_rate(state, may)  # nothing changed
    assert decode_state(encode_state(state)).rate == state.rate == BilledRate.of(may)
    assert decode_state(encode_state(InstanceState("i-2"))).rate is None


def _rate(itype: str, effective: float, on_demand: float, *, ri: float = 0.0,
          sp: float = 0.0) -> BilledRate:  # fmt: skip
    return BilledRate(itype, effective, on_demand, ri, sp, RI if ri else None, 0.0)


def assess(catalogue: Catalogue, state: InstanceState, rate: BilledRate | None):
    policy = SizingPolicy()
    return assess_instance(
        state.window(policy.lookback_days),
        catalogue.get(state.instance_type),
        state.region,
        catalogue,
        policy,
        rate=rate,
    )


def test_savings_use_the_effective_rate_and_say_so(catalogue: Catalogue) -> None:
    state = make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0, seed=3))
    listed = assess(catalogue, state, None)
    assert listed.price_basis == "on_demand_list"
    assert listed.finding == "overprovisioned"
    list_hourly = catalogue.get("m5.2xlarge").price("us-east-1")
    covered = _rate("m5.2xlarge", 0.7 * list_hourly, list_hourly, sp=1.0)
    a = assess(catalogue, state, covered)
    assert a.price_basis == "effective_cur"
    assert a.current_monthly_cost == pytest.approx(0.7 * list_hourly * 730)
    assert [o.itype.name for o in a.options] == [o.itype.name for o in listed.options]
    assert a.estimated_monthly_savings == pytest.approx(0.7 * listed.estimated_monthly_savings)
    assert a.options[0].monthly_cost == pytest.approx(0.7 * listed.options[0].monthly_cost)
    assert any("effective rate on the bill" in n and "100% Savings Plan" in n for n in a.notes)
    assert a.reservation_at_risk is None  # a Savings Plan follows usage to any size
    # A rate learned for the type before a resize is not this type's rate.
    assert assess(catalogue, state, _rate("m5.4xlarge", 0.1, 0.768)).price_basis == (
        "on_demand_list"
    )


def test_a_downsize_or_stop_of_an_ri_covered_instance_is_flagged(catalogue: Catalogue) -> None:
    list_hourly = catalogue.get("m5.2xlarge").price("us-east-1")
    rate = _rate("m5.2xlarge", 0.6 * list_hourly, list_hourly, ri=1.0)
    down = assess(catalogue, make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0)), rate)
    assert down.finding == "overprovisioned"
    assert down.reservation_at_risk == RI
    assert any(f"Reserved Instance {RI}" in n and "unused" in n for n in down.notes)
    idle = assess(catalogue, make_state("i", "m5.2xlarge", noisy(1.0), net_bytes_per_step=1), rate)
    assert idle.finding == "idle"
    assert idle.reservation_at_risk == RI
    assert idle.estimated_monthly_savings == pytest.approx(0.6 * list_hourly * 730)


def test_the_recommendation_names_the_rate_and_the_ri(catalogue: Catalogue) -> None:
    state = make_state("i-9", "m5.2xlarge", noisy(12.0), mem=noisy(20.0, seed=3))
    state.account_id, state.region = "111111111111", "us-east-1"
    list_hourly = catalogue.get("m5.2xlarge").price("us-east-1")
    (plain,) = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)
    state.rate = _rate("m5.2xlarge", 0.6 * list_hourly, list_hourly, ri=1.0)
    (priced,) = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)
    before, after = plain.recommendation(), priced.recommendation()
    assert before is not None
    assert after is not None
    assert (before.price_basis, before.reservation_at_risk) == ("on_demand_list", None)
    assert (after.price_basis, after.reservation_at_risk) == ("effective_cur", RI)
    assert plain.digest != priced.digest
    assert "effective rate on the bill" in after.reason
    assert RI in after.reason
