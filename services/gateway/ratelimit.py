"""A per-key token bucket: ``rate`` requests/s sustained, ``burst`` at once.

Kept in the process (one bucket per key per replica): the limit protects each
replica, and a fleet-wide limit belongs in the load balancer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Buckets idle long enough to have refilled carry no information: forget them
# once there are this many, so memory stays bounded however many keys call.
MAX_TRACKED_KEYS = 10_000


@dataclass
class TokenBuckets:
    """Token buckets keyed by API key id.

    >>> b = TokenBuckets(rate=1.0, burst=2)
    >>> [b.take("k", now=0.0) for _ in range(3)]
    [0.0, 0.0, 1.0]
    >>> b.take("k", now=1.0)
    0.0
    """

    rate: float
    burst: int
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float:
        """Take one token; return 0 if allowed, else seconds until one is available."""
        tokens, last = self._state.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._remember(key, (tokens - 1.0, now))
            return 0.0
        self._remember(key, (tokens, now))
        return (1.0 - tokens) / self.rate

    def _remember(self, key: str, value: tuple[float, float]) -> None:
        if key not in self._state and len(self._state) >= MAX_TRACKED_KEYS:
            self._state.clear()
        self._state[key] = value
