"""Contextual pattern memory: how new is this value after the values just before it?

After the Contextual Anomaly Detector (CAD OSE, M. Smirnov and Y. Chen, the open-source
NAB detector; re-implemented from its published description, not its code): values are
quantised into a few levels, the detector remembers which level followed which recent
context of levels, and a point is surprising in proportion to how many of its contexts
(orders 1..``order``) have rarely or never been followed by its level. A pattern that
has repeated, however large its swings, stops being surprising; a spike inside a flat
stretch, or a known value in an unknown order, does not. CAD OSE's contexts grow
without bound; here the contexts are the last ``order`` levels, and a stream holds at
most ``max_counters`` counters (a transition first seen once the memory is full is
scored as new but not stored), so its state is bounded whatever the data; each context's
counts halve once they reach ``max_count`` so old habits fade.
"""

from __future__ import annotations

from collections import deque


class PatternMemory:
    """Counts of (context of the last ``k`` levels -> next level), for ``k = 1..order``.

    >>> m = PatternMemory(levels=4, order=2, max_count=64, max_counters=100)
    >>> for level in [0, 3] * 20:
    ...     m.learn(level)
    >>> m.surprise(0), m.surprise(2) # after 3 comes 0, never 2
    (0.0, 1.0)
    """

    __slots__ = (
        "counts",
        "history",
        "levels",
        "max_count",
        "max_counters",
        "order",
        "past",
        "season",
        "season_weight",
    )

    def __init__(
        self,
        levels: int,
        order: int,
        max_count: int,
        max_counters: int,
        season: int = 0,
        season_weight: float = 0.5,
    ) -> None:
        self.levels = levels
        self.order = order
        self.max_count = max_count
        self.max_counters = max_counters
        self.counts: dict[int, int] = {}  # key of (context, next level) or (context, total)
        self.history: list[int] = []  # the last ``order`` levels, oldest first
        # The last ``season`` levels: with them, "the level one season ago, then the last
        # level" is one more context, so a daily shape is learned and a break in it is new.
        self.season = season
        self.past: deque[int] | None = deque(maxlen=season) if season > 0 else None
        self.season_weight = season_weight

    def _keys(self, k: int) -> int:
        # Base levels + 1 so a context key (next = levels, the "total" slot) never collides.
        key = k
        base = self.levels + 1
        for level in self.history[-k:]:
            key = key * base + level
        return key * base

    def _season_context(self) -> int | None:
        past = self.past
        if past is None or len(past) < self.season or not self.history:
            return None
        base = self.levels + 1
        return ((self.order + 1) * base + past[0]) * base * base + self.history[-1] * base

    def _contexts(self) -> list[int]:
        keys = [self._keys(k) for k in range(1, min(self.order, len(self.history)) + 1)]
        season = self._season_context()
        return keys if season is None else [*keys, season]

    def _miss(self, ctx: int, level: int) -> float:
        seen = self.counts.get(ctx + level, 0)
        total = self.counts.get(ctx + self.levels, 0)
        return 1.0 - seen / total if total else 1.0

    def surprise(self, level: int) -> float:
        """1 - P(level | context), averaged over the orders, blended with the daily context.

        A context never seen counts as 1.0. The daily context weighs ``season_weight``
        against the mean of the sequence orders.
        """
        depth = min(self.order, len(self.history))
        if depth == 0:
            return 0.0
        sequence = sum(self._miss(self._keys(k), level) for k in range(1, depth + 1)) / depth
        season = self._season_context()
        if season is None:
            return sequence
        w = self.season_weight
        return (1.0 - w) * sequence + w * self._miss(season, level)

    def learn(self, level: int) -> None:
        """Count ``level`` after each of its contexts, then make it the newest history entry."""
        counts, total_slot = self.counts, self.levels
        for ctx in self._contexts():
            if ctx + level not in counts and len(counts) >= self.max_counters - 1:
                continue  # full: bounded state beats remembering one more rare transition
            counts[ctx + level] = counts.get(ctx + level, 0) + 1
            total = counts.get(ctx + total_slot, 0) + 1
            counts[ctx + total_slot] = total
            if total >= self.max_count:
                self._halve(ctx)
        self.history.append(level)
        if len(self.history) > self.order:
            del self.history[0]
        if self.past is not None:
            self.past.append(level)

    def _halve(self, ctx: int) -> None:
        counts = self.counts
        total = 0
        for level in range(self.levels):
            c = counts.get(ctx + level, 0) // 2
            if c:
                counts[ctx + level] = c
                total += c
            else:
                counts.pop(ctx + level, None)
        counts[ctx + self.levels] = total


def quantise(value: float, low: float, high: float, levels: int) -> int:
    """Level of ``value`` in ``levels`` equal bins over [low, high], clipped to the end bins.

    >>> quantise(5.0, 0.0, 10.0, 8), quantise(-1.0, 0.0, 10.0, 8), quantise(3.0, 3.0, 3.0, 8)
    (4, 0, 0)
    """
    if high <= low:
        return 0
    level = int((value - low) / (high - low) * levels)
    return 0 if level < 0 else (levels - 1 if level >= levels else level)
