"""Response models of the dashboard summaries (cost breakdown, changes since)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.gateway.api.schemas_results import AnomalyOut
from services.gateway.repositories.insights import GroupBy
from shared.events.anomalies import RootCause


class CostAmount(BaseModel):
    """An amount in one currency (CUR line items carry their own)."""

    currency: str
    cost: float


class PeriodCost(CostAmount):
    """The cost of one period."""

    period_start: datetime


class CostGroup(BaseModel):
    """One group's series over the range, with its total."""

    key: str | None = Field(description="Account, service, usage type or region; None for 'other'.")
    other: bool = Field(description="The sum of every group past the top ones.")
    currency: str
    total: float
    points: list[PeriodCost]


class CostBreakdown(BaseModel):
    """Costs over a range, stacked by one dimension, with per-period and overall totals."""

    group_by: GroupBy
    granularity: str
    start: datetime
    end: datetime
    groups: list[CostGroup] = Field(description="Largest total first; 'other' last.")
    period_totals: list[PeriodCost] = Field(description="Every group summed, per period.")
    totals: list[CostAmount] = Field(description="The range's total per currency.")


class AnomalyChanges(BaseModel):
    """Incidents since the time asked about."""

    opened: int
    opened_impact_usd: float
    resolved: int
    open_now: int
    top_opened: list[AnomalyOut] = Field(description="Largest dollar impact first (up to 5).")


class RecommendationChanges(BaseModel):
    """Recommendations published (new or changed) since the time asked about."""

    changed: int
    changed_savings_usd: float = Field(description="Their monthly savings, summed.")
    regressions: int


class AccountDayOverDay(BaseModel):
    """An account's newest stored day against the day before it."""

    account_id: str
    currency: str
    day: datetime
    cost: float
    previous_day: datetime | None = None
    previous_cost: float | None = None
    change: float | None = Field(None, description="cost - previous_cost.")


class Changes(BaseModel):
    """What changed since ``since`` (default: 24 hours ago): the overview's summary."""

    since: datetime
    until: datetime
    anomalies: AnomalyChanges
    recommendations: RecommendationChanges
    budget_alerts: int = Field(description="Budget alert lifecycle changes since then.")
    costs: list[AccountDayOverDay]


class AnomalyBand(BaseModel):
    """What the detector expected at one lifecycle step, for the window it judged."""

    action: str
    revision: int
    detected_at: datetime
    window_start: datetime
    window_end: datetime
    actual: float
    expected: float
    lower: float
    upper: float


class AnomalySeries(BaseModel):
    """An incident's series around its window: the stored actuals and the detector's bands."""

    incident_id: str
    series_id: str
    window_start: datetime
    window_end: datetime
    start: datetime
    end: datetime
    actual: list[PeriodCost] = Field(
        description="Stored cost points of the series in [start, end); empty for metric series."
    )
    bands: list[AnomalyBand] = Field(description="One per lifecycle event, oldest first.")
    root_cause: list[RootCause] = Field(description="Ranked drivers with their shares.")
