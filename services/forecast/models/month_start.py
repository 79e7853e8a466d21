"""A month-start term for models that have no regressors (damped Holt, statsforecast's).

Tax, support and monthly fees post on the 1st, so a series can carry a spike
there that a weekly or trend model smears over the neighbouring days (and
that the month-end total needs). The wrapper estimates the spike from the
history, removes it before the inner model fits, and adds it back on every
future 1st:

* a 1st's *excess* is its cost minus the mean of the same weekday a week
  before and a week after (the week before alone at the series' end);
* the term is the median excess of the last ``MONTHS`` 1sts, used only when it
  stands out of the week-on-week noise (``|term| > NOISE_MULTIPLE`` x the
  median absolute week-on-week change), so series without fees are untouched.

Bounds move with the mean; the calibration treats month starts apart anyway.

>>> import numpy as np
>>> from datetime import date
>>> y = np.full(120, 10.0); firsts = [0, 31, 59, 90]; y[firsts] += 50
>>> adjusted, term = month_start_term(DailyHistory(date(2025, 1, 1), y))
>>> round(term, 1), float(adjusted[31])
(50.0, 10.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from services.forecast.models.base import DailyHistory, FittedModel, Model, Prediction

WEEK = 7
# Recent 1sts that set the term: fees change, a quarter is what a FinOps view holds.
MONTHS = 3
# A term below this many typical week-on-week changes is noise, not a fee.
NOISE_MULTIPLE = 1.0


def month_start_term(history: DailyHistory) -> tuple[np.ndarray, float]:
    """The history with the month-start term taken out of every 1st, and the term."""
    y = np.asarray(history.values, dtype=float)
    n = y.shape[0]
    firsts = [i for i in range(WEEK, n) if (history.start + timedelta(days=i)).day == 1]
    if not firsts:
        return y, 0.0
    excess = []
    for i in firsts:
        around = [y[i - WEEK]] + ([y[i + WEEK]] if i + WEEK < n else [])
        excess.append(y[i] - float(np.mean(around)))
    term = float(np.median(excess[-MONTHS:]))
    noise = float(np.median(np.abs(y[WEEK:] - y[:-WEEK]))) if n > WEEK else 0.0
    if abs(term) <= NOISE_MULTIPLE * noise:
        return y, 0.0
    adjusted = y.copy()
    adjusted[[i for i in range(n) if (history.start + timedelta(days=i)).day == 1]] -= term
    return adjusted, term


@dataclass(frozen=True)
class FittedMonthStart:
    """The inner fit plus the term added on future 1sts."""

    inner: FittedModel
    term: float
    next_day: date  # the first forecast day

    def predict(self, horizon: int) -> Prediction:
        """The inner forecast with the term added to every 1st ahead."""
        p = self.inner.predict(horizon)
        if self.term == 0.0:
            return p
        start = self.next_day
        add = np.array(
            [self.term if (start + timedelta(days=i)).day == 1 else 0.0 for i in range(horizon)]
        )
        return Prediction(p.mean + add, p.lo80 + add, p.hi80 + add, p.lo95 + add, p.hi95 + add)


class MonthStart:
    """Wraps a model with the month-start term; ``name`` is the wrapper's."""

    def __init__(self, inner: Model, name: str) -> None:
        self.inner = inner
        self.name = name

    def fit(self, history: DailyHistory) -> FittedMonthStart:
        """Fit the inner model on the history without its month-start term."""
        adjusted, term = month_start_term(history)
        fitted = self.inner.fit(DailyHistory(history.start, adjusted))
        return FittedMonthStart(fitted, term, history.last_date + timedelta(days=1))
