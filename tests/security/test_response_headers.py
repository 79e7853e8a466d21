"""Responses are not cached, not content-sniffed, and do not name the server (issue 12 #19).

Checked on the real HTTP server the gateway runs (``server_config``), across
the kinds of response a tenant sees: data, errors, the body limit's own answer
and the SSE stream. The one exception (issue 16): the console's code files under
their content-hashed path may be kept by a browser; its page and anything else
under ``/console`` may not.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from services.gateway.console import STATIC_DIR, Assets
from services.gateway.db.pool import create_pool
from services.gateway.repositories import tenants
from services.gateway.settings import GatewaySettings
from tests.integration.gateway.helpers import auth
from tests.security.served import serve

pytestmark = pytest.mark.integration
A1 = "111111111111"


def _check(response: httpx.Response, what: str) -> None:
    assert response.headers.get_list("cache-control") == ["no-store"], what
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert "server" not in response.headers, what


async def test_tenant_responses_carry_no_store_and_nosniff(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_body_max_bytes=1024)
    async with serve(settings) as (host, port), httpx.AsyncClient(timeout=30) as client:
        base = f"http://{host}:{port}"
        key = await _key(settings)
        checks = {
            "data": await client.get(f"{base}/v1/anomalies", headers=auth(key)),
            "not found": await client.get(f"{base}/v1/budgets/nope", headers=auth(key)),
            "unauthorised": await client.get(f"{base}/v1/anomalies"),
            "invalid": await client.get(f"{base}/v1/anomalies?limit=0", headers=auth(key)),
            "too large": await client.post(
                f"{base}/v1/budgets", content=b"x" * 4096, headers=auth(key)
            ),
            "health": await client.get(f"{base}/healthz"),
        }
        assert checks["too large"].status_code == 413
        for what, response in checks.items():
            _check(response, what)
        async with client.stream("GET", f"{base}/v1/alerts/stream", headers=auth(key)) as sse:
            assert sse.status_code == 200
            _check(sse, "sse")


async def test_only_hashed_console_code_files_are_cacheable(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings()
    prefix = Assets(STATIC_DIR).prefix
    async with serve(settings) as (host, port), httpx.AsyncClient(timeout=30) as client:
        base = f"http://{host}:{port}"
        key = await _key(settings)
        page = await client.get(f"{base}/console/")
        _check(page, "console page")
        _check(await client.get(f"{base}/console/index.html"), "console index.html")
        # Every file the page loads is named under the hashed prefix, and only there cacheable
        # (the stylesheet, the joined script, and Chart.js, which the script loads when drawing).
        linked = re.findall(r'(?:src|href)="(v/[^"]+)"', page.text)
        assert len(linked) >= 2
        chart = f"{prefix.removeprefix('/console/')}/vendor/chart.umd.min.js"
        for name in [*linked, chart]:
            code = await client.get(f"{base}/console/{name}")
            assert code.status_code == 200, name
            assert code.headers.get_list("cache-control") == [
                "public, max-age=31536000, immutable"
            ], name
            assert code.headers.get("x-content-type-options") == "nosniff", name
        for what, path in {
            "stale hash": "/console/v/0000000000000000/js/app.js",
            "missing file": f"{prefix}/nope.js",
            "unhashed": "/console/js/app.js",
        }.items():
            response = await client.get(base + path, headers=auth(key))
            assert response.status_code == 404, what
            _check(response, what)
        _check(await client.get(f"{base}/v1/anomalies", headers=auth(key)), "data")


async def _key(settings: GatewaySettings) -> str:
    """A read key, written through a pool of its own (the served app's is not reachable)."""
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            await tenants.create_tenant(conn, "acme", [A1])
            return (await tenants.create_key(conn, "acme", "read")).token
    finally:
        await pool.close()
