"""A usage-metric incident as an ``AnomalyEvent``: priced, and labelled an estimate.

``impact_usd`` is the usage above the hour-of-week normal since the incident started,
priced at the account's unit rate for the usage type the metric bills as;
``impact_estimated`` says it is not a CUR cost yet and ``impact_rate_source`` whether
the rate is the account's own (``cur``) or the catalogue's list price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.anomaly.usage.detector import Signal
from services.anomaly.usage.rates import Rate
from shared.events import AnomalyEvent, stable_id
from shared.usage_metrics import UsageMetric

PERIOD = timedelta(minutes=5)
DETECTOR = "usage-metric-priced"
#: Run rate (USD/day) from which an incident is high / critical.
SEVERITY_USD_PER_DAY = ((1000.0, "critical"), (200.0, "high"), (50.0, "medium"))


@dataclass(frozen=True)
class UsageStreamRef:
    """What names a usage stream in events."""

    spec: UsageMetric
    account_id: str
    region: str
    resource_id: str
    usage_type: str  # as the account's CUR spells it (region prefix included)

    @property
    def series_id(self) -> str:
        """``usage/<account>/<region>/<namespace>/<metric>/<resource>``."""
        return "/".join(("usage", self.account_id, self.region, self.spec.key, self.resource_id))


def step_time(step: int) -> datetime:
    """Start of a 5-minute step counted from the epoch (UTC)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + step * PERIOD


def _severity(run_rate: float) -> str:
    return next((name for floor, name in SEVERITY_USD_PER_DAY if run_rate >= floor), "low")


def usage_event(
    ref: UsageStreamRef, signal: Signal, rate: Rate, revision: int, now: datetime | None = None
) -> AnomalyEvent:
    """The lifecycle event of one usage-metric incident."""
    start = step_time(signal.start_step)
    incident = stable_id(ref.series_id, start.isoformat())
    ratio = signal.actual / signal.expected - 1.0 if signal.expected > 0 else 0.0
    source = "account CUR rate" if rate.source == "cur" else "catalogue list price"
    reason = (
        f"{ref.spec.metric} of {ref.resource_id} is {ratio:+.0%} over its usual level "
        f"since {start:%Y-%m-%d %H:%M} UTC: about ${signal.excess_usd:,.2f} so far, "
        f"${max(signal.run_rate_usd_per_day, 0.0):,.0f}/day at this rate "
        f"(estimate, {ref.usage_type} at the {source})."
    )
    return AnomalyEvent(
        id=stable_id(incident, signal.action, str(revision)),
        incident_id=incident,
        action=signal.action,  # type: ignore[arg-type]
        revision=revision,
        kind="metric",
        series_id=ref.series_id,
        account_id=ref.account_id,
        service=ref.spec.product_code,
        usage_type=ref.usage_type,
        resource_id=ref.resource_id,
        metric=ref.spec.key,
        window_start=start,
        window_end=step_time(signal.step) + PERIOD,
        actual=signal.actual,
        expected=signal.expected,
        lower=0.0,
        upper=signal.upper,
        score=min(1.0, max(0.0, ratio / (1.0 + ratio))),
        severity=_severity(signal.run_rate_usd_per_day),  # type: ignore[arg-type]
        impact_usd=round(signal.excess_usd, 4),
        deviation=round(signal.excess_usage, 6),
        detector=DETECTOR,
        reason=reason,
        detected_at=now or step_time(signal.step) + PERIOD,
        impact_estimated=True,
        impact_rate_source=rate.source,
    )
