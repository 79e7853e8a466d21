"""Per-horizon backtest scores (MAPE, MASE, calibrated coverage) for one model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.forecast.backtest.calibration import leave_one_out
from services.forecast.backtest.metrics import coverage, mape, mase, mean_or_none
from services.forecast.backtest.rolling import ModelBacktest
from shared.events.forecasts import BacktestScore


def score(
    backtest: ModelBacktest, horizons: Sequence[int], recent_floor: bool = False
) -> list[BacktestScore]:
    """Scores at each horizon the folds are long enough for (days 1..h of each such fold).

    Coverage is of the calibrated intervals, leave-one-fold-out. The recent
    fold (shorter) counts only at horizons it covers.
    """
    folds = backtest.folds
    if not folds:
        return []
    calibrated = leave_one_out(folds, recent_floor)
    out = []
    for h in horizons:
        if folds[0].actual.shape[0] < h:
            continue
        mapes, mases, cov80, cov95 = [], [], [], []
        usable = [(f, c) for f, c in zip(folds, calibrated, strict=True) if f.actual.shape[0] >= h]
        for fold, cal in usable:
            y, yhat = fold.actual[:h], fold.prediction.mean[:h]
            mapes.append(mape(y, yhat))
            mases.append(mase(y, yhat, fold.scale))
            cov80.append(coverage(y, cal.lo80[:h], cal.hi80[:h]))
            cov95.append(coverage(y, cal.lo95[:h], cal.hi95[:h]))
        out.append(
            BacktestScore(
                model=backtest.model,
                folds=len(usable),
                horizon_days=h,
                mape=mean_or_none(mapes),
                mase=mean_or_none(mases),
                coverage80=float(np.mean(cov80)),
                coverage95=float(np.mean(cov95)),
            )
        )
    return out
