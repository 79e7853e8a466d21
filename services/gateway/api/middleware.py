"""ASGI middleware: security headers, query and body size limits, request metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.api.params import QUERY_PARAMS_MAX
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
_REPLACED = {name for name, _ in SECURITY_HEADERS}


class SecurityHeaders:
    """Set ``SECURITY_HEADERS`` on every HTTP response (replacing a route's own Cache-Control)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the response start; bodies pass through untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                message = {**message, "headers": [*kept, *SECURITY_HEADERS]}
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


async def _answer_json(send: Send, status: int, doc: dict[str, Any]) -> None:
    payload = orjson.dumps(doc)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
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
