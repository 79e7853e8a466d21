"""Slow and numerous clients: head and body deadlines, a connection cap, no server banner."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from services.gateway.settings import GatewaySettings
from tests.security.served import serve

pytestmark = pytest.mark.integration

# Deadlines in these tests are short so the server acts quickly; the test waits up
# to WAIT_S for the server to act (without the fix it never does).
WAIT_S = 10.0


async def _open(
    host: str, port: int, data: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def test_a_request_head_that_never_finishes_is_closed(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    async with serve(make_settings(gateway_http_header_timeout_s=0.3)) as (host, port):
        reader, writer = await _open(host, port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            async with asyncio.timeout(WAIT_S):
                assert await reader.read() == b""  # closed by the server, nothing sent
        finally:
            writer.close()


async def test_a_body_that_never_finishes_is_answered_408(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    async with serve(make_settings(gateway_body_timeout_s=0.3)) as (host, port):
        head = (
            b"POST /v1/budgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"name"'
        )
        reader, writer = await _open(host, port, head)
        try:
            async with asyncio.timeout(WAIT_S):
                status_line = await reader.readline()
        finally:
            writer.close()
        assert status_line.startswith(b"HTTP/1.1 408"), status_line


async def test_connections_beyond_the_limit_are_refused_and_no_banner_is_sent(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_http_limit_concurrency=3, gateway_http_header_timeout_s=WAIT_S)
    async with serve(settings) as (host, port):
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            first = await client.get("/healthz")
        assert first.status_code == 200
        assert "server" not in first.headers
        idle = [await _open(host, port, b"GET /healthz HTTP/1.1\r\n") for _ in range(3)]
        try:
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
                refused = await client.get("/healthz")
            assert refused.status_code == 503
        finally:
            for _, writer in idle:
                writer.close()
