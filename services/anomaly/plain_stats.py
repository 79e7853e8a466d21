"""River statistics whose state is plain Python data, bit-for-bit equal to River's.

River 0.26 computes ``stats.EWMean`` and ``stats.RollingQuantile`` in Rust;
those objects persist only as native bytes whose decoder panics on malformed
input, so a hostile changelog record could crash the worker. These keep the
same arithmetic in attributes the state codec can write and check
(``tests/unit/anomaly/test_plain_stats.py`` compares them with River's own on
random streams); the rolling window is River's pure-Python ``SortedWindow``.
``RollingVar`` is River's ``utils.Rolling(stats.Var)`` with its window held as
plain floats instead of ``((x,), {})`` pairs: a 30-day window of 5-minute
points then encodes as one array, ~10x faster than as 8640 small tuples; the
window is a ``FloatWindow`` (8-byte doubles in a ring, a quarter of a deque's
memory) that counts its appends, so a changelog delta carries only its new values.
"""

from __future__ import annotations

import math

from river.stats import Var
from river.utils import SortedWindow

from shared.append_window import FloatWindow


class EWMean:
    """Exponentially weighted mean: the first value, then ``a*x + (1-a)*mean``.

    >>> m = EWMean(0.5)
    >>> m.update(2.0); m.update(4.0); m.get()
    3.0
    """

    __slots__ = ("alpha", "mean", "one_minus_alpha", "started")

    def __init__(self, fading_factor: float) -> None:
        self.alpha = fading_factor
        self.one_minus_alpha = 1.0 - fading_factor
        self.mean = 0.0
        self.started = False

    def update(self, x: float) -> None:
        """Fold one value in."""
        if self.started:
            self.mean = self.alpha * x + self.one_minus_alpha * self.mean
        else:
            self.mean, self.started = x, True

    def get(self) -> float:
        """The current mean (0 before the first value, as River's)."""
        return self.mean


class RollingQuantile:
    """The ``q`` quantile of the last ``window_size`` values, linearly interpolated.

    >>> r = RollingQuantile(0.5, window_size=3)
    >>> for x in (1.0, 9.0, 3.0, 5.0):
    ...     r.update(x)
    >>> r.get()
    5.0
    """

    __slots__ = ("q", "window")

    def __init__(self, q: float, window_size: int) -> None:
        self.q = q
        self.window: SortedWindow[float] = SortedWindow(window_size)

    def update(self, x: float) -> None:
        """Add one value, dropping the oldest once the window is full."""
        self.window.append(x)

    def get(self) -> float | None:
        """The quantile of the window (None while it is empty)."""
        values = self.window
        if not values:
            return None
        position = self.q * (len(values) - 1)
        lower, upper = math.floor(position), math.ceil(position)
        return values[lower] + (values[upper] - values[lower]) * (position - lower)


class RollingVar:
    """Variance (and mean) of the last ``window_size`` values, as River's ``Rolling(Var)``.

    >>> r = RollingVar(window_size=2)
    >>> for x in (1.0, 3.0, 5.0):
    ...     r.update(x)
    >>> r.var.get(), r.var.mean.get()
    (1.0, 4.0)
    """

    __slots__ = ("var", "window")

    def __init__(self, window_size: int, ddof: int = 0) -> None:
        self.var = Var(ddof=ddof)
        self.window = FloatWindow(window_size)

    def update(self, x: float) -> None:
        """Add one value, reverting the oldest once the window is full."""
        window = self.window
        if len(window) == window.maxlen:
            self.var.revert(window[0])
        self.var.update(x)
        window.append(x)
