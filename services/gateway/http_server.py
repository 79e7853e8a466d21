"""The HTTP server's own limits: a header-read deadline, connection and concurrency caps.

uvicorn times out idle keep-alive connections but not a client that sends its
request head one byte at a time (slowloris): such a client holds a connection
and a file descriptor for as long as it likes. ``GuardedH11Protocol`` closes a
connection whose request head is not complete within ``header_timeout_s``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from services.gateway.settings import GatewaySettings


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline on reading each request head."""

    header_timeout_s: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows BaseTransport
        """Start the head deadline as soon as the connection opens."""
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        """Stop the head deadline once h11 has seen a complete request head."""
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        """The next request on a kept-alive connection gets its own head deadline."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """No timer outlives its connection."""
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(header_timeout_s: float) -> type[GuardedH11Protocol]:
    """A protocol class with this deadline (uvicorn takes a class, not an instance)."""
    return type("GuardedH11", (GuardedH11Protocol,), {"header_timeout_s": header_timeout_s})


def server_config(app: Any, settings: GatewaySettings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration the gateway runs with (and the security tests serve with)."""
    values: dict[str, Any] = {
        "host": settings.gateway_http_host,
        "port": settings.gateway_http_port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "http": guarded_protocol(settings.gateway_http_header_timeout_s),
        "timeout_keep_alive": settings.gateway_http_keep_alive_s,
        "limit_concurrency": settings.gateway_http_limit_concurrency,
        "h11_max_incomplete_event_size": settings.gateway_http_max_head_bytes,
    }
    values.update(overrides)
    return uvicorn.Config(app, **values)
