"""One CloudWatch metric stream: score before learn, and an incident lifecycle.

Each resource x metric x statistic has its own detector (anything with
``score_one(ts, value) -> [0, 1]`` and ``learn_one(ts, value)``). A point is
scored *before* it is learned; a detector that also offers ``update(ts, value)``
(score then learn in one call, returning a result with ``.score``) is used
through it, which assesses each point once instead of twice. A score at or
above the threshold opens an incident (or updates the open one);
``resolve_after`` consecutive normal points resolve it. A point at or before
the last one seen is a replay and is skipped, so redelivery after a crash
changes nothing.

>>> from datetime import datetime, timedelta, UTC
>>> class Flat:
...     def score_one(self, ts, value): return 1.0 if value > 50 else 0.0
...     def learn_one(self, ts, value): pass
>>> tr = MetricTracker("i-1|CPUUtilization|Average", Flat(), MetricTrackerConfig())
>>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
>>> [e.action for e in tr.observe(t0, 90.0, "1", t0)]
['open']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.anomaly.incidents.lifecycle import (
    Incident,
    Observation,
    SeriesRef,
    Severity,
    open_incident,
    resolve_incident,
    update_incident,
)
from shared.events import AnomalyEvent


class ScoringDetector(Protocol):
    """The metric detector contract (``services.anomaly.metric``)."""

    def score_one(self, ts: datetime, value: float) -> float:
        """Anomaly score of ``value`` at ``ts`` in [0, 1], before learning it."""

    def learn_one(self, ts: datetime, value: float) -> None:
        """Update the model with ``value`` at ``ts``."""


@dataclass(frozen=True)
class MetricTrackerConfig:
    """Alerting policy on top of the detector's score."""

    # Scores are anomaly likelihoods: 0.99 is NAB's usual alert threshold, rare
    # enough that a stream of 5-minute points pages about once a day at most.
    threshold: float = 0.99
    # Three normal 5-minute points (15 min) before calling the incident over, so
    # a flapping metric does not open and close every other point.
    resolve_after: int = 3
    detector_name: str = "metric-likelihood-v1"


def _severity(score: float) -> Severity:
    if score >= 0.9999:
        return "high"
    if score >= 0.999:
        return "medium"
    return "low"


class MetricTracker:
    """State of one metric stream (plain data: the changelog codec writes it)."""

    def __init__(self, key: str, detector: ScoringDetector, config: MetricTrackerConfig) -> None:
        self.key = key
        self.detector = detector
        self.config = config
        self.last_ts: datetime | None = None
        self.incident: Incident | None = None
        self.last_value = 0.0
        self.n_seen = 0

    def observe(
        self,
        ts: datetime,
        value: float,
        account_id: str,
        now: datetime,
        period: timedelta = timedelta(minutes=5),
        suppressed: bool = False,
        learn: bool = True,
        threshold: float | None = None,
    ) -> list[AnomalyEvent]:
        """Score then learn one point; return the lifecycle events it caused.

        ``threshold`` overrides the configured one (feedback raises it after a
        false positive); ``suppressed`` (a planned window) opens nothing.
        """
        if self.last_ts is not None and ts <= self.last_ts:
            return []
        update = getattr(self.detector, "update", None) if learn else None
        if update is not None:
            raw = update(ts, value).score  # scores before it learns, in one assessment
        else:
            raw = self.detector.score_one(ts, value)
            if learn:
                self.detector.learn_one(ts, value)
        score = min(1.0, max(0.0, float(raw)))
        expected = self.last_value if self.n_seen else value
        self.last_ts, self.last_value = ts, value
        self.n_seen += 1
        limit = self.config.threshold if threshold is None else threshold
        anomalous = score >= limit and not suppressed
        if not anomalous and self.incident is None:
            return []  # the common case: nothing to say, nothing to build
        obs = Observation(
            window_start=ts,
            window_end=ts + period,
            actual=value,
            expected=expected,
            lower=min(value, expected),
            upper=max(value, expected),
            score=score,
            severity=_severity(score),
            reason=f"{self.key} = {value:g} scored {score:.4f} (threshold {self.config.threshold})",
        )
        if anomalous:
            if self.incident is None:
                self.incident, event = open_incident(self._ref(account_id), obs, now)
                return [event]
            return [update_incident(self.incident, obs, now)]
        if self.incident is None:
            return []
        self.incident.normal_streak += 1
        if self.incident.normal_streak < self.config.resolve_after:
            return []
        incident, self.incident = self.incident, None
        return [resolve_incident(incident, "back to normal", now, obs)]

    def close(self, reason: str, now: datetime) -> list[AnomalyEvent]:
        """Resolve the open incident, if any (feedback said so)."""
        if self.incident is None:
            return []
        incident, self.incident = self.incident, None
        return [resolve_incident(incident, reason, now)]

    def _ref(self, account_id: str) -> SeriesRef:
        resource, metric, _stat = [*self.key.split("|"), "", ""][:3]
        return SeriesRef(
            series_id=self.key,
            kind="metric",
            account_id=account_id,
            detector=self.config.detector_name,
            resource_id=resource,
            metric=metric,
        )
