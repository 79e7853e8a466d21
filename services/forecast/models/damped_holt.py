"""Damped Holt on the weekly-deseasonalised series: the statistical baseline.

statsmodels is not in the lock, so this is a small, documented ETS(A,Ad,N):
1. weekly seasonal indices are the per-weekday medians of ``y / MA7`` over the
   last weeks (multiplicative; additive ``y - MA7`` when the series touches 0);
2. damped Holt smoothing on the deseasonalised series, with ``alpha``,
   ``beta`` and ``phi`` picked by a vectorised grid search on one-step SSE;
3. the ETS(A,Ad,N) h-step variance ``sigma^2 [1 + sum_j (alpha + alpha beta
   phi_j)^2]`` gives Gaussian bounds, re-seasonalised. The backtest then
   calibrates their width (see ``backtest.calibration``).

>>> import numpy as np
>>> from datetime import date
>>> y = 100 + np.arange(70) * 1.0
>>> p = DampedHolt().fit(DailyHistory(date(2025, 1, 1), y)).predict(7)
>>> bool(abs(p.mean[0] - 170) < 2)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.forecast.exceptions import ModelFitError
from services.forecast.models.base import DailyHistory, Prediction, normal_bounds

WEEK = 7
# Weeks used for the seasonal indices: recent enough to follow a changed weekly
# shape, long enough that one anomalous week does not set the pattern.
SEASONAL_WEEKS = 12
# Grid of smoothing parameters (112 combinations, all evaluated at once).
ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
BETAS = (0.01, 0.05, 0.1, 0.2)
PHIS = (0.8, 0.9, 0.95, 0.98)
MIN_DAYS = 2 * WEEK


def seasonal_indices(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per-weekday indices aligned so ``idx[i % 7]`` belongs to ``values[i]``.

    Returns the indices and whether they are multiplicative.
    """
    n = values.shape[0]
    kernel = np.ones(WEEK) / WEEK
    ma = np.convolve(values, kernel, mode="same")
    lo, hi = WEEK // 2, n - WEEK // 2
    window = np.arange(max(lo, hi - SEASONAL_WEEKS * WEEK), hi)
    multiplicative = bool(np.all(ma[window] > 0) and np.all(values >= 0))
    ratio = values[window] / ma[window] if multiplicative else values[window] - ma[window]
    idx = np.array([np.median(ratio[window % WEEK == d]) for d in range(WEEK)])
    if multiplicative:
        idx = idx / idx.mean() if idx.mean() > 0 else np.ones(WEEK)
        idx = np.where(idx > 0, idx, 1.0)
    else:
        idx = idx - idx.mean()
    return idx, multiplicative


@dataclass(frozen=True)
class FittedDampedHolt:
    """Final level/trend, chosen parameters, residual sigma and seasonal indices."""

    level: float
    trend: float
    alpha: float
    beta: float
    phi: float
    sigma: float
    season: np.ndarray
    multiplicative: bool
    n: int

    def predict(self, horizon: int) -> Prediction:
        """Damped-trend path, re-seasonalised, with ETS(A,Ad,N) variance."""
        h = np.arange(1, horizon + 1)
        phi_h = np.cumsum(self.phi**h)
        x = self.level + phi_h * self.trend
        # c_j = alpha (1 + beta phi_j); step h sums c_j^2 for j < h.
        c2 = (self.alpha * (1 + self.beta * phi_h)) ** 2
        sd = self.sigma * np.sqrt(1 + np.concatenate([[0.0], np.cumsum(c2)[:-1]]))
        s = self.season[(self.n + h - 1) % WEEK]
        if self.multiplicative:
            mean, sd = x * s, sd * s
        else:
            mean = x + s
        return Prediction(mean, *normal_bounds(mean, sd))


class DampedHolt:
    """Factory for the deseasonalised damped Holt model."""

    name = "damped_holt"

    def fit(self, history: DailyHistory) -> FittedDampedHolt:
        """Deseasonalise, grid-search the smoothing parameters, keep the best."""
        y = np.asarray(history.values, dtype=float)
        if y.shape[0] < MIN_DAYS:
            raise ModelFitError(f"damped Holt needs {MIN_DAYS} days, got {y.shape[0]}")
        season, mult = seasonal_indices(y)
        s = season[np.arange(y.shape[0]) % WEEK]
        x = y / s if mult else y - s
        grid = np.array([(a, b, p) for a in ALPHAS for b in BETAS for p in PHIS])
        a, b, p = grid[:, 0], grid[:, 1], grid[:, 2]
        level = np.full(len(grid), x[:WEEK].mean())
        trend = np.full(len(grid), (x[WEEK : 2 * WEEK].mean() - x[:WEEK].mean()) / WEEK)
        sse = np.zeros(len(grid))
        for t in range(WEEK, x.shape[0]):
            fc = level + p * trend
            err = x[t] - fc
            sse += err * err
            new_level = fc + a * err
            trend = p * trend + a * b * err
            level = new_level
        best = int(np.argmin(sse))
        dof = max(x.shape[0] - WEEK - 3, 1)
        return FittedDampedHolt(
            level=float(level[best]),
            trend=float(trend[best]),
            alpha=float(a[best]),
            beta=float(b[best]),
            phi=float(p[best]),
            sigma=float(np.sqrt(sse[best] / dof)),
            season=season,
            multiplicative=mult,
            n=y.shape[0],
        )
