"""A DDSketch kept as one small numpy array of bin counts.

The bins are exactly those of ``ddsketch.DDSketch`` (``LogarithmicMapping``,
dense store): a value ``v > 0`` lands in key ``ceil(log_gamma(v))`` and a
quantile is read back as ``mapping.value(key)``, so the accuracy guarantee
(relative error <= ``RELATIVE_ACCURACY``) is the library's. What differs is
the container: one contiguous ``uint16`` array per instance-day (widened to
``uint32`` only if a bin could pass 65,535) instead of a Python list of
floats, so 140,000 instance-day sketches fit in tens of MB, and a whole day
of points is added with one vectorised ``bincount``.

>>> import numpy as np
>>> s = CompactSketch()
>>> s.add_many(np.arange(1.0, 101.0))
>>> round(s.quantile(0.5), 0), s.count, s.peak
(50.0, 100, 100.0)
"""

from __future__ import annotations

import math

import numpy as np
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

# 1% relative accuracy: the brief's target and the ddsketch default; a CPU of
# 80% is known to within +-0.8 points, far finer than any headroom decision.
RELATIVE_ACCURACY = 0.01
_MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
# ddsketch computes ``log(v, 2) * multiplier`` with ``multiplier = log(2) / log1p(m)``;
# we use the same multiplier on numpy's log2 (keys can differ only by float rounding
# exactly at a bin edge, where either bin is within the accuracy guarantee).
_GAMMA_MANTISSA = 2 * RELATIVE_ACCURACY / (1 - RELATIVE_ACCURACY)
_MULTIPLIER = (1 / math.log1p(_GAMMA_MANTISSA)) * math.log(2)
# A day's bin counts fit in 16 bits up to 65,535 points in one bin (a day of
# 1-minute data has 1,440 points); past that the bins widen to 32 bits.
NARROW_MAX = int(np.iinfo(np.uint16).max)
# Shared by every empty sketch (read-only: the first add replaces, never mutates it).
_NO_BINS = np.zeros(0, dtype=np.uint16)
_NO_BINS.flags.writeable = False


def mapping() -> LogarithmicMapping:
    """The ddsketch key mapping every sketch here shares (so they all merge)."""
    return _MAPPING


def bin_counts(counts: np.ndarray, bound: int) -> np.ndarray:
    """``counts`` as stored bins: 16-bit when no bin can exceed ``bound`` <= 65,535, else 32."""
    return counts.astype(np.uint16 if bound <= NARROW_MAX else np.uint32)


def keys_of(values: np.ndarray) -> np.ndarray:
    """The ddsketch keys of strictly positive values, vectorised."""
    # In place on one float buffer: the same operations in the same order (so the
    # same keys) without two temporaries the size of the batch.
    buf = np.log2(values, dtype=np.float64)
    buf *= _MULTIPLIER
    np.ceil(buf, out=buf)
    keys: np.ndarray = buf.astype(np.int64)
    return keys


