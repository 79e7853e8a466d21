"""Long-lived alert streams (SSE and WebSocket): caps, progress and re-authorisation.

A stream is cheap for the client and costly for us (a task, a socket, a poll
every ``stream_poll_s``), so each key and each process may hold only so many;
a filter that matches nothing still moves the stream's position forward, so it
scans each outbox row once, not every poll; and the key is re-checked every
``stream_recheck_s``, so a revoked key or an account taken from the tenant
stops streaming without waiting for the client to reconnect.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from services.gateway.alerts.body import envelope
from services.gateway.api.deps import Principal, acquire
from services.gateway.api.state import GatewayState
from services.gateway.repositories import alerts as repo
from services.gateway.repositories import tenants

# Alerts sent per poll of the outbox: a reconnecting client catches up in chunks.
STREAM_BATCH = 200


def alert_doc(row: Any) -> dict[str, Any]:
    """An outbox row as the JSON every stream and the history list send."""
    doc = envelope(repo.to_alert(row), row["seq"])
    doc["detail"] = row["payload"]
    doc["occurred_at"] = row["occurred_at"]
    return doc


async def _poll(
    state: GatewayState, principal: Principal, f: repo.StreamFilters, position: int
) -> tuple[list[dict[str, Any]], int]:
    """The next batch and the position to continue from (past rows that did not match)."""
    async with acquire(state) as conn:
        high_water = await repo.high_water(conn)
        rows = await repo.after(
            conn,
            principal.tenant_id,
            principal.accounts,
            f,
            position,
            STREAM_BATCH,
            until=high_water,
        )
    docs = [alert_doc(r) for r in rows]
    if len(rows) == STREAM_BATCH:
        return docs, docs[-1]["seq"]
    return docs, max(position, high_water)


async def _still_valid(state: GatewayState, principal: Principal) -> Principal | None:
    """The principal with its tenant's current accounts, or None once the key is revoked."""
    async with acquire(state) as conn:
        row = await tenants.key_for_auth(conn, principal.key_id)
    if row is None:
        return None
    return dataclasses.replace(principal, accounts=row.accounts)


async def alert_feed(
    state: GatewayState, principal: Principal, f: repo.StreamFilters, position: int
) -> AsyncIterator[dict[str, Any]]:
    """Alerts after ``position`` as they arrive, until shutdown or the key is revoked."""
    loop = asyncio.get_running_loop()
    recheck_at = loop.time() + state.settings.gateway_stream_recheck_s
    current: Principal | None = principal
    while not state.stop.is_set():
        if loop.time() >= recheck_at:
            current = await _still_valid(state, principal)
            if current is None:
                return
            recheck_at = loop.time() + state.settings.gateway_stream_recheck_s
        assert current is not None  # narrowed: a revoked key returned above
        batch, position = await _poll(state, current, f, position)
        for doc in batch:
            yield doc
        if len(batch) < STREAM_BATCH:
            await asyncio.sleep(state.settings.gateway_stream_poll_s)
