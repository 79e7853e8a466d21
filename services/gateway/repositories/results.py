"""Recommendations, forecasts and daily costs: tenant-scoped keyset reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.repositories.recommendation_states import (
    EFFECTIVE_STATE,
    STATE_COLUMNS,
    state_of,
)
from services.gateway.repositories.sqlbuild import Where


@dataclass(frozen=True)
class RecommendationFilters:
    """Recommendation filters; None means "any"."""

    account: str | None = None
    region: str | None = None
    finding: str | None = None
    min_savings: float | None = None
    regression: bool | None = None
    state: str | None = None


# Each recommendation with the reading tenant's decision on it ($2 is the tenant).
_WITH_STATE = (
    f"SELECT r.payload, {STATE_COLUMNS} FROM recommendations r "
    "LEFT JOIN recommendation_states s ON s.tenant_id = $2 AND s.resource_id = r.resource_id"
)


def _with_state(row: asyncpg.Record) -> dict[str, Any]:
    return {**row["payload"], "state": state_of(row)}


async def recommendations_page(
    conn: asyncpg.Connection,
    tenant_id: str,
    accounts: list[str],
    f: RecommendationFilters,
    after: tuple[float, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Largest monthly savings first; ties broken by resource id."""
    w = Where(accounts)
    w.param(tenant_id)
    w.add_if("account_id = {0}", f.account)
    w.add_if("region = {0}", f.region)
    w.add_if("finding = {0}", f.finding)
    w.add_if("monthly_savings >= {0}", f.min_savings)
    w.add_if("regression = {0}", f.regression)
    w.add_if(f"{EFFECTIVE_STATE} = {{0}}", f.state)
    if after is not None:
        w.add("(monthly_savings < {0} OR (monthly_savings = {0} AND r.resource_id > {1}))", *after)
    rows = await conn.fetch(
        f"{_WITH_STATE} {w.sql()} "
        f"ORDER BY monthly_savings DESC, r.resource_id ASC LIMIT {w.param(limit)}",
        *w.args,
    )
    return [_with_state(r) for r in rows]


async def recommendation(
    conn: asyncpg.Connection, tenant_id: str, accounts: list[str], resource_id: str
) -> dict[str, Any] | None:
    """One resource's current recommendation, with the tenant's decision, if it is the tenant's."""
    row = await conn.fetchrow(
        f"{_WITH_STATE} WHERE account_id = ANY($1::text[]) AND r.resource_id = $3",
        accounts,
        tenant_id,
        resource_id,
    )
    return None if row is None else _with_state(row)


async def forecasts_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    account: str | None,
    service: str | None,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Forecast payloads ordered by series id."""
    w = Where(accounts)
    w.add_if("account_id = {0}", account)
    w.add_if("service = {0}", service)
    w.add_if("series_id > {0}", after)
    rows = await conn.fetch(
        f"SELECT payload FROM forecasts {w.sql()} ORDER BY series_id LIMIT {w.param(limit)}",
        *w.args,
    )
    return [r["payload"] for r in rows]


async def forecast(
    conn: asyncpg.Connection, accounts: list[str], series_id: str
) -> dict[str, Any] | None:
    """One series' forecast payload if it is the tenant's."""
    payload: dict[str, Any] | None = await conn.fetchval(
        "SELECT payload FROM forecasts WHERE series_id = $1 AND account_id = ANY($2)",
        series_id,
        accounts,
    )
    return payload


@dataclass(frozen=True)
class CostFilters:
    """Cost series filters."""

    granularity: str = "daily"
    level: str | None = None
    account: str | None = None
    service: str | None = None
    series_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def costs_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    f: CostFilters,
    after: tuple[str, datetime] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Cost points ordered by series, then period."""
    w = Where(accounts)
    w.add("granularity = {0}", f.granularity)
    w.add_if("level = {0}", f.level)
    w.add_if("account_id = {0}", f.account)
    w.add_if("service = {0}", f.service)
    w.add_if("series_id = {0}", f.series_id)
    w.add_if("period_start >= {0}", f.start)
    w.add_if("period_start < {0}", f.end)
    if after is not None:
        w.add("(series_id, period_start) > ({0}, {1})", *after)
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT series_id, period_start, level, granularity, account_id, service, usage_type, "
        f"cost, currency, as_of FROM costs_daily {w.sql()} "
        f"ORDER BY series_id, period_start LIMIT {w.param(limit)}",
        *w.args,
    )
    return rows
