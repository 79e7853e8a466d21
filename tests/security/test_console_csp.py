"""The console's pages run only what the gateway itself serves (issue 16).

A strict Content-Security-Policy on every ``/console`` response (page, script,
stylesheet, vendored library, a missing file): scripts, styles and requests
from the gateway's own origin only, no inline script but the page's own one
(admitted by its SHA-256, never ``'unsafe-inline'``), no eval, no framing. The
key the console keeps in sessionStorage cannot be read by an injected script
or sent to another host. The pages themselves must need nothing the policy
refuses: no other inline ``<script>``, no ``style=`` or ``on...=`` handlers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from services.gateway.console import STATIC_DIR, Assets
from services.gateway.settings import GatewaySettings
from tests.security.served import serve

pytestmark = pytest.mark.integration
ASSETS = Assets(STATIC_DIR)
VERSIONED = ASSETS.prefix.removeprefix("/console/")
CONSOLE_FILES = [
    "",
    "index.html",
    f"{VERSIONED}/js/app.js",
    f"{VERSIONED}/console.css",
    f"{VERSIONED}/vendor/chart.umd.min.js",
    f"{VERSIONED}/nope.js",
    "js/app.js",
]


def _directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


async def test_console_responses_carry_a_self_only_csp(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    async with serve(make_settings()) as (host, port), httpx.AsyncClient(timeout=30) as client:
        base = f"http://{host}:{port}/console/"
        for path in CONSOLE_FILES:
            response = await client.get(base + path)
            missing = path.endswith("nope.js") or path == "js/app.js"
            assert response.status_code == (404 if missing else 200), path
            csp = _directives(response.headers["content-security-policy"])
            assert csp["default-src"] == ["'none'"], path
            for directive in ("style-src", "connect-src"):
                assert csp[directive] == ["'self'"], (path, directive)
            # 'self' and the hash of the page's one inline script, nothing else.
            assert csp["script-src"] == ["'self'", *(f"'{h}'" for h in ASSETS.script_hashes)]
            assert csp["frame-ancestors"] == ["'none'"], path
            assert csp["base-uri"] == ["'none'"], path
            assert response.headers["x-frame-options"] == "DENY", path
            assert response.headers["referrer-policy"] == "no-referrer", path
        # The API keeps its own headers; the console policy is only for the pages.
        api = await client.get(f"http://{host}:{port}/healthz")
        assert "content-security-policy" not in api.headers


async def test_the_only_inline_script_is_the_one_the_policy_hashes(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    async with serve(make_settings()) as (host, port), httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"http://{host}:{port}/console/")
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert len(inline) == 1
    assert re.findall(r"<script\b[^>]*>", response.text).count("<script>") == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    csp = _directives(response.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


def test_console_files_need_nothing_the_policy_refuses() -> None:
    pages = [*STATIC_DIR.rglob("*.html")]
    assert pages
    for page in pages:
        html = page.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            # A script with code in the page only through the gateway's hashed inlining.
            assert "src=" in tag or "data-inline=" in tag, f"{page.name}: inline script {tag}"
        assert not re.search(r"\sstyle\s*=", html), f"{page.name}: inline style attribute"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{page.name}: inline event handler"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), (
            f"{page.name}: a file from elsewhere"
        )
    for script in Path(STATIC_DIR).rglob("*.js"):
        if script.is_relative_to(Path(STATIC_DIR, "vendor")):
            continue
        text = script.read_text()
        assert "innerHTML" not in text, f"{script.name}: builds HTML from strings"
        assert not re.search(r"\beval\(|new Function\(", text), f"{script.name}: eval"
