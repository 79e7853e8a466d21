"""Retry schedule for deliveries: exponential backoff with full jitter, capped.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter") spreads
retries of many subscriptions so a receiver that comes back is not stampeded.
The schedule is stored per delivery in the database, so retries survive restarts.
"""

from __future__ import annotations

import random


def next_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    >>> rng = random.Random(7)
    >>> all(0 <= next_delay(a, 1.0, 300.0, rng) <= min(300.0, 2 ** (a - 1)) for a in range(1, 20))
    True
    """
    ceiling = min(cap_s, base_s * (2 ** min(attempt - 1, 32)))
    return rng.uniform(0.0, ceiling)


def gives_up(attempts: int, max_attempts: int) -> bool:
    """True once ``attempts`` tries have failed and no more are allowed.

    >>> gives_up(8, 8), gives_up(7, 8)
    (True, False)
    """
    return attempts >= max_attempts
