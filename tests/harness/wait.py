"""Wait for a condition with a deadline instead of sleeping a fixed time.

Tests never "sleep and hope": they poll a predicate until it returns something
truthy, and fail with a message naming what they waited for and what they saw
last when the deadline passes.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")

# Most conditions here (a message arrives, a row lands) hold within a second or
# two on the embedded stack; 30 s absorbs a consumer-group join and a loaded CI.
DEFAULT_TIMEOUT_S = 30.0
# Polling every 50 ms keeps tests fast without busy-looping the broker.
DEFAULT_INTERVAL_S = 0.05


def _timeout_message(what: str, timeout: float, last: object, error: BaseException | None) -> str:
    message = f"timed out after {timeout:.1f} s waiting for {what}; last value: {last!r}"
    if error is not None:
        message += f"; last error: {error!r}"
    return message


def _describe(predicate: Callable[..., object], description: str | None) -> str:
    return description or str(getattr(predicate, "__name__", repr(predicate)))


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    interval: float = DEFAULT_INTERVAL_S,
    description: str | None = None,
    ignore: tuple[type[Exception], ...] = (),
) -> T:
    """Call ``predicate`` until it returns a truthy value and return that value.

    Exceptions of the types in ``ignore`` count as "not yet". On timeout an
    ``AssertionError`` says what was awaited, the last value and the last error.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    error: Exception | None = None
    while True:
        try:
            value = predicate()
        except ignore as exc:
            error = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(
                _timeout_message(_describe(predicate, description), timeout, last, error)
            )
        time.sleep(interval)


async def wait_for_async(
    predicate: Callable[[], Awaitable[T] | T],
    *,
    # Same signature as wait_for; the deadline is what the failure message reports.
    timeout: float = DEFAULT_TIMEOUT_S,  # noqa: ASYNC109
    interval: float = DEFAULT_INTERVAL_S,
    description: str | None = None,
    ignore: tuple[type[Exception], ...] = (),
) -> T:
    """Async :func:`wait_for`: ``predicate`` may be sync or return an awaitable."""
    deadline = time.monotonic() + timeout
    last: object = None
    error: Exception | None = None
    while True:
        try:
            result = predicate()
            value = await result if inspect.isawaitable(result) else result
        except ignore as exc:
            error = exc
        else:
            if value:
                return cast(T, value)
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(
                _timeout_message(_describe(predicate, description), timeout, last, error)
            )
        await asyncio.sleep(interval)
