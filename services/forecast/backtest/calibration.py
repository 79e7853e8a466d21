"""Conformal-style interval calibration from the backtest folds.

A model's raw intervals are rarely calibrated (Prophet's often too narrow,
the Gaussian ones too wide on spiky cost data). The nonconformity score of a
backtest day is ``|y - yhat| / half-width`` (half-width on the side the actual
fell); a factor on the half-widths is a quantile of those scores. Two choices
follow from what the folds are:

* **A fold is the unit, not a day.** Days within one fold share its errors (a
  level shift or a missed trend moves all of them), so pooling a fold's days
  with the others' and counting them as exchangeable lets one disturbed window
  own the upper tail, and the finite-sample correction counts 69 "samples"
  where there are 3. For ordinary days each fold gives its own ``level``
  quantile per horizon bucket. For the 80% level the factor is their median:
  the factor a typical window needs, robust to one unusual window. For the
  95% level it is their maximum: a 95% quantile of one fold's 7-60 days is
  estimated low, and the median of three such estimates under-covered
  (92.0% at 30 days on the validation seeds; the maximum gave 95.2%).
* **Month starts are their own class** (Mondrian conformal). Tax, support and
  monthly fees post on the 1st; those days' errors are of another size, and
  none of the backtest's first-week days need be a 1st while a forecast from
  the 1st starts on one. Month-start scores from all folds (a month apart, so
  close to exchangeable) are pooled into one split-conformal quantile with
  its finite-sample correction, used for every month start ahead.

The guarantee is approximate (folds overlap in time), which is why the eval
measures coverage on a holdout the calibration never saw, after choosing the
method on separate validation seeds. Reported backtest coverage is
leave-one-fold-out: fold k is scored with factors from the other folds only.

>>> buckets_for(10)
[(0, 7), (7, 10)]
>>> month_starts(date(2025, 1, 30), 4).tolist()
[False, False, True, False]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

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


@dataclass(frozen=True)
class Factors:
    """Per-level width factors: per day ahead for ordinary days, one for month starts.

    ``month_start[level]`` is None when no fold held a month start; those days
    then take the ordinary factor.
    """

    days: dict[float, np.ndarray]
    month_start: dict[float, float | None]

    def for_window(self, start: date, n: int) -> dict[float, np.ndarray]:
        """The factor of each of ``n`` days from ``start``."""
        firsts = month_starts(start, n)
        out = {}
        for level, per_day in self.days.items():
            ms = self.month_start[level]
            out[level] = per_day[:n] if ms is None else np.where(firsts, ms, per_day[:n])
        return out


def month_starts(start: date, n: int) -> np.ndarray:
    """Which of ``n`` days from ``start`` are a month's first day."""
    return np.array([(start + timedelta(days=i)).day == 1 for i in range(n)], dtype=bool)


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


def _split_conformal(scores: np.ndarray, level: float) -> float:
    """The finite-sample-corrected quantile of exchangeable scores."""
    m = scores.shape[0]
    q = min(1.0, np.ceil((m + 1) * level) / m)
    return float(np.clip(np.quantile(scores, q, method="higher"), *FACTOR_RANGE))


# Above this level the folds' quantiles are combined by their maximum, not median.
TAIL_LEVEL = 0.9


def _combine_folds(
    per_fold: Sequence[np.ndarray], level: float, recent: np.ndarray | None = None
) -> float | None:
    """Each fold's ``level`` quantile, combined over folds (folds without scores skipped).

    With ``recent`` (the recent fold's scores), the median-level factor is at
    least the recent fold's own quantile: the latest days' errors set a floor.
    """
    qs = [float(np.quantile(s, level)) for s in per_fold if s.size]
    if not qs:
        return None
    if level > TAIL_LEVEL:
        return float(np.max(qs))
    found = float(np.median(qs))
    if recent is not None and recent.size:
        found = max(found, float(np.quantile(recent, level)))
    return found


def fit_factors(folds: Sequence[Fold], horizon: int, recent_floor: bool = False) -> Factors:
    """Width factors for days 1..horizon (and for month starts) from the folds' scores.

    ``recent_floor``: the 80% factor of each bucket is max(median over folds,
    the recent fold's quantile) rather than the median alone (issue 19).
    """
    days: dict[float, np.ndarray] = {}
    month_start: dict[float, float | None] = {}
    for level in LEVELS:
        scores = [_scores(f, level) for f in folds]
        firsts = [month_starts(f.start, s.shape[0]) for f, s in zip(folds, scores, strict=True)]
        out = np.ones(horizon)
        last = 1.0
        for lo, hi in buckets_for(horizon):
            ordinary = [s[lo:hi][~m[lo:hi]] for s, m in zip(scores, firsts, strict=True)]
            recent = [o for o, f in zip(ordinary, folds, strict=True) if f.recent]
            found = _combine_folds(ordinary, level, recent[0] if recent_floor and recent else None)
            last = last if found is None else float(np.clip(found, *FACTOR_RANGE))
            out[lo:hi] = last
        days[level] = out
        pooled = np.concatenate([s[m] for s, m in zip(scores, firsts, strict=True)] or [[]])
        month_start[level] = _split_conformal(pooled, level) if pooled.size else None
    return Factors(days, month_start)


def apply(prediction: Prediction, factors: Factors, start: date) -> Prediction:
    """Scale the half-widths (floored as in the scores) of a forecast starting on ``start``."""
    floor = MIN_RELATIVE_HALF_WIDTH * np.abs(prediction.mean) + 1e-9
    widened = {}
    for level in LEVELS:
        lo, hi = prediction.bounds(level)
        lo = np.minimum(lo, prediction.mean - floor)
        hi = np.maximum(hi, prediction.mean + floor)
        widened[level] = (lo, hi)
    base = Prediction(prediction.mean, *widened[LEVELS[0]], *widened[LEVELS[1]])
    p = base.scaled(factors.for_window(start, prediction.horizon))
    # Each level is calibrated on its own scores, so a noisy 95% factor can land
    # inside the 80% bound; the 95% interval must still contain the 80% one.
    return Prediction(
        p.mean, p.lo80, p.hi80, np.minimum(p.lo95, p.lo80), np.maximum(p.hi95, p.hi80)
    )


def calibrated_folds(folds: Sequence[Fold], factors: Factors) -> list[Fold]:
    """The folds with their predictions calibrated by ``factors`` (on each fold's dates)."""
    return [
        Fold(f.origin, f.start, f.actual, apply(f.prediction, factors, f.start), f.scale, f.recent)
        for f in folds
    ]


def leave_one_out(folds: Sequence[Fold], recent_floor: bool = False) -> list[Prediction]:
    """Each fold's prediction calibrated with factors from the other folds only."""
    out = []
    for k, fold in enumerate(folds):
        others = [f for j, f in enumerate(folds) if j != k]
        factors = fit_factors(others, fold.prediction.horizon, recent_floor)
        out.append(apply(fold.prediction, factors, fold.start))
    return out
