"""A restatement on the bus reaches a subscriber's webhook, late credits included."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest

from devstack.ports import free_port
from services.gateway.alerts.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from services.gateway.settings import GatewaySettings
from shared import topics
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import (
    deliveries,
    publish,
    running_gateway,
    subscribe_webhook,
)
from tests.integration.gateway.receiver import Receiver
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

ACCOUNT = "111111111111"


async def test_restatements_from_kafka_reach_webhooks_by_kind_and_size(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_run_consumer=True, gateway_run_delivery=True)
    everything, big_only = Receiver(free_port()), Receiver(free_port())
    await everything.start()
    await big_only.start()
    try:
        async with running_gateway(settings) as gw:
            key = await gw.tenant("acme", [ACCOUNT])
            sub = await subscribe_webhook(gw, key, everything.port)
            assert sub["sources"] == []  # the default: every kind of alert
            anomalies_only = await subscribe_webhook(gw, key, big_only.port, sources=["anomaly"])
            large = await subscribe_webhook(gw, key, big_only.port, min_impact_usd=200.0)
            credit = f.restatement(ACCOUNT, previous=500.0, new=120.0, day=0)  # -$380, late
            charge = f.restatement(ACCOUNT, "AmazonS3", previous=100.0, new=150.0, day=1)
            await publish(
                settings,
                [(topics.COSTS_RESTATEMENTS.name, e, e.series_id) for e in (credit, charge)],
            )
            await wait_for_async(
                lambda: len(everything.requests) >= 2, timeout=60, description="both delivered"
            )
            await wait_for_async(lambda: big_only.requests, description="the large one delivered")
            listed = (await gw.get("/v1/restatements", key)).json()["items"]
            # Fan-out queued both alerts for every subscription before either was sent.
            never = await deliveries(gw, key, anomalies_only["id"])
            queued_large = await deliveries(gw, key, large["id"])
    finally:
        await everything.stop()
        await big_only.stop()

    assert [r["id"] for r in listed] == [charge.id, credit.id]
    assert never == []  # it asked for anomalies only
    docs = {orjson.loads(r.body)["alert_id"]: orjson.loads(r.body) for r in everything.requests}
    late_credit = docs[credit.id]
    assert (late_credit["source"], late_credit["action"]) == ("restatement", "restated")
    assert (late_credit["service"], late_credit["impact_usd"]) == ("AmazonEC2", 380.0)
    assert late_credit["detail"]["delta"] == -380.0
    assert "credit or refund landed late" in late_credit["title"]
    first = everything.requests[0]
    assert verify(
        sub["secret"],
        int(first.headers[TIMESTAMP_HEADER.lower()]),
        first.headers[EVENT_ID_HEADER.lower()],
        first.body,
        first.headers[SIGNATURE_HEADER.lower()],
        now=int(time.time()),
    )
    assert len(queued_large) == 1  # the $50 charge is below its $200 floor
    assert [orjson.loads(r.body)["alert_id"] for r in big_only.requests] == [credit.id]
