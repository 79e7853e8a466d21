"""Commitment reports and alerts: keyset pages, always tenant-scoped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.repositories.sqlbuild import Where


def _report(row: asyncpg.Record) -> dict[str, Any]:
    return dict(row["payload"])  # jsonb decodes to a dict (db.pool's codec)


async def reports_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    account: str | None,
    after: tuple[float, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Each account's newest report, the largest purchase savings first."""
    w = Where(accounts)
    w.add_if("account_id = {0}", account)
    if after is not None:
        w.add("(best_monthly_savings, account_id) < ({0}, {1})", *after)
    rows = await conn.fetch(
        f"SELECT best_monthly_savings, payload FROM commitment_reports {w.sql()} "
        f"ORDER BY best_monthly_savings DESC, account_id DESC LIMIT {w.param(limit)}",
        *w.args,
    )
    return [{**_report(r), "best_monthly_savings": r["best_monthly_savings"]} for r in rows]


async def report(
    conn: asyncpg.Connection, accounts: list[str], account: str
) -> dict[str, Any] | None:
    """One account's newest report, or None (also when the account is not the tenant's)."""
    w = Where(accounts)
    w.add("account_id = {0}", account)
    row = await conn.fetchrow(
        f"SELECT best_monthly_savings, payload FROM commitment_reports {w.sql()}", *w.args
    )
    return None if row is None else {**_report(row), "best_monthly_savings": row[0]}


async def alerts_page(
    conn: asyncpg.Connection,
    accounts: list[str],
    account: str | None,
    reason: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Commitment alerts, newest first."""
    w = Where(accounts)
    w.add_if("account_id = {0}", account)
    w.add_if("reason = {0}", reason)
    if after is not None:
        w.add("(detected_at, id) < ({0}, {1})", *after)
    rows = await conn.fetch(
        f"SELECT payload FROM commitment_alerts {w.sql()} "
        f"ORDER BY detected_at DESC, id DESC LIMIT {w.param(limit)}",
        *w.args,
    )
    return [_report(r) for r in rows]
