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

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` has a token (0 if it has one now); takes nothing.

        >>> b = TokenBuckets(rate=1.0, burst=1)
        >>> b.take("k", now=0.0), b.wait("k", now=0.5), b.wait("k", now=1.0)
        (0.0, 0.5, 0.0)
        """
        tokens, last = self._state.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _remember(self, key: str, value: tuple[float, float]) -> None:
        if key not in self._state and len(self._state) >= MAX_TRACKED_KEYS:
            self._state.clear()
        self._state[key] = value


def lockout_refusal(wait: float) -> tuple[str, str]:
    """(message, Retry-After value) for a client out of authentication attempts.

    >>> lockout_refusal(2.4)
    ('too many failed authentication attempts from this client; retry after 2 s', '2')
    """
    message = f"too many failed authentication attempts from this client; retry after {wait:.0f} s"
    return message, str(max(1, round(wait)))


@dataclass
class FailureLimiter:
    """Failed authentication attempts per client: ``burst`` at once, then ``rate`` per second.

    A client out of attempts is refused before any key lookup, so guessing keys
    (or flooding with bad ones) costs no database work.

    >>> f = FailureLimiter(rate=0.5, burst=2)
    >>> f.record("1.2.3.4", 0.0); f.record("1.2.3.4", 0.0)
    >>> f.retry_after("1.2.3.4", 0.0), f.retry_after("5.6.7.8", 0.0)
    (2.0, 0.0)
    """

    rate: float
    burst: int
    _buckets: TokenBuckets = field(init=False)

    def __post_init__(self) -> None:
        self._buckets = TokenBuckets(self.rate, self.burst)

    def retry_after(self, client: str, now: float) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        return self._buckets.wait(client, now)

    def record(self, client: str, now: float) -> None:
        """Charge one failed attempt to ``client``."""
        self._buckets.take(client, now)
