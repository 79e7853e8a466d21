"""``/v1/costs/breakdown`` and ``/v1/changes``: summaries computed by the database.

A dashboard needs totals over a range and a few ranked series, not every row:
these answer in one bounded response whatever the tenant's size.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.gateway.api.deps import ConnDep, PrincipalDep
from services.gateway.api.error_responses import COMMON_RESPONSES, invalid
from services.gateway.api.params import Account, Text, Timestamp
from services.gateway.api.schemas_insights import Changes, CostBreakdown
from services.gateway.repositories import anomalies, insights
from services.gateway.repositories.insights import Breakdown, GroupBy

router = APIRouter(prefix="/v1", responses=COMMON_RESPONSES)

# The widest range one breakdown covers: a year and a month of days, a month of hours.
MAX_RANGE = {"daily": timedelta(days=400), "hourly": timedelta(days=31)}
# Without a start: the last 30 days (daily) or 2 days (hourly) the tenant has data for.
DEFAULT_RANGE = {"daily": timedelta(days=30), "hourly": timedelta(days=2)}
STEP = {"daily": timedelta(days=1), "hourly": timedelta(hours=1)}
TOP_OPENED = 5


@router.get(
    "/costs/breakdown",
    response_model=CostBreakdown,
    tags=["costs"],
    summary="Costs over a date range, stacked by account, service, usage type or region",
)
async def cost_breakdown(
    principal: PrincipalDep,
    conn: ConnDep,
    group_by: GroupBy = "service",
    granularity: Literal["daily", "hourly"] = "daily",
    start: Annotated[Timestamp | None, Query(description="period_start >= start")] = None,
    end: Annotated[Timestamp | None, Query(description="period_start < end")] = None,
    account: Account = None,
    service: Text = None,
    top: Annotated[
        int, Query(ge=1, le=100, description="Groups shown; the rest sum to 'other'.")
    ] = 10,
) -> dict[str, Any]:
    """Default range: the 30 days (2 hourly) up to just after the tenant's newest data."""
    if end is None:
        latest = await insights.latest_period(conn, principal.accounts, granularity)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        end = (latest or now) + STEP[granularity]
    if start is None:
        if end - datetime.min.replace(tzinfo=UTC) < DEFAULT_RANGE[granularity]:
            raise invalid(
                ("query", "end"),
                "end is too early for the default range; give start",
                end.isoformat(),
            )
        start = end - DEFAULT_RANGE[granularity]
    if start >= end:
        raise invalid(("query", "start"), "start must be before end", start.isoformat())
    if end - start > MAX_RANGE[granularity]:
        raise invalid(
            ("query", "end"),
            f"a {granularity} breakdown covers at most {MAX_RANGE[granularity].days} days",
            end.isoformat(),
        )
    spec = Breakdown(group_by, start, end, granularity, account, service, top)
    rows = await insights.cost_breakdown(conn, principal.accounts, spec)
    groups: dict[tuple[int, str], dict[str, Any]] = {}
    per_period: dict[tuple[datetime, str], float] = defaultdict(float)
    for r in rows:
        group = groups.setdefault(
            (r["rank"], r["currency"]),
            {
                "key": r["key"],
                "other": r["rank"] > top,
                "currency": r["currency"],
                "total": 0.0,
                "points": [],
            },
        )
        group["total"] += r["cost"]
        group["points"].append(
            {"period_start": r["period_start"], "cost": r["cost"], "currency": r["currency"]}
        )
        per_period[(r["period_start"], r["currency"])] += r["cost"]
    totals: dict[str, float] = defaultdict(float)
    for (_, currency), cost in per_period.items():
        totals[currency] += cost
    return {
        "group_by": group_by,
        "granularity": granularity,
        "start": start,
        "end": end,
        "groups": [groups[k] for k in sorted(groups)],
        "period_totals": [
            {"period_start": p, "currency": c, "cost": v}
            for (p, c), v in sorted(per_period.items())
        ],
        "totals": [{"currency": c, "cost": v} for c, v in sorted(totals.items())],
    }


@router.get(
    "/changes",
    response_model=Changes,
    tags=["overview"],
    summary="What changed since a time (default: the last 24 hours)",
)
async def changes(
    principal: PrincipalDep,
    conn: ConnDep,
    since: Annotated[Timestamp | None, Query(description="Default: 24 hours ago.")] = None,
) -> dict[str, Any]:
    """Anomalies opened and resolved, recommendations published, budget alerts, day over day.

    Day over day compares each account's newest stored day of cost with the day before.
    """
    until = datetime.now(UTC)
    since = since if since is not None else until - timedelta(hours=24)
    found = await insights.changes_since(conn, principal.tenant_id, principal.accounts, since)
    found["anomalies"]["top_opened"] = await anomalies.largest_opened_since(
        conn, principal.accounts, since, TOP_OPENED
    )
    by_account: dict[str, list[Any]] = defaultdict(list)
    for row in found.pop("days"):
        by_account[row["account_id"]].append(row)
    costs = []
    for account_id, (newest, *older) in sorted(by_account.items()):
        previous = older[0] if older else None
        costs.append(
            {
                "account_id": account_id,
                "currency": newest["currency"],
                "day": newest["period_start"],
                "cost": newest["cost"],
                "previous_day": previous and previous["period_start"],
                "previous_cost": previous and previous["cost"],
                "change": None if previous is None else newest["cost"] - previous["cost"],
            }
        )
    return {**found, "since": since, "until": until, "costs": costs}
