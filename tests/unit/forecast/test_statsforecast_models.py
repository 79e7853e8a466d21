from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from services.forecast.exceptions import ModelFitError
from services.forecast.models.base import DailyHistory
from services.forecast.models.damped_holt import DampedHolt
from services.forecast.models.month_start import MonthStart, month_start_term
from services.forecast.models.registry import MODEL_NAMES, build_model
from services.forecast.models.statsforecast_models import FACTORIES, StatsForecastModel

START = date(2025, 1, 1)


def with_fee(history: DailyHistory, fee: float) -> DailyHistory:
    firsts = [i for i in range(len(history)) if (START + timedelta(days=i)).day == 1]
    values = history.values.copy()
    values[firsts] += fee
    return DailyHistory(history.start, values)


@pytest.mark.parametrize("name", ["autoets", "autotheta", "mstl"])
def test_statsforecast_models_follow_the_weekly_shape_with_ordered_bounds(name, make_series):
    p = build_model(name).fit(make_series(150)).predict(30)
    assert p.horizon == 30
    assert np.all(p.lo95 <= p.lo80 + 1e-9)
    assert np.all(p.hi80 <= p.hi95 + 1e-9)
    assert np.all(p.lo80 <= p.mean + 1e-9)
    assert np.all(p.mean <= p.hi80 + 1e-9)
    idx = np.arange(150, 180) % 7
    assert p.mean[idx < 5].mean() > p.mean[idx >= 5].mean() + 15


def test_autoarima_is_registered_and_fits(make_series):
    p = build_model("autoarima").fit(make_series(120)).predict(14)
    assert np.isfinite(p.mean).all()
    assert p.horizon == 14


def test_every_statsforecast_model_is_registered():
    assert set(FACTORIES) <= set(MODEL_NAMES)


def test_short_history_is_a_fit_error():
    with pytest.raises(ModelFitError, match="needs"):
        StatsForecastModel("autotheta").fit(DailyHistory(START, np.ones(10)))


def test_month_start_term_is_estimated_and_added_on_future_firsts(make_series):
    h = with_fee(make_series(200, noise=1.0), 400.0)
    adjusted, term = month_start_term(h)
    assert term == pytest.approx(400.0, rel=0.05)
    assert adjusted.max() < 200  # the fees are out of what the inner model sees
    p = MonthStart(DampedHolt(), "damped_holt_ms").fit(h).predict(60)
    firsts = [i for i in range(60) if (h.last_date + timedelta(days=1 + i)).day == 1]
    others = [i for i in range(60) if i not in firsts]
    assert firsts
    assert p.mean[firsts].min() > p.mean[others].max() + 300


def test_month_start_term_stays_off_without_a_fee(make_series):
    h = make_series(200, noise=5.0)
    adjusted, term = month_start_term(h)
    assert term == 0.0
    assert np.array_equal(adjusted, h.values)


def test_month_start_term_improves_damped_holt_on_a_fee_series(make_series):
    full = with_fee(make_series(260, noise=1.0, seed=3), 400.0)
    train = DailyHistory(full.start, full.values[:200])
    truth = full.values[200:260]
    plain = DampedHolt().fit(train).predict(60).mean
    wrapped = build_model("damped_holt_ms").fit(train).predict(60).mean
    assert np.abs(wrapped - truth).mean() < np.abs(plain - truth).mean()
