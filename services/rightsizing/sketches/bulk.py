"""Bulk update: CPU points of many instances and days folded in with one pass of numpy.

This is the path the intake uses for every batch (and the benchmark for its
fleet). It is the algorithm of ``DayRecord.add_cpu`` vectorised across
instance-days: the points are grouped into (instance, day) segments, ddsketch
keys are computed for all points in one ``log``, one ``bincount`` over
``segment * width + key`` counts every segment's bins, and the hour-of-day
sum/count/max come from ``bincount``/``maximum.at`` over ``segment * 24 + hour``.
Only the final step, wrapping each segment's arrays into its ``DayRecord``,
is per instance-day. Results equal adding instance by instance.

>>> import numpy as np
>>> from services.rightsizing.sketches.day import DayRecord
>>> days_a, b = [{}], DayRecord()
>>> ts = np.arange(0, 86_400, 300)
>>> add_cpu_day(days_a, 0, ts, np.full((1, 288), 20.0), period_s=300)
>>> b.add_cpu(ts, np.full(288, 20.0), period_s=300)
>>> days_a[0][0] == b
True
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import TypeVar

import numpy as np

from services.rightsizing.sketches.compact import (
    NARROW_MAX,
    CompactSketch,
    bin_counts,
    keys_of,
    mapping,
)
from services.rightsizing.sketches.day import HOURS_PER_DAY, SECONDS_PER_DAY, DayRecord

# Largest dense (segment x key) count matrix built in one go (8-byte cells, so
# 256 MB). Ordinary CPU spans ~500 keys, so a 1000-instance batch needs ~4 MB;
# only pathological inputs (values near the mapping's smallest key) exceed it,
# and those are folded in segment by segment instead of allocating the block.
MAX_DENSE_CELLS = 32_000_000
_T = TypeVar("_T", bound=Hashable)


def add_cpu_day(days: list[dict[int, DayRecord]], day: int, timestamps: np.ndarray,
                values: np.ndarray, period_s: int) -> None:  # fmt: skip
    """Add ``values[i]`` (CPU at ``timestamps``, all on UTC ``day``) to ``days[i][day]``.

    A convenience over ``add_cpu_points`` for a regular ``instances x steps`` block.
    """
    n, steps = values.shape
    if timestamps.size and np.any(timestamps // SECONDS_PER_DAY != day):
        raise ValueError(f"add_cpu_day: every timestamp must fall on day {day}")
    rows = np.repeat(np.arange(n, dtype=np.int64), steps)
    add_cpu_points(days, rows, np.tile(timestamps, n), values.ravel(), period_s)


def _segments(rows: np.ndarray, day_of: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Start of each (row, day) run, and the order that groups them (None if already grouped)."""
    order = None
    if rows.size > 1 and not (
        np.all(rows[1:] >= rows[:-1])
        and np.all((rows[1:] != rows[:-1]) | (day_of[1:] >= day_of[:-1]))
    ):
        order = np.lexsort((day_of, rows))  # stable: points keep their order within a day
        rows, day_of = rows[order], day_of[order]
    change = np.flatnonzero((rows[1:] != rows[:-1]) | (day_of[1:] != day_of[:-1])) + 1
    return np.concatenate(([0], change)), order


def _shared(values: list[_T]) -> list[_T]:
    """``values`` with equal ones as one object.

    A batch's days, point counts and seconds repeat across its instances, and
    every day record keeps them (28 bytes per Python int or float, ~10 MB over
    140,000 instance-days).
    """
    first: dict[_T, _T] = {}
    return [first.setdefault(v, v) for v in values]


