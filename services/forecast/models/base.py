"""The tiny protocol every forecasting model implements, and what it returns.

A model is a factory: ``fit(history)`` returns a fitted object whose
``predict(horizon)`` gives the mean path and 80%/95% bounds for the next
``horizon`` days. Everything here is plain numpy so fitted objects and jobs
pickle cheaply into a process pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

import numpy as np

# Interval levels published with every forecast (the issue asks for both).
LEVELS: tuple[float, float] = (0.80, 0.95)


@dataclass(frozen=True)
class DailyHistory:
    """A contiguous daily series: ``values[i]`` is the cost of ``start + i`` days."""

    start: date
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def last_date(self) -> date:
        """The date of the last value."""
        return self.start + timedelta(days=len(self) - 1)

    def head(self, n: int) -> DailyHistory:
        """The first ``n`` days (a backtest training window)."""
        return DailyHistory(self.start, self.values[:n])

    def dates(self) -> list[date]:
        """Every date in the series, in order."""
        return [self.start + timedelta(days=i) for i in range(len(self))]


@dataclass(frozen=True)
class Prediction:
    """Mean path and interval bounds for days 1..horizon after the history."""

    mean: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray

    @property
    def horizon(self) -> int:
        """Number of days predicted."""
        return int(self.mean.shape[0])

    def bounds(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bound at ``level`` (0.80 or 0.95)."""
        return (self.lo80, self.hi80) if level == LEVELS[0] else (self.lo95, self.hi95)

    def scaled(self, factors: dict[float, np.ndarray]) -> Prediction:
        """Widen or narrow each level's half-widths by per-day factors (calibration)."""
        out = {}
        for level, (lo, hi) in ((lv, self.bounds(lv)) for lv in LEVELS):
            f = factors[level]
            out[level] = (self.mean - (self.mean - lo) * f, self.mean + (hi - self.mean) * f)
        return Prediction(self.mean, *out[LEVELS[0]], *out[LEVELS[1]])

    def clipped(self, floor: float) -> Prediction:
        """Every path and bound at least ``floor`` (costs of a non-negative series)."""
        c = [np.maximum(a, floor) for a in (self.mean, self.lo80, self.hi80, self.lo95, self.hi95)]
        return Prediction(*c)


class FittedModel(Protocol):
    """A model fitted to one history."""

    def predict(self, horizon: int) -> Prediction:
        """Mean and bounds for the next ``horizon`` days."""
        ...


class Model(Protocol):
    """A forecasting method; ``name`` is what forecasts and reports call it."""

    name: str

    def fit(self, history: DailyHistory) -> FittedModel:
        """Fit to ``history`` (raises ModelFitError on failure)."""
        ...


def normal_bounds(
    mean: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian 80% and 95% bounds around ``mean`` with per-day ``sigma``."""
    z80, z95 = 1.2815515655446004, 1.959963984540054
    return mean - z80 * sigma, mean + z80 * sigma, mean - z95 * sigma, mean + z95 * sigma
