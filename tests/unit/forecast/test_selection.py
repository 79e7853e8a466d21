from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from services.forecast.engine.config import RefreshConfig
from services.forecast.engine.refresh import RefreshJob, evaluate_series, refresh_series
from services.forecast.selection.select import choose
from shared.events.forecasts import BacktestScore

FAST = RefreshConfig(models=("seasonal_naive", "damped_holt"))


def _score(model: str, mase: float | None, horizon: int = 30) -> BacktestScore:
    return BacktestScore(
        model=model,
        folds=3,
        horizon_days=horizon,
        mape=None,
        mase=mase,
        coverage80=None,
        coverage95=None,
    )


def test_lowest_mase_wins():
    scores = [_score("seasonal_naive", 1.0), _score("damped_holt", 0.7), _score("prophet", 0.9)]
    assert choose(scores, 30, ("seasonal_naive", "damped_holt", "prophet")) == "damped_holt"


def test_tie_goes_to_the_simpler_model_so_prophet_must_win_outright():
    scores = [_score("seasonal_naive", 0.8), _score("prophet", 0.8)]
    assert choose(scores, 30, ("seasonal_naive", "prophet")) == "seasonal_naive"


def test_selection_uses_the_30_day_horizon_not_the_7_day_one():
    scores = [
        _score("seasonal_naive", 0.5, 7),
        _score("damped_holt", 0.9, 7),
        _score("seasonal_naive", 1.2, 30),
        _score("damped_holt", 0.8, 30),
    ]
    assert choose(scores, 30, ("seasonal_naive", "damped_holt")) == "damped_holt"


def test_trending_series_selects_the_model_with_lowest_backtest_mase(make_series):
    outcome = evaluate_series(make_series(300, trend=0.8, noise=1.0), FAST)
    mases = {
        name: next(s.mase for s in o.scores if s.horizon_days == 30)
        for name, o in outcome.models.items()
    }
    assert outcome.chosen == min(mases, key=mases.get)
    assert outcome.chosen == "damped_holt"
    assert len(outcome.plan.origins) >= 3


def test_published_forecast_carries_scores_month_end_and_all_horizons(make_series):
    job = RefreshJob("daily/1", "1", None, make_series(210), FAST, datetime(2025, 8, 1, tzinfo=UTC))
    f = refresh_series(job)
    assert f.status == "ok"
    assert f.model in FAST.models
    assert sorted(f.horizons) == [7, 30, 90]
    assert {(s.model, s.horizon_days) for s in f.backtest} == {
        (m, h) for m in FAST.models for h in (7, 30, 90)
    }
    assert all(s.folds >= 3 for s in f.backtest)
    me = f.month_end
    assert me is not None
    assert me.lo95 <= me.lo80 <= me.projected <= me.hi80 <= me.hi95
    points = f.horizons[30]
    assert all(p.lo95 <= p.lo80 <= p.yhat <= p.hi80 <= p.hi95 for p in points)


def test_calibrated_backtest_coverage_is_near_nominal_on_gaussian_noise(make_series):
    outcome = evaluate_series(make_series(365, noise=5.0, seed=3), FAST)
    cov = [s.coverage80 for s in outcome.models["damped_holt"].scores]
    assert 0.6 <= float(np.mean(cov)) <= 0.95


def test_winner_whose_final_fit_fails_hands_over_to_the_next_best(make_series, monkeypatch):
    from services.forecast.engine import refresh
    from services.forecast.exceptions import ModelFitError

    real = refresh._final_forecast

    def flaky(name, *args):
        if name == "damped_holt":
            raise ModelFitError("simulated final-fit failure")
        return real(name, *args)

    monkeypatch.setattr(refresh, "_final_forecast", flaky)
    outcome = evaluate_series(make_series(300, trend=0.8, noise=1.0), FAST)
    assert outcome.chosen == "seasonal_naive"
    assert outcome.models["seasonal_naive"].forecast is not None
