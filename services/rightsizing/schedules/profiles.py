"""168-hour-of-week utilisation profiles, week by week, from the day records.

Weeks are counted back from the newest day (7 days each), so a 14-day lookback
is exactly two complete weeks whatever weekday it ends on. Hour of week 0 is
Monday 00:00 UTC.

>>> import numpy as np
>>> from services.rightsizing.sketches.day import DayRecord
>>> day = DayRecord(); day.add_cpu(np.array([4 * 86400 + 9 * 3600]), np.array([40.0]), 300)
>>> weeks = week_matrix({4: day}, newest_day=4, weeks=1)  # 1970-01-05 was a Monday
>>> float(weeks[0, 9])
40.0
"""

from __future__ import annotations

import numpy as np

from services.rightsizing.sketches.day import HOURS_PER_DAY, DayRecord

HOURS_PER_WEEK = 168
DAYS_PER_WEEK = 7
# 1970-01-01 (day 0) was a Thursday: weekday index 3 with Monday = 0.
_EPOCH_WEEKDAY = 3


def weekday(day: int) -> int:
    """Monday = 0 for a day counted from the Unix epoch."""
    return (day + _EPOCH_WEEKDAY) % DAYS_PER_WEEK


def week_matrix(
    days: dict[int, DayRecord], newest_day: int, weeks: int, stat: str = "max"
) -> np.ndarray:
    """``weeks x 168`` hourly CPU (max or mean), NaN where there is no data; row 0 is newest."""
    out = np.full((weeks, HOURS_PER_WEEK), np.nan)
    kept = [(d, r) for d, r in days.items() if 0 <= newest_day - d < weeks * DAYS_PER_WEEK]
    if not kept:
        return out
    hourly = np.stack([r.hourly for _, r in kept])  # days x (sum, count, max) x 24
    counts = hourly[:, 1]
    values = hourly[:, 2] if stat == "max" else hourly[:, 0] / np.maximum(counts, 1)
    day_ids = np.array([d for d, _ in kept])
    rows = (newest_day - day_ids) // DAYS_PER_WEEK
    cols = ((day_ids + _EPOCH_WEEKDAY) % DAYS_PER_WEEK)[:, None] * HOURS_PER_DAY + np.arange(
        HOURS_PER_DAY
    )
    out[rows[:, None], cols] = np.where(counts > 0, values, np.nan)
    return out


def normalised_profile(matrix: np.ndarray) -> np.ndarray | None:
    """Mean week scaled to [0, 1] by its own peak: the *shape* k-means clusters on."""
    if np.isnan(matrix).all():
        return None
    observed = ~np.isnan(matrix)
    seen = observed.sum(axis=0)
    sums = np.where(observed, matrix, 0.0).sum(axis=0)
    profile = sums / np.maximum(seen, 1)
    profile[seen == 0] = float(sums.sum() / max(int(seen.sum()), 1))
    peak = float(profile.max())
    return profile / peak if peak > 0 else np.zeros(HOURS_PER_WEEK)
