"""On a real broker: CUR deliveries set each instance's billed rate; savings and RI flags follow."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

import pytest

from services.rightsizing.app import RightsizingApp
from shared.events import (
    CostLineItem,
    DeliveryCompleted,
    DeliveryStarted,
    Event,
    InstanceRate,
    Recommendation,
)
from shared.topics import (
    CLOUDWATCH_DATAPOINTS,
    CUR_LINE_ITEMS,
    INSTANCE_RATES,
    INVENTORY_EC2,
    RECOMMENDATIONS,
    Topic,
    ensure_topics,
)
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.rightsizing.test_rightsizing_service import (
    START,
    STARTUP_TIMEOUT_S,
    _settings,
    inventory,
    points,
    publish,
    running,
    with_key,
)

pytestmark = pytest.mark.integration

ACCOUNT = "111122223333"
RI = f"arn:aws:ec2:us-east-1:{ACCOUNT}:reserved-instances/r-1"
SP = f"arn:aws:savingsplans::{ACCOUNT}:savingsplan/sp-1"
M5_2XL = 0.384  # us-east-1 Linux On-Demand


def marker(kind: type[DeliveryStarted] | type[DeliveryCompleted], attempt: str) -> Event:
    common = {"id": f"{kind.__name__}-{attempt}", "attempt_id": attempt, "delivery_id": "dlv",
              "billing_period": date(2026, 1, 1), "account_id": ACCOUNT}  # fmt: skip
    if kind is DeliveryStarted:
        return DeliveryStarted(
            **common, source_format="cur2", source_uri="s3://b/k", started_at=START
        )
    return DeliveryCompleted(**common, row_count=0, cost_total=0.0, completed_at=START)


def hours(attempt: str, resource: str, effective: float, kind: str, **arns: str) -> list[Event]:
    return [
        CostLineItem(
            id=f"{attempt}-{resource}-{h}",
            attempt_id=attempt,
            delivery_id="dlv",
            billing_period=date(2026, 1, 1),
            source_format="cur2",
            source_file="part-0.parquet",
            source_row=h,
            usage_start=START + timedelta(hours=h),
            usage_end=START + timedelta(hours=h + 1),
            account_id=ACCOUNT,
            service="AmazonEC2",
            usage_type="BoxUsage:m5.2xlarge",
            resource_id=resource,
            instance_type="m5.2xlarge",
            line_item_type=kind,
            unblended_cost=M5_2XL,
            amortized_cost=effective,
            list_cost=M5_2XL,
            usage_amount=1.0,
            **arns,
        )
        for h in range(24)
    ]


def on_cur(events: list[Event]) -> list[tuple[Topic, Event, str]]:
    return [(CUR_LINE_ITEMS, e, ACCOUNT) for e in events]


async def test_cur_rates_reprice_savings_and_flag_the_ri(kafka_bootstrap, topic_prefix):
    settings = _settings(kafka_bootstrap, topic_prefix)
    await ensure_topics(settings)
    instances = ("i-ri", "i-sp", "i-late")
    await publish(
        settings,
        [
            *((INVENTORY_EC2, inventory(i, "m5.2xlarge"), i) for i in instances),
            *(
                e
                for n, i in enumerate(instances)
                for e in with_key(CLOUDWATCH_DATAPOINTS, points(i, 12.0, 2, seed=n))
            ),
            # An attempt whose start this replica never saw: its sums would be short.
            *on_cur(hours("att-0", "i-late", 0.01, "Usage")),
            *on_cur([marker(DeliveryCompleted, "att-0"), marker(DeliveryStarted, "att-1")]),
            *on_cur(hours("att-1", "i-ri", 0.23, "DiscountedUsage", reservation_arn=RI)),
            *on_cur(hours("att-1", "i-sp", 0.27, "SavingsPlanCoveredUsage", savings_plan_arn=SP)),
            *on_cur([marker(DeliveryCompleted, "att-1")]),
        ],
    )
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        async with (
            collected(settings, RECOMMENDATIONS) as recs,
            collected(settings, INSTANCE_RATES) as rates,
            running(RightsizingApp(settings, pool)),
        ):

            def latest() -> dict[str, Recommendation]:
                return {r.resource_id: r for r in recs if isinstance(r, Recommendation)}

            def repriced() -> bool:
                found = latest()
                return all(
                    i in found and found[i].finding == "overprovisioned" for i in instances
                ) and all(found[i].price_basis == "effective_cur" for i in ("i-ri", "i-sp"))

            await wait_for_async(
                repriced, timeout=STARTUP_TIMEOUT_S, description="RI and SP instances repriced"
            )
        found = latest()
        assert {r.resource_id for r in rates if isinstance(r, InstanceRate)} == {"i-ri", "i-sp"}
        assert found["i-ri"].reservation_at_risk == RI
        assert RI in found["i-ri"].reason
        assert found["i-sp"].reservation_at_risk is None
        assert found["i-sp"].current_monthly_cost == pytest.approx(0.27 * 730, abs=0.01)
        assert found["i-late"].price_basis == "on_demand_list"
        listed = found["i-late"].estimated_monthly_savings
        assert found["i-sp"].estimated_monthly_savings == pytest.approx(
            listed * 0.27 / M5_2XL, abs=0.02
        )
    finally:
        pool.shutdown(cancel_futures=True)
