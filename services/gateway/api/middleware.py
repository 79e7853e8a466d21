"""ASGI middleware: security headers, query and body size limits, request metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.api.params import QUERY_PARAMS_MAX
from services.gateway.ratelimit import lockout_refusal
from shared.telemetry import LATENCY_BUCKETS, NAMESPACE

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Metric labels come from a fixed set: a client that invents method names must not
# grow /metrics (one time series per label value) without bound.
METRIC_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# Every response may carry a tenant's spend or ids: no shared cache (a proxy, a browser's
# back button) keeps a copy, and no browser guesses a content type other than the declared.
SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)
# The console's pages run only scripts, styles and requests from the gateway itself: no
# eval, no CDN, no framing, no inline script but the page's own (allowed by its hash,
# never by 'unsafe-inline'), so an injected string cannot run and a key in
# sessionStorage cannot be sent elsewhere.
CONSOLE_PREFIX = "/console"


def console_headers(script_hashes: tuple[str, ...] = ()) -> tuple[tuple[bytes, bytes], ...]:
    """The console's headers; ``script_hashes`` (``sha256-<base64>``) are its inline scripts."""
    scripts = " ".join(["'self'", *(f"'{h}'" for h in script_hashes)])
    return (
        (
            b"content-security-policy",
            f"default-src 'none'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'".encode(),
        ),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    )


CONSOLE_HEADERS = console_headers()
_REPLACED = {name for name, _ in SECURITY_HEADERS + CONSOLE_HEADERS}
# For the console's content-hashed code files only: the same path always names the same
# bytes and carries no tenant data, so a browser keeps them instead of asking again.
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")


class SecurityHeaders:
    """Set ``SECURITY_HEADERS`` on every HTTP response (replacing a route's own Cache-Control).

    Responses under ``/console`` also get the console's headers (a self-only CSP that
    admits the page's own inline scripts by ``script_hashes``). A 200
    under ``immutable_prefix`` (the console's content-hashed code files) gets ``IMMUTABLE``
    instead of ``no-store``; nothing else, API or page, may be cached.
    """

    def __init__(
        self,
        app: ASGIApp,
        immutable_prefix: str | None = None,
        script_hashes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.immutable_prefix = immutable_prefix.rstrip("/") + "/" if immutable_prefix else None
        self.console = SECURITY_HEADERS + console_headers(script_hashes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the response start; bodies pass through untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path: str = scope["path"]
        console = path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")
        added = self.console if console else SECURITY_HEADERS
        immutable = self.immutable_prefix is not None and path.startswith(self.immutable_prefix)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                headers = [*kept, *added]
                if immutable and message["status"] == 200:
                    headers = [IMMUTABLE if k == b"cache-control" else (k, v) for k, v in headers]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class QueryCap:
    """422 for a query string of more than ``QUERY_PARAMS_MAX`` parameters, before any parsing.

    Counted on the raw bytes: FastAPI parses (unquotes) the whole query string
    when it resolves the first dependency, which for a few thousand parameters
    costs milliseconds of event loop per request - before authentication, so a
    stranger's flood would slow every tenant. Each parameter but the last ends at
    a ``&``, so the count bounds them. A WebSocket handshake is closed instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a flood; pass anything else through untouched."""
        separators = scope.get("query_string", b"").count(b"&")
        if scope["type"] not in ("http", "websocket") or separators < QUERY_PARAMS_MAX:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        message = f"at most {QUERY_PARAMS_MAX} query parameters; got {separators + 1}"
        error = {"loc": ["query"], "msg": message, "type": "value_error", "input": None}
        await _answer_json(send, 422, {"detail": [error]})


class LockedOut:
    """429 for a client out of failed-authentication attempts, before routing.

    ``api.deps`` refuses such a client too, but only after routing and
    dependency resolution (most of a refusal's ~1 ms); a client guessing keys
    keeps sending, so its refusals should cost the least. Only ``/v1`` routes,
    the ones that take API keys.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a locked-out client; pass anything else through untouched."""
        state = getattr(scope["app"].state, "gateway", None) if "app" in scope else None
        if scope["type"] != "http" or state is None or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = state.auth_failures.retry_after(client, time.monotonic())
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        message, retry_after = lockout_refusal(wait)
        await _answer_json(send, 429, {"detail": message}, [(b"retry-after", retry_after.encode())])


async def _answer_json(
    send: Send, status: int, doc: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = orjson.dumps(doc)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Answer 413 for request bodies above ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer bodies up to the limit, then replay them to the app."""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                body = await self._read(receive)
        except TimeoutError:
            await self._answer(send, 408, f"request body not received within {self.timeout_s:g} s")
            return
        if body is None:
            await self._reject(send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it exceeds ``max_bytes``."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _reject(self, send: Send) -> None:
        await self._answer(send, 413, f"request body larger than {self.max_bytes} bytes")

    async def _answer(self, send: Send, status: int, detail: str) -> None:
        await _answer_json(send, status, {"detail": detail})


class RequestMetrics:
    """A latency histogram per route template, method and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.latency = Histogram(
            "http_request_seconds",
            "HTTP request latency.",
            ["route", "method", "status"],
            namespace=NAMESPACE,
            subsystem="gateway",
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request; label by the matched route's template, not the raw path."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"] if scope["method"] in METRIC_METHODS else "other"
            self.latency.labels(template, method, str(status["code"])).observe(
                time.perf_counter() - started
            )