class CompactSketch:
    """Mergeable DDSketch of non-negative values with exact count, sum and max."""

    __slots__ = ("bins", "count", "offset", "peak", "total", "zeros")

    def __init__(self) -> None:
        self.offset = 0
        self.bins = _NO_BINS
        self.zeros = 0
        self.count = 0
        self.total = 0.0
        self.peak = 0.0

    def add(self, value: float) -> None:
        """Add one value (the streaming path)."""
        self.add_many(np.asarray([value], dtype=np.float64))

    def add_many(self, values: np.ndarray) -> None:
        """Add many non-negative values at once (the bulk path)."""
        if values.size == 0:
            return
        positive = values[values > _MAPPING.min_possible]
        self.zeros += int(values.size - positive.size)
        self.count += int(values.size)
        self.total += float(values.sum())
        self.peak = max(self.peak, float(values.max()))
        if positive.size:
            keys = keys_of(positive)
            lo = int(keys.min())
            counts = np.bincount(keys - lo)
            self.add_counts(lo, counts)

    @classmethod
    def from_bins(
        cls, offset: int, bins: np.ndarray, zeros: int, count: int, total: float, peak: float
    ) -> CompactSketch:
        """A sketch from bin counts already computed (the bulk path); ``count`` includes zeros."""
        sketch = cls.__new__(cls)
        sketch.offset, sketch.bins, sketch.zeros, sketch.count = offset, bins, zeros, count
        sketch.total, sketch.peak = total, peak
        return sketch

    def add_counts(self, lo: int, counts: np.ndarray) -> None:
        """Add bin counts for keys ``lo .. lo + len(counts) - 1``."""
        hi = lo + counts.size
        incoming = int(counts.max()) if counts.size else 0
        if self.bins.size == 0:
            self.offset, self.bins = lo, bin_counts(counts, incoming)
            return
        dtype: np.dtype[np.unsignedinteger] = self.bins.dtype
        if dtype == np.uint16 and int(self.bins.max()) + incoming > NARROW_MAX:
            dtype = np.dtype(np.uint32)  # a bin could overflow 16 bits: widen first
        new_lo, new_hi = min(lo, self.offset), max(hi, self.offset + self.bins.size)
        if new_lo != self.offset or new_hi != self.offset + self.bins.size:
            grown = np.zeros(new_hi - new_lo, dtype=dtype)
            grown[self.offset - new_lo : self.offset - new_lo + self.bins.size] = self.bins
            self.offset, self.bins = new_lo, grown
        elif dtype != self.bins.dtype:
            self.bins = self.bins.astype(dtype)
        self.bins[lo - self.offset : hi - self.offset] += counts.astype(dtype)

    @classmethod
    def merged(cls, sketches: list[CompactSketch]) -> CompactSketch:
        """One sketch summarising all of ``sketches`` (one allocation, not one per merge)."""
        out = cls()
        full: list[CompactSketch] = []
        lo = hi = 0
        for s in sketches:  # one pass: this runs for every instance on every evaluation
            out.zeros += s.zeros
            out.count += s.count
            out.total += s.total
            out.peak = max(out.peak, s.peak)
            size = s.bins.size
            if size:
                if not full or s.offset < lo:
                    lo = s.offset
                if not full or s.offset + size > hi:
                    hi = s.offset + size
                full.append(s)
        if full:
            out.offset, out.bins = lo, np.zeros(hi - lo, dtype=np.uint32)
            for s in full:
                out.bins[s.offset - lo : s.offset - lo + s.bins.size] += s.bins
        return out

    def merge(self, other: CompactSketch) -> None:
        """Fold ``other`` in; the result summarises both inputs."""
        if other.count == 0:
            return
        if other.bins.size:
            self.add_counts(other.offset, other.bins)
        self.zeros += other.zeros
        self.count += other.count
        self.total += other.total
        self.peak = max(self.peak, other.peak)

    def quantile(self, q: float) -> float | None:
        """The q-quantile as ddsketch computes it (lower rank, bin representative)."""
        if self.count == 0 or not 0.0 <= q <= 1.0:
            return None
        rank = q * (self.count - 1)
        if rank < self.zeros:
            return 0.0
        cumulative = np.cumsum(self.bins, dtype=np.float64)
        index = int(np.searchsorted(cumulative, rank - self.zeros, side="right"))
        index = min(index, self.bins.size - 1)
        return float(min(_MAPPING.value(self.offset + index), self.peak))

    def quantile_upper(self, q: float) -> float | None:
        """An upper bound on the true q-quantile: the estimate widened by the accuracy."""
        value = self.quantile(q)
        return None if value is None else min(value * (1 + RELATIVE_ACCURACY), self.peak)

    @property
    def mean(self) -> float | None:
        """The exact mean of the values added."""
        return self.total / self.count if self.count else None

    def to_ddsketch(self) -> DDSketch:
        """The equivalent ``ddsketch.DDSketch`` (for interoperability and cross-checks)."""
        sketch = DDSketch(RELATIVE_ACCURACY)
        if self.zeros:
            sketch.add(0.0, float(self.zeros))
        for index in np.flatnonzero(self.bins):
            sketch.add(_MAPPING.value(self.offset + int(index)), float(self.bins[index]))
        return sketch

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactSketch):
            return NotImplemented
        return (
            self.offset == other.offset
            and np.array_equal(self.bins, other.bins)
            and (self.zeros, self.count, self.total, self.peak)
            == (other.zeros, other.count, other.total, other.peak)
        )

    def __repr__(self) -> str:
        return f"CompactSketch(count={self.count}, bins={self.bins.size}, peak={self.peak:.3g})"
