"""Streams: capped per key, revoked keys and removed accounts stop, empty filters progress."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.gateway.api import streams
from services.gateway.api.deps import Principal
from services.gateway.api.state import GatewayState
from services.gateway.app import create_app
from services.gateway.repositories import alerts as alerts_repo
from services.gateway.repositories import ingest, tenants
from services.gateway.settings import GatewaySettings
from shared.events import Event
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import RunningGateway, auth, served
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
A1, A2, B1 = "111111111111", "222222222222", "333333333333"
# Streams end within one re-check; the test waits this long before calling it a hang.
END_WITHIN_S = 15.0


async def _store(state: GatewayState, events: list[Event]) -> None:
    async with state.pool.acquire() as conn:
        await ingest.store(conn, [(e, "n/a") for e in events])


async def _tenant(state: GatewayState, name: str, accounts: list[str]) -> str:
    async with state.pool.acquire() as conn:
        await tenants.create_tenant(conn, name, accounts)
        return (await tenants.create_key(conn, name, "read")).token


async def test_streams_per_key_are_capped(make_settings: Callable[..., GatewaySettings]) -> None:
    app = create_app(make_settings(gateway_stream_max_per_key=2))
    async with served(app) as host, httpx.AsyncClient(timeout=30) as client:
        key = await _tenant(app.state.gateway, "acme", [A1])
        other = await _tenant(app.state.gateway, "globex", [B1])
        url = f"http://{host}/v1/alerts/stream"
        async with (
            client.stream("GET", url, headers=auth(key)) as one,
            client.stream("GET", url, headers=auth(key)) as two,
        ):
            assert (one.status_code, two.status_code) == (200, 200)
            third = await client.get(url, headers=auth(key))
            assert third.status_code == 429
            assert "Retry-After" in third.headers
            async with client.stream("GET", url, headers=auth(other)) as theirs:
                assert theirs.status_code == 200
            uri = f"ws://{host}/v1/alerts/ws"
            async with connect(uri, additional_headers=auth(key)) as ws:
                assert await _close_code(ws) == 4429

        async def reopens() -> bool:
            async with client.stream("GET", url, headers=auth(key)) as again:
                return again.status_code == 200

        await wait_for_async(reopens, description="a slot freed by a closed stream")


async def test_a_revoked_key_stops_streaming(make_settings: Callable[..., GatewaySettings]) -> None:
    app = create_app(make_settings(gateway_stream_recheck_s=0.1))
    async with served(app) as host, httpx.AsyncClient(timeout=30) as client:
        state: GatewayState = app.state.gateway
        key = await _tenant(state, "acme", [A1])
        await _store(state, [f.anomaly("inc-0")])
        seen = []
        async with asyncio.timeout(END_WITHIN_S):
            url = f"http://{host}/v1/alerts/stream"
            async with aconnect_sse(client, "GET", url, headers=auth(key)) as source:
                async for sse in source.aiter_sse():
                    seen.append(sse.id)
                    async with state.pool.acquire() as conn:
                        await tenants.revoke_key(conn, key.split("_")[1])
            # the loop ends: the server closed the stream after revocation
            uri = f"ws://{host}/v1/alerts/ws"
            key2 = await _key(state, "acme")
            async with connect(uri, additional_headers=auth(key2)) as ws:
                await ws.recv()
                async with state.pool.acquire() as conn:
                    await tenants.revoke_key(conn, key2.split("_")[1])
                code = await _close_code(ws)
        assert seen == [seen[0]]
        assert code == 4401


async def _close_code(ws: ClientConnection) -> int | None:
    """Read until the server closes; its close code."""
    try:
        while True:
            await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def _key(state: GatewayState, tenant: str) -> str:
    async with state.pool.acquire() as conn:
        return (await tenants.create_key(conn, tenant, "read")).token


async def test_a_removed_account_stops_streaming(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    app = create_app(make_settings(gateway_stream_recheck_s=0.0))
    async with served(app) as host, httpx.AsyncClient(timeout=30) as client:
        state: GatewayState = app.state.gateway
        key = await _tenant(state, "acme", [A1, A2])
        await _store(state, [f.anomaly("before", account=A2)])
        received: list[str] = []
        async with asyncio.timeout(END_WITHIN_S):
            url = f"http://{host}/v1/alerts/stream"
            async with aconnect_sse(client, "GET", url, headers=auth(key)) as source:
                async for sse in source.aiter_sse():
                    received.append(orjson.loads(sse.data)["alert_id"])
                    if received[-1] == "before":
                        async with state.pool.acquire() as conn:
                            await conn.execute(
                                "DELETE FROM tenant_accounts WHERE account_id = $1", A2
                            )
                        await _store(state, [f.anomaly("marker-1", account=A1, minute=1)])
                    elif received[-1] == "marker-1":
                        await _store(state, [f.anomaly("leak", account=A2, minute=2)])
                        await _store(state, [f.anomaly("marker-2", account=A1, minute=3)])
                    elif received[-1] == "marker-2":
                        break
        assert received == ["before", "marker-1", "marker-2"]


async def test_a_filter_that_matches_nothing_moves_past_scanned_rows(
    gateway: RunningGateway,
) -> None:
    await gateway.tenant("acme", [A1])
    await gateway.store([f.anomaly(f"inc-{i}", minute=i) for i in range(5)])
    principal = Principal("t", "k", "read", [A1])
    nothing = alerts_repo.StreamFilters(min_impact_usd=1e12)
    feed = streams.alert_feed(gateway.state, principal, nothing, 0)
    batch, position = await streams._poll(gateway.state, principal, nothing, 0)
    assert batch == []
    async with gateway.state.pool.acquire() as conn:
        assert position == await alerts_repo.high_water(conn) > 0
    await feed.aclose()
