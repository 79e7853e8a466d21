"""Quotas per tenant: budgets and subscriptions are counted, feedback is rate-limited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from services.gateway.settings import GatewaySettings
from tests.integration.gateway.helpers import auth, running_gateway
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
A1, B1 = "111111111111", "333333333333"
BUDGET = {"name": "all", "scope": "tenant", "amount_usd": 10}
HOOK = {"name": "h", "channel": "webhook", "url": "https://93.184.215.14/hook"}


async def test_budgets_and_subscriptions_are_capped_per_tenant(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(
        gateway_budgets_max_per_tenant=2, gateway_subscriptions_max_per_tenant=2
    )
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", [A1])
        other = await gw.tenant("globex", [B1])
        for path, body in (("/v1/budgets", BUDGET), ("/v1/subscriptions", HOOK)):
            # Concurrent creates: the count is taken under a lock, so exactly two succeed.
            codes = await asyncio.gather(
                *(gw.client.post(path, json=body, headers=auth(key)) for _ in range(4))
            )
            assert sorted(r.status_code for r in codes) == [201, 201, 409, 409], path
            assert "delete one first" in next(r for r in codes if r.status_code == 409).text
            theirs = await gw.client.post(path, json=body, headers=auth(other))
            assert theirs.status_code == 201
            first = next(r for r in codes if r.status_code == 201).json()["id"]
            assert (await gw.client.delete(f"{path}/{first}", headers=auth(key))).status_code == 204
            again = await gw.client.post(path, json=body, headers=auth(key))
            assert again.status_code == 201


async def test_feedback_is_rate_limited_per_tenant(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_feedback_burst=3, gateway_feedback_per_s=0.01)
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", [A1])
        other = await gw.tenant("globex", [B1])
        await gw.store([f.anomaly("inc-a", account=A1), f.anomaly("inc-b", account=B1)])
        verdict = {"verdict": "false_positive"}
        codes = [
            (
                await gw.client.post(
                    "/v1/anomalies/inc-a/feedback", json=verdict, headers=auth(key)
                )
            ).status_code
            for _ in range(5)
        ]
        assert codes == [202, 202, 202, 429, 429]
        theirs = await gw.client.post(
            "/v1/anomalies/inc-b/feedback", json=verdict, headers=auth(other)
        )
        assert theirs.status_code == 202


async def test_more_keys_buy_a_tenant_no_more_requests(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """Each key is under its own limit, the tenant over its: 429; another tenant is untouched."""
    settings = make_settings(
        gateway_rate_limit_per_s=0.001,
        gateway_rate_limit_burst=5,
        gateway_tenant_rate_limit_per_s=0.001,
        gateway_tenant_rate_limit_burst=8,
    )
    async with running_gateway(settings) as gw:
        keys = [await gw.tenant("acme", [A1])] + [await gw.key("acme", "read") for _ in range(3)]
        other = await gw.tenant("globex", [B1])
        codes = [
            (await gw.client.get("/v1/anomalies", headers=auth(k))).status_code
            for k in keys
            for _ in range(3)
        ]
        assert codes.count(200) == 8, codes
        assert codes[8:] == [429] * 4, codes
        refused = await gw.client.get("/v1/anomalies", headers=auth(keys[-1]))
        assert "for the tenant's keys" in refused.text
        assert (await gw.client.get("/v1/anomalies", headers=auth(other))).status_code == 200
