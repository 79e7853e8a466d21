"""statsforecast's AutoETS, AutoTheta, MSTL and AutoARIMA as house models.

Nixtla's implementations are compiled (no numba JIT in 2.x: the first fit in
a process costs nothing extra beyond a ~2-4 s import, paid once per worker by
``pool.warm_up``), and fit a year of daily data in milliseconds (AutoARIMA:
about a second, so it is opt-in). Each runs with weekly seasonality
(``season_length = 7``); statsforecast has no regressors outside ARIMA, so the
month-start charge is carried by ``models.month_start``. Bounds are the
models' own 80/95% prediction intervals; the backtest calibrates their width
like every other model's. A fit that raises or returns non-finite values is a
``ModelFitError`` (the other models still compete).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.forecast.exceptions import ModelFitError
from services.forecast.models.base import DailyHistory, Prediction

WEEK = 7
MIN_DAYS = 4 * WEEK
_LEVELS = [80, 95]


def _autoets() -> Any:
    from statsforecast.models import AutoETS

    return AutoETS(season_length=WEEK)


def _autotheta() -> Any:
    from statsforecast.models import AutoTheta

    return AutoTheta(season_length=WEEK)


def _mstl() -> Any:
    # STL's weekly component + a non-seasonal AutoETS on the trend (the "ZZN" search).
    from statsforecast.models import MSTL, AutoETS

    return MSTL(season_length=WEEK, trend_forecaster=AutoETS(model="ZZN"))


def _autoarima() -> Any:
    from statsforecast.models import AutoARIMA

    return AutoARIMA(season_length=WEEK)


FACTORIES: dict[str, Callable[[], Any]] = {
    "autoets": _autoets,
    "autotheta": _autotheta,
    "mstl": _mstl,
    "autoarima": _autoarima,
}


@dataclass
class FittedStatsForecast:
    """A fitted statsforecast model."""

    model: Any

    def predict(self, horizon: int) -> Prediction:
        """Mean and the model's own 80/95% intervals."""
        try:
            out = self.model.predict(h=horizon, level=_LEVELS)
        except Exception as exc:  # statsforecast raises plain ValueError/LinAlgError
            raise ModelFitError(f"{self.model} predict failed: {exc}") from exc
        keys = ("mean", "lo-80", "hi-80", "lo-95", "hi-95")
        arrays = [np.asarray(out[k], dtype=float) for k in keys]
        if not all(np.isfinite(a).all() for a in arrays):
            raise ModelFitError(f"{self.model} returned non-finite values")
        return Prediction(*arrays)


class StatsForecastModel:
    """Factory for one statsforecast model by house name (see ``FACTORIES``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._factory = FACTORIES[name]

    def fit(self, history: DailyHistory) -> FittedStatsForecast:
        """Fit on the history's values (weekly seasonality)."""
        if len(history) < MIN_DAYS:
            raise ModelFitError(f"{self.name} needs {MIN_DAYS} days, got {len(history)}")
        y = np.asarray(history.values, dtype=float)
        model = self._factory()
        try:
            model.fit(y)
        except Exception as exc:  # as above: no common exception type
            raise ModelFitError(f"{self.name} fit failed: {exc}") from exc
        return FittedStatsForecast(model)
