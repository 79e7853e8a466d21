"""Dead letters from every ``.dlq`` topic (operators only, so not tenant-scoped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def list_page(
    conn: asyncpg.Connection,
    source_topic: str | None,
    error_type: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first."""
    rows = await conn.fetch(
        """
        SELECT dlq_topic, payload FROM dead_letters
        WHERE ($1::text IS NULL OR source_topic = $1) AND ($2::text IS NULL OR error_type = $2)
          AND ($3::timestamptz IS NULL OR (failed_at, id) < ($3, $4))
        ORDER BY failed_at DESC, id DESC LIMIT $5
        """,
        source_topic,
        error_type,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [{**r["payload"], "dlq_topic": r["dlq_topic"]} for r in rows]


async def get(conn: asyncpg.Connection, letter_id: str) -> dict[str, Any] | None:
    """One dead letter."""
    row = await conn.fetchrow(
        "SELECT dlq_topic, payload FROM dead_letters WHERE id = $1", letter_id
    )
    return {**row["payload"], "dlq_topic": row["dlq_topic"]} if row else None
