"""A detected implementation survives a restart: the next replica measures it from the CUR.

The memo and the implementation live in the instance's state on the
changelog; a replica started after the inventory change (no recommendation
of its own yet) must still measure the realised saving from the next delivery.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta

import pytest

from services.rightsizing.app import RightsizingApp
from shared.events import Recommendation
from shared.events.savings import Implementation
from shared.topics import (
    CUR_LINE_ITEMS,
    IMPLEMENTATIONS,
    INVENTORY_EC2,
    RECOMMENDATIONS,
    ensure_topics,
)
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.gateway.test_savings_proven_end_to_end import (
    ACCOUNT,
    AFTER_HOURLY,
    BEFORE_HOURLY,
    OLD_HOURS,
    delivery,
    publish_before,
)
from tests.integration.rightsizing.test_rightsizing_service import (
    START,
    STARTUP_TIMEOUT_S,
    _settings,
    inventory,
    publish,
    running,
)

pytestmark = pytest.mark.integration


async def test_a_restarted_replica_measures_the_implementation_it_restored(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    service = _settings(kafka_bootstrap, topic_prefix)
    await ensure_topics(service)
    await publish_before(service)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        async with collected(service, IMPLEMENTATIONS) as done:
            async with (
                collected(service, RECOMMENDATIONS) as recs,
                running(RightsizingApp(service, pool)),
            ):

                def billed() -> list[Recommendation]:
                    return [
                        r
                        for r in recs
                        if isinstance(r, Recommendation)
                        and r.options
                        and r.price_basis == "effective_cur"
                    ]

                await wait_for_async(
                    lambda: bool(billed()),
                    timeout=STARTUP_TIMEOUT_S,
                    description="a billed recommendation",
                )
                option = billed()[-1].options[0].instance_type
                moved = inventory("i-big", option).model_copy(
                    update={"id": "inv-moved", "observed_at": START + timedelta(days=2)}
                )
                await publish(service, [(INVENTORY_EC2, moved, "i-big")])
                await wait_for_async(lambda: bool(done), timeout=60, description="detected")
            later = delivery(
                "att-2", OLD_HOURS + [(option, AFTER_HOURLY, h) for h in range(48, 96)]
            )
            await publish(service, [(CUR_LINE_ITEMS, e, ACCOUNT) for e in later])
            async with running(RightsizingApp(service, pool)):

                def measured() -> list[Implementation]:
                    return [
                        e
                        for e in done
                        if isinstance(e, Implementation) and e.realised_monthly_savings is not None
                    ]

                await wait_for_async(
                    lambda: bool(measured()),
                    timeout=STARTUP_TIMEOUT_S,
                    description="measured after the restart",
                )
    finally:
        pool.shutdown(cancel_futures=True)
    [event] = measured()
    assert event.to_type == option
    assert event.realised_monthly_savings == pytest.approx(
        (BEFORE_HOURLY - AFTER_HOURLY) * 730, abs=0.01
    )
