"""The runnable examples in the forecast cores' docstrings are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "services.forecast.backtest.calibration",
    "services.forecast.backtest.metrics",
    "services.forecast.backtest.rolling",
    "services.forecast.budgets.interval",
    "services.forecast.budgets.lifecycle",
    "services.forecast.engine.history",
    "services.forecast.models.damped_holt",
    "services.forecast.models.registry",
    "services.forecast.models.seasonal_naive",
    "services.forecast.monthend.calibration",
    "services.forecast.monthend.projection",
    "services.forecast.selection.select",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
