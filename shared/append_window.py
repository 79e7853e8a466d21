"""A bounded deque that counts its appends, so a state write can send only the new items.

A 30-day rolling window is 8,640 floats: re-writing all of them to a changelog
for every new point is what made anomaly state writes cost ~60 KB per stream
per checkpoint. A window that knows how many items were appended since it was
last written in full lets the state codec write just those (see
``StateCodec.encode_delta``). Any other mutation (popleft, clear, setitem...)
bumps ``edits``, which tells the codec the window can no longer be rebuilt
from a tail, so the next write is a full one.

>>> w = AppendWindow(maxlen=3)
>>> for x in (1.0, 2.0, 3.0, 4.0):
...     w.append(x)
>>> list(w), w.appended, w.edits
([2.0, 3.0, 4.0], 4, 0)
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, SupportsIndex


class AppendWindow(deque[Any]):
    """``deque(maxlen=...)`` plus ``appended`` (appends, ever) and ``edits`` (other changes)."""

    def __init__(self, iterable: Iterable[Any] = (), maxlen: int | None = None) -> None:
        super().__init__(iterable, maxlen)
        self.appended = len(self)
        self.edits = 0

    def append(self, x: Any) -> None:
        """Append on the right, dropping the oldest item once full (counted)."""
        deque.append(self, x)
        self.appended += 1

    def extend(self, iterable: Iterable[Any]) -> None:
        """Append each item (counted like ``append``)."""
        for x in iterable:
            self.append(x)

    # Every other mutation invalidates "base + appended tail".
    def appendleft(self, x: Any) -> None:  # noqa: D102
        self.edits += 1
        deque.appendleft(self, x)

    def extendleft(self, iterable: Iterable[Any]) -> None:  # noqa: D102
        self.edits += 1
        deque.extendleft(self, iterable)

    def pop(self) -> Any:  # type: ignore[override]  # noqa: D102
        self.edits += 1
        return deque.pop(self)

    def popleft(self) -> Any:  # noqa: D102
        self.edits += 1
        return deque.popleft(self)

    def clear(self) -> None:  # noqa: D102
        self.edits += 1
        deque.clear(self)

    def remove(self, value: Any) -> None:  # noqa: D102
        self.edits += 1
        deque.remove(self, value)

    def rotate(self, n: int = 1) -> None:  # noqa: D102
        self.edits += 1
        deque.rotate(self, n)

    def reverse(self) -> None:  # noqa: D102
        self.edits += 1
        deque.reverse(self)

    def insert(self, i: int, x: Any) -> None:  # noqa: D102
        self.edits += 1
        deque.insert(self, i, x)

    def __setitem__(self, i: SupportsIndex, x: Any) -> None:  # type: ignore[override]
        self.edits += 1
        deque.__setitem__(self, i, x)

    def __delitem__(self, i: SupportsIndex) -> None:  # type: ignore[override]
        self.edits += 1
        deque.__delitem__(self, i)

    def __imul__(self, n: int) -> AppendWindow:
        self.edits += 1
        deque.__imul__(self, n)
        return self

    def __iadd__(self, iterable: Iterable[Any]) -> AppendWindow:
        self.extend(iterable)
        return self


class FloatWindow:
    """The last ``maxlen`` floats in a ring of 8-byte doubles, counting appends like AppendWindow.

    A deque holds each float as a 24-byte object plus an 8-byte slot: a 30-day
    window of 8,640 values is ~280 KB in memory, 4x its content. This keeps the
    same values exactly in ~70 KB. Only what the rolling statistics use is
    offered: append, len, indexing, iteration oldest first.

    >>> w = FloatWindow(3)
    >>> for x in (1.0, 2.0, 3.0, 4.0):
    ...     w.append(x)
    >>> list(w), w[0], w[-1], len(w), w.appended
    ([2.0, 3.0, 4.0], 2.0, 4.0, 3, 4)
    """

    __slots__ = ("appended", "edits", "head", "maxlen", "values")

    def __init__(self, maxlen: int, values: Iterable[float] = ()) -> None:
        if maxlen < 1:
            raise ValueError("a FloatWindow holds at least one value")
        self.maxlen = maxlen
        self.values = array("d")
        self.head = 0  # index of the oldest value once the ring is full
        self.appended = 0
        self.edits = 0  # always 0: nothing but append changes it
        for x in values:
            self.append(x)

    def append(self, x: float) -> None:
        """Add ``x`` as the newest value, dropping the oldest once full."""
        values = self.values
        if len(values) < self.maxlen:
            values.append(x)
        else:
            values[self.head] = x
            self.head = self.head + 1 if self.head + 1 < self.maxlen else 0
        self.appended += 1

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> float:
        n = len(self.values)
        if not -n <= i < n:
            raise IndexError("FloatWindow index out of range")
        return self.values[(self.head + i) % n]

    def __iter__(self) -> Iterator[float]:
        values, head = self.values, self.head
        return iter(values[head:].tolist() + values[:head].tolist())

    def __reversed__(self) -> Iterator[float]:
        return reversed(list(self))

    def ordered(self) -> array[float]:
        """The values oldest first, as one array (what the codec writes)."""
        return self.values[self.head :] + self.values[: self.head]

    def __repr__(self) -> str:
        return f"FloatWindow({self.maxlen}, {list(self)!r})"
