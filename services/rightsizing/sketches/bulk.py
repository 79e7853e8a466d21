"""Bulk update: one day of CPU for many instances at once (backfills, benchmarks).

The same algorithm as ``DayRecord.add_cpu``, vectorised across instances:
ddsketch keys for the whole ``instances x steps`` matrix in one ``log``, one
``bincount`` for every instance's bins, and the hour-of-day sum/count/max by
reshaping. Results equal adding instance by instance.

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

import numpy as np

from services.rightsizing.sketches.compact import CompactSketch, keys_of, mapping
from services.rightsizing.sketches.day import HOURS_PER_DAY, SECONDS_PER_DAY, DayRecord


def _hourly(timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``instances x 3 x 24``: CPU sum, count and max per hour of day."""
    n = values.shape[0]
    hours = (timestamps % SECONDS_PER_DAY) // 3600
    per_hour = np.bincount(hours, minlength=HOURS_PER_DAY)
    sums = np.zeros((n, HOURS_PER_DAY))
    maxima = np.zeros((n, HOURS_PER_DAY))
    if np.all(np.diff(hours) >= 0) and (per_hour > 0).all() and (per_hour == per_hour[0]).all():
        shaped = values.reshape(n, HOURS_PER_DAY, per_hour[0])  # regular, sorted steps
        sums, maxima = shaped.sum(axis=2), shaped.max(axis=2)
    else:
        for hour in np.unique(hours):
            cols = values[:, hours == hour]
            sums[:, hour], maxima[:, hour] = cols.sum(axis=1), cols.max(axis=1)
    counts = np.broadcast_to(per_hour, (n, HOURS_PER_DAY))
    return np.stack([sums, counts, maxima], axis=1).astype(np.float32)


def add_cpu_day(days: list[dict[int, DayRecord]], day: int, timestamps: np.ndarray,
                values: np.ndarray, period_s: int) -> None:  # fmt: skip
    """Add ``values[i]`` (CPU at ``timestamps``, all on UTC ``day``) to ``days[i][day]``."""
    n, steps = values.shape
    positive = values > mapping().min_possible
    has_keys: np.ndarray
    if positive.all():  # the common case: no zeros, fewer passes over the block
        keys = keys_of(values)
        lows, highs = keys.min(axis=1), keys.max(axis=1)
        has_keys = np.ones(n, dtype=bool)
        base = int(lows.min())
        width = int(highs.max()) - base + 1
        flat = (keys + (np.arange(n)[:, None] * width - base)).ravel()
    else:
        keys = np.where(positive, keys_of(np.where(positive, values, 1.0)), 0)
        has_keys = np.asarray(positive.any(axis=1), dtype=bool)
        big = np.iinfo(np.int64).max
        lows = np.where(positive, keys, big).min(axis=1)
        highs = np.where(positive, keys, -big).max(axis=1)
        base = int(lows[has_keys].min()) if has_keys.any() else 0
        width = int(highs[has_keys].max()) - base + 1 if has_keys.any() else 1
        flat = (np.arange(n)[:, None] * width + (keys - base))[positive]
    # One bincount for the whole block: row i's key k lands at i * width + (k - base).
    dense = np.bincount(flat, minlength=n * width).reshape(n, width).astype(np.uint32)
    hourly = _hourly(timestamps, values)
    seconds = float(period_s * steps)
    rows = zip(
        has_keys.tolist(), (lows - base).tolist(), (highs - base + 1).tolist(),
        (steps - positive.sum(axis=1)).tolist(), values.sum(axis=1).tolist(),
        values.max(axis=1).tolist(), strict=True,
    )  # fmt: skip
    for i, (some, lo, hi, zeros, total, peak) in enumerate(rows):
        bins = dense[i, lo:hi].copy() if some else dense[i, :0].copy()  # free the block
        sketch = CompactSketch.from_bins(base + lo if some else 0, bins, zeros, steps, total, peak)
        record = days[i].get(day)
        if record is None:
            days[i][day] = DayRecord.from_cpu(sketch, hourly[i], seconds)
            continue
        record.cpu.merge(sketch)
        record.cpu_seconds += seconds
        record.hourly[0] += hourly[i, 0]
        record.hourly[1] += hourly[i, 1]
        np.maximum(record.hourly[2], hourly[i, 2], out=record.hourly[2])
