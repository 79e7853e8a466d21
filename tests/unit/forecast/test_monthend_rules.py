"""Month-end interval calibration rules: one quiet fold must not narrow the interval."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from services.forecast.backtest.rolling import Fold
from services.forecast.engine.config import RefreshConfig
from services.forecast.engine.refresh import evaluate_series, month_end_for
from services.forecast.models.base import Prediction
from services.forecast.monthend.calibration import sum_factors
from tests.unit.forecast.conftest import weekly_series


def _fold(miss: float) -> Fold:
    p = Prediction(*(np.full(40, v) for v in (10.0, 9, 11, 8, 12)))
    return Fold(0, date(2025, 1, 1), np.full(40, 10.0 + miss), p, 1.0)


def test_fold_max_takes_the_worst_fold_where_pooling_dilutes_it() -> None:
    folds = [*(_fold(0.1) for _ in range(6)), _fold(0.9)]  # one in seven: under 20%
    pooled, worst = sum_factors(folds, 10), sum_factors(folds, 10, "fold_max")
    assert worst[0.8] > 4 * pooled[0.8]
    assert np.isclose(worst[0.8], 0.9)  # the noisy fold's own score


def test_every_rule_gives_an_ordered_interval_around_the_projection() -> None:
    history = weekly_series(200, trend=0.3, noise=8.0)
    outcome = evaluate_series(history, replace(RefreshConfig(), models=("damped_holt",)))
    chosen = outcome.models[outcome.chosen]
    for rule in ("pooled", "loo", "fold_max", "loo_fold_max"):
        me = month_end_for(history, chosen, rule)
        assert me is not None
        assert me.lo95 <= me.lo80 <= me.projected <= me.hi80 <= me.hi95
