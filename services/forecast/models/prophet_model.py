"""Prophet: weekly seasonality, yearly when history allows, month-end effects, growth.

Prophet is imported lazily (it takes about a second) so that pool workers and
tests that never fit it do not pay for it. Its fits run in cmdstan; its
chatty logging is silenced. Bounds come from Prophet's own predictive samples
(trend + noise uncertainty) at both levels; the backtest calibrates their
width like every other model's.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.forecast.exceptions import ModelFitError
from services.forecast.models.base import DailyHistory, Prediction

# Yearly seasonality needs two full cycles to be told apart from trend.
YEARLY_MIN_DAYS = 730
# Predictive samples for the bounds: 200 keeps the 2.5%/97.5% quantiles within a
# few percent of their 1000-sample values at a fifth of the cost.
DEFAULT_UNCERTAINTY_SAMPLES = 200
MIN_DAYS = 14
_REGRESSORS = ("is_month_start", "is_month_end")
_QUIET_LOGGERS = ("cmdstanpy", "prophet", "prophet.plot")


def _frame(dates: pd.DatetimeIndex) -> pd.DataFrame:
    df = pd.DataFrame({"ds": dates})
    df["is_month_start"] = dates.is_month_start.astype(float)
    df["is_month_end"] = dates.is_month_end.astype(float)
    return df


@dataclass
class FittedProphet:
    """A fitted Prophet model and what it needs to build the future frame."""

    model: Any
    last: pd.Timestamp
    seed: int

    def predict(self, horizon: int) -> Prediction:
        """Mean from ``predict``; 80/95% bounds from predictive sample quantiles."""
        future = _frame(pd.date_range(self.last + pd.Timedelta(days=1), periods=horizon))
        samples_wanted = self.model.uncertainty_samples
        self.model.uncertainty_samples = 0
        mean = self.model.predict(future)["yhat"].to_numpy()
        self.model.uncertainty_samples = samples_wanted
        if samples_wanted:
            np.random.seed(self.seed)  # Prophet samples from numpy's global generator
            samples = self.model.predictive_samples(future)["yhat"]
            q = np.quantile(samples, [0.025, 0.10, 0.90, 0.975], axis=1)
        else:
            q = np.stack([mean] * 4)
        return Prediction(mean=mean, lo80=q[1], hi80=q[2], lo95=q[0], hi95=q[3])


class ProphetModel:
    """Factory for Prophet fits with the house's components."""

    name = "prophet"

    def __init__(
        self,
        uncertainty_samples: int = DEFAULT_UNCERTAINTY_SAMPLES,
        seed: int = 0,
        changepoint_prior_scale: float = 0.05,
    ) -> None:
        self.uncertainty_samples = uncertainty_samples
        self.seed = seed
        self.changepoint_prior_scale = changepoint_prior_scale

    def fit(self, history: DailyHistory) -> FittedProphet:
        """Fit weekly (+ yearly if >= 2 years) seasonality, month edges and linear growth."""
        if len(history) < MIN_DAYS:
            raise ModelFitError(f"prophet needs {MIN_DAYS} days, got {len(history)}")
        logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "plotly missing" on import
        from cmdstanpy.utils import get_logger
        from prophet import Prophet  # lazy: heavy import, only where fits happen

        get_logger()  # cmdstanpy configures its logger (DEBUG + handler) on first use
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)

        dates = pd.date_range(pd.Timestamp(history.start), periods=len(history))
        df = _frame(dates)
        df["y"] = np.asarray(history.values, dtype=float)
        model = Prophet(
            growth="linear",
            weekly_seasonality=True,
            yearly_seasonality=len(history) >= YEARLY_MIN_DAYS,
            daily_seasonality=False,
            uncertainty_samples=self.uncertainty_samples,
            changepoint_prior_scale=self.changepoint_prior_scale,
        )
        for reg in _REGRESSORS:
            model.add_regressor(reg, standardize=False)
        model.stan_backend = _backend()
        try:
            model.fit(df, algorithm="LBFGS")
        except Exception as exc:  # cmdstan raises plain RuntimeError/ValueError
            raise ModelFitError(f"prophet fit failed: {exc}") from exc
        return FittedProphet(model=model, last=dates[-1], seed=self.seed)


@functools.cache
def _backend() -> Any:
    """One backend per process: Prophet's own, with the data written by orjson."""
    from services.forecast.models.prophet_backend import OrjsonCmdStanBackend

    return OrjsonCmdStanBackend()
