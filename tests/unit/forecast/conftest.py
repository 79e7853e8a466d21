from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from services.forecast.models.base import DailyHistory


def weekly_series(n: int, trend: float = 0.0, noise: float = 2.0, seed: int = 0) -> DailyHistory:
    """A weekday-heavy cost series with optional trend and Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 + trend * t + 30 * ((t % 7) < 5) + rng.normal(0, noise, n)
    return DailyHistory(date(2025, 1, 1), np.maximum(y, 0))


@pytest.fixture
def make_series():
    return weekly_series
