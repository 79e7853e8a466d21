"""Anomaly lifecycle events: one incident id, then open -> update* -> resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, Int32

AnomalyAction = Literal["open", "update", "resolve"]
AnomalyKind = Literal["cost", "metric"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class RootCause(BaseModel):
    """One contributor to a cost deviation, with its share of the total deviation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimension: Literal["account", "service", "usage_type", "region", "resource", "series", "tag"]
    value: str
    actual: float
    expected: float
    contribution: float = Field(description="actual - expected, in the series unit.")
    share: float = Field(description="contribution / total deviation, in [0, 1] for drivers.")


class AnomalyEvent(Event):
    """A change in an incident's lifecycle.

    ``id`` is unique per lifecycle step (incident + action + revision) so a
    redelivered event is recognised; ``incident_id`` stays the same from open to
    resolve and groups every series the same cause moved.
    """

    event_type = "spendstream.anomaly"

    incident_id: str
    action: AnomalyAction
    revision: Int32 = 0
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
    score: float = Field(ge=0.0, le=1.0)
    severity: Severity
    impact_usd: float | None = Field(
        None,
        description="Cost above expected (cost anomalies); on a usage-metric incident the "
        "usage above expected priced at a unit rate (an estimate: impact_estimated).",
    )
    deviation: float | None = Field(None, description="actual - expected (metric anomalies).")
    root_cause: list[RootCause] = Field(default_factory=list)
    related_series: list[str] = Field(default_factory=list)
    detector: str
    reason: str = Field(description="One sentence a person understands.")
    detected_at: datetime
    # Optional and defaulted, so events of older producers still validate (v1).
    evidence_metrics: list[str] = Field(
        default_factory=list,
        description="Metric incidents on one resource: the metrics that moved.",
    )
    notify: bool = Field(
        True,
        description="False when the fleet's alert budget ranked the incident below its "
        "cut: it is stored and queryable but not pushed to subscribers.",
    )
    suppressed_reason: str | None = Field(
        None, description="Why ``notify`` is false (dollar floor or alert budget)."
    )
    impact_estimated: bool = Field(
        False,
        description="impact_usd is an estimate priced from a usage metric, not a CUR cost.",
    )
    impact_rate_source: Literal["cur", "catalogue"] | None = Field(
        None,
        description="Where the estimate's unit rate came from: the account's own CUR "
        "(cost / usage amount per usage type and region) or the catalogue list price.",
    )
    linked_incident_id: str | None = Field(
        None,
        description="A CUR cost event re-issued under the usage-metric incident it "
        "confirms: the id the cost engine had given it.",
    )
    impact_estimate_error: float | None = Field(
        None,
        description="On a confirming cost event: (metric estimate - CUR impact) / CUR impact.",
    )
