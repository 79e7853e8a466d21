"""Anomaly incidents: filtered keyset pages and the detail view, always tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.repositories.sqlbuild import Where


@dataclass(frozen=True)
class AnomalyFilters:
    """List filters; None means "any"."""

    account: str | None = None
    service: str | None = None
    severity: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_impact: float | None = None


def _row(record: asyncpg.Record) -> dict[str, Any]:
    doc: dict[str, Any] = dict(record["payload"])
    doc["status"] = record["status"]
    doc["opened_at"] = record["opened_at"]
    return doc


async def list_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    filters: AnomalyFilters,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to ``limit`` incidents, newest first, strictly after the ``after`` sort key."""
    w = Where(accounts)
    w.add_if("account_id = {0}", filters.account)
    w.add_if("service = {0}", filters.service)
    w.add_if("severity = {0}", filters.severity)
    w.add_if("status = {0}", filters.status)
    w.add_if("detected_at >= {0}", filters.since)
    w.add_if("detected_at < {0}", filters.until)
    w.add_if("impact_usd >= {0}", filters.min_impact)
    if after is not None:
        w.add("(detected_at, incident_id) < ({0}, {1})", *after)
    rows = await conn.fetch(
        f"SELECT status, opened_at, payload FROM anomalies {w.sql()} "
        f"ORDER BY detected_at DESC, incident_id DESC LIMIT {w.param(limit)}",
        *w.args,
    )
    return [_row(r) for r in rows]


async def get(
    conn: asyncpg.Connection, accounts: list[str], incident_id: str
) -> dict[str, Any] | None:
    """One incident with its history, or None if it is not this tenant's (or does not exist)."""
    row = await conn.fetchrow(
        "SELECT status, opened_at, payload FROM anomalies "
        "WHERE incident_id = $1 AND account_id = ANY($2::text[])",
        incident_id,
        accounts,
    )
    if row is None:
        return None
    doc = _row(row)
    # Scoped too: an event on the bus that reuses another account's incident id must
    # not show up in this tenant's history.
    history = await conn.fetch(
        "SELECT payload FROM anomaly_events WHERE incident_id = $1 "
        "AND payload->>'account_id' = ANY($2::text[]) ORDER BY detected_at, id",
        incident_id,
        accounts,
    )
    doc["history"] = [h["payload"] for h in history]
    return doc


async def largest_opened_since(
    conn: asyncpg.Connection, accounts: list[str], since: datetime, limit: int
) -> list[dict[str, Any]]:
    """Incidents opened at or after ``since``, largest dollar impact first."""
    rows = await conn.fetch(
        "SELECT status, opened_at, payload FROM anomalies "
        "WHERE account_id = ANY($1::text[]) AND opened_at >= $2 "
        "ORDER BY impact_usd DESC NULLS LAST, incident_id LIMIT $3",
        accounts,
        since,
        limit,
    )
    return [_row(r) for r in rows]


async def series_points(
    conn: asyncpg.Connection, accounts: list[str], series_id: str, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    """The stored cost points of one of the tenant's series in ``[start, end)``."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT period_start, cost, currency FROM costs_daily WHERE series_id = $1 "
        "AND account_id = ANY($2::text[]) AND period_start >= $3 AND period_start < $4 "
        "ORDER BY period_start",
        series_id,
        accounts,
        start,
        end,
    )
    return rows
