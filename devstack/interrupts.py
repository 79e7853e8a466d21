"""Signals around start and stop: clean-up must run, and must not itself be cut short.

Ctrl-C raises ``KeyboardInterrupt`` wherever Python happens to be, which is
what lets a half-done start stop what it started. SIGTERM (``kill``, a
process manager, ``timeout``) would end the process without any clean-up, so
while servers are being started it is turned into the same exception. During
clean-up both are held off: a second Ctrl-C (terminals and ``uv run`` both
forward it) must not leave the second server running.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _in_main_thread() -> bool:
    """Signal handlers can only be changed from the main thread."""
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises ``KeyboardInterrupt`` like Ctrl-C does."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def no_interrupts() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM are ignored (clean-up runs to its end)."""
    if not _in_main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
