"""The orjson-writing Prophet backend fits exactly what Prophet's own backend fits."""

from __future__ import annotations

import numpy as np
from prophet.models import CmdStanPyBackend

from services.forecast.models import prophet_model
from services.forecast.models.prophet_backend import OrjsonCmdStanBackend
from services.forecast.models.prophet_model import ProphetModel


def test_orjson_backend_gives_prophets_own_fit(make_series, monkeypatch):
    history = make_series(120, trend=0.5, noise=3.0)
    fast = ProphetModel(uncertainty_samples=50).fit(history)
    assert isinstance(fast.model.stan_backend, OrjsonCmdStanBackend)
    stock = CmdStanPyBackend()
    monkeypatch.setattr(prophet_model, "_backend", lambda: stock)
    own = ProphetModel(uncertainty_samples=50).fit(history)
    assert own.model.stan_backend is stock
    for name, value in own.model.params.items():
        assert np.array_equal(fast.model.params[name], value), name
    a, b = fast.predict(30), own.predict(30)
    assert np.array_equal(a.mean, b.mean)
    assert np.array_equal(a.hi95, b.hi95)
