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
    matrix: np.ndarray = week_matrices([days], [newest_day], weeks, stat)[0]
    return matrix


def week_matrices(
    fleet: list[dict[int, DayRecord]], newest_days: list[int], weeks: int, stat: str = "max"
) -> np.ndarray:
    """``week_matrix`` of many instances as one ``instances x weeks x 168`` array.

    One scatter for the fleet instead of a few small numpy calls per instance:
    the evaluation builds this for every instance it may schedule.
    """
    out = np.full((len(fleet), weeks, HOURS_PER_WEEK), np.nan)
    owner, day_ids, hourly = [], [], []
    span = weeks * DAYS_PER_WEEK
    for k, (days, newest) in enumerate(zip(fleet, newest_days, strict=True)):
        for d, r in days.items():
            if 0 <= newest - d < span:
                owner.append(k)
                day_ids.append(d)
                hourly.append(r.hourly)
    if not hourly:
        return out
    stacked = np.stack(hourly)  # days x (sum, count, max) x 24
    counts = stacked[:, 1]
    values = stacked[:, 2] if stat == "max" else stacked[:, 0] / np.maximum(counts, 1)
    rows_of, day_arr = np.asarray(owner), np.asarray(day_ids)
    weeks_back = (np.asarray(newest_days)[rows_of] - day_arr) // DAYS_PER_WEEK
    cols = ((day_arr + _EPOCH_WEEKDAY) % DAYS_PER_WEEK)[:, None] * HOURS_PER_DAY + np.arange(
        HOURS_PER_DAY
    )
    out[rows_of[:, None], weeks_back[:, None], cols] = np.where(counts > 0, values, np.nan)
    return out


def normalised_profile(matrix: np.ndarray) -> np.ndarray | None:
    """Mean week scaled to [0, 1] by its own peak: the *shape* k-means clusters on."""
    profiles, present = normalised_profiles(matrix[None])
    return profiles[0] if present[0] else None


def normalised_profiles(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``normalised_profile`` of each ``weeks x 168`` matrix, and which had any data at all."""
    observed = ~np.isnan(matrices)
    seen = observed.sum(axis=1)
    sums = np.where(observed, matrices, 0.0).sum(axis=1)
    profiles = sums / np.maximum(seen, 1)
    # An hour never observed takes the instance's overall mean.
    overall = sums.sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    profiles = np.where(seen == 0, overall[:, None], profiles)
    peak = profiles.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(peak[:, None] > 0, profiles / peak[:, None], 0.0)
    return scaled, observed.any(axis=(1, 2))