def add_cpu_points(days: list[dict[int, DayRecord]], rows: np.ndarray, timestamps: np.ndarray,
                   values: np.ndarray, period_s: int | np.ndarray) -> None:  # fmt: skip
    """Add CPU point ``j`` (epoch seconds, percent) to the day record in ``days[rows[j]]``.

    ``period_s`` is one period for all points or one per point. Points need
    not be sorted; within an instance-day their order is kept (so sums add up
    exactly as the streaming path adds them).
    """
    if values.size == 0:
        return
    periods = np.broadcast_to(np.asarray(period_s, dtype=np.float64), values.shape)
    day_of = timestamps // SECONDS_PER_DAY
    starts, order = _segments(rows, day_of)
    if order is not None:
        rows, timestamps, values = rows[order], timestamps[order], values[order]
        day_of, periods = day_of[order], periods[order]
    nseg = starts.size
    seg = np.repeat(np.arange(nseg), np.diff(np.append(starts, values.size)))
    # Hour of day per segment: sums in input order (as bincount does per instance).
    # Seconds into the day fit in 32 bits, whose division is much cheaper than the
    # 64-bit ``timestamps % day // 3600`` (same integers); built in place.
    hour = (timestamps - day_of * SECONDS_PER_DAY).astype(np.int32)
    hour //= 3600
    slot = seg * HOURS_PER_DAY
    slot += hour
    cells = nseg * HOURS_PER_DAY
    sums = np.bincount(slot, weights=values, minlength=cells).reshape(nseg, HOURS_PER_DAY)
    counts = np.bincount(slot, minlength=cells).reshape(nseg, HOURS_PER_DAY)
    maxima = np.zeros(cells)
    np.maximum.at(maxima, slot, values)
    hourly = np.stack([sums, counts, maxima.reshape(nseg, HOURS_PER_DAY)], axis=1)
    fresh = hourly.astype(np.float32)  # new records keep a view of this block
    seconds = np.add.reduceat(periods, starts)
    peaks = np.maximum.reduceat(values, starts)
    positive = values > mapping().min_possible
    sizes = np.diff(np.append(starts, values.size))
    if positive.all():  # the common case: no zeros, so no masking passes
        keys = keys_of(values)
        zeros = np.zeros(nseg, dtype=np.int64)
        lows, highs = np.minimum.reduceat(keys, starts), np.maximum.reduceat(keys, starts)
    else:
        zeros = np.add.reduceat(~positive, starts)
        keys = np.zeros(values.size, dtype=np.int64)
        keys[positive] = keys_of(values[positive])
        big = np.iinfo(np.int64).max
        lows = np.minimum.reduceat(np.where(positive, keys, big), starts)
        highs = np.maximum.reduceat(np.where(positive, keys, -big), starts)
    has_keys = zeros < sizes
    base = int(lows[has_keys].min()) if has_keys.any() else 0
    width = int(highs[has_keys].max()) - base + 1 if has_keys.any() else 1
    dense = None
    if nseg * width <= MAX_DENSE_CELLS:
        flat = seg * width  # in place: one temporary, not three
        flat += keys
        flat -= base
        if not positive.all():
            flat = flat[positive]
        dense = np.bincount(flat, minlength=nseg * width).reshape(nseg, width)
    bounds = np.append(starts, values.size).tolist()
    if nseg and bool((sizes == sizes[0]).all()):
        # A regular block (every instance-day the same points, as a consumer's
        # batch of one metric usually is): one row-wise reduction, the same
        # pairwise sum per row as ``chunk.sum()``, instead of one call per row.
        totals = values.reshape(nseg, -1).sum(axis=1).tolist()
    else:
        totals = [float(values[a:b].sum()) for a, b in itertools.pairwise(bounds)]
    narrow = None  # bins of every segment as 16-bit at once when none can pass 65,535
    if dense is not None and int(sizes.max()) <= NARROW_MAX:
        narrow = dense.astype(np.uint16)
    for i, (row, day, some, lo, hi, zero, size, secs, peak, total) in enumerate(zip(
        rows[starts].tolist(), _shared(day_of[starts].tolist()), has_keys.tolist(),
        lows.tolist(), highs.tolist(), zeros.tolist(), _shared(sizes.tolist()),
        _shared(seconds.tolist()), peaks.tolist(), totals, strict=True,
    )):  # fmt: skip
        if not some:
            sketch = CompactSketch.from_bins(0, bin_counts(np.zeros(0), 0), zero, size, 0.0, 0.0)
            sketch.total, sketch.peak = total, float(peak)
        elif narrow is not None:
            bins = narrow[i, lo - base : hi - base + 1].copy()
            sketch = CompactSketch.from_bins(lo, bins, zero, size, total, peak)
        elif dense is not None:
            bins = bin_counts(dense[i, lo - base : hi - base + 1], size)
            sketch = CompactSketch.from_bins(lo, bins, zero, size, total, peak)
        else:
            sketch = CompactSketch()
            sketch.add_many(values[bounds[i] : bounds[i + 1]])
        record = days[row].get(day)
        if record is None:
            days[row][day] = DayRecord.from_cpu(sketch, fresh, i, secs)
            continue
        record.cpu.merge(sketch)
        record.cpu_seconds += secs
        record.hourly[:2] += hourly[i, :2]
        np.maximum(record.hourly[2], hourly[i, 2], out=record.hourly[2])
