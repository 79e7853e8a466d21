"""Open-stream counting per key and per process (no I/O; the state holds one per process)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class StreamSlots:
    """Counts open streams per key and per process.

    >>> slots = StreamSlots(per_key=1, total=2)
    >>> a = slots.take("k1"); slots.take("k1") is None, slots.take("k2") is not None
    (True, True)
    >>> slots.take("k3") is None
    True
    >>> a.release(); a.release(); slots.take("k1") is not None
    True
    """

    per_key: int
    total: int
    _open: Counter[str] = field(default_factory=Counter)

    def take(self, key_id: str) -> StreamSlot | None:
        """A slot for one more stream of ``key_id``, or None when a cap is reached."""
        if self._open[key_id] >= self.per_key or self._open.total() >= self.total:
            return None
        self._open[key_id] += 1
        return StreamSlot(self, key_id)

    def _release(self, key_id: str) -> None:
        self._open[key_id] -= 1
        if self._open[key_id] <= 0:
            del self._open[key_id]


@dataclass
class StreamSlot:
    """One open stream; ``release`` is idempotent (the stream and the response both call it)."""

    slots: StreamSlots
    key_id: str
    _released: bool = False

    def release(self) -> None:
        """Give the slot back."""
        if not self._released:
            self._released = True
            self.slots._release(self.key_id)
