"""Synthetic utilisation for right-sizing tests (our own profiles, no simulator)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from services.rightsizing.sketches import InstanceState

STEP_S = 300
DAY_S = 86_400
# A Monday (1970-01-05 is day 4): weeks line up with hour-of-week 0.
MONDAY = 20_454  # 2026-01-05


def series(
    days: int, fn: Callable[[np.ndarray], np.ndarray], start_day: int = MONDAY, step_s: int = STEP_S
) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps and values of ``fn(timestamps)`` every ``step_s`` for ``days`` days."""
    ts = np.arange(start_day * DAY_S, (start_day + days) * DAY_S, step_s, dtype=np.int64)
    return ts, np.asarray(fn(ts), dtype=np.float64)


def make_state(
    resource_id: str,
    instance_type: str,
    cpu: Callable[[np.ndarray], np.ndarray],
    days: int = 14,
    mem: Callable[[np.ndarray], np.ndarray] | None = None,
    net_bytes_per_step: float | None = 50_000.0,
    region: str = "us-east-1",
    hours: float | None = None,
) -> InstanceState:
    """An instance with ``days`` (or ``hours``) of 5-minute data from the given shapes."""
    state = InstanceState(
        resource_id, account_id="111122223333", region=region, instance_type=instance_type
    )
    ts, values = series(days, cpu)
    if hours is not None:
        keep = int(hours * 3600 / STEP_S)
        ts, values = ts[:keep], values[:keep]
    state.add("CPUUtilization", "Maximum", ts, values)
    if mem is not None:
        state.add("mem_used_percent", "Maximum", ts, np.asarray(mem(ts), dtype=np.float64))
    if net_bytes_per_step is not None:
        state.add("NetworkIn", "Sum", ts, np.full(ts.size, net_bytes_per_step))
    return state


def noisy(level: float, spread: float = 0.1, seed: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """CPU around ``level`` with multiplicative noise, capped at 100."""
    rng = np.random.default_rng(seed)

    def fn(ts: np.ndarray) -> np.ndarray:
        return np.minimum(level * np.exp(spread * rng.standard_normal(ts.size)), 100.0)

    return fn


def business_hours(
    busy: float = 50.0, night: float = 1.0, seed: int = 2
) -> Callable[[np.ndarray], np.ndarray]:
    """Busy Mon-Fri 08-18 UTC, near zero otherwise, every week alike."""
    rng = np.random.default_rng(seed)

    def fn(ts: np.ndarray) -> np.ndarray:
        hour = (ts % DAY_S) // 3600
        weekday = ((ts // DAY_S) + 3) % 7
        on = (weekday < 5) & (hour >= 8) & (hour < 18)
        base = np.where(on, busy, night)
        return base * np.exp(0.05 * rng.standard_normal(ts.size))

    return fn
