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

from collections import deque
from collections.abc import Iterable
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

    def pop(self) -> Any:  # noqa: D102
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

    def __imul__(self, n: int) -> AppendWindow:  # type: ignore[override,misc]
        self.edits += 1
        deque.__imul__(self, n)
        return self

    def __iadd__(self, iterable: Iterable[Any]) -> AppendWindow:  # type: ignore[override,misc]
        self.extend(iterable)
        return self
