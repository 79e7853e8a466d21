"""Actual month-to-date spend leaving the interval forecast at the start of the month.

The reference for a series and month is the first forecast published for that
month (its month-end projection names the month). As later actuals arrive,
month-to-date spend is compared with the reference's month-to-date
expectation: the actuals it already knew plus its daily forecasts up to the
latest actual day, bounds added comonotonically. Comparing with each fresh
forecast would be circular: it has already absorbed the actuals.

>>> import numpy as np
>>> from datetime import date, datetime, UTC
>>> from shared.events.forecasts import ForecastPoint
>>> watch = IntervalWatch()
>>> pts = [ForecastPoint(date=date(2025, 3, d), yhat=10, lo80=9, hi80=11, lo95=8, hi95=12)
...        for d in range(1, 31)]
>>> watch.set_reference("s", "a", date(2025, 3, 1), 0.0, pts)
>>> h = DailyHistory(date(2025, 3, 1), np.array([10.0, 30.0]))
>>> [a.action for a in watch.check("s", h, 500.0, datetime(2025, 3, 3, tzinfo=UTC))]
['open']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.forecast.budgets.lifecycle import IncidentBook, incident_id
from services.forecast.models.base import DailyHistory
from shared.events.base import stable_id
from shared.events.forecasts import BudgetAlert, Forecast, ForecastPoint

KIND = "outside_interval"


@dataclass(frozen=True)
class Reference:
    """The month-start expectation for one series."""

    account_id: str
    month: date
    actual_before: float
    points: dict[date, ForecastPoint]


class IntervalWatch:
    """Reference forecasts per series and the outside-interval incidents."""

    def __init__(self) -> None:
        self.references: dict[str, Reference] = {}
        self.book = IncidentBook()

    def set_reference(
        self,
        series_id: str,
        account_id: str,
        month: date,
        actual_before: float,
        points: list[ForecastPoint],
    ) -> None:
        """Pin the expectation for ``month`` (the caller decides when: first forecast)."""
        in_month = {p.date: p for p in points if p.date.replace(day=1) == month}
        self.references[series_id] = Reference(account_id, month, actual_before, in_month)

    def observe(self, forecast: Forecast, now: datetime) -> list[BudgetAlert]:
        """Pin ``forecast`` as the reference if it is the first one for its month.

        A new month resolves the series' incident of the month before.
        """
        if forecast.month_end is None or not forecast.horizons:
            return []
        current = self.references.get(forecast.series_id)
        if current is not None and current.month == forecast.month_end.month:
            return []
        alerts = []
        for subject, month, kind in self.book.open_keys():
            if subject == forecast.series_id and month < forecast.month_end.month:
                revision = self.book.close(subject, month, kind)
                incident = incident_id(subject, month, KIND)
                alerts.append(
                    BudgetAlert(
                        id=stable_id(incident, "resolve", revision),
                        incident_id=incident,
                        action="resolve",
                        revision=revision or 0,
                        kind=KIND,
                        series_id=subject,
                        account_id=forecast.account_id,
                        month=month,
                        actual_to_date=0.0,
                        projected=0.0,
                        lo80=0.0,
                        hi80=0.0,
                        reason="the month closed",
                        detected_at=now,
                    )
                )
        longest = forecast.horizons[max(forecast.horizons)]
        self.set_reference(
            forecast.series_id,
            forecast.account_id,
            forecast.month_end.month,
            forecast.month_end.actual_to_date,
            longest,
        )
        return alerts

    def check(
        self, series_id: str, history: DailyHistory, projected: float, now: datetime
    ) -> list[BudgetAlert]:
        """Compare month-to-date actuals with the reference; lifecycle alerts if any."""
        ref = self.references.get(series_id)
        if ref is None or not ref.points or history.last_date.replace(day=1) != ref.month:
            return []
        seen = [d for d in ref.points if d <= history.last_date]
        if not seen:
            return []
        actual = float(
            sum(
                v
                for d, v in zip(history.dates(), history.values, strict=True)
                if d.replace(day=1) == ref.month
            )
        )
        lo = ref.actual_before + sum(ref.points[d].lo80 for d in seen)
        hi = ref.actual_before + sum(ref.points[d].hi80 for d in seen)
        expected = ref.actual_before + sum(ref.points[d].yhat for d in seen)
        outside = not lo <= actual <= hi
        step = self.book.step(series_id, ref.month, KIND, outside, actual, max(expected, 1e-9))
        if step is None:
            return []
        action, revision = step
        where = "above" if actual > hi else "below" if actual < lo else "back inside"
        reason = (
            f"month-to-date spend ${actual:,.0f} is {where} the 80% interval "
            f"${lo:,.0f}-${hi:,.0f} forecast at the start of the month"
        )
        incident = incident_id(series_id, ref.month, KIND)
        return [
            BudgetAlert(
                id=stable_id(incident, action, revision),
                incident_id=incident,
                action=action,
                revision=revision,
                kind=KIND,
                series_id=series_id,
                account_id=ref.account_id,
                month=ref.month,
                actual_to_date=actual,
                projected=projected,
                lo80=lo,
                hi80=hi,
                reason=reason,
                detected_at=now,
            )
        ]

    def restore(self, alert: BudgetAlert) -> None:
        """Fold one emitted outside-interval alert back in (rebuild after a restart)."""
        if alert.kind == KIND:
            self.book.restore(
                alert.series_id,
                alert.month,
                KIND,
                alert.action,
                alert.revision,
                alert.actual_to_date,
            )
