"""Conformal-style interval calibration from the backtest folds.

A model's raw intervals are rarely calibrated (Prophet's often too narrow,
the Gaussian ones too wide on spiky cost data). For each level and horizon
bucket we take the backtest nonconformity scores ``|y - yhat| / half-width``
(half-width on the side the actual fell) and use their ``level``-quantile as a
factor on the half-widths. That is split conformal prediction with the
backtest folds as the calibration set; the folds overlap in time and errors
are autocorrelated, so the guarantee is approximate, which is why the eval
measures coverage on a holdout the calibration never saw.

Reported backtest coverage is leave-one-fold-out: fold k is scored with
factors from the other folds only, so the published figure is not the
calibration fitting itself.

>>> import numpy as np
>>> buckets_for(10)
[(0, 7), (7, 10)]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from services.forecast.backtest.rolling import Fold
from services.forecast.models.base import LEVELS, Prediction

# Horizon buckets (days ahead, end-exclusive) with one factor each: errors grow
# with the horizon, and these match the published horizons 7, 30 and 90.
BUCKET_EDGES: tuple[int, ...] = (0, 7, 30, 90)
# A zero-width raw interval cannot be scaled; floor half-widths at 1% of the
# forecast so constant-looking series still get a usable interval.
MIN_RELATIVE_HALF_WIDTH = 0.01
# Factors outside this range mean the calibration set is degenerate.
FACTOR_RANGE = (0.1, 50.0)

Factors = dict[float, np.ndarray]


def buckets_for(horizon: int) -> list[tuple[int, int]]:
    """The bucket ranges that cover days ``0 .. horizon - 1``."""
    out = []
    for lo, hi in itertools.pairwise(BUCKET_EDGES):
        if lo < horizon:
            out.append((lo, min(hi, horizon)))
    if horizon > BUCKET_EDGES[-1]:
        out.append((BUCKET_EDGES[-1], horizon))
    return out


def _scores(fold: Fold, level: float) -> np.ndarray:
    p = fold.prediction
    lo, hi = p.bounds(level)
    n = fold.actual.shape[0]
    mean = p.mean[:n]
    floor = MIN_RELATIVE_HALF_WIDTH * np.abs(mean) + 1e-9
    below = fold.actual < mean
    half = np.where(below, mean - lo[:n], hi[:n] - mean)
    return np.asarray(np.abs(fold.actual - mean) / np.maximum(half, floor), dtype=float)


def _quantile(scores: np.ndarray, level: float) -> float:
    m = scores.shape[0]
    if m == 0:
        return 1.0
    q = min(1.0, np.ceil((m + 1) * level) / m)
    return float(np.clip(np.quantile(scores, q, method="higher"), *FACTOR_RANGE))


def fit_factors(folds: Sequence[Fold], horizon: int) -> Factors:
    """Per-day width factors for days 1..horizon from the folds' scores."""
    factors: Factors = {}
    for level in LEVELS:
        per_fold = [_scores(f, level) for f in folds]
        out = np.ones(horizon)
        last = 1.0
        for lo, hi in buckets_for(horizon):
            pooled = np.concatenate([s[lo:hi] for s in per_fold]) if per_fold else np.array([])
            last = _quantile(pooled, level) if pooled.size else last
            out[lo:hi] = last
        factors[level] = out
    return factors


def apply(prediction: Prediction, factors: Factors) -> Prediction:
    """Scale a prediction's half-widths (floored as in the scores) by the factors."""
    n = prediction.horizon
    floor = MIN_RELATIVE_HALF_WIDTH * np.abs(prediction.mean) + 1e-9
    widened = {}
    for level in LEVELS:
        lo, hi = prediction.bounds(level)
        lo = np.minimum(lo, prediction.mean - floor)
        hi = np.maximum(hi, prediction.mean + floor)
        widened[level] = (lo, hi)
    base = Prediction(prediction.mean, *widened[LEVELS[0]], *widened[LEVELS[1]])
    return base.scaled({lv: f[:n] for lv, f in factors.items()})


def leave_one_out(folds: Sequence[Fold]) -> list[Prediction]:
    """Each fold's prediction calibrated with factors from the other folds only."""
    out = []
    for k, fold in enumerate(folds):
        others = [f for j, f in enumerate(folds) if j != k]
        out.append(apply(fold.prediction, fit_factors(others, fold.prediction.horizon)))
    return out
