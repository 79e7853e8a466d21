"""Month-to-date actual plus the forecast for the rest of the month.

The month projected is the one the next forecast day belongs to. Its interval
adds the daily bounds (comonotonic: errors on consecutive days move together,
as they do when a level shift is what the model missed). That is the widest
honest sum of daily intervals; assuming independent days would be far too
narrow on cost data, whose errors are strongly autocorrelated.

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
from datetime import date, timedelta

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


def project_month_end(history: DailyHistory, prediction: Prediction) -> MonthEndProjection:
    """Actual to date + forecast to month end, with comonotonic 80/95% bounds."""
    month, remaining = days_left_in_month(history.last_date)
    if remaining > prediction.horizon:
        raise ForecastError(
            f"the forecast covers {prediction.horizon} days but the month needs {remaining}"
        )
    in_month = (month - history.start).days
    actual = float(history.values[max(in_month, 0) :].sum()) if in_month < len(history) else 0.0
    sl = slice(0, remaining)
    return MonthEndProjection(
        month=month,
        actual_to_date=actual,
        projected=actual + float(prediction.mean[sl].sum()),
        lo80=actual + float(prediction.lo80[sl].sum()),
        hi80=actual + float(prediction.hi80[sl].sum()),
        lo95=actual + float(prediction.lo95[sl].sum()),
        hi95=actual + float(prediction.hi95[sl].sum()),
    )
