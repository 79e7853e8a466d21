"""The console's pages run only what the gateway itself serves (issue 16).

A strict Content-Security-Policy on every ``/console`` response (page, script,
stylesheet, vendored library, a missing file): scripts, styles and requests
from the gateway's own origin only, no inline script, no eval, no framing. The
key the console keeps in sessionStorage cannot be read by an injected script
or sent to another host. The pages themselves must need nothing the policy
refuses: no inline ``<script>``, ``style=`` or ``on...=`` handlers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from services.gateway.console import STATIC_DIR, Assets
from services.gateway.settings import GatewaySettings
from tests.security.served import serve

pytestmark = pytest.mark.integration
VERSIONED = Assets(STATIC_DIR).prefix.removeprefix("/console/")
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
            for directive in ("script-src", "style-src", "connect-src"):
                assert csp[directive] == ["'self'"], (path, directive)
            assert csp["frame-ancestors"] == ["'none'"], path
            assert csp["base-uri"] == ["'none'"], path
            assert response.headers["x-frame-options"] == "DENY", path
            assert response.headers["referrer-policy"] == "no-referrer", path
        # The API keeps its own headers; the console policy is only for the pages.
        api = await client.get(f"http://{host}:{port}/healthz")
        assert "content-security-policy" not in api.headers


def test_console_files_need_nothing_the_policy_refuses() -> None:
    pages = [*STATIC_DIR.rglob("*.html")]
    assert pages
    for page in pages:
        html = page.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"{page.name}: inline script {tag}"
        assert not re.search(r"\sstyle\s*=", html), f"{page.name}: inline style attribute"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{page.name}: inline event handler"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), (
            f"{page.name}: a file from elsewhere"
        )
    for script in Path(STATIC_DIR, "js").rglob("*.js"):
        text = script.read_text()
        assert "innerHTML" not in text, f"{script.name}: builds HTML from strings"
        assert not re.search(r"\beval\(|new Function\(", text), f"{script.name}: eval"
