"""Waiting for a fresh PostgreSQL server to accept connections, then creating the database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import psutil

from devstack.exceptions import ComponentExitedError, PortInUseError, StartupTimeoutError
from devstack.logs import log_tail
from devstack.ports import LOOPBACK

COMPONENT = "postgresql"
SUPERUSER = "postgres"
# A fresh cluster starts in ~1 s; crash recovery after an unclean stop can take
# longer, so allow a minute before giving up.
READY_TIMEOUT_S = 60.0
# Per-attempt connect timeout: loopback connects take milliseconds.
CONNECT_TIMEOUT_S = 2.0
# Start-up is quick, so poll often rather than add latency to `dev up`.
PROBE_INTERVAL_S = 0.1
ADDR_IN_USE_MARKER = "Address already in use"


def wait_until_ready(
    *, pid: int, port: int, password: str, log_path: Path, log_start: int, database: str
) -> None:
    """Block until the server accepts logins, then make sure ``database`` exists.

    Raises:
        PortInUseError: the server could not bind its port.
        ComponentExitedError: the server exited.
        StartupTimeoutError: it was not ready within READY_TIMEOUT_S.
    """
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if ADDR_IN_USE_MARKER in log_tail(log_path, since=log_start):
            raise PortInUseError(COMPONENT, port)
        if not psutil.pid_exists(pid):
            raise ComponentExitedError(
                COMPONENT, None, log_tail(log_path, since=log_start), str(log_path)
            )
        if asyncio.run(_ensure_database(port, password, database)):
            return
        if time.monotonic() > deadline:
            raise StartupTimeoutError(COMPONENT, READY_TIMEOUT_S, str(log_path))
        time.sleep(PROBE_INTERVAL_S)


async def _ensure_database(port: int, password: str, database: str) -> bool:
    """Create ``database`` if missing; False while the server does not accept logins yet."""
    try:
        conn = await asyncpg.connect(
            host=LOOPBACK,
            port=port,
            user=SUPERUSER,
            password=password,
            database="postgres",
            timeout=CONNECT_TIMEOUT_S,
        )
    except (TimeoutError, OSError, asyncpg.CannotConnectNowError):
        return False
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", database)
        if not exists:
            await conn.execute(f'create database "{database}"')
    finally:
        await conn.close()
    return True
