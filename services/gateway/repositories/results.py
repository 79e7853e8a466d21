"""Recommendations, forecasts and daily costs: tenant-scoped keyset reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.repositories.sqlbuild import Where


@dataclass(frozen=True)
class RecommendationFilters:
    """Recommendation filters; None means "any"."""

    account: str | None = None
    region: str | None = None
    finding: str | None = None
    min_savings: float | None = None
    regression: bool | None = None


async def recommendations_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    f: RecommendationFilters,
    after: tuple[float, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Largest monthly savings first; ties broken by resource id."""
    w = Where(accounts)
    w.add_if("account_id = {0}", f.account)
    w.add_if("region = {0}", f.region)
    w.add_if("finding = {0}", f.finding)
    w.add_if("monthly_savings >= {0}", f.min_savings)
    w.add_if("regression = {0}", f.regression)
    if after is not None:
        w.add("(monthly_savings < {0} OR (monthly_savings = {0} AND resource_id > {1}))", *after)
    rows = await conn.fetch(
        f"SELECT payload FROM recommendations {w.sql()} "
        f"ORDER BY monthly_savings DESC, resource_id ASC LIMIT {w.param(limit)}",
        *w.args,
    )
    return [r["payload"] for r in rows]


async def recommendation(
    conn: asyncpg.Connection, accounts: list[str], resource_id: str
) -> dict[str, Any] | None:
    """One resource's current recommendation if it is the tenant's."""
    payload: dict[str, Any] | None = await conn.fetchval(
        "SELECT payload FROM recommendations WHERE resource_id = $1 AND account_id = ANY($2)",
        resource_id,
        accounts,
    )
    return payload


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
