"""Serve the gateway as production does (``server_config``) on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from devstack.ports import free_port
from services.gateway.app import create_app
from services.gateway.http_server import server_config
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for_async


@asynccontextmanager
async def serve(settings: GatewaySettings) -> AsyncIterator[tuple[str, int]]:
    """Yield ``(host, port)`` while a real uvicorn serves the gateway with its own limits."""
    port = free_port()
    config = server_config(
        create_app(settings), settings, host="127.0.0.1", port=port, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for_async(lambda: server.started or task.done(), description="gateway up")
        if task.done():
            task.result()
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        await task
