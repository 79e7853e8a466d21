"""The asyncpg pool, pinned to the gateway's schema, with JSON codecs."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from services.gateway.db.migrate import check_schema_name
from services.gateway.settings import GatewaySettings

# Connections idle longer than this are closed, so a restarted server's stale
# sockets do not linger in the pool.
POOL_MAX_INACTIVE_S = 60.0


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Decode jsonb into Python objects with orjson (fast) and encode the same way."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def create_pool(settings: GatewaySettings, **overrides: Any) -> asyncpg.Pool:
    """Open a pool whose connections see only the gateway schema (plus pg_catalog)."""
    kwargs: dict[str, Any] = {
        "dsn": settings.require_postgres_dsn(),
        "min_size": settings.gateway_db_pool_min,
        "max_size": settings.gateway_db_pool_max,
        "command_timeout": settings.gateway_db_command_timeout_s,
        "max_inactive_connection_lifetime": POOL_MAX_INACTIVE_S,
        "server_settings": {"search_path": check_schema_name(settings.gateway_pg_schema)},
        "init": _init_connection,
    }
    kwargs.update(overrides)
    pool: asyncpg.Pool = await asyncpg.create_pool(**kwargs)
    return pool
