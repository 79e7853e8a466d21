"""The alert outbox: stream reads, fan-out to subscriptions, and the delivery queue.

``alert_outbox.seq`` is assigned under an advisory lock held to commit (see
``ingest``), so a reader that has seen ``seq = n`` has seen everything below it:
``WHERE seq > last`` never skips a row, which is what makes SSE resume lossless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.alerts.matching import Filters, matching
from services.gateway.alerts.model import Alert
from services.gateway.repositories.sqlbuild import Where

FANOUT_CURSOR = "fanout"
# Serialises fan-out across replicas; any constant shared by all of them works.
FANOUT_LOCK_KEY = 0x5EED_FA17
_ALERT_COLUMNS = (
    "seq, event_id, source, alert_id, action, account_id, service, severity, impact_usd, "
    "title, occurred_at, payload, tenant_id AS owner_tenant_id"
)


@dataclass(frozen=True)
class StreamFilters:
    """Filters of an alert list or stream; None / empty means "any"."""

    account: str | None = None
    services: tuple[str, ...] = ()
    min_severity_rank: int = 0
    min_impact_usd: float | None = None
    source: str | None = None


def to_alert(row: asyncpg.Record) -> Alert:
    """An outbox row as the pure Alert the renderers take."""
    return Alert(
        event_id=row["event_id"],
        source=row["source"],
        alert_id=row["alert_id"],
        action=row["action"],
        account_id=row["account_id"],
        service=row["service"],
        severity=row["severity"],
        impact_usd=row["impact_usd"],
        title=row["title"],
        occurred_at=row["occurred_at"],
        payload=row["payload"],
        tenant_id=row["owner_tenant_id"],
    )


async def high_water(conn: asyncpg.Connection) -> int:
    """The highest committed seq: every row at or below it is visible (see module doc)."""
    seq: int = await conn.fetchval("SELECT COALESCE(max(seq), 0) FROM alert_outbox")
    return seq


async def after(
    conn: asyncpg.Connection,
    tenant_id: str,
    accounts: list[str],
    f: StreamFilters,
    seq: int,
    limit: int,
    until: int | None = None,
) -> list[asyncpg.Record]:
    """The tenant's alerts with ``seq`` above the given one (up to ``until``), oldest first."""
    w = Where.tenant_alerts(tenant_id, accounts)
    w.add("seq > {0}", seq)
    w.add_if("seq <= {0}", until)
    w.add_if("account_id = {0}", f.account)
    w.add_if("source = {0}", f.source)
    if f.services:
        w.add("service = ANY({0}::text[])", list(f.services))
    if f.min_severity_rank:
        w.add("severity_rank >= {0}", f.min_severity_rank)
    w.add_if("COALESCE(impact_usd, 0) >= {0}", f.min_impact_usd)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_ALERT_COLUMNS} FROM alert_outbox {w.sql()} ORDER BY seq LIMIT {w.param(limit)}",
        *w.args,
    )
    return rows


