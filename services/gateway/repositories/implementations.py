"""Implemented recommendations and their realised savings: keyset pages, tenant-scoped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.repositories.sqlbuild import Where


async def implementations_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    account: str | None,
    kind: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Implementations on the tenant's accounts, newest change first."""
    w = Where(accounts)
    w.add_if("account_id = {0}", account)
    w.add_if("kind = {0}", kind)
    if after is not None:
        w.add("(implemented_at, resource_id) < ({0}, {1})", *after)
    rows = await conn.fetch(
        f"SELECT payload FROM implementations {w.sql()} "
        f"ORDER BY implemented_at DESC, resource_id DESC LIMIT {w.param(limit)}",
        *w.args,
    )
    return [dict(r["payload"]) for r in rows]


async def totals(
    conn: asyncpg.Connection, accounts: list[str], account: str | None
) -> dict[str, Any]:
    """The tenant's estimate beside the bill: sums over implementations, and over measured ones."""
    w = Where(accounts)
    w.add_if("account_id = {0}", account)
    row = await conn.fetchrow(
        "SELECT count(*) AS implemented, "
        "count(realised_monthly_savings) AS measured, "
        "COALESCE(sum(estimated_monthly_savings), 0) AS estimated_monthly_savings, "
        "COALESCE(sum(estimated_monthly_savings) FILTER "
        "(WHERE realised_monthly_savings IS NOT NULL), 0) AS measured_estimated_monthly_savings, "
        "COALESCE(sum(realised_monthly_savings), 0) AS realised_monthly_savings "
        f"FROM implementations {w.sql()}",
        *w.args,
    )
    return dict(row)
