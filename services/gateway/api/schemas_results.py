"""Response models for the results the gateway stores (anomalies, recommendations, ...)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.alerts.model import AlertSource
from shared.events.anomalies import AnomalyAction, AnomalyKind, RootCause, Severity
from shared.events.forecasts import (
    BacktestScore,
    ForecastPoint,
    HistoryIncident,
    MonthEndProjection,
)

T = TypeVar("T")
AnomalyStatus = Literal["open", "resolved"]


class ErrorBody(BaseModel):
    """Every 4xx/5xx that is not a validation error."""

    detail: str = Field(description="What was wrong and what to do about it.")


class Readiness(BaseModel):
    """Readiness only: the reason for "not ready" is logged, never shown to strangers."""

    status: Literal["ready", "not ready"]


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list; pass ``next_cursor`` back as ``cursor``."""

    items: list[T]
    next_cursor: str | None = Field(None, description="None on the last page.")


class AnomalyOut(BaseModel):
    """The current state of one anomaly incident."""

    model_config = ConfigDict(extra="ignore")

    incident_id: str
    status: AnomalyStatus
    action: AnomalyAction
    revision: int
    kind: AnomalyKind
    series_id: str
    account_id: str
    service: str | None = None
    usage_type: str | None = None
    resource_id: str | None = None
    metric: str | None = None
    window_start: datetime
    window_end: datetime
    actual: float
    expected: float
    lower: float
    upper: float
    score: float
    severity: Severity
    impact_usd: float | None = None
    reason: str
    detector: str
    detected_at: datetime
    opened_at: datetime


class AnomalyHistoryItem(BaseModel):
    """One lifecycle event of an incident."""

    id: str
    action: AnomalyAction
    revision: int
    severity: Severity
    impact_usd: float | None = None
    reason: str
    detected_at: datetime


class AnomalyDetail(AnomalyOut):
    """An incident with its root cause and lifecycle history."""

    root_cause: list[RootCause]
    related_series: list[str]
    history: list[AnomalyHistoryItem]


class ForecastSummary(BaseModel):
    """Which forecasts exist, and how fresh they are."""

    series_id: str
    account_id: str
    service: str | None = None
    status: Literal["ok", "insufficient_history"]
    model: str | None = None
    history_days: int
    last_date: date | None = None
    horizons: list[int]
    generated_at: datetime


class ForecastDetail(ForecastSummary):
    """One series' forecast for one horizon, with 80% and 95% intervals."""

    reason: str | None = None
    why_chosen: str | None = Field(
        None, description="Why this model: its backtest MASE against the other candidates'."
    )
    horizon: int | None = Field(None, description="Days ahead; None when no horizon exists.")
    points: list[ForecastPoint]
    backtest: list[BacktestScore]
    month_end: MonthEndProjection | None = None
    history_incidents: list[HistoryIncident] = Field(
        default_factory=list,
        description="Incidents and restated days in the history; their days were imputed "
        "before fitting, so the forecast follows the usual level, not the spike.",
    )


class CostPointOut(BaseModel):
    """The cost of one series over one period (latest completed delivery)."""

    series_id: str
    period_start: datetime
    level: Literal["account", "service", "usage_type", "tag"]
    granularity: Literal["daily", "hourly"]
    account_id: str
    service: str | None = None
    usage_type: str | None = None
    cost: float
    currency: str
    as_of: datetime


class RestatementOut(BaseModel):
    """A later delivery moved a day already judged; a negative delta is a late credit."""

    id: str
    series_id: str
    period_start: datetime
    account_id: str
    service: str | None = None
    previous_cost: float
    new_cost: float
    delta: float = Field(description="new_cost - previous_cost.")
    previous_attempt_id: str
    attempt_id: str
    detected_at: datetime


class DeadLetterOut(BaseModel):
    """A rejected record as an operator sees it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    dlq_topic: str
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    value: str
    headers: dict[str, str]
    source_file: str | None = None
    source_row: int | None = None
    reason: str
    error_type: str
    service: str
    failed_at: datetime


class AlertOut(BaseModel):
    """One alert lifecycle change; ``seq`` is its stream position (SSE id)."""

    seq: int
    event_id: str
    source: AlertSource
    alert_id: str
    action: str
    account_id: str
    service: str | None = None
    severity: Severity
    impact_usd: float | None = None
    title: str
    occurred_at: datetime
    detail: dict[str, Any]
