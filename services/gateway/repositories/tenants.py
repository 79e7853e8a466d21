"""Tenants, their AWS accounts and their API keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg

from services.gateway import keys
from services.gateway.exceptions import AdminError


@dataclass(frozen=True)
class KeyRow:
    """What authentication needs about a key."""

    tenant_id: str
    scope: str
    secret_hash: bytes
    accounts: list[str]


async def key_for_auth(conn: asyncpg.Connection, key_id: str) -> KeyRow | None:
    """The live (not revoked) key with its tenant's accounts, or None."""
    row = await conn.fetchrow(
        """
        SELECT k.tenant_id, k.scope, k.secret_hash,
               ARRAY(SELECT account_id FROM tenant_accounts a
                     WHERE a.tenant_id = k.tenant_id ORDER BY account_id) AS accounts
        FROM api_keys k WHERE k.id = $1 AND k.revoked_at IS NULL
        """,
        key_id,
    )
    if row is None:
        return None
    return KeyRow(row["tenant_id"], row["scope"], bytes(row["secret_hash"]), list(row["accounts"]))


async def create_tenant(conn: asyncpg.Connection, name: str, accounts: list[str]) -> str:
    """Create a tenant owning ``accounts``; an account belongs to one tenant only."""
    tenant_id = secrets.token_hex(8)
    async with conn.transaction():
        if await conn.fetchval("SELECT 1 FROM tenants WHERE name = $1", name):
            raise AdminError(f"tenant {name!r} exists; pick another name")
        taken = await conn.fetch(
            "SELECT account_id FROM tenant_accounts WHERE account_id = ANY($1)", accounts
        )
        if taken:
            ids = ", ".join(r["account_id"] for r in taken)
            raise AdminError(f"accounts already belong to another tenant: {ids}")
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant_id, name)
        await conn.executemany(
            "INSERT INTO tenant_accounts (account_id, tenant_id) VALUES ($1, $2)",
            [(a, tenant_id) for a in accounts],
        )
    return tenant_id


async def add_accounts(conn: asyncpg.Connection, tenant_name: str, accounts: list[str]) -> None:
    """Give a tenant more accounts (each belongs to one tenant only).

    Its budgets follow: the gateway re-publishes them with the new coverage
    within ``gateway_budget_sync_s``.
    """
    tenant_id = await tenant_id_by_name(conn, tenant_name)
    async with conn.transaction():
        taken = await conn.fetch(
            "SELECT account_id, tenant_id FROM tenant_accounts WHERE account_id = ANY($1)",
            accounts,
        )
        others = [r["account_id"] for r in taken if r["tenant_id"] != tenant_id]
        if others:
            raise AdminError(f"accounts already belong to another tenant: {', '.join(others)}")
        await conn.executemany(
            "INSERT INTO tenant_accounts (account_id, tenant_id) VALUES ($1, $2) "
            "ON CONFLICT (account_id) DO NOTHING",
            [(a, tenant_id) for a in accounts],
        )


async def remove_accounts(conn: asyncpg.Connection, tenant_name: str, accounts: list[str]) -> int:
    """Take accounts from a tenant; returns how many it had. Its budgets follow, as above."""
    tenant_id = await tenant_id_by_name(conn, tenant_name)
    done = await conn.execute(
        "DELETE FROM tenant_accounts WHERE tenant_id = $1 AND account_id = ANY($2)",
        tenant_id,
        accounts,
    )
    return int(done.split()[-1])


async def tenant_id_by_name(conn: asyncpg.Connection, name: str) -> str:
    """The id of tenant ``name``, or an AdminError saying how to create it."""
    tenant_id: str | None = await conn.fetchval("SELECT id FROM tenants WHERE name = $1", name)
    if tenant_id is None:
        raise AdminError(
            f"no tenant named {name!r}; create it with `spendstream admin tenant create`"
        )
    return tenant_id


async def create_key(
    conn: asyncpg.Connection, tenant_name: str, scope: str, name: str | None = None
) -> keys.NewKey:
    """Mint a key for a tenant; the caller shows ``token`` once."""
    tenant_id = await tenant_id_by_name(conn, tenant_name)
    new = keys.mint()
    await conn.execute(
        "INSERT INTO api_keys (id, tenant_id, secret_hash, scope, name) "
        "VALUES ($1, $2, $3, $4, $5)",
        new.key_id,
        tenant_id,
        new.secret_hash,
        scope,
        name,
    )
    return new


async def revoke_key(conn: asyncpg.Connection, key_id: str) -> None:
    """Revoke a key by id (the part after ``ssk_``); takes effect on the next request."""
    done = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    if done.endswith(" 0"):
        raise AdminError(
            f"no live key with id {key_id!r}; list keys with `spendstream admin key list`"
        )


async def list_tenants(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every tenant with its accounts and live key count."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT t.id, t.name,
               ARRAY(SELECT account_id FROM tenant_accounts a WHERE a.tenant_id = t.id
                     ORDER BY account_id) AS accounts,
               (SELECT count(*) FROM api_keys k WHERE k.tenant_id = t.id
                AND k.revoked_at IS NULL) AS keys
        FROM tenants t ORDER BY t.name
        """
    )
    return rows


async def list_keys(conn: asyncpg.Connection, tenant_name: str) -> list[asyncpg.Record]:
    """A tenant's keys (ids, scopes, state), never their secrets."""
    tenant_id = await tenant_id_by_name(conn, tenant_name)
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id, scope, name, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 "
        "ORDER BY created_at",
        tenant_id,
    )
    return rows
