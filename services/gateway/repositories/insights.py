"""Server-side summaries for dashboards: cost breakdowns and what changed since a time.

Both aggregate in PostgreSQL so a client never pages through raw rows to draw
a chart: a breakdown returns at most ``top + 1`` series of at most the range's
days, whatever the tenant's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from services.gateway.repositories.regions import region_sql
from services.gateway.repositories.sqlbuild import Where

GroupBy = Literal["account", "service", "usage_type", "region"]
# Which stored series level holds each grouping, and the column that names a group
# (region: read from the usage type's AWS region code, see ``regions``).
_GROUPING: dict[str, tuple[str, str]] = {
    "account": ("account", "account_id"),
    "service": ("service", "service"),
    "usage_type": ("usage_type", "usage_type"),
    "region": ("usage_type", ""),
}


@dataclass(frozen=True)
class Breakdown:
    """What to break down: one grouping over a half-open range of periods."""

    group_by: GroupBy
    start: datetime
    end: datetime
    granularity: str = "daily"
    account: str | None = None
    service: str | None = None
    top: int = 10


async def latest_period(conn: asyncpg.Connection, accounts: list[str], granularity: str) -> Any:
    """The newest stored period of the tenant's costs (None when it has none)."""
    return await conn.fetchval(
        "SELECT max(period_start) FROM costs_daily "
        "WHERE account_id = ANY($1::text[]) AND granularity = $2 AND level = 'account'",
        accounts,
        granularity,
    )


async def cost_breakdown(
    conn: asyncpg.Connection, accounts: list[str], b: Breakdown
) -> list[asyncpg.Record]:
    """``(key, rank, currency, period_start, cost)`` rows: the top groups, the rest as one.

    ``rank`` orders groups by total cost (1 = largest); every group past ``top``
    is summed into one row per period with key NULL and rank ``top + 1``.
    """
    level, column = _GROUPING[b.group_by]
    w = Where(accounts)
    w.add("granularity = {0}", b.granularity)
    w.add("level = {0}", level)
    w.add("period_start >= {0}", b.start)
    w.add("period_start < {0}", b.end)
    w.add_if("account_id = {0}", b.account)
    w.add_if("service = {0}", b.service)
    top = w.param(b.top)
    if b.group_by == "region":
        column = region_sql("service", "usage_type", w.param)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        WITH base AS (
            SELECT coalesce({column}, '-') AS key, currency, period_start, sum(cost) AS cost
            FROM costs_daily {w.sql()} GROUP BY 1, 2, 3
        ), ranked AS (
            SELECT key, currency,
                   row_number() OVER (ORDER BY sum(cost) DESC, key, currency) AS rank
            FROM base GROUP BY 1, 2
        )
        SELECT CASE WHEN r.rank <= {top} THEN b.key END AS key,
               least(r.rank, {top} + 1) AS rank, b.currency, b.period_start,
               sum(b.cost) AS cost
        FROM base b JOIN ranked r USING (key, currency)
        GROUP BY 1, 2, 3, 4 ORDER BY 2, 4
        """,
        *w.args,
    )
    return rows


async def changes_since(
    conn: asyncpg.Connection, tenant_id: str, accounts: list[str], since: datetime
) -> dict[str, Any]:
    """Counts and sums of what arrived after ``since``, one query per kind of result."""
    anomalies = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE opened_at >= $2) AS opened, "
        "coalesce(sum(impact_usd) FILTER (WHERE opened_at >= $2), 0) AS opened_impact_usd, "
        "count(*) FILTER (WHERE status = 'resolved' AND detected_at >= $2) AS resolved, "
        "count(*) FILTER (WHERE status = 'open') AS open_now "
        "FROM anomalies WHERE account_id = ANY($1::text[])",
        accounts,
        since,
    )
    recommendations = await conn.fetchrow(
        "SELECT count(*) AS changed, "
        "coalesce(sum(monthly_savings), 0) AS changed_savings_usd, "
        "count(*) FILTER (WHERE regression) AS regressions "
        "FROM recommendations WHERE account_id = ANY($1::text[]) AND generated_at >= $2",
        accounts,
        since,
    )
    budget_alerts = await conn.fetchval(
        "SELECT count(*) FROM budget_alerts WHERE tenant_id = $1 AND detected_at >= $2",
        tenant_id,
        since,
    )
    # Day over day per account: the two newest stored days of each account's series.
    days = await conn.fetch(
        "SELECT account_id, period_start, cost, currency FROM ("
        "  SELECT account_id, period_start, cost, currency, row_number() OVER "
        "    (PARTITION BY account_id ORDER BY period_start DESC) AS n FROM costs_daily "
        "  WHERE account_id = ANY($1::text[]) AND granularity = 'daily' AND level = 'account'"
        ") d WHERE n <= 2 ORDER BY account_id, period_start DESC",
        accounts,
    )
    return {
        "anomalies": dict(anomalies) if anomalies else {},
        "recommendations": dict(recommendations) if recommendations else {},
        "budget_alerts": budget_alerts,
        "days": days,
    }
