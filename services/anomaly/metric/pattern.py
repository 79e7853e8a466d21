"""Contextual pattern memory: how new is this value after the values just before it?

After the Contextual Anomaly Detector (CAD OSE, M. Smirnov and Y. Chen, the open-source
NAB detector; re-implemented from its published description, not its code): values are
quantised into a few levels, the detector remembers which level followed which recent
context of levels, and a point is surprising in proportion to how rarely its level has
followed its contexts (the last 1, 2, ..., ``order`` levels). A pattern that has
repeated, however large its swings, stops being surprising; a spike inside a flat
stretch, or a known value in an unknown order, does not. CAD OSE's contexts grow
without bound; here a stream holds at most ``max_counters`` counters: when the memory is
full every count halves and those reaching zero are forgotten (rare, old transitions go
first), so the state is bounded whatever the data and a stream that runs for months keeps
learning. Each context's counts also halve once they reach ``max_count``, so old habits
fade.
"""

from __future__ import annotations


class PatternMemory:
    """Counts of (context of the last ``k`` levels -> next level), for ``k = 1..order``.

    >>> m = PatternMemory(levels=4, order=2, max_count=64, max_counters=100)
    >>> for level in [0, 3] * 20:
    ...     m.learn(level, m.contexts())
    >>> m.surprise(0, m.contexts()), m.surprise(2, m.contexts())  # after 3 comes 0, never 2
    (0.0, 1.0)
    """

    __slots__ = ("counts", "history", "levels", "max_count", "max_counters", "order")

    def __init__(self, levels: int, order: int, max_count: int, max_counters: int) -> None:
        self.levels = levels
        self.order = order
        self.max_count = max_count
        self.max_counters = max_counters
        # Key of a context: its levels as digits 1..levels in base levels+1, newest first,
        # times the base; plus the next level (0..levels-1), or plus ``levels`` for the
        # context's total. Digits >= 1 keep contexts of different lengths apart.
        self.counts: dict[int, int] = {}
        self.history: list[int] = []  # the last ``order`` levels, oldest first

    def contexts(self) -> list[int]:
        """Keys of the current contexts, shortest first (pass them to surprise and learn)."""
        base = self.levels + 1
        keys, key = [], 0
        for level in reversed(self.history):
            key = key * base + level + 1
            keys.append(key * base)
        return keys

    def surprise(self, level: int, contexts: list[int]) -> float:
        """Mean over the contexts of 1 - P(level | context); a context never seen counts 1."""
        if not contexts:
            return 0.0
        counts, total_slot = self.counts, self.levels
        miss = 0.0
        for ctx in contexts:
            total = counts.get(ctx + total_slot, 0)
            miss += 1.0 - counts.get(ctx + level, 0) / total if total else 1.0
        return miss / len(contexts)

    def learn(self, level: int, contexts: list[int]) -> None:
        """Count ``level`` after each of its contexts, then make it the newest history entry."""
        counts, total_slot = self.counts, self.levels
        if len(counts) + 2 * len(contexts) > self.max_counters:
            self._forget()
        for ctx in contexts:
            counts[ctx + level] = counts.get(ctx + level, 0) + 1
            total = counts.get(ctx + total_slot, 0) + 1
            counts[ctx + total_slot] = total
            if total >= self.max_count:
                self._halve(ctx)
        history = self.history
        history.append(level)
        if len(history) > self.order:
            del history[0]

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

    def _forget(self) -> None:
        """Halve every transition count, drop the zeros, and recount the context totals."""
        base, total_slot = self.levels + 1, self.levels
        kept = {k: c // 2 for k, c in self.counts.items() if k % base != total_slot and c > 1}
        for key, c in list(kept.items()):
            ctx = key - key % base + total_slot
            kept[ctx] = kept.get(ctx, 0) + c
        self.counts = kept


def quantise(value: float, low: float, high: float, levels: int) -> int:
    """Level of ``value`` in ``levels`` equal bins over [low, high], clipped to the end bins.

    >>> quantise(5.0, 0.0, 10.0, 8), quantise(-1.0, 0.0, 10.0, 8), quantise(3.0, 3.0, 3.0, 8)
    (4, 0, 0)
    """
    if high <= low:
        return 0
    level = int((value - low) / (high - low) * levels)
    return 0 if level < 0 else (levels - 1 if level >= levels else level)
