"""The one process shape every service runs in.

Settings from the environment (and ``stack.env``), logging configured once, a
Prometheus port when asked for, and a stop event set by SIGTERM or SIGINT: a
``kubectl delete`` or Ctrl-C lets the service finish its batch, write its
state and commit what it processed before the process exits 0. Each service's
``__main__`` is one call to :func:`run_service` with its settings class and
its ``main(settings, stop, metrics)``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared.logging import configure_logging, get_logger
from shared.settings import SpendstreamSettings, load
from shared.telemetry import ServiceMetrics

S = TypeVar("S", bound=SpendstreamSettings)
ServiceMain = Callable[[S, asyncio.Event, ServiceMetrics], Awaitable[None]]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

log = get_logger(__name__)


async def serve(settings: S, main: ServiceMain[S], metrics: ServiceMetrics | None = None) -> None:
    """Run ``main`` until it returns; SIGTERM/SIGINT set its stop event."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    metrics = metrics or ServiceMetrics(settings.service_name)
    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_port)
    log.info("service starting", metrics_port=settings.metrics_port)
    try:
        await main(settings, stop, metrics)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    log.info("service stopped", signalled=stop.is_set())


def run_service(
    settings_cls: type[S], main: ServiceMain[S], prepare: Callable[[S], None] | None = None
) -> None:
    """The process entry point: settings, logging, ``prepare`` (process tuning), ``asyncio.run``."""
    settings = load(settings_cls)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if prepare is not None:
        prepare(settings)
    asyncio.run(serve(settings, main))
