"""Alert subscriptions and their delivery log."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.gateway.secretbox import SecretBox, SecretKeyError

_COLUMNS = (
    "id, name, channel, url, body_format, sns_topic_arn, accounts, services, sources, "
    "min_severity, min_impact_usd, active, created_at, updated_at"
)


async def list_page(
    conn: asyncpg.Connection, tenant_id: str, after: str | None, limit: int
) -> list[asyncpg.Record]:
    """A tenant's subscriptions ordered by id."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_COLUMNS} FROM subscriptions "
        "WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3",
        tenant_id,
        after,
        limit,
    )
    return rows


async def get(conn: asyncpg.Connection, tenant_id: str, sub_id: str) -> asyncpg.Record | None:
    """One subscription if it is the tenant's."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE id = $1 AND tenant_id = $2", sub_id, tenant_id
    )
    return row


async def create(
    conn: asyncpg.Connection, tenant_id: str, sub_id: str, secret: str, f: dict[str, Any]
) -> asyncpg.Record:
    """Store a new subscription; ``secret`` arrives sealed."""
    row: asyncpg.Record = await conn.fetchrow(
        f"""
        INSERT INTO subscriptions (id, tenant_id, name, channel, url, body_format, secret,
            sns_topic_arn, accounts, services, min_severity, min_impact_usd, active, sources)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        RETURNING {_COLUMNS}
        """,
        sub_id,
        tenant_id,
        f["name"],
        f["channel"],
        f["url"],
        f["body_format"],
        secret,
        f["sns_topic_arn"],
        f["accounts"],
        f["services"],
        f["min_severity"],
        f["min_impact_usd"],
        f["active"],
        f.get("sources", []),  # optional: empty is every kind, as the column default
    )
    return row


async def update(
    conn: asyncpg.Connection, tenant_id: str, sub_id: str, f: dict[str, Any]
) -> asyncpg.Record | None:
    """Replace a subscription's settings (the secret stays); None if not the tenant's."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""
        UPDATE subscriptions SET name = $3, channel = $4, url = $5, body_format = $6,
            sns_topic_arn = $7, accounts = $8, services = $9, min_severity = $10,
            min_impact_usd = $11, active = $12, sources = $13, updated_at = now()
        WHERE id = $1 AND tenant_id = $2
        RETURNING {_COLUMNS}
        """,
        sub_id,
        tenant_id,
        f["name"],
        f["channel"],
        f["url"],
        f["body_format"],
        f["sns_topic_arn"],
        f["accounts"],
        f["services"],
        f["min_severity"],
        f["min_impact_usd"],
        f["active"],
        f.get("sources", []),  # optional: empty is every kind, as the column default
    )
    return row


async def rotate_secret(
    conn: asyncpg.Connection, tenant_id: str, sub_id: str, sealed: str, overlap_s: float
) -> asyncpg.Record | None:
    """Make ``sealed`` the secret; the current one stays valid for ``overlap_s`` more seconds."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        UPDATE subscriptions SET previous_secret = secret,
            previous_secret_expires_at = now() + make_interval(secs => $4),
            secret = $3, secret_rotated_at = now(), updated_at = now()
        WHERE id = $1 AND tenant_id = $2
        RETURNING id, previous_secret_expires_at
        """,
        sub_id,
        tenant_id,
        sealed,
        overlap_s,
    )
    return row


async def reseal_secrets(conn: asyncpg.Connection, box: SecretBox) -> int:
    """Seal plaintext secrets from before encryption, re-seal those under an older key.

    Returns how many were written. Each row is updated only if it still holds
    the value read, so replicas starting together never seal a secret twice. A
    secret no configured key opens is left alone (its deliveries fail, saying so).
    """
    sealed = 0
    for column in ("secret", "previous_secret"):
        rows = await conn.fetch(
            f"SELECT id, {column} AS value FROM subscriptions WHERE {column} IS NOT NULL"
        )
        for row in rows:
            if not box.needs_reseal(row["value"]):
                continue
            try:
                fresh = box.reseal(row["value"])
            except SecretKeyError:
                continue
            done: str = await conn.execute(
                f"UPDATE subscriptions SET {column} = $2 WHERE id = $1 AND {column} = $3",
                row["id"],
                fresh,
                row["value"],
            )
            sealed += not done.endswith(" 0")
    return sealed


async def delete(conn: asyncpg.Connection, tenant_id: str, sub_id: str) -> bool:
    """Delete a tenant's subscription (and its delivery log)."""
    done: str = await conn.execute(
        "DELETE FROM subscriptions WHERE id = $1 AND tenant_id = $2", sub_id, tenant_id
    )
    return not done.endswith(" 0")


async def deliveries_page(
    conn: asyncpg.Connection, sub_id: str, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest deliveries first, each with its attempt log."""
    rows = await conn.fetch(
        """
        SELECT d.id, d.alert_seq, o.event_id, d.status, d.attempts, d.next_attempt_at,
               d.last_status_code, d.last_error, d.created_at, d.delivered_at,
               COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at,
                    'status_code', a.status_code, 'error', a.error,
                    'duration_ms', a.duration_ms) ORDER BY a.attempt)
                 FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS log
        FROM deliveries d JOIN alert_outbox o ON o.seq = d.alert_seq
        WHERE d.subscription_id = $1 AND ($2::bigint IS NULL OR d.id < $2)
        ORDER BY d.id DESC LIMIT $3
        """,
        sub_id,
        after,
        limit,
    )
    return [dict(r) for r in rows]
