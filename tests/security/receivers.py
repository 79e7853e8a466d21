"""Hostile webhook receivers: redirect inward, leak an internal body, answer slowly."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tests.integration.gateway.receiver import Received, Receiver


@dataclass
class HostileReceiver(Receiver):
    """A Receiver whose answer is scripted: a status, a Location, a body, a stall."""

    location: str | None = None
    body: bytes = b""
    # Seconds to wait before answering, and seconds between body chunks (a slowloris).
    delay_s: float = 0.0
    trickle_s: float = 0.0

    @property
    def url(self) -> str:
        """The hook URL (plain http on loopback: the tests' operator allow-list)."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        self.requests.append(Received(dict(request.headers), await request.body()))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        headers = {"Location": self.location} if self.location else {}
        if self.trickle_s:

            async def chunks() -> object:
                for _ in range(1000):
                    yield b"x"
                    await asyncio.sleep(self.trickle_s)

            return StreamingResponse(chunks(), status_code=self.status, headers=headers)  # type: ignore[arg-type]  # an async generator of bytes
        return Response(self.body, status_code=self.status, headers=headers)
