"""Budgets on the budgets topic, each carrying the accounts it covers.

The forecast service knows no tenants: a budget's event says which accounts
its spend comes from (``Budget.account_ids``). That coverage is the tenant's
accounts *now*, so it goes stale when an account joins or leaves the tenant;
``sync_coverage`` re-publishes every budget whose last published coverage
differs from today's (run at start-up and every ``gateway_budget_sync_s``), so
coverage follows the tenant however its accounts were changed (admin CLI, SQL).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection

import asyncpg
from aiokafka.errors import KafkaError

from services.gateway.repositories import budgets as repo
from shared import topics
from shared.events import Budget
from shared.kafka import EventProducer
from shared.logging import get_logger

log = get_logger(__name__)
# Any constant shared by every replica: one of them re-publishes at a time.
SYNC_LOCK_KEY = 0x5EED_B0D6


def coverage(account_id: str | None, tenant_accounts: Collection[str]) -> list[str]:
    """The accounts a budget covers: its named account if the tenant owns it, else all of them.

    >>> coverage(None, ["222", "111"])
    ['111', '222']
    >>> coverage("111", ["111", "222"]), coverage("333", ["111"])
    (['111'], [])
    """
    if account_id is not None:
        return [account_id] if account_id in tenant_accounts else []
    return sorted(tenant_accounts)


def budget_event(row: asyncpg.Record, accounts: list[str], deleted: bool) -> Budget:
    """The event for a stored budget row.

    Its id is the budget's: the topic holds each budget's current state, and the
    forecast service keys budgets (and names them in alerts) by it, so a
    replacement or a deletion must reach the same budget, not start another.
    """
    return Budget(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        scope=row["scope"],
        account_id=row["account_id"],
        service=row["service"],
        account_ids=[] if deleted else accounts,
        amount_usd=row["amount_usd"],
        deleted=deleted,
        updated_at=row["updated_at"],
    )


async def publish(
    conn: asyncpg.Connection,
    publisher: EventProducer,
    row: asyncpg.Record,
    tenant_accounts: Collection[str],
    deleted: bool = False,
) -> None:
    """Publish a budget and record its coverage; call inside the change's transaction."""
    accounts = coverage(row["account_id"], tenant_accounts)
    await publisher.send_and_wait(
        topics.BUDGETS, budget_event(row, accounts, deleted), key=row["id"]
    )
    if not deleted:
        await repo.mark_published(conn, row["id"], accounts)


async def sync_coverage(pool: asyncpg.Pool, publisher: EventProducer) -> int:
    """Re-publish every budget whose coverage changed; returns how many were.

    Stale rows are found without locks, then locked and checked again: a row
    the API changed meanwhile was published by the API with fresh coverage.
    """

    def is_stale(row: asyncpg.Record) -> bool:
        return coverage(row["account_id"], row["tenant_accounts"]) != row["published_accounts"]

    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SYNC_LOCK_KEY)
        candidates = [r["id"] for r in await repo.with_tenant_accounts(conn) if is_stale(r)]
        stale = []
        if candidates:
            locked = await repo.with_tenant_accounts(conn, candidates, lock=True)
            stale = [r for r in locked if is_stale(r)]
        for row in stale:
            await publish(conn, publisher, row, row["tenant_accounts"])
    if stale:
        log.info("budgets re-published with their tenant's accounts", budgets=len(stale))
    return len(stale)


async def run_coverage_sync(
    pool: asyncpg.Pool, publisher: EventProducer, every_s: float, stop: asyncio.Event
) -> None:
    """``sync_coverage`` now and every ``every_s`` until ``stop``; failures wait a round."""
    while not stop.is_set():
        try:
            await sync_coverage(pool, publisher)
        except (OSError, asyncpg.PostgresError, KafkaError, TimeoutError) as exc:
            log.warning("budget coverage sync failed; retried next round", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
