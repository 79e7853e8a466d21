"""Rolling-origin backtest: refit at several past origins, forecast, compare.

Origins are spaced ``step`` days apart and end so that the last fold's
forecast window ends on the last observed day. Everything a fold's model sees
lies before its origin, so the scores are honest out-of-sample figures.

A *recent fold* (``recent`` days, issue 19) may follow: its origin is
``recent`` days before the end, so the latest days' errors enter calibration
and selection. The long folds judge their first 30 days on days two to four
months old; when the last weeks are unlike those (a holiday season, a new
level, noisier days), only the recent fold sees it, and the 95% factor (the
folds' maximum) widens with it.

>>> plan_origins(n=365, folds=3, max_horizon=90, step=30, min_train=56).origins
(215, 245, 275)
>>> plan_origins(n=365, folds=3, max_horizon=90, step=30, min_train=56, recent=30).recent
335
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from services.forecast.backtest.metrics import seasonal_naive_mae
from services.forecast.exceptions import InsufficientHistoryError, ModelFitError
from services.forecast.models.base import DailyHistory, Model, Prediction

# The shortest backtest window worth scoring: one weekly cycle.
MIN_BACKTEST_HORIZON = 7
# With too little history for 30-day steps, origins move a week apart instead.
SHORT_STEP = 7


@dataclass(frozen=True)
class BacktestPlan:
    """Fold origins (indices into the history) and the days forecast after each.

    ``recent`` is the origin of the recent fold (judged on the days after it
    only), or None.
    """

    origins: tuple[int, ...]
    horizon: int
    recent: int | None = None


@dataclass(frozen=True)
class Fold:
    """One fold's forecast, the actuals it is judged on and its MASE scale.

    ``start`` is the date of the first forecast day (calibration treats month
    starts apart).
    """

    origin: int
    start: date
    actual: np.ndarray
    prediction: Prediction
    scale: float
    # The recent fold (judged on the days after ``plan.recent`` only).
    recent: bool = False


@dataclass(frozen=True)
class ModelBacktest:
    """Every fold of one model on one series (``error`` set if a fit failed)."""

    model: str
    folds: tuple[Fold, ...]
    error: str | None = None


def plan_origins(
    n: int, folds: int, max_horizon: int, step: int, min_train: int, recent: int = 0
) -> BacktestPlan:
    """Place ``folds`` origins so the last window ends at the last day.

    Shrinks the window, then the step, before giving up with
    InsufficientHistoryError. The recent fold (``recent`` > 0 days) is added
    only when the long folds are longer than it.
    """
    for s in (step, SHORT_STEP):
        horizon = min(max_horizon, n - min_train - s * (folds - 1))
        if horizon >= MIN_BACKTEST_HORIZON:
            first = n - horizon - s * (folds - 1)
            last = first + s * (folds - 1)
            extra = n - recent if 0 < recent < horizon and n - recent > last else None
            return BacktestPlan(tuple(first + s * k for k in range(folds)), horizon, extra)
    raise InsufficientHistoryError(
        f"{n} days cannot hold {folds} backtest folds after {min_train} training days"
    )


def run_backtest(model: Model, history: DailyHistory, plan: BacktestPlan) -> ModelBacktest:
    """Fit ``model`` at each origin and forecast ``plan.horizon`` days (recent fold last)."""
    out: list[Fold] = []
    extra = () if plan.recent is None else (plan.recent,)
    for origin in (*plan.origins, *extra):
        train = history.head(origin)
        try:
            prediction = model.fit(train).predict(plan.horizon)
        except ModelFitError as exc:
            return ModelBacktest(model.name, tuple(out), error=str(exc))
        out.append(
            Fold(
                origin=origin,
                start=history.start + timedelta(days=origin),
                actual=np.asarray(history.values[origin : origin + plan.horizon], dtype=float),
                prediction=prediction,
                scale=seasonal_naive_mae(np.asarray(train.values, dtype=float)),
                recent=origin == plan.recent,
            )
        )
    return ModelBacktest(model.name, tuple(out))
