"""Calibrating the month-end interval on the backtest: conformal over multi-day sums.

The comonotonic sum of daily bounds is too wide (daily errors are not perfectly
correlated) and the independent sum far too narrow. Each backtest fold offers
many k-day windows (k = the days left in the month); for each, the score is
``|sum(actual) - sum(mean)|`` over the comonotonic half-width on the side the
actual fell. The ``level``-quantile of the scores scales the comonotonic
half-width. Windows overlap, so the scores are dependent and the result
approximate; the eval scores it on a holdout.

>>> import numpy as np
>>> from datetime import date
>>> from services.forecast.backtest.rolling import Fold
>>> from services.forecast.models.base import Prediction
>>> p = Prediction(*(np.full(30, v) for v in (10.0, 9, 11, 8, 12)))
>>> folds = [Fold(0, date(2025, 1, 1), np.full(30, 10.5), p, 1.0)]
>>> {lv: round(f, 2) for lv, f in sum_factors(folds, 10).items()}
{0.8: 0.5, 0.95: 0.25}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from services.forecast.backtest.rolling import Fold
from services.forecast.models.base import LEVELS
from services.forecast.monthend.projection import SumFactors

# A window count below this gives a quantile that is mostly noise: stay comonotonic.
MIN_WINDOWS = 10
# Guard rails for degenerate calibration sets (zero-width or wildly missed folds).
FACTOR_RANGE = (0.05, 5.0)


def _cumsum0(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero: window sums become two lookups."""
    return np.concatenate([[0.0], np.cumsum(values)])


#: ``pooled``: the quantile of every fold's window scores together; ``fold_max``:
#: each fold's own quantile, the largest kept (one quiet fold cannot narrow it).
SumRule = Literal["pooled", "fold_max"]


def sum_factors(folds: Sequence[Fold], days: int, rule: SumRule = "pooled") -> SumFactors:
    """Per-level factors on the comonotonic half-width of a ``days``-day sum."""
    factors: SumFactors = {}
    for level in LEVELS:
        scores: list[float] = []
        per_fold: list[float] = []
        for fold in folds:
            n = fold.actual.shape[0]
            k = min(days, n)
            if k < 1:
                continue
            lo, hi = fold.prediction.bounds(level)
            mean = fold.prediction.mean[:n]
            c_act, c_mean = _cumsum0(fold.actual), _cumsum0(mean)
            c_up, c_down = _cumsum0(hi[:n] - mean), _cumsum0(mean - lo[:n])
            mine = []
            for s in range(n - k + 1):
                err = (c_act[s + k] - c_act[s]) - (c_mean[s + k] - c_mean[s])
                half = (c_up if err > 0 else c_down)[s + k] - (c_up if err > 0 else c_down)[s]
                mine.append(abs(err) / max(half, 1e-9))
            scores += mine
            per_fold.append(float(np.quantile(mine, level)))
        if len(scores) < MIN_WINDOWS:
            factors[level] = 1.0
        else:
            q = np.quantile(scores, level) if rule == "pooled" else max(per_fold)
            factors[level] = float(np.clip(q, *FACTOR_RANGE))
    return factors
