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
JSONB_VERSION = b"\x01"


async def _init_connection(conn: asyncpg.Connection) -> None:
    """(De)serialise json/jsonb with orjson, in the binary wire format.

    Binary so COPY (which asyncpg speaks only in binary) can carry the ingest's
    payloads: json's binary form is its text, jsonb's a version byte then the text.
    """
    await conn.set_type_codec(
        "json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: JSONB_VERSION + orjson.dumps(v),
        decoder=lambda b: orjson.loads(b[1:]),
        schema="pg_catalog",
        format="binary",
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
