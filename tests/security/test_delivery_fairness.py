"""Slow receivers stall only their own tenant: per-delivery deadline, per-tenant share."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devstack.ports import free_port
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import auth, running_gateway
from tests.security.conftest import LOOPBACK_RECEIVERS
from tests.security.receivers import HostileReceiver
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

SLOW, FAST = "111111111111", "222222222222"
# The slow receiver answers long after the delivery deadline, so each of its sends
# holds a slot for the whole deadline.
DEADLINE_S = 4.0
STALL_S = 8.0


async def test_a_slow_tenant_does_not_delay_another_tenants_alert(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    slow = HostileReceiver(free_port(), delay_s=STALL_S)
    fast = HostileReceiver(free_port())
    await slow.start()
    await fast.start()
    settings = make_settings(
        gateway_run_delivery=True,
        gateway_delivery_batch=4,
        gateway_delivery_per_tenant=2,
        gateway_webhook_timeout_s=DEADLINE_S,
        gateway_webhook_backoff_base_s=60.0,
        **LOOPBACK_RECEIVERS,
    )
    try:
        async with running_gateway(settings) as gw:
            for name, account, receiver in (("slow", SLOW, slow), ("fast", FAST, fast)):
                key = await gw.tenant(name, [account])
                hook = {"name": name, "channel": "webhook", "url": receiver.url}
                created = await gw.client.post("/v1/subscriptions", json=hook, headers=auth(key))
                assert created.status_code == 201, created.text
            await gw.store([f.anomaly(f"slow-{i}", account=SLOW, minute=i) for i in range(8)])
            await wait_for_async(lambda: slow.requests, description="slow receiver stalling")
            await gw.store([f.anomaly("fast-1", account=FAST, minute=30)])
            await wait_for_async(lambda: fast.requests, description="fast tenant's alert")
            async with gw.state.pool.acquire() as conn:
                slow_attempts = await conn.fetchval(
                    "SELECT count(*) FROM delivery_attempts a "
                    "JOIN deliveries d ON d.id = a.delivery_id "
                    "JOIN subscriptions s ON s.id = d.subscription_id WHERE s.name = 'slow'"
                )
    finally:
        await fast.stop()
        await slow.stop()
    # The fast tenant's alert arrived while the slow tenant's first sends were still
    # waiting out their deadline, and the slow tenant never held more than its share.
    assert slow_attempts == 0
    assert len(slow.requests) <= 2
