"""Budgets a tenant owns (the API writes them and publishes them to their compacted topic)."""

from __future__ import annotations

from typing import Any

import asyncpg

_COLUMNS = (
    "id, tenant_id, name, scope, account_id, service, amount_usd, created_at, updated_at, "
    "published_accounts"
)

# The open alert of a budget's newest alerted month, a projected breach before an
# interval alert: what a dashboard shows as the budget's status (none: on track).
_WITH_OPEN_ALERT = f"""
SELECT {_COLUMNS}, st.alert AS open_alert FROM budgets b LEFT JOIN LATERAL (
    SELECT a.payload AS alert FROM budget_alerts a
    WHERE a.tenant_id = b.tenant_id AND a.payload->>'budget_id' = b.id AND a.action <> 'resolve'
      AND a.month = (SELECT max(m.month) FROM budget_alerts m
                     WHERE m.tenant_id = b.tenant_id AND m.payload->>'budget_id' = b.id)
    ORDER BY (a.kind = 'projected_breach') DESC, a.detected_at DESC LIMIT 1
) st ON true
"""


async def list_page(
    conn: asyncpg.Connection, tenant_id: str, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """A tenant's budgets ordered by id, each with its open alert."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"{_WITH_OPEN_ALERT} WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) "
        "ORDER BY id LIMIT $3",
        tenant_id,
        after,
        limit,
    )
    return rows


async def get(conn: asyncpg.Connection, tenant_id: str, budget_id: str) -> asyncpg.Record | None:
    """One budget with its open alert, if it is the tenant's."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"{_WITH_OPEN_ALERT} WHERE id = $1 AND tenant_id = $2", budget_id, tenant_id
    )
    return row


async def upsert(
    conn: asyncpg.Connection, tenant_id: str, budget_id: str, fields: dict[str, Any]
) -> asyncpg.Record:
    """Create or replace a budget (caller checked ownership) and return the stored row."""
    row: asyncpg.Record = await conn.fetchrow(
        f"""
        INSERT INTO budgets (id, tenant_id, name, scope, account_id, service, amount_usd)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope,
            account_id = excluded.account_id, service = excluded.service,
            amount_usd = excluded.amount_usd, updated_at = now()
        WHERE budgets.tenant_id = excluded.tenant_id
        RETURNING {_COLUMNS}
        """,
        budget_id,
        tenant_id,
        fields["name"],
        fields["scope"],
        fields["account_id"],
        fields["service"],
        fields["amount_usd"],
    )
    return row


async def delete(conn: asyncpg.Connection, tenant_id: str, budget_id: str) -> asyncpg.Record | None:
    """Delete a tenant's budget; returns the deleted row (None if it was not theirs)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"DELETE FROM budgets WHERE id = $1 AND tenant_id = $2 RETURNING {_COLUMNS}",
        budget_id,
        tenant_id,
    )
    return row


async def mark_published(conn: asyncpg.Connection, budget_id: str, accounts: list[str]) -> None:
    """Record the coverage last published for a budget (see ``budget_feed``)."""
    await conn.execute(
        "UPDATE budgets SET published_accounts = $2 WHERE id = $1", budget_id, accounts
    )


async def with_tenant_accounts(
    conn: asyncpg.Connection, ids: list[str] | None = None, lock: bool = False
) -> list[asyncpg.Record]:
    """Budgets (all, or ``ids``) with their tenant's current accounts.

    ``lock`` holds the rows until the caller's transaction ends, so a concurrent
    API change cannot be overtaken by a re-publish of the row as it was before.
    """
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT {_COLUMNS},
               ARRAY(SELECT account_id FROM tenant_accounts a WHERE a.tenant_id = b.tenant_id
                     ORDER BY account_id) AS tenant_accounts
        FROM budgets b WHERE $1::text[] IS NULL OR id = ANY($1::text[]) ORDER BY id
        {"FOR UPDATE OF b" if lock else ""}
        """,
        ids,
    )
    return rows
