from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from services.forecast.budgets.interval import IntervalWatch
from services.forecast.models.base import DailyHistory
from shared.events.forecasts import ForecastPoint

NOW = datetime(2025, 3, 10, tzinfo=UTC)


def _watch() -> IntervalWatch:
    watch = IntervalWatch()
    points = [
        ForecastPoint(date=date(2025, 3, d), yhat=10, lo80=9, hi80=11, lo95=8, hi95=12)
        for d in range(1, 32)
    ]
    watch.set_reference("s", "a", date(2025, 3, 1), 0.0, points)
    return watch


def test_inside_the_interval_is_quiet():
    watch = _watch()
    h = DailyHistory(date(2025, 3, 1), np.full(5, 10.0))
    assert watch.check("s", h, 310.0, NOW) == []


def test_leaving_then_returning_opens_and_resolves():
    watch = _watch()
    out = watch.check("s", DailyHistory(date(2025, 3, 1), np.array([10.0, 10, 25])), 400.0, NOW)
    assert [(a.action, a.kind) for a in out] == [("open", "outside_interval")]
    assert "above" in out[0].reason
    assert (out[0].lo80, out[0].hi80, out[0].actual_to_date) == (27.0, 33.0, 45.0)
    back = DailyHistory(date(2025, 3, 1), np.array([10.0, 10, 25, 0, 0]))
    res = watch.check("s", back, 300.0, NOW)
    assert [(a.action, a.incident_id) for a in res] == [("resolve", out[0].incident_id)]
