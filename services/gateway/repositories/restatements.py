"""Restatement notices: filtered keyset pages, always tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.repositories.sqlbuild import Where

_COLUMNS = (
    "id, series_id, period_start, account_id, service, previous_cost, new_cost, delta, "
    "previous_attempt_id, attempt_id, detected_at"
)


@dataclass(frozen=True)
class RestatementFilters:
    """List filters; None means "any"."""

    account: str | None = None
    service: str | None = None
    series_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_delta: float | None = None


async def list_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    filters: RestatementFilters,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to ``limit`` notices, newest first, strictly after the ``after`` sort key."""
    w = Where(accounts)
    w.add_if("account_id = {0}", filters.account)
    w.add_if("service = {0}", filters.service)
    w.add_if("series_id = {0}", filters.series_id)
    w.add_if("detected_at >= {0}", filters.since)
    w.add_if("detected_at < {0}", filters.until)
    w.add_if("abs(delta) >= {0}", filters.min_delta)
    if after is not None:
        w.add("(detected_at, id) < ({0}, {1})", *after)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM restatements {w.sql()} "
        f"ORDER BY detected_at DESC, id DESC LIMIT {w.param(limit)}",
        *w.args,
    )
    return [dict(r) for r in rows]
