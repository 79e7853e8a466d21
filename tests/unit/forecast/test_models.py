from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from services.forecast.exceptions import ModelFitError, UnknownModelError
from services.forecast.models.base import DailyHistory
from services.forecast.models.damped_holt import DampedHolt
from services.forecast.models.prophet_model import ProphetModel
from services.forecast.models.registry import build_model
from services.forecast.models.seasonal_naive import SeasonalNaive


@pytest.mark.parametrize("model", [SeasonalNaive(), DampedHolt()])
def test_bounds_are_ordered_and_shaped(model, make_series):
    p = model.fit(make_series(120)).predict(90)
    assert p.horizon == 90
    assert np.all(p.lo95 <= p.lo80)
    assert np.all(p.lo80 <= p.mean + 1e-9)
    assert np.all(p.mean <= p.hi80 + 1e-9)
    assert np.all(p.hi80 <= p.hi95)


def test_seasonal_naive_repeats_last_week_exactly():
    h = DailyHistory(date(2025, 1, 1), np.tile([1.0, 2, 3, 4, 5, 6, 7], 10))
    p = SeasonalNaive().fit(h).predict(14)
    assert p.mean.tolist() == [1.0, 2, 3, 4, 5, 6, 7] * 2
    assert np.allclose(p.hi95 - p.lo95, 0)  # a perfectly periodic past has no error


def test_damped_holt_follows_a_trend_seasonal_naive_cannot(make_series):
    h = make_series(200, trend=1.0, noise=0.5)
    truth = 100 + 1.0 * np.arange(200, 230) + 30 * ((np.arange(200, 230) % 7) < 5)
    holt = DampedHolt().fit(h).predict(30).mean
    naive = SeasonalNaive().fit(h).predict(30).mean
    assert np.mean(np.abs(holt - truth)) < np.mean(np.abs(naive - truth))


def test_short_history_is_a_fit_error():
    with pytest.raises(ModelFitError, match="needs"):
        DampedHolt().fit(DailyHistory(date(2025, 1, 1), np.ones(5)))


def test_unknown_model_names_the_choices():
    with pytest.raises(UnknownModelError, match="seasonal_naive"):
        build_model("arima")


def test_prophet_fits_weekly_shape_and_month_edges(make_series):
    p = ProphetModel(uncertainty_samples=50).fit(make_series(84)).predict(14)
    assert p.horizon == 14
    assert np.all(p.lo95 <= p.hi95)
    # Weekdays (index % 7 < 5) cost more than weekends in the forecast too.
    idx = np.arange(84, 98) % 7
    assert p.mean[idx < 5].mean() > p.mean[idx >= 5].mean() + 15
