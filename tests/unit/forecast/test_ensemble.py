from __future__ import annotations

import numpy as np

from services.forecast.engine.config import RefreshConfig
from services.forecast.engine.ensemble import ENSEMBLE, ensemble_backtest
from services.forecast.engine.refresh import evaluate_series
from tests.unit.forecast.conftest import weekly_series

WITH_ENSEMBLE = RefreshConfig(
    models=("seasonal_naive", "damped_holt", "prophet", ENSEMBLE), prophet_uncertainty_samples=20
)


def test_the_ensemble_is_chosen_and_its_path_is_the_members_mean():
    history = weekly_series(140, trend=0.3)
    outcome = evaluate_series(history, WITH_ENSEMBLE, forecast_all=True)
    assert outcome.chosen == ENSEMBLE
    ens = outcome.models[ENSEMBLE].backtest.folds[0].prediction.mean
    dh = outcome.models["damped_holt"].backtest.folds[0].prediction.mean
    pr = outcome.models["prophet"].backtest.folds[0].prediction.mean
    np.testing.assert_allclose(ens, (dh + pr) / 2)
    forecast = outcome.models[ENSEMBLE].forecast
    assert forecast is not None
    assert bool(np.all(forecast.lo95 <= forecast.lo80))


def test_without_its_members_the_single_models_compete_as_before():
    config = RefreshConfig(models=("seasonal_naive", "damped_holt", ENSEMBLE))
    outcome = evaluate_series(weekly_series(140), config)
    assert outcome.chosen in ("seasonal_naive", "damped_holt")
    assert outcome.models[ENSEMBLE].backtest.error is not None
    assert ensemble_backtest(ENSEMBLE, []) is None
