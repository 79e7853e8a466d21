"""SSE with Last-Event-ID resume (nothing lost, nothing repeated) and the WebSocket stream."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from services.gateway.api.state import GatewayState
from services.gateway.app import create_app
from services.gateway.repositories import ingest, tenants
from services.gateway.settings import GatewaySettings
from shared.events import Event
from tests.integration.gateway.helpers import auth, served
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
MINE, THEIRS = "111111111111", "333333333333"


async def _store(state: GatewayState, events: list[Event]) -> None:
    async with state.pool.acquire() as conn:
        await ingest.store(conn, [(e, "n/a") for e in events])


async def _keys(state: GatewayState) -> str:
    async with state.pool.acquire() as conn:
        await tenants.create_tenant(conn, "acme", [MINE])
        await tenants.create_tenant(conn, "globex", [THEIRS])
        return (await tenants.create_key(conn, "acme", "read")).token


async def _read(client: httpx.AsyncClient, url: str, key: str, n: int, last: str | None) -> list:
    headers = auth(key) | ({"Last-Event-ID": last} if last else {})
    events = []
    async with aconnect_sse(client, "GET", url, headers=headers) as source:
        async for sse in source.aiter_sse():
            events.append(sse)
            if len(events) == n:
                break
    return events


async def test_sse_resume_with_last_event_id(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    app = create_app(make_settings())
    async with served(app) as host, httpx.AsyncClient(timeout=30) as client:
        state: GatewayState = app.state.gateway
        key = await _keys(state)
        await _store(state, [f.anomaly(f"inc-{i}", minute=i) for i in range(3)])
        url = f"http://{host}/v1/alerts/stream"

        first = await _read(client, url, key, 3, None)
        assert [orjson.loads(e.data)["alert_id"] for e in first] == ["inc-0", "inc-1", "inc-2"]
        assert {e.event for e in first} == {"alert"}

        # While disconnected: two of ours and one of another tenant's.
        await _store(
            state,
            [
                f.anomaly("inc-3", minute=3),
                f.anomaly("theirs", account=THEIRS, minute=4),
                f.anomaly("inc-3", "resolve", minute=5),
            ],
        )
        resumed = await _read(client, url, key, 2, first[-1].id)
        docs = [orjson.loads(e.data) for e in resumed]
        assert [(d["alert_id"], d["action"]) for d in docs] == [
            ("inc-3", "open"),
            ("inc-3", "resolve"),
        ]
        assert int(resumed[0].id) > int(first[-1].id)


async def test_websocket_stream(make_settings: Callable[..., GatewaySettings]) -> None:
    app = create_app(make_settings())
    async with served(app) as host:
        state: GatewayState = app.state.gateway
        key = await _keys(state)
        await _store(
            state, [f.anomaly("low", severity="low"), f.anomaly("crit", severity="critical")]
        )
        uri = f"ws://{host}/v1/alerts/ws?min_severity=high"
        async with connect(uri, additional_headers=auth(key)) as ws:
            doc = orjson.loads(await ws.recv())
            await _store(state, [f.anomaly("later", severity="high", minute=9)])
            later = orjson.loads(await ws.recv())
        assert (doc["alert_id"], later["alert_id"]) == ("crit", "later")
        with pytest.raises(InvalidStatus, match="403"):
            async with connect(uri, additional_headers={"X-API-Key": "bad"}) as ws:
                await ws.recv()
