"""``/v1/alerts``: the alert history, a Server-Sent Events stream and a WebSocket stream.

The stream position is ``alert_outbox.seq``; it is the SSE ``id``, so a client
reconnecting with ``Last-Event-ID`` gets exactly what it missed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import (
    APIRouter,
    Header,
    HTTPException,
    Query,
    WebSocket,
    WebSocketDisconnect,
    status,
)
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask

from services.gateway.alerts.model import AlertSource
from services.gateway.api.deps import (
    ConnDep,
    Principal,
    PrincipalDep,
    StateDep,
    StreamPrincipalDep,
    acquire,
    authenticate,
    presented_key,
    token_from_headers,
)
from services.gateway.api.error_responses import COMMON_RESPONSES
from services.gateway.api.params import PAGE_DEFAULT, Account, Limit
from services.gateway.api.schemas_results import AlertOut, Page
from services.gateway.api.state import GatewayState
from services.gateway.api.stream_slots import StreamSlot
from services.gateway.api.streams import alert_doc, alert_feed
from services.gateway.api.values import BIGINT_MAX, StoredText
from services.gateway.repositories import alerts as repo
from shared.events.anomalies import SEVERITY_ORDER, Severity

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
# Service filter values per stream.
SERVICES_MAX = 50
# A full stream cap frees up when some client disconnects; a few seconds is a fair retry.
STREAM_RETRY_AFTER_S = 5
# WebSocket close codes (4000-4999 are the application's): 4000 + the HTTP status.
WS_TOO_MANY = 4429
WS_REVOKED = 4401

Services = Annotated[list[StoredText], Query(max_length=SERVICES_MAX, description="Any of these.")]
MinSeverity = Annotated[Severity, Query(description="Only alerts at least this severe.")]
MinImpact = Annotated[float | None, Query(ge=0, le=1e12)]
# A stream position as a client sends it back: ASCII decimal digits, at most a bigint's 19.
_SEQ = re.compile(r"[0-9]{1,19}")
After = Annotated[int, Query(ge=0, le=2**62, description="Start after this seq.")]


def _filters(
    account: str | None,
    services: list[str],
    min_severity: str,
    min_impact: float | None,
    source: str | None,
) -> repo.StreamFilters:
    return repo.StreamFilters(
        account=account,
        services=tuple(services),
        min_severity_rank=SEVERITY_ORDER[min_severity],
        min_impact_usd=min_impact,
        source=source,
    )


@router.get("", response_model=Page[AlertOut], responses=COMMON_RESPONSES, summary="Alert history")
async def list_alerts(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    service: Services = [],  # noqa: B006  # FastAPI copies defaults per request
    min_severity: MinSeverity = "low",
    min_impact: MinImpact = None,
    source: AlertSource | None = None,
    after: After = 0,
    limit: Limit = PAGE_DEFAULT,
) -> dict[str, Any]:
    """Oldest first from ``after``; ``next_cursor`` is the last seq (pass it as ``after``)."""
    f = _filters(account, service, min_severity, min_impact, source)
    rows = await repo.after(conn, principal.tenant_id, principal.accounts, f, after, limit + 1)
    items = [alert_doc(r) for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next_cursor": str(items[-1]["seq"]) if more else None}


def _slot(state: GatewayState, principal: Principal) -> StreamSlot:
    slot = state.streams.take(principal.key_id)
    if slot is None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many open streams (at most {state.settings.gateway_stream_max_per_key} per key); "
            "close one or retry later",
            headers={"Retry-After": str(STREAM_RETRY_AFTER_S)},
        )
    return slot


def _resume_point(last_event_id: str | None, after: int) -> int:
    """``after`` or the seq in ``Last-Event-ID``: ASCII digits that fit a bigint.

    ``str.isdigit`` is not enough: it accepts digits such as superscript two that int() refuses.
    """
    if last_event_id is None:
        return after
    if not _SEQ.fullmatch(last_event_id) or int(last_event_id) > BIGINT_MAX:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "Last-Event-ID must be the id of an event this stream sent (a decimal seq)",
        )
    return max(after, int(last_event_id))


@router.get(
    "/stream",
    responses={
        **COMMON_RESPONSES,
        200: {"content": {"text/event-stream": {}}, "description": "SSE stream of alerts."},
    },
    response_class=EventSourceResponse,
    summary="Server-Sent Events stream of alerts (resume with Last-Event-ID)",
)
async def stream_alerts(
    principal: StreamPrincipalDep,
    state: StateDep,
    account: Account = None,
    service: Services = [],  # noqa: B006  # FastAPI copies defaults per request
    min_severity: MinSeverity = "low",
    min_impact: MinImpact = None,
    source: AlertSource | None = None,
    after: After = 0,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> EventSourceResponse:
    """Each event: ``id`` = seq, ``event`` = ``alert``, ``data`` = the alert JSON."""
    f = _filters(account, service, min_severity, min_impact, source)
    position = _resume_point(last_event_id, after)
    slot = _slot(state, principal)

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            async for doc in alert_feed(state, principal, f, position):
                yield {"id": str(doc["seq"]), "event": "alert", "data": orjson.dumps(doc).decode()}
        finally:
            slot.release()

    return EventSourceResponse(
        events(),
        ping=int(state.settings.gateway_stream_heartbeat_s),
        background=BackgroundTask(slot.release),
    )


@router.websocket("/ws")
async def websocket_alerts(
    websocket: WebSocket,
    account: Account = None,
    service: Services = [],  # noqa: B006  # FastAPI copies defaults per request
    min_severity: MinSeverity = "low",
    min_impact: MinImpact = None,
    source: AlertSource | None = None,
    after: After = 0,
) -> None:
    """WebSocket stream: one JSON text message per alert; authenticate with the same headers.

    A bad key is refused at the handshake (HTTP 403).
    """
    state: GatewayState = websocket.app.state.gateway
    token = token_from_headers(
        websocket.headers.get("x-api-key"), websocket.headers.get("authorization")
    )
    client = websocket.client.host if websocket.client else "unknown"
    try:
        presented = presented_key(state, client, token)
        async with acquire(state) as conn:
            principal = await authenticate(state, conn, presented)
    except HTTPException as exc:
        await websocket.close(code=4000 + exc.status_code, reason=str(exc.detail)[:120])
        return
    f = _filters(account, service, min_severity, min_impact, source)
    slot = state.streams.take(principal.key_id)
    if slot is None:
        # Accepted first so the client sees the reason (a close before accept is a bare 403).
        await websocket.accept()
        await websocket.close(code=WS_TOO_MANY, reason="too many open streams for this key")
        return
    try:
        await _serve_websocket(websocket, state, principal, f, after)
    finally:
        slot.release()


async def _serve_websocket(
    websocket: WebSocket,
    state: GatewayState,
    principal: Principal,
    f: repo.StreamFilters,
    after: int,
) -> None:
    await websocket.accept()

    async def pump() -> None:
        async for doc in alert_feed(state, principal, f, after):
            await websocket.send_text(orjson.dumps(doc).decode())
        if not state.stop.is_set():
            await websocket.close(code=WS_REVOKED, reason="the API key was revoked")

    async def until_disconnect() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            continue

    tasks = [asyncio.create_task(pump()), asyncio.create_task(until_disconnect())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception) and not isinstance(result, WebSocketDisconnect):
            raise result
