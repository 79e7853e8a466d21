"""Alerts: an anomaly or budget lifecycle change, a regression, or a restated cost day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.events import (
    AnomalyEvent,
    BudgetAlert,
    CommitmentAlert,
    CostRestated,
    Recommendation,
)
from shared.events.anomalies import SEVERITY_ORDER, Severity
from shared.events.costs import series_parts

#: What raised an alert; subscriptions and alert lists filter on it.
AlertSource = Literal["anomaly", "budget", "recommendation", "restatement", "commitment"]
ALERT_SOURCES: tuple[AlertSource, ...] = (
    "anomaly",
    "budget",
    "recommendation",
    "restatement",
    "commitment",
)

# A projected budget breach needs action this month; actuals leaving the
# forecast interval are a warning worth a look.
BUDGET_SEVERITY = {"projected_breach": "high", "outside_interval": "medium"}
# A right-sized instance that is now under-provisioned risks an outage.
REGRESSION_SEVERITY = "high"
# A restatement changes money already reported: relative size decides, as for a cost
# anomaly (doubling or halving worth real money pages someone; small moves only inform).
RESTATEMENT_CRITICAL_USD = 1000.0
RESTATEMENT_SEVERITY_STEPS: tuple[tuple[float, Severity], ...] = (
    (0.5, "high"),
    (0.2, "medium"),
)


@dataclass(frozen=True)
class Alert:
    """What every channel (SSE, WebSocket, webhook, SNS) sends for one lifecycle change.

    ``tenant_id`` is set on alerts a tenant owns outright (a budget's): those
    reach that tenant only, whatever account they name; the others reach the
    tenant owning ``account_id``.
    """

    event_id: str
    source: str
    alert_id: str
    action: str
    account_id: str
    service: str | None
    severity: str
    impact_usd: float | None
    title: str
    occurred_at: datetime
    payload: dict[str, Any]
    tenant_id: str | None = None

    @property
    def severity_rank(self) -> int:
        """0 (low) .. 3 (critical), for minimum-severity filters."""
        return SEVERITY_ORDER[self.severity]


def from_anomaly(event: AnomalyEvent, payload: dict[str, Any] | None = None) -> Alert:
    """Every anomaly lifecycle event (open, update, resolve) is an alert.

    ``payload`` is the event's JSON dump when the caller already has it.
    """
    what = event.service or event.metric or event.series_id
    impact = f" (${event.impact_usd:,.2f} above expected)" if event.impact_usd else ""
    return Alert(
        event_id=event.id,
        source="anomaly",
        alert_id=event.incident_id,
        action=event.action,
        account_id=event.account_id,
        service=event.service,
        severity=event.severity,
        impact_usd=event.impact_usd,
        title=f"{event.action}: {event.severity} {event.kind} anomaly in {what}"
        f" on account {event.account_id}{impact}",
        occurred_at=event.detected_at,
        payload=payload if payload is not None else event.model_dump(mode="json"),
    )


def from_budget_alert(event: BudgetAlert, payload: dict[str, Any] | None = None) -> Alert:
    """Budget alerts carry their own lifecycle; impact is the projected overrun."""
    limit = event.budget_usd if event.budget_usd is not None else event.hi80
    return Alert(
        event_id=event.id,
        source="budget",
        alert_id=event.incident_id,
        action=event.action,
        account_id=event.account_id,
        service=None,
        severity=BUDGET_SEVERITY[event.kind],
        impact_usd=max(event.projected - limit, 0.0),
        title=f"{event.action}: {event.kind.replace('_', ' ')} on {event.series_id}: "
        f"{event.reason}",
        occurred_at=event.detected_at,
        payload=payload if payload is not None else event.model_dump(mode="json"),
    )


def from_recommendation(
    event: Recommendation, payload: dict[str, Any] | None = None
) -> Alert | None:
    """Only a regression (right-sized, now under-provisioned) is worth interrupting someone."""
    if not event.regression:
        return None
    return Alert(
        event_id=event.id,
        source="recommendation",
        alert_id=event.resource_id,
        action="open",
        account_id=event.account_id,
        service="AmazonEC2",
        severity=REGRESSION_SEVERITY,
        impact_usd=None,
        title=f"regression: {event.resource_id} ({event.current_type}) is now "
        f"{event.finding}: {event.reason}",
        occurred_at=event.generated_at,
        payload=payload if payload is not None else event.model_dump(mode="json"),
    )


# Unused commitment is money already spent; an expiring one is a purchase decision to make.
COMMITMENT_SEVERITY = {"low_utilisation": "high", "expiring": "medium"}


def from_commitment_alert(event: CommitmentAlert, payload: dict[str, Any] | None = None) -> Alert:
    """A Savings Plan or RI used below the threshold, or ending soon: one alert each."""
    if event.reason == "low_utilisation":
        pct = f"{(event.utilisation or 0.0):.0%} < {(event.threshold or 0.0):.0%}"
        what = f"utilisation {pct}, ${event.unused_cost:,.2f} unused this month"
    else:
        what = f"ends {event.end:%Y-%m-%d} ({event.days_left or 0:.0f} days)" if event.end else ""
    return Alert(
        event_id=event.id,
        source="commitment",
        alert_id=event.id,
        action=event.reason,
        account_id=event.account_id,
        service="AmazonEC2",
        severity=COMMITMENT_SEVERITY[event.reason],
        impact_usd=event.unused_cost or None,
        title=f"{event.reason.replace('_', ' ')}: {event.kind.replace('_', ' ')} {event.arn}: "
        f"{what}",
        occurred_at=event.detected_at,
        payload=payload if payload is not None else event.model_dump(mode="json"),
    )


def restatement_severity(delta: float, previous: float) -> Severity:
    """Severity from the share of the day's earlier figure that moved (either way).

    >>> restatement_severity(-1500.0, 1000.0), restatement_severity(30.0, 100.0)
    ('critical', 'medium')
    >>> restatement_severity(12.0, 0.0), restatement_severity(12.0, 1000.0)
    ('high', 'low')
    """
    share = abs(delta) / abs(previous) if previous else float("inf")
    if share >= 1.0 and abs(delta) >= RESTATEMENT_CRITICAL_USD:
        return "critical"
    return next((sev for floor, sev in RESTATEMENT_SEVERITY_STEPS if share >= floor), "low")


def from_restatement(event: CostRestated, payload: dict[str, Any] | None = None) -> Alert:
    """A restated day is one alert; its impact is the size of the move, credits included.

    A negative delta is money given back late (a credit or refund landing after
    the day was reported); ``impact_usd`` is its magnitude so dollar filters
    treat a late $500 credit like a late $500 charge.
    """
    _, _, service, _ = series_parts(event.series_id)
    moved = "credit or refund landed late" if event.delta < 0 else "charges landed late"
    return Alert(
        event_id=event.id,
        source="restatement",
        alert_id=event.id,
        action="restated",
        account_id=event.account_id,
        service=service,
        severity=restatement_severity(event.delta, event.previous_cost),
        impact_usd=abs(event.delta),
        title=f"restated: {event.series_id} on {event.period_start.date().isoformat()} "
        f"${event.previous_cost:,.2f} -> ${event.new_cost:,.2f} ({moved})",
        occurred_at=event.detected_at,
        payload=payload if payload is not None else event.model_dump(mode="json"),
    )
