"""Run the gateway under uvicorn in a background thread, for synchronous test clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn

from devstack.ports import free_port
from services.gateway.api.state import GatewayState
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for

T = TypeVar("T")


class ThreadedGateway:
    """The real app on a loopback port; ``call`` runs coroutines on its loop."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
            )
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gateway", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            await self._server.serve()

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced to the test by start()
            self._error = exc

    def start(self) -> None:
        self._thread.start()
        wait_for(
            lambda: self._server.started or self._error or not self._thread.is_alive(),
            description="gateway thread serving",
        )
        if not self._server.started:
            raise RuntimeError(f"gateway did not start: {self._error!r}")

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.state.gateway
        return state

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
