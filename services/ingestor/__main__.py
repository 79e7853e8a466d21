"""``python -m services.ingestor``: run the ingestor service until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

from services.ingestor.app import run
from services.ingestor.settings import IngestorSettings
from shared.logging import configure_logging
from shared.settings import load


async def _main() -> None:
    settings = load(IngestorSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)


if __name__ == "__main__":
    asyncio.run(_main())
