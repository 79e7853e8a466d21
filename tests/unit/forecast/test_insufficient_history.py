from __future__ import annotations

from datetime import UTC, datetime

from services.forecast.engine.config import RefreshConfig
from services.forecast.engine.refresh import RefreshJob, refresh_series

CONFIG = RefreshConfig(models=("seasonal_naive", "damped_holt"), min_history_days=63)


def _job(history) -> RefreshJob:
    return RefreshJob(
        "daily/1/AmazonEC2", "1", "AmazonEC2", history, CONFIG, datetime(2025, 3, 1, tzinfo=UTC)
    )


def test_below_minimum_history_publishes_explicit_state(make_series):
    f = refresh_series(_job(make_series(62)))
    assert f.status == "insufficient_history"
    assert "62 days" in (f.reason or "")
    assert f.horizons == {}
    assert f.model is None
    assert f.month_end is None
    assert f.history_days == 62


def test_at_minimum_history_forecasts_with_three_folds(make_series):
    f = refresh_series(_job(make_series(63)))
    assert f.status == "ok"
    assert all(s.folds == 3 for s in f.backtest)
    assert sorted(f.horizons) == [7, 30, 90]
    # Too short for a 90-day backtest window: only the horizons the folds cover are scored.
    assert {s.horizon_days for s in f.backtest} <= {7, 30, 90}
    assert 7 in {s.horizon_days for s in f.backtest}
