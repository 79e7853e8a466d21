"""Month-to-date actual plus the forecast for the rest of the month.

The month projected is the one the next forecast day belongs to. The interval
of a sum of days depends on how the daily errors move together: independent
days would add half-widths in quadrature (far too narrow on cost data, whose
errors are autocorrelated), comonotonic days add them linearly (too wide).
The projection starts from the comonotonic sum and scales it by a factor per
level calibrated on the backtest (``monthend.calibration``).

>>> import numpy as np
>>> from datetime import date
>>> from services.forecast.models.base import LEVELS, DailyHistory, Prediction

SumFactors = dict[float, float]
>>> h = DailyHistory(date(2025, 1, 1), np.full(29, 10.0))
>>> p = Prediction(*(np.full(5, v) for v in (10.0, 9, 11, 8, 12)))
>>> m = project_month_end(h, p)
>>> (m.month.isoformat(), m.actual_to_date, m.projected, m.lo80, m.hi95)
('2025-01-01', 290.0, 310.0, 308.0, 314.0)
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import numpy as np

from services.forecast.exceptions import ForecastError
from services.forecast.models.base import LEVELS, DailyHistory, Prediction
from shared.events.forecasts import MonthEndProjection

SumFactors = dict[float, float]


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def days_left_in_month(after: date) -> tuple[date, int]:
    """The month of the day after ``after`` and how many of its days come after ``after``."""
    first_future = after + timedelta(days=1)
    last_day = calendar.monthrange(first_future.year, first_future.month)[1]
    end = first_future.replace(day=last_day)
    return month_start(first_future), (end - after).days


def _sum_bound(mean: np.ndarray, bound: np.ndarray, factor: float) -> float:
    return float(np.sum(mean) + factor * np.sum(bound - mean))


def project_month_end(
    history: DailyHistory, prediction: Prediction, factors: SumFactors | None = None
) -> MonthEndProjection:
    """Actual to date + forecast to month end, with 80/95% bounds.

    ``factors`` scale the comonotonic half-width of the sum per level (see
    ``monthend.calibration``); without them the bounds are comonotonic.
    """
    factors = factors or {level: 1.0 for level in LEVELS}
    month, remaining = days_left_in_month(history.last_date)
    if remaining > prediction.horizon:
        raise ForecastError(
            f"the forecast covers {prediction.horizon} days but the month needs {remaining}"
        )
    in_month = (month - history.start).days
    actual = float(history.values[max(in_month, 0) :].sum()) if in_month < len(history) else 0.0
    mean = prediction.mean[:remaining]

    def total(bound: np.ndarray, level: float) -> float:
        return actual + _sum_bound(mean, bound[:remaining], factors[level])

    low, high = LEVELS
    lo80, hi80 = total(prediction.lo80, low), total(prediction.hi80, low)
    # Per-level factors are estimated apart: the 95% interval must still hold the 80% one.
    return MonthEndProjection(
        month=month,
        actual_to_date=actual,
        projected=actual + float(mean.sum()),
        lo80=lo80,
        hi80=hi80,
        lo95=min(total(prediction.lo95, high), lo80),
        hi95=max(total(prediction.hi95, high), hi80),
    )
