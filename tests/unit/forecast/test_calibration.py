from __future__ import annotations

from datetime import date

import numpy as np

from services.forecast.backtest.calibration import apply, fit_factors
from services.forecast.backtest.rolling import Fold
from services.forecast.models.base import Prediction


def _fold(start: date, actual: np.ndarray) -> Fold:
    n = actual.shape[0]
    p = Prediction(*(np.full(n, v) for v in (100.0, 90.0, 110.0, 80.0, 120.0)))
    return Fold(0, start, actual, p, 1.0)


def test_one_disturbed_fold_does_not_set_the_width_for_all():
    calm = np.full(30, 105.0)  # score 0.5 at 80%
    shifted = np.full(30, 150.0)  # a level shift: score 5
    folds = [_fold(date(2025, 3, 5), a) for a in (calm, calm, shifted)]
    factors = fit_factors(folds, 30)
    assert np.allclose(factors.days[0.8], 0.5)


def test_month_starts_get_their_own_factor_on_the_forecast_dates():
    actual = np.full(60, 105.0)
    actual[[27, 57]] = 130.0  # 1 Apr and 1 May 2025 from a 5 Mar start: a charge posts
    folds = [_fold(date(2025, 3, 5), actual) for _ in range(3)]
    factors = fit_factors(folds, 60)
    assert factors.month_start[0.8] == 3.0
    p = apply(folds[0].prediction, factors, date(2025, 5, 30))
    assert p.hi80[2] - p.mean[2] == 30.0  # 1 Jun, third day ahead
    assert p.hi80[1] - p.mean[1] == 5.0  # an ordinary day keeps the ordinary factor
    assert np.all(p.hi95 >= p.hi80)


def test_recent_floor_widens_the_80_factor_to_the_recent_folds_errors():
    calm = np.full(30, 105.0)  # score 0.5 at 80%
    noisy = np.full(30, 115.0)  # the latest days miss by more: score 1.5
    folds = [_fold(date(2025, 3, 5), calm) for _ in range(3)]
    recent = Fold(0, date(2025, 3, 5), noisy, folds[0].prediction, 1.0, recent=True)
    assert np.allclose(fit_factors([*folds, recent], 30).days[0.8], 0.5)  # median
    floored = fit_factors([*folds, recent], 30, recent_floor=True)
    assert np.allclose(floored.days[0.8], 1.5)
    # The floor never narrows: a calm recent fold leaves the median's factor.
    calm_recent = Fold(0, date(2025, 3, 5), calm, folds[0].prediction, 1.0, recent=True)
    wide = [_fold(date(2025, 3, 5), noisy) for _ in range(3)]
    assert np.allclose(fit_factors([*wide, calm_recent], 30, recent_floor=True).days[0.8], 1.5)
