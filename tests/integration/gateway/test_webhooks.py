"""Webhooks: a receiver that is down gets the alert once it is back, signed, exactly once."""

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
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import (
    deliveries,
    running_gateway,
    subscribe_webhook,
)
from tests.integration.gateway.receiver import Receiver
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration


async def test_down_receiver_gets_alert_after_retries_with_valid_signature(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(
        gateway_run_delivery=True,
        gateway_webhook_backoff_base_s=0.1,
        gateway_webhook_backoff_max_s=0.3,
    )
    receiver = Receiver(free_port())
    slack = Receiver(free_port())
    await slack.start()
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", ["111111111111"])
        sub = await subscribe_webhook(gw, key, receiver.port)
        slack_sub = await subscribe_webhook(gw, key, slack.port, body_format="slack")
        critical_only = await subscribe_webhook(gw, key, slack.port, min_severity="critical")
        opened = f.anomaly("inc-1")
        await gw.store([opened])

        async def failed_twice() -> bool:
            items = await deliveries(gw, key, sub["id"])
            return bool(items) and int(items[0]["attempts"]) >= 2  # type: ignore[call-overload]  # JSON int

        await wait_for_async(failed_twice, description="two failed attempts")
        await receiver.start()
        try:
            await wait_for_async(lambda: receiver.requests, description="alert delivered")
            # A redelivered batch and a new lifecycle step: only the new step is sent.
            await gw.store([opened, f.anomaly("inc-1", "resolve", 0, minute=5)])
            await wait_for_async(lambda: len(receiver.requests) >= 2, description="resolve sent")
            await wait_for_async(lambda: len(slack.requests) >= 2, description="slack sent")
        finally:
            await receiver.stop()
            await slack.stop()
        log = await deliveries(gw, key, sub["id"])
        assert await deliveries(gw, key, critical_only["id"]) == []

    assert len(receiver.requests) == 2
    first = receiver.requests[0]
    timestamp = int(first.headers[TIMESTAMP_HEADER.lower()])
    signature = first.headers[SIGNATURE_HEADER.lower()]
    event_id = first.headers[EVENT_ID_HEADER.lower()]
    now = int(time.time())
    assert verify(sub["secret"], timestamp, event_id, first.body, signature, now=now)
    assert not verify("wrong-secret", timestamp, event_id, first.body, signature, now=now)
    doc = orjson.loads(first.body)
    assert (doc["event_id"], doc["action"], doc["severity"]) == (opened.id, "open", "high")
    assert doc["detail"]["root_cause"][0]["value"] == "BoxUsage:m5.large"
    assert [orjson.loads(r.body)["action"] for r in receiver.requests] == ["open", "resolve"]

    oldest = log[-1]
    assert oldest["status"] == "delivered"
    attempts = oldest["log"]
    assert isinstance(attempts, list)
    assert len(attempts) >= 3
    assert all(a["error"] for a in attempts[:-1])
    assert attempts[-1]["status_code"] == 204

    slack_doc = orjson.loads(slack.requests[0].body)
    assert set(slack_doc) == {"text", "blocks"}
    assert "anomaly" in slack_doc["text"]
    assert slack_sub["body_format"] == "slack"


async def test_gives_up_after_max_attempts(make_settings: Callable[..., GatewaySettings]) -> None:
    settings = make_settings(
        gateway_run_delivery=True,
        gateway_webhook_backoff_base_s=0.05,
        gateway_webhook_backoff_max_s=0.1,
        gateway_webhook_max_attempts=3,
    )
    receiver = Receiver(free_port(), status=500)
    await receiver.start()
    try:
        async with running_gateway(settings) as gw:
            key = await gw.tenant("acme", ["111111111111"])
            sub = await subscribe_webhook(gw, key, receiver.port)
            await gw.store([f.anomaly("inc-1")])

            async def failed() -> list[dict[str, object]]:
                items = await deliveries(gw, key, sub["id"])
                return [i for i in items if i["status"] == "failed"]

            [delivery] = await wait_for_async(failed, description="delivery given up")
    finally:
        await receiver.stop()
    assert delivery["attempts"] == 3
    assert len(receiver.requests) == 3
    assert delivery["last_status_code"] == 500