async def fan_out(conn: asyncpg.Connection, batch: int) -> int:
    """Queue a delivery per (matching subscription, new alert); returns alerts examined."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", FANOUT_LOCK_KEY)
        cursor = await conn.fetchval("SELECT seq FROM alert_cursors WHERE name = $1", FANOUT_CURSOR)
        if cursor is None:
            # First start: only alerts from now on (subscriptions do not exist yet anyway).
            cursor = 0
        rows = await conn.fetch(
            f"SELECT {_ALERT_COLUMNS} FROM alert_outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            cursor,
            batch,
        )
        if not rows:
            return 0
        subs = await conn.fetch(
            """
            SELECT s.id, s.tenant_id, s.accounts, s.services, s.sources, s.min_severity,
                   s.min_impact_usd,
                   ARRAY(SELECT account_id FROM tenant_accounts a
                         WHERE a.tenant_id = s.tenant_id) AS allowed
            FROM subscriptions s WHERE s.active
            """
        )
        filters = [
            (
                s["id"],
                Filters(
                    allowed_accounts=frozenset(s["allowed"]),
                    tenant_id=s["tenant_id"],
                    accounts=frozenset(s["accounts"]),
                    services=frozenset(s["services"]),
                    sources=frozenset(s["sources"]),
                    min_severity=s["min_severity"],
                    min_impact_usd=s["min_impact_usd"],
                ),
            )
            for s in subs
        ]
        queued = [
            (sub_id, row["seq"]) for row in rows for sub_id in matching(to_alert(row), filters)
        ]
        if queued:
            await conn.executemany(
                "INSERT INTO deliveries (subscription_id, alert_seq) VALUES ($1, $2) "
                "ON CONFLICT (subscription_id, alert_seq) DO NOTHING",
                queued,
            )
        await conn.execute(
            "INSERT INTO alert_cursors (name, seq) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            FANOUT_CURSOR,
            rows[-1]["seq"],
        )
    return len(rows)


async def claim_due(
    conn: asyncpg.Connection,
    batch: int,
    lease_s: float,
    per_tenant: int,
    in_flight: dict[str, int],
) -> list[asyncpg.Record]:
    """Claim due deliveries by pushing them a lease into the future (visibility timeout).

    Fair across tenants: each tenant gets at most ``per_tenant`` deliveries in
    flight (``in_flight`` counts what this worker is already sending), and the
    claim takes tenants round-robin, so one tenant's backlog or slow receivers
    never hold another tenant's alerts. A worker that dies mid-send leaves the
    delivery to be retried when the lease ends.
    """
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        WITH busy AS (
            SELECT * FROM unnest($3::text[], $4::int[]) AS b (tenant_id, n)
        ), candidates AS (
            SELECT d.id, s.tenant_id, row_number() OVER (
                PARTITION BY s.tenant_id ORDER BY d.next_attempt_at, d.id) AS rn
            FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
            WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND s.active
        ), chosen AS (
            SELECT c.id FROM candidates c LEFT JOIN busy b ON b.tenant_id = c.tenant_id
            WHERE c.rn <= $5 - COALESCE(b.n, 0)
            ORDER BY c.rn, c.id LIMIT $1
        ), claimed AS (
            UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
            WHERE d.id IN (
                SELECT id FROM deliveries
                WHERE id IN (SELECT id FROM chosen)
                  AND status = 'pending' AND next_attempt_at <= now()
                FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.subscription_id, d.alert_seq, d.attempts
        )
        SELECT c.id AS delivery_id, c.attempts, s.tenant_id, s.channel, s.url, s.body_format,
               s.secret, s.sns_topic_arn,
               CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret END
                 AS previous_secret,
               ARRAY(SELECT account_id FROM tenant_accounts a
                     WHERE a.tenant_id = s.tenant_id) AS tenant_accounts,
               {", ".join("o." + c.strip() for c in _ALERT_COLUMNS.split(","))}
        FROM claimed c
        JOIN subscriptions s ON s.id = c.subscription_id
        JOIN alert_outbox o ON o.seq = c.alert_seq
        """,
        batch,
        lease_s,
        list(in_flight),
        list(in_flight.values()),
        per_tenant,
    )
    return rows


async def record_attempt(
    conn: asyncpg.Connection,
    delivery_id: int,
    attempt: int,
    outcome: dict[str, Any],
    next_attempt_at: datetime | None,
    gave_up: bool,
) -> None:
    """Log one attempt and move the delivery on (delivered, retry later, or failed)."""
    ok = outcome["ok"]
    status = "delivered" if ok else ("failed" if gave_up else "pending")
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempt, status_code, error, duration_ms) "
            "VALUES ($1, $2, $3, $4, $5)",
            delivery_id,
            attempt,
            outcome.get("status_code"),
            outcome.get("error"),
            outcome["duration_ms"],
        )
        await conn.execute(
            """
            UPDATE deliveries SET attempts = $2, status = $3,
                next_attempt_at = COALESCE($4, next_attempt_at), last_status_code = $5,
                last_error = $6, delivered_at = CASE WHEN $3 = 'delivered' THEN now() END
            WHERE id = $1
            """,
            delivery_id,
            attempt,
            status,
            next_attempt_at,
            outcome.get("status_code"),
            outcome.get("error"),
        )
