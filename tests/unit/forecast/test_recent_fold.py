from __future__ import annotations

from datetime import date

import numpy as np

from services.forecast.backtest.rolling import plan_origins, run_backtest
from services.forecast.backtest.scoring import score
from services.forecast.engine.config import FAST_MODELS, RefreshConfig
from services.forecast.engine.ensemble import ENSEMBLES, FAST_ENSEMBLE
from services.forecast.engine.refresh import evaluate_series
from services.forecast.models.base import DailyHistory
from services.forecast.models.damped_holt import DampedHolt
from tests.unit.forecast.conftest import weekly_series


def test_the_default_has_the_recent_fold_and_today_s_models():
    config = RefreshConfig()
    assert config.recent_fold_days == 30
    assert config.models == ("seasonal_naive", "damped_holt", "prophet")


def test_the_recent_fold_starts_its_length_before_the_end_and_only_when_it_fits():
    plan = plan_origins(365, 3, 90, 30, 42, recent=30)
    assert plan.origins == (215, 245, 275)
    assert plan.recent == 335
    assert plan_origins(365, 3, 90, 30, 42).recent is None
    short = plan_origins(70, 3, 90, 30, 42, recent=30)  # 7-day folds: no room for it
    assert short.recent is None


def test_the_recent_fold_is_judged_on_the_last_days_and_scored_only_where_it_reaches():
    history = weekly_series(200, trend=0.2)
    plan = plan_origins(len(history), 3, 90, 30, 42, recent=30)
    bt = run_backtest(DampedHolt(), history, plan)
    assert len(bt.folds) == 4
    np.testing.assert_array_equal(bt.folds[-1].actual, history.values[-30:])
    by_h = {s.horizon_days: s.folds for s in score(bt, (7, 30, 90))}
    assert by_h == {7: 4, 30: 4, 90: 3}


def test_recent_errors_that_grew_widen_the_95_interval():
    # The 95% factor is the maximum over folds, so one recent fold that erred more
    # widens it; the 80% factor is their median and moves less.
    rng = np.random.default_rng(1)
    calm = 100 + rng.normal(0, 1, 170)
    wild = 100 + rng.normal(0, 15, 30)  # the last month turned noisy
    history = DailyHistory(date(2025, 1, 1), np.concatenate([calm, wild]))
    widths = {}
    for days in (0, 30):
        config = RefreshConfig(models=("damped_holt",), candidates=(), recent_fold_days=days)
        p = evaluate_series(history, config).models["damped_holt"].forecast
        assert p is not None
        widths[days] = float(np.mean(p.hi95[:30] - p.lo95[:30]))
    assert widths[30] > 1.5 * widths[0]


def test_the_fast_method_is_chosen_and_is_the_mean_of_its_listed_members():
    config = RefreshConfig(models=FAST_MODELS)
    assert config.models[-1] == FAST_ENSEMBLE
    assert set(ENSEMBLES[FAST_ENSEMBLE]) <= set(config.models)
    outcome = evaluate_series(weekly_series(200, trend=0.3), config, forecast_all=True)
    assert outcome.chosen == FAST_ENSEMBLE
    members = [outcome.models[m].forecast for m in ENSEMBLES[FAST_ENSEMBLE]]
    folds = [outcome.models[m].backtest.folds[0].prediction.mean for m in ENSEMBLES[FAST_ENSEMBLE]]
    ens = outcome.models[FAST_ENSEMBLE]
    np.testing.assert_allclose(ens.backtest.folds[0].prediction.mean, np.mean(folds, axis=0))
    assert all(m is not None for m in members)
    assert ens.forecast is not None
