"""Projected budget breaches: month-end projection of a budget's scope vs its amount.

A budget covers exactly the accounts its event lists (``Budget.account_ids``):
this service knows no tenants, and summing every account it forecasts would
count other tenants' spend. Within that coverage, scopes map onto forecast
series: ``service`` -> the account x service series of that service;
``account`` and ``tenant`` -> the account-level series. Projections of several
series add up with comonotonic bounds, like days in a month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.forecast.budgets.lifecycle import IncidentBook, incident_id
from shared.events.base import stable_id
from shared.events.forecasts import Budget, BudgetAlert, Forecast, MonthEndProjection

KIND = "projected_breach"
# Resolve only once the projection is this far under the budget, so a projection
# hovering at the line does not flap open/resolve every refresh.
RESOLVE_MARGIN = 0.02


@dataclass(frozen=True)
class Projection:
    """A series' latest month-end projection and whom it belongs to."""

    account_id: str
    service: str | None
    month_end: MonthEndProjection


def _members(budget: Budget, projections: dict[str, Projection]) -> list[str]:
    covered = set(budget.account_ids)

    def wanted(p: Projection) -> bool:
        if p.account_id not in covered:
            return False
        if budget.scope == "service":
            return p.service == budget.service
        return p.service is None

    return sorted(s for s, p in projections.items() if wanted(p))


def _subject(budget: Budget, members: list[str]) -> str:
    return members[0] if len(members) == 1 else f"budget:{budget.id}"


class BudgetWatch:
    """Budgets, the latest projection per series, and the breach incidents."""

    def __init__(self) -> None:
        self.budgets: dict[str, Budget] = {}
        self.projections: dict[str, Projection] = {}
        self.book = IncidentBook()

    def on_budget(self, budget: Budget, now: datetime) -> list[BudgetAlert]:
        """Store (or delete) a budget and evaluate it against current projections."""
        if budget.deleted:
            self.budgets.pop(budget.id, None)
            return self._close_all(budget, "the budget was deleted", now)
        self.budgets[budget.id] = budget
        return self._evaluate(budget, now)

    def on_forecast(self, forecast: Forecast, now: datetime) -> list[BudgetAlert]:
        """Store a series' projection; evaluate every budget whose scope includes it."""
        if forecast.month_end is None:
            return []
        self.projections[forecast.series_id] = Projection(
            forecast.account_id, forecast.service, forecast.month_end
        )
        return [
            alert
            for budget in list(self.budgets.values())
            if forecast.series_id in _members(budget, self.projections)
            for alert in self._evaluate(budget, now)
        ]

    def close_months_before(self, month: date, now: datetime) -> list[BudgetAlert]:
        """Resolve breach incidents of months that have ended."""
        alerts = []
        for subject, m, kind in self.book.open_keys():
            budget = self.budgets.get(subject.removeprefix("budget-id:"))
            if kind == KIND and m < month and budget is not None:
                alerts += self._close(budget, subject, m, "the month closed", now)
        return alerts

    def _evaluate(self, budget: Budget, now: datetime) -> list[BudgetAlert]:
        members = _members(budget, self.projections)
        if not members:
            return []
        month = max(self.projections[s].month_end.month for s in members)
        parts = [self.projections[s].month_end for s in members]
        parts = [p for p in parts if p.month == month]
        total = MonthEndProjection(
            month=month,
            actual_to_date=sum(p.actual_to_date for p in parts),
            projected=sum(p.projected for p in parts),
            lo80=sum(p.lo80 for p in parts),
            hi80=sum(p.hi80 for p in parts),
            lo95=sum(p.lo95 for p in parts),
            hi95=sum(p.hi95 for p in parts),
        )
        subject = f"budget-id:{budget.id}"
        amount = budget.amount_usd
        was_open = self.book.is_open(subject, month, KIND)
        threshold = amount * (1 - RESOLVE_MARGIN) if was_open else amount
        step = self.book.step(
            subject, month, KIND, total.projected > threshold, total.projected, amount
        )
        if step is None:
            return []
        action, revision = step
        over = total.projected - amount
        reason = (
            f"{budget.name}: month-end projection ${total.projected:,.0f} "
            f"(80% {total.lo80:,.0f}-{total.hi80:,.0f}) "
            + (
                f"exceeds the ${amount:,.0f} budget by ${over:,.0f}"
                if action != "resolve"
                else f"is back under the ${amount:,.0f} budget"
            )
        )
        return [
            self._alert(
                budget, _subject(budget, members), month, action, revision, total, reason, now
            )
        ]

    def _close(
        self, budget: Budget, subject: str, month: date, why: str, now: datetime
    ) -> list[BudgetAlert]:
        revision = self.book.close(subject, month, KIND)
        if revision is None:
            return []
        members = _members(budget, self.projections)
        last = MonthEndProjection(
            month=month, actual_to_date=0.0, projected=0.0, lo80=0.0, hi80=0.0, lo95=0.0, hi95=0.0
        )
        same = [self.projections[s].month_end for s in members]
        same = [p for p in same if p.month == month]
        if same:
            last = same[0]
        return [
            self._alert(
                budget,
                _subject(budget, members),
                month,
                "resolve",
                revision,
                last,
                f"{budget.name}: {why}",
                now,
            )
        ]

    def _close_all(self, budget: Budget, why: str, now: datetime) -> list[BudgetAlert]:
        subject = f"budget-id:{budget.id}"
        alerts = []
        for s, m, kind in self.book.open_keys():
            if s == subject and kind == KIND:
                alerts += self._close(budget, subject, m, why, now)
        return alerts

    @staticmethod
    def _alert(
        budget: Budget,
        series: str,
        month: date,
        action: str,
        revision: int,
        total: MonthEndProjection,
        reason: str,
        now: datetime,
    ) -> BudgetAlert:
        incident = incident_id(f"budget-id:{budget.id}", month, KIND)
        return BudgetAlert(
            id=stable_id(incident, action, revision),
            incident_id=incident,
            action=action,
            revision=revision,
            kind=KIND,
            budget_id=budget.id,
            tenant_id=budget.tenant_id,
            series_id=series,
            account_id=budget.account_id or "*",
            month=month,
            budget_usd=budget.amount_usd,
            actual_to_date=total.actual_to_date,
            projected=total.projected,
            lo80=total.lo80,
            hi80=total.hi80,
            reason=reason,
            detected_at=now,
        )


def restore_breach(watch: BudgetWatch, alert: BudgetAlert) -> None:
    """Fold one emitted breach alert back into ``watch`` (rebuild after a restart)."""
    if alert.kind == KIND and alert.budget_id is not None:
        watch.book.restore(
            f"budget-id:{alert.budget_id}",
            alert.month,
            KIND,
            alert.action,
            alert.revision,
            alert.projected,
        )
