"""Dollar impact, severity and the fleet's alert budget for resource incidents.

Until usage metrics carry prices, a metric incident is worth the instance time it
covers: the instance's hourly On-Demand price times the hours the incident has
lasted when it is judged (at most ``DECIDE_AFTER``, at least one period). That
ranks a pinned expensive host above a blip on a small one.

The budget ranks rather than drops: every incident is published; only those
that clear the dollar floor *and* rank among the top ``allowance`` by impact of
the incidents judged in the trailing day (with fewer than ``allowance`` already
notified in that day) are marked to reach subscribers. Decisions depend only on
the incidents judged before, in order, so a replay in the same order decides
the same.

>>> from datetime import datetime, timedelta, UTC
>>> b = AlertBudget(BudgetConfig(alerts_per_100_per_day=2.0, min_impact_usd=0.1))
>>> t = datetime(2026, 7, 1, tzinfo=UTC)
>>> [b.admit(t + timedelta(hours=h), usd, fleet_size=100).notify
...  for h, usd in [(0, 0.05), (1, 3.0), (2, 1.0), (3, 2.0), (30, 0.5)]]
[False, True, True, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.events.anomalies import Severity

# Judge an incident once it has lasted an hour (or resolved sooner): long enough
# that a sustained problem outweighs a one-point blip, short enough to page
# within the hour a person could still act in.
DECIDE_AFTER = timedelta(hours=1)
# The budget counts alerts per trailing day of data time (the unit).
BUDGET_WINDOW = timedelta(days=1)
# Dollar thresholds of severity: an hour of a large instance (~$1/h and up) is
# worth a look, several dollars of pinned or leaking hosts is worth a page.
SEVERITY_USD: tuple[tuple[float, Severity], ...] = ((5.0, "high"), (1.0, "medium"))


def impact_usd(hourly_price: float, lasted: timedelta, period: timedelta) -> float:
    """Instance dollars under the incident when judged (``DECIDE_AFTER`` at most)."""
    hours = max(min(lasted, DECIDE_AFTER), period).total_seconds() / 3600.0
    return round(max(hourly_price, 0.0) * hours, 6)


def impact_severity(usd: float) -> Severity:
    """Severity from the estimated dollar impact."""
    for floor, severity in SEVERITY_USD:
        if usd >= floor:
            return severity
    return "low"


@dataclass(frozen=True)
class BudgetConfig:
    """The fleet's alert budget: a dollar floor and at most N alerts per 100 resources a day."""

    # At most 3 metric alerts per 100 resources per day: chosen on validation seeds
    # 101-103 (docs/anomaly-eval.md), a page a day for a 30-instance team.
    alerts_per_100_per_day: float = 3.0
    # Below 10 cents of instance time an incident is not worth a person's attention.
    min_impact_usd: float = 0.10


@dataclass(frozen=True)
class Decision:
    """Whether an incident reaches subscribers, and why not when it does not."""

    notify: bool
    suppressed_reason: str | None = None


@dataclass
class AlertBudget:
    """Online, order-deterministic ranking of a fleet's incidents (plain data state)."""

    config: BudgetConfig = field(default_factory=BudgetConfig)
    #: (judged at, impact USD, notified) of the trailing window, oldest first.
    recent: list[tuple[datetime, float, bool]] = field(default_factory=list)

    def allowance(self, fleet_size: int) -> int:
        """Alerts a day for a fleet of ``fleet_size`` resources (at least one)."""
        return max(1, int(self.config.alerts_per_100_per_day * fleet_size / 100.0))

    def admit(self, at: datetime, usd: float, fleet_size: int) -> Decision:
        """Judge one incident at data time ``at``; record it for the ones after."""
        horizon = at - BUDGET_WINDOW
        self.recent = [r for r in self.recent if r[0] > horizon]
        allowed = self.allowance(fleet_size)
        decision = self._decide(usd, allowed)
        self.recent.append((at, usd, decision.notify))
        return decision

    def _decide(self, usd: float, allowed: int) -> Decision:
        if usd < self.config.min_impact_usd:
            floor = self.config.min_impact_usd
            return Decision(False, f"impact ${usd:.2f} below the ${floor:.2f} floor")
        notified = sum(1 for r in self.recent if r[2])
        if notified >= allowed:
            return Decision(False, f"alert budget: {notified} of {allowed} sent in the last day")
        above = sum(1 for r in self.recent if r[1] > usd)
        if above >= allowed:
            return Decision(False, f"ranked {above + 1} by impact; budget {allowed} a day")
        return Decision(True)
