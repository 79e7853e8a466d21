"""Month-to-date actual plus the forecast for the rest of the month.

The month projected is the one the next forecast day belongs to. The interval
of a sum of days depends on how the daily errors move together: independent
days would add half-widths in quadrature (far too narrow on cost data, whose
errors are autocorrelated), comonotonic days add them linearly (too wide).
With ``rho`` the average pairwise correlation of the daily errors over the
remaining days, the sum's half-width is
``sqrt((1 - rho) * sum(hw**2) + rho * sum(hw)**2)``; ``rho`` comes from the
backtest residuals (``error_correlation``), 1 (comonotonic) when unknown.

>>> import numpy as np
>>> from datetime import date
>>> from services.forecast.models.base import DailyHistory, Prediction
>>> h = DailyHistory(date(2025, 1, 1), np.full(29, 10.0))
>>> p = Prediction(*(np.full(5, v) for v in (10.0, 9, 11, 8, 12)))
>>> m = project_month_end(h, p)
>>> (m.month.isoformat(), m.actual_to_date, m.projected, m.lo80, m.hi95)
('2025-01-01', 290.0, 310.0, 308.0, 314.0)
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from services.forecast.exceptions import ForecastError
from services.forecast.models.base import DailyHistory, Prediction
from shared.events.forecasts import MonthEndProjection


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def days_left_in_month(after: date) -> tuple[date, int]:
    """The month of the day after ``after`` and how many of its days come after ``after``."""
    first_future = after + timedelta(days=1)
    last_day = calendar.monthrange(first_future.year, first_future.month)[1]
    end = first_future.replace(day=last_day)
    return month_start(first_future), (end - after).days


def error_correlation(residuals: Sequence[np.ndarray], days: int) -> float:
    """Average pairwise correlation of errors ``days`` apart or less, from backtest folds.

    Uses uncentred second moments, so a shared bias (a level shift the model
    missed) counts as correlation, as it should for a sum.

    >>> import numpy as np
    >>> round(error_correlation([np.ones(10), -np.ones(10)], 5), 2)
    1.0
    """
    k = max(min(days, *(r.shape[0] for r in residuals)) if residuals else 0, 0)
    if k < 2:
        return 1.0
    energy = sum(float(np.sum(r[:k] ** 2)) for r in residuals)
    if energy <= 0:
        return 1.0
    weighted = 0.0
    for lag in range(1, k):
        lagged = sum(float(np.sum(r[: k - lag] * r[lag:k])) for r in residuals)
        rho = lagged / energy * k / (k - lag)
        weighted += 2 * (k - lag) * rho
    return float(np.clip(weighted / (k * (k - 1)), 0.0, 1.0))


def _sum_bound(mean: np.ndarray, bound: np.ndarray, rho: float) -> float:
    hw = np.abs(bound - mean)
    half = np.sqrt((1 - rho) * np.sum(hw**2) + rho * np.sum(hw) ** 2)
    return float(np.sum(mean) + np.sign(np.sum(bound - mean)) * half)


def project_month_end(
    history: DailyHistory, prediction: Prediction, rho: float = 1.0
) -> MonthEndProjection:
    """Actual to date + forecast to month end, with 80/95% bounds for correlation ``rho``."""
    month, remaining = days_left_in_month(history.last_date)
    if remaining > prediction.horizon:
        raise ForecastError(
            f"the forecast covers {prediction.horizon} days but the month needs {remaining}"
        )
    in_month = (month - history.start).days
    actual = float(history.values[max(in_month, 0) :].sum()) if in_month < len(history) else 0.0
    mean = prediction.mean[:remaining]

    def total(bound: np.ndarray) -> float:
        return actual + _sum_bound(mean, bound[:remaining], rho)

    return MonthEndProjection(
        month=month,
        actual_to_date=actual,
        projected=actual + float(mean.sum()),
        lo80=total(prediction.lo80),
        hi80=total(prediction.hi80),
        lo95=total(prediction.lo95),
        hi95=total(prediction.hi95),
    )
