"""Savings proven on the embedded stack: an inventory change, then a later CUR delivery, to REST.

The real rightsizing service recommends a smaller type for an over-provisioned
instance billed (CUR) at its On-Demand rate; inventory then shows the instance
on the first option, which the service publishes as an implementation with
its estimate; a later delivery bills the new type, and the realised monthly
saving reaches the gateway, served only to the tenant owning the account.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

import pytest

from services.gateway.settings import GatewaySettings
from services.rightsizing.app import RightsizingApp
from services.rightsizing.settings import RightsizingSettings
from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted, Event, Recommendation
from shared.events.savings import Implementation
from shared.topics import (
    CLOUDWATCH_DATAPOINTS,
    CUR_LINE_ITEMS,
    IMPLEMENTATIONS,
    INVENTORY_EC2,
    RECOMMENDATIONS,
    ensure_topics,
)
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import running_gateway
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

ACCOUNT = "111122223333"  # the rightsizing harness's inventory account
OTHER = "999988887777"
BEFORE_HOURLY = 0.384  # m5.2xlarge us-east-1 Linux On-Demand
AFTER_HOURLY = 0.192
# The first day, billed at the old type.
OLD_HOURS = [("m5.2xlarge", BEFORE_HOURLY, h) for h in range(24)]


def delivery(attempt: str, lines: list[tuple[str, float, int]]) -> list[Event]:
    """One completed CUR attempt: (type, effective hourly, hour from START) instance hours."""
    common = {
        "attempt_id": attempt,
        "delivery_id": "dlv",
        "billing_period": date(2026, 1, 1),
        "account_id": ACCOUNT,
    }
    items = [
        CostLineItem(
            id=f"{attempt}-{itype}-{h}",
            **common,
            source_format="cur2",
            source_file="part-0.parquet",
            source_row=n,
            usage_start=START + timedelta(hours=h),
            usage_end=START + timedelta(hours=h + 1),
            service="AmazonEC2",
            usage_type=f"BoxUsage:{itype}",
            resource_id="i-big",
            instance_type=itype,
            line_item_type="Usage",
            unblended_cost=hourly,
            amortized_cost=hourly,
            list_cost=hourly,
            usage_amount=1.0,
        )
        for n, (itype, hourly, h) in enumerate(lines)
    ]
    return [
        DeliveryStarted(
            id=f"s-{attempt}",
            **common,
            source_format="cur2",
            source_uri="s3://b/k",
            started_at=START,
        ),
        *items,
        DeliveryCompleted(
            id=f"c-{attempt}", **common, row_count=len(items), cost_total=0.0, completed_at=START
        ),
    ]


async def publish_before(service: RightsizingSettings) -> None:
    """The over-provisioned m5.2xlarge before its change: inventory, idle CPU, one day billed."""
    await publish(
        service,
        [
            (INVENTORY_EC2, inventory("i-big", "m5.2xlarge"), "i-big"),
            *with_key(CLOUDWATCH_DATAPOINTS, points("i-big", 12.0, 2)),
            *((CUR_LINE_ITEMS, e, ACCOUNT) for e in delivery("att-1", OLD_HOURS)),
        ],
    )


async def test_an_implemented_recommendation_and_its_billed_saving_reach_rest(
    make_settings: Callable[..., GatewaySettings], kafka_bootstrap: str, topic_prefix: str
) -> None:
    service = _settings(kafka_bootstrap, topic_prefix)
    await ensure_topics(service)
    await publish_before(service)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        async with running_gateway(make_settings(gateway_run_consumer=True)) as gw:
            acme = await gw.tenant("acme", [ACCOUNT])
            globex = await gw.tenant("globex", [OTHER])
            async with (
                collected(service, RECOMMENDATIONS) as recs,
                collected(service, IMPLEMENTATIONS) as done,
                running(RightsizingApp(service, pool)),
            ):

                def billed_recommendation() -> Recommendation | None:
                    found = [r for r in recs if isinstance(r, Recommendation) and r.options]
                    found = [r for r in found if r.price_basis == "effective_cur"]
                    return found[-1] if found else None

                await wait_for_async(
                    lambda: billed_recommendation() is not None,
                    timeout=STARTUP_TIMEOUT_S,
                    description="a recommendation priced at the billed rate",
                )
                rec = billed_recommendation()
                assert rec is not None
                option = rec.options[0]
                moved = inventory("i-big", option.instance_type).model_copy(
                    update={"id": "inv-moved", "observed_at": START + timedelta(days=2)}
                )
                await publish(service, [(INVENTORY_EC2, moved, "i-big")])

                async def detected() -> bool:
                    items = (await gw.get("/v1/savings/realised", acme)).json()["items"]
                    return bool(items)

                await wait_for_async(detected, timeout=60, description="implementation served")
                pending = (await gw.get("/v1/savings/realised", acme)).json()["items"][0]
                new_hours = [(option.instance_type, AFTER_HOURLY, h) for h in range(48, 96)]
                later = delivery("att-2", OLD_HOURS + new_hours)
                await publish(service, [(CUR_LINE_ITEMS, e, ACCOUNT) for e in later])

                async def measured() -> bool:
                    items = (await gw.get("/v1/savings/realised", acme)).json()["items"]
                    return bool(items) and items[0]["realised_monthly_savings"] is not None

                await wait_for_async(measured, timeout=60, description="realised saving served")
            mine = (await gw.get("/v1/savings/realised", acme)).json()["items"]
            totals = (await gw.get("/v1/savings/realised/totals", acme)).json()
            theirs = (await gw.get("/v1/savings/realised", globex)).json()["items"]
            their_totals = (await gw.get("/v1/savings/realised/totals", globex)).json()
    finally:
        pool.shutdown(cancel_futures=True)

    assert pending["kind"] == "type_change"
    assert pending["realised_monthly_savings"] is None
    assert pending["before_monthly_cost"] == pytest.approx(BEFORE_HOURLY * 730, abs=0.01)
    [row] = mine
    assert (row["recommendation_id"], row["to_type"]) == (rec.id, option.instance_type)
    assert row["estimated_monthly_savings"] == pytest.approx(option.monthly_savings, abs=1e-3)
    assert row["after_monthly_cost"] == pytest.approx(AFTER_HOURLY * 730, abs=0.01)
    want = (BEFORE_HOURLY - AFTER_HOURLY) * 730
    assert row["realised_monthly_savings"] == pytest.approx(want, abs=0.01)
    assert totals["implemented"] == totals["measured"] == 1
    assert totals["realised_monthly_savings"] == pytest.approx(want, abs=0.01)
    published = [e for e in done if isinstance(e, Implementation)]
    assert [e.realised_monthly_savings is None for e in published] == [True, False]
    assert theirs == []
    assert their_totals["implemented"] == 0
