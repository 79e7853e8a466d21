"""A webhook receiver for tests: records requests; can answer errors; starts late."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.harness.wait import wait_for_async

# uvicorn binds a loopback port in milliseconds; 30 s only absorbs a loaded CI machine.
START_TIMEOUT_S = 30.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Listens on ``port`` only between ``start()`` and ``stop()``."""

    port: int
    status: int = 204
    requests: list[Received] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    async def _hook(self, request: Request) -> Response:
        self.requests.append(Received(dict(request.headers), await request.body()))
        return Response(status_code=self.status)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())

        def started() -> bool:
            if self._task is not None and self._task.done():
                self._task.result()  # a failed start raises here
            return bool(self._server is not None and self._server.started)

        await wait_for_async(started, timeout=START_TIMEOUT_S, description="webhook receiver up")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
