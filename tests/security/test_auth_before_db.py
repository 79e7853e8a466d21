"""Authentication before the database: parse first, bounded waits, failed attempts limited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from services.gateway.settings import GatewaySettings
from tests.integration.gateway.helpers import auth, running_gateway

pytestmark = pytest.mark.integration

# Every answer here is immediate or bounded by db_acquire_timeout_s; 10 s only
# absorbs a loaded machine, and without the fixes these requests never answer.
ANSWER_DEADLINE_S = 10.0
BAD_KEY = "ssk_0123456789abcdef_" + "x" * 43


async def test_bad_keys_are_refused_without_a_database_connection(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(
        gateway_db_pool_min=1, gateway_db_pool_max=1, gateway_db_acquire_timeout_s=0.3
    )
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", ["111111111111"])
        async with gw.state.pool.acquire():  # every connection is taken
            async with asyncio.timeout(ANSWER_DEADLINE_S):
                missing = await gw.client.get("/v1/anomalies")
                malformed = await gw.client.get("/v1/anomalies", headers=auth("nope"))
                busy = await gw.client.get("/v1/anomalies", headers=auth(key))
        assert (missing.status_code, malformed.status_code) == (401, 401)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "1"
        assert (await gw.get("/v1/anomalies", key)).status_code == 200


async def test_failed_attempts_are_limited_per_client(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_auth_failure_burst=5, gateway_auth_failure_per_s=0.01)
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", ["111111111111"])
        codes = [
            (await gw.client.get("/v1/anomalies", headers=auth(BAD_KEY))).status_code
            for _ in range(7)
        ]
        assert codes == [401] * 5 + [429] * 2
        locked = await gw.client.get("/v1/anomalies", headers=auth(key))
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) >= 1
        other = httpx.ASGITransport(app=gw.app, client=("10.9.8.7", 4242))
        async with httpx.AsyncClient(transport=other, base_url="http://gateway") as client:
            assert (await client.get("/v1/anomalies", headers=auth(key))).status_code == 200


async def test_a_locked_out_client_is_refused_before_routing(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """Its refusals cost the least: 429 even where routing would have answered 404 or 405."""
    settings = make_settings(gateway_auth_failure_burst=2, gateway_auth_failure_per_s=0.01)
    async with running_gateway(settings) as gw:
        for _ in range(2):
            await gw.client.get("/v1/anomalies", headers=auth(BAD_KEY))
        for method, path in (("GET", "/v1/no-such-route"), ("XFOO", "/v1/anomalies")):
            response = await gw.client.request(method, path, headers=auth(BAD_KEY))
            assert response.status_code == 429, (method, path, response.status_code)
            assert int(response.headers["Retry-After"]) >= 1
        assert (await gw.client.get("/healthz")).status_code == 200
