"""The plain-data statistics must compute exactly what River's Rust ones do."""

import numpy as np
import pytest
from river import stats, utils

from services.anomaly.plain_stats import EWMean, RollingQuantile, RollingVar


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.3, 0.9])
def test_ewmean_equals_rivers_bit_for_bit(alpha: float) -> None:
    rng = np.random.default_rng(3)
    ours, theirs = EWMean(alpha), stats.EWMean(fading_factor=alpha)
    assert ours.get() == theirs.get()
    for x in np.concatenate([[0.0, 0.0], rng.normal(50, 20, 2000), np.zeros(5)]):
        ours.update(float(x))
        theirs.update(float(x))
        assert ours.get() == theirs.get()


@pytest.mark.parametrize(("q", "window"), [(0.5, 5), (0.8, 28), (0.95, 56), (0.0, 3), (1.0, 7)])
def test_rolling_quantile_equals_rivers_bit_for_bit(q: float, window: int) -> None:
    rng = np.random.default_rng(4)
    ours, theirs = RollingQuantile(q, window), stats.RollingQuantile(q=q, window_size=window)
    assert ours.get() is None
    assert theirs.get() is None
    for x in rng.exponential(1.0, 1500) * rng.integers(0, 2, 1500):  # ties and zeros too
        ours.update(float(x))
        theirs.update(float(x))
        assert ours.get() == theirs.get()


@pytest.mark.parametrize("window", [1, 4, 100])
def test_rolling_var_equals_rivers_rolling_var_bit_for_bit(window: int) -> None:
    rng = np.random.default_rng(5)
    ours, theirs = RollingVar(window), utils.Rolling(stats.Var, window_size=window, ddof=0)
    for x in rng.beta(0.5, 3.0, 3000):
        ours.update(float(x))
        theirs.update(float(x))
        assert ours.var.get() == theirs.obj.get()
        assert ours.var.mean.get() == theirs.obj.mean.get()
