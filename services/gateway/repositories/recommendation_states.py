"""Per-tenant decisions on recommendations: set by people, lapsed by re-publications."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.gateway.recommendation_state import DECIDED, Proposal, lapse_reason

#: The state as it applies now: none recorded, or a snooze whose time has come, is open.
EFFECTIVE_STATE = (
    "CASE WHEN s.state IS NULL OR (s.state = 'snoozed' AND s.snoozed_until <= now()) "
    "THEN 'open' ELSE s.state END"
)
#: Select-list of the state columns; pair with ``LEFT JOIN recommendation_states s``.
STATE_COLUMNS = (
    f"{EFFECTIVE_STATE} AS effective_state, s.reason, s.note, s.snoozed_until, "
    "s.updated_at, s.lapsed_at, s.lapse_reason"
)

_UPSERT = f"""
INSERT INTO recommendation_states AS s (tenant_id, resource_id, state, reason, note,
    snoozed_until, decided_finding, decided_action, decided_savings)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (tenant_id, resource_id) DO UPDATE SET
    state = excluded.state, reason = excluded.reason, note = excluded.note,
    snoozed_until = excluded.snoozed_until, decided_finding = excluded.decided_finding,
    decided_action = excluded.decided_action, decided_savings = excluded.decided_savings,
    updated_at = now(), lapsed_at = NULL, lapse_reason = NULL
RETURNING {STATE_COLUMNS}
"""


def state_of(row: asyncpg.Record) -> dict[str, Any]:
    """The API's state object from a row selected with :data:`STATE_COLUMNS`."""
    return {
        "state": row["effective_state"],
        "reason": row["reason"] if row["effective_state"] == "dismissed" else None,
        "note": row["note"],
        "snoozed_until": row["snoozed_until"],
        "updated_at": row["updated_at"],
        "lapsed_at": row["lapsed_at"],
        "lapse_reason": row["lapse_reason"],
    }


async def set_state(
    conn: asyncpg.Connection,
    tenant_id: str,
    accounts: list[str],
    resource_id: str,
    decision: dict[str, Any],
) -> dict[str, Any] | None:
    """Record ``decision`` on the tenant's recommendation as it is now; None if not the tenant's."""
    async with conn.transaction():
        # Locks the recommendation so a re-publication cannot slip between read and write.
        payload: dict[str, Any] | None = await conn.fetchval(
            "SELECT payload FROM recommendations "
            "WHERE resource_id = $1 AND account_id = ANY($2::text[]) FOR SHARE",
            resource_id,
            accounts,
        )
        if payload is None:
            return None
        seen = Proposal.of(payload)
        row = await conn.fetchrow(
            _UPSERT,
            tenant_id,
            resource_id,
            decision["state"],
            decision.get("reason"),
            decision.get("note"),
            decision.get("snoozed_until"),
            seen.finding,
            seen.action,
            seen.savings,
        )
    assert row is not None  # an upsert with RETURNING always returns its row
    return state_of(row)


async def lapse_changed(conn: asyncpg.Connection, resource_ids: Sequence[str]) -> int:
    """Reopen decisions whose recommendation was just re-published materially changed.

    Runs in the consumer's batch transaction after the upserts, so it compares
    against what is stored now: a replayed older event changed nothing and
    lapses nothing. Returns how many decisions lapsed.
    """
    rows = await conn.fetch(
        "SELECT s.tenant_id, s.resource_id, s.state, s.decided_finding, s.decided_action, "
        "s.decided_savings, r.payload FROM recommendation_states s "
        "JOIN recommendations r ON r.resource_id = s.resource_id "
        "WHERE s.resource_id = ANY($1::text[]) AND s.state = ANY($2::text[])",
        list(resource_ids),
        list(DECIDED),
    )
    lapsed = []
    for row in rows:
        decided = Proposal(row["decided_finding"], row["decided_action"], row["decided_savings"])
        why = lapse_reason(decided, Proposal.of(row["payload"]))
        if why is not None:
            lapsed.append((row["tenant_id"], row["resource_id"], f"was {row['state']}; {why}"))
    if lapsed:
        await conn.executemany(
            "UPDATE recommendation_states SET state = 'open', reason = NULL, "
            "lapsed_at = now(), lapse_reason = $3 WHERE tenant_id = $1 AND resource_id = $2",
            lapsed,
        )
    return len(lapsed)
