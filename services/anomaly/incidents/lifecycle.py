"""Incident lifecycle: one id from open to resolve, revisions in between.

Ids are deterministic so a replay after a crash re-emits byte-identical events
that downstream consumers recognise: the incident id is a hash of the series,
the first anomalous window and the detector; each event id hashes the incident
id, the action and the revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from shared.events import AnomalyEvent, RootCause, stable_id

Kind = Literal["cost", "metric"]
Severity = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True)
class Observation:
    """One anomalous (or normal) reading of the series an incident lives on."""

    window_start: datetime
    window_end: datetime
    actual: float
    expected: float
    lower: float
    upper: float
    score: float
    severity: Severity
    reason: str
    root_cause: tuple[RootCause, ...] = ()
    related_series: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeriesRef:
    """What identifies the series an incident is about."""

    series_id: str
    kind: Kind
    account_id: str
    detector: str
    service: str | None = None
    usage_type: str | None = None
    resource_id: str | None = None
    metric: str | None = None


@dataclass
class Incident:
    """An open incident (mutable, lives in the partition's state)."""

    ref: SeriesRef
    incident_id: str
    window_start: datetime
    last: Observation
    revision: int = 0
    normal_streak: int = 0
    members: set[str] = field(default_factory=set)
    confirmed: bool = False


def open_incident(
    ref: SeriesRef, obs: Observation, detected_at: datetime
) -> tuple[Incident, AnomalyEvent]:
    """Start an incident and return its ``open`` event."""
    incident_id = stable_id(ref.series_id, obs.window_start.isoformat(), ref.detector)
    incident = Incident(
        ref=ref,
        incident_id=incident_id,
        window_start=obs.window_start,
        last=obs,
        members={ref.series_id, *obs.related_series},
    )
    return incident, to_event(incident, "open", obs, detected_at)


def update_incident(incident: Incident, obs: Observation, detected_at: datetime) -> AnomalyEvent:
    """Record a new anomalous observation and return the ``update`` event."""
    incident.revision += 1
    incident.normal_streak = 0
    incident.members.update(obs.related_series)
    merged = replace(
        obs,
        window_start=incident.window_start,
        related_series=tuple(sorted(incident.members - {incident.ref.series_id})),
    )
    incident.last = merged
    return to_event(incident, "update", merged, detected_at)


def resolve_incident(
    incident: Incident, reason: str, detected_at: datetime, obs: Observation | None = None
) -> AnomalyEvent:
    """Close the incident and return the ``resolve`` event."""
    incident.revision += 1
    last = obs or incident.last
    closing = replace(
        last,
        window_start=incident.window_start,
        window_end=max(incident.last.window_end, last.window_end),
        reason=reason,
        related_series=tuple(sorted(incident.members - {incident.ref.series_id})),
    )
    return to_event(incident, "resolve", closing, detected_at)


def to_event(
    incident: Incident, action: Literal["open", "update", "resolve"], obs: Observation, at: datetime
) -> AnomalyEvent:
    """The wire event for one lifecycle step."""
    ref = incident.ref
    deviation = obs.actual - obs.expected
    return AnomalyEvent(
        id=stable_id(incident.incident_id, action, incident.revision),
        incident_id=incident.incident_id,
        action=action,
        revision=incident.revision,
        kind=ref.kind,
        series_id=ref.series_id,
        account_id=ref.account_id,
        service=ref.service,
        usage_type=ref.usage_type,
        resource_id=ref.resource_id,
        metric=ref.metric,
        window_start=obs.window_start,
        window_end=obs.window_end,
        actual=obs.actual,
        expected=obs.expected,
        lower=obs.lower,
        upper=obs.upper,
        score=min(1.0, max(0.0, obs.score)),
        severity=obs.severity,
        impact_usd=round(deviation, 6) if ref.kind == "cost" else None,
        deviation=round(deviation, 6) if ref.kind == "metric" else None,
        root_cause=list(obs.root_cause),
        related_series=list(obs.related_series),
        detector=ref.detector,
        reason=obs.reason,
        detected_at=at,
    )


def cost_severity(excess: float, expected: float) -> Severity:
    """Severity from the relative size of the excess (and its dollars at the top)."""
    pct = excess / expected if expected > 0 else float("inf")
    # A doubling that costs real money pages someone; smaller steps only inform.
    if pct >= 1.0 and excess >= CRITICAL_USD:
        return "critical"
    if pct >= 0.5:
        return "high"
    if pct >= 0.2:
        return "medium"
    return "low"


# A doubling of spend is critical once it is worth at least this much a day.
CRITICAL_USD = 1000.0
