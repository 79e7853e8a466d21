"""Per-tenant quotas: what one tenant creates costs other services (and other tenants).

Budgets are watched by the forecast service, subscriptions fan out every alert,
feedback retunes detectors: each tenant gets a bounded number of the first two
and a rate of the third. Counting runs under a per-tenant transaction lock, so
two concurrent creates cannot both slip under the limit.
"""

from __future__ import annotations

import time

import asyncpg
from fastapi import HTTPException, status

from services.gateway.api.state import GatewayState

# Tables whose rows a tenant owns, as the quota messages name them.
_TABLES = {"budgets": "budgets", "subscriptions": "subscriptions"}


async def check_count(conn: asyncpg.Connection, table: str, tenant_id: str, limit: int) -> None:
    """409 when the tenant already holds ``limit`` rows of ``table``; call inside a transaction."""
    name = _TABLES[table]
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", name, tenant_id)
    held: int = await conn.fetchval(f"SELECT count(*) FROM {name} WHERE tenant_id = $1", tenant_id)
    if held >= limit:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"this tenant has {held} {name}, the most it may have ({limit}); delete one first",
        )


def charge_feedback(state: GatewayState, tenant_id: str) -> None:
    """429 when the tenant sends feedback faster than its rate."""
    wait = state.feedback_buckets.take(tenant_id, time.monotonic())
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"feedback rate for this tenant exceeded; retry after {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
