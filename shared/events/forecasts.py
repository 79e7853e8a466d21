"""Forecasts with intervals and backtest scores, budgets, and budget alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, Int32, Int64

ForecastStatus = Literal["ok", "insufficient_history"]
BudgetScope = Literal["account", "service", "tenant"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ForecastPoint(_Frozen):
    """One forecast day with 80% and 95% intervals."""

    date: date
    yhat: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


class BacktestScore(_Frozen):
    """Rolling-origin backtest of one model on one series."""

    model: str
    folds: Int64
    horizon_days: Int64
    mape: float | None
    mase: float | None
    coverage80: float | None
    coverage95: float | None


class MonthEndProjection(_Frozen):
    """Month-to-date actual plus forecast for the rest of the month."""

    month: date
    actual_to_date: float
    projected: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


class HistoryIncident(_Frozen):
    """An incident inside the history a forecast was fitted on (its days were imputed)."""

    incident_id: str
    source: Literal["anomaly", "restatement"]
    start: date
    end: date | None = Field(None, description="Last day; None while the incident is open.")
    imputed_days: Int64 = Field(
        0, description="Days of it replaced by a local baseline before fitting."
    )


class Forecast(Event):
    """The current forecast for one daily cost series (compacted by series id)."""

    event_type = "spendstream.forecast"

    series_id: str
    account_id: str
    service: str | None = None
    status: ForecastStatus
    reason: str | None = None
    model: str | None = None
    history_days: Int64
    last_date: date | None = None
    horizons: dict[int, list[ForecastPoint]] = Field(default_factory=dict)
    backtest: list[BacktestScore] = Field(default_factory=list)
    month_end: MonthEndProjection | None = None
    generated_at: datetime
    # Optional and defaulted, so events of older producers still validate (v1).
    history_incidents: list[HistoryIncident] = Field(
        default_factory=list,
        description="Open or recent cost incidents and restated days inside the history; "
        "their days were imputed for fitting and calibration (actuals are unchanged).",
    )


class Budget(Event):
    """A monthly budget; the gateway writes it, the forecast service watches it.

    ``id`` is the budget's own id (the compacted topic's key): each event is the
    budget's whole current state, so a later one replaces it.

    ``account_ids`` is the budget's coverage: the accounts whose spend counts,
    as the gateway knows the tenant's accounts when it publishes. The forecast
    service knows no tenants, so it sums exactly these; the gateway re-publishes
    the budget when the tenant's accounts change. Empty covers nothing.
    """

    event_type = "spendstream.budget"

    tenant_id: str
    name: str
    scope: BudgetScope
    account_id: str | None = None
    service: str | None = None
    account_ids: list[str] = Field(
        default_factory=list, description="The accounts whose spend this budget covers."
    )
    amount_usd: float = Field(gt=0)
    deleted: bool = False
    updated_at: datetime


class BudgetAlert(Event):
    """Budget lifecycle alert: projected breach or actuals outside the forecast interval."""

    event_type = "spendstream.budget-alert"

    incident_id: str
    action: Literal["open", "update", "resolve"]
    revision: Int32 = 0
    kind: Literal["projected_breach", "outside_interval"]
    budget_id: str | None = None
    tenant_id: str | None = None
    series_id: str
    account_id: str
    month: date
    budget_usd: float | None = None
    actual_to_date: float
    projected: float
    lo80: float
    hi80: float
    reason: str
    detected_at: datetime
