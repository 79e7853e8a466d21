"""Weekly seasonal naive: tomorrow costs what the same weekday cost last week.

The baseline MASE is scaled by, and the one Prophet most often fails to beat
on cost data. Intervals are empirical: the k-week-ahead error of this very
method is ``y[t] - y[t - 7k]``, so its quantiles over the history are the
interval for days in week k ahead, with no distribution assumed.

>>> import numpy as np
>>> from datetime import date
>>> h = DailyHistory(date(2025, 1, 1), np.tile([1.0, 2, 3, 4, 5, 6, 7], 8))
>>> SeasonalNaive().fit(h).predict(3).mean.tolist()
[1.0, 2.0, 3.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.forecast.exceptions import ModelFitError
from services.forecast.models.base import DailyHistory, Prediction

WEEK = 7
# Fewer k-week differences than this and their quantiles are noise: fall back
# to scaling the one-week quantiles by sqrt(k) (a seasonal random walk).
MIN_DIFFS_FOR_EMPIRICAL = 20
_QUANTILES = (0.025, 0.10, 0.90, 0.975)


@dataclass(frozen=True)
class FittedSeasonalNaive:
    """The last season and the error quantiles per weeks-ahead."""

    last_season: np.ndarray
    values: np.ndarray

    def _error_quantiles(self, k: int) -> np.ndarray:
        diffs = self.values[WEEK * k :] - self.values[: -WEEK * k]
        if diffs.size >= MIN_DIFFS_FOR_EMPIRICAL:
            return np.asarray(np.quantile(diffs, _QUANTILES), dtype=float)
        one = self.values[WEEK:] - self.values[:-WEEK]
        if one.size == 0:
            return np.zeros(len(_QUANTILES))
        return np.asarray(np.quantile(one, _QUANTILES) * np.sqrt(k), dtype=float)

    def predict(self, horizon: int) -> Prediction:
        """Repeat the last week; bounds from the k-week-ahead error quantiles."""
        steps = np.arange(horizon)
        mean = self.last_season[steps % WEEK]
        q = np.stack([self._error_quantiles(int(s) // WEEK + 1) for s in steps])
        return Prediction(
            mean=mean,
            lo80=mean + q[:, 1],
            hi80=mean + q[:, 2],
            lo95=mean + q[:, 0],
            hi95=mean + q[:, 3],
        )


class SeasonalNaive:
    """Factory for the weekly seasonal naive model."""

    name = "seasonal_naive"

    def fit(self, history: DailyHistory) -> FittedSeasonalNaive:
        """Remember the last week (needs at least one full week)."""
        if len(history) < WEEK:
            raise ModelFitError(f"seasonal naive needs {WEEK} days, got {len(history)}")
        values = np.asarray(history.values, dtype=float)
        return FittedSeasonalNaive(last_season=values[-WEEK:].copy(), values=values)
