"""From an assessment to the ``Recommendation`` event: reason text, change and regression.

A recommendation is re-published only when what a person would act on changes
(finding, options, schedule, or a figure moving by a whole unit), so the
compacted topic carries a change, not a heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import get_args

import orjson

from services.rightsizing.recommender.findings import Assessment
from services.rightsizing.recommender.policy import SizingPolicy
from shared.events import Recommendation, stable_id
from shared.events.recommendations import Finding, OffHoursSchedule, RightsizeOption

_ACTION = {
    "idle": "Stop or terminate it",
    "overprovisioned": "Size it down",
    "underprovisioned": "Size it up",
    "optimized": "It is sized right; a cheaper equivalent",
}


@dataclass(frozen=True)
class Identity:
    """Who the recommendation is for (from the inventory)."""

    resource_id: str
    account_id: str
    region: str
    instance_type: str
    vcpu: int


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def reason_text(
    a: Assessment, who: Identity, policy: SizingPolicy, schedule: OffHoursSchedule | None
) -> str:
    """A sentence or three a person understands, with the figures behind the finding."""
    p, days = f"P{policy.cpu_percentile:g}", policy.lookback_days
    if a.finding == "insufficient_data":
        parts = [
            f"Only {a.hours_observed:.1f} hours of CPU data in the {days}-day lookback; "
            f"at least {policy.min_hours:g} are needed before we judge."
        ]
    elif a.finding == "idle":
        net = "not reported"
        if a.network_mb_per_day is not None:
            net = (
                f"{a.network_mb_per_day:.2f} MB on the busiest day "
                f"(< {policy.idle_network_mb_per_day:g} MB/day)"
            )
        parts = [
            f"Idle over {days} days: peak CPU {_pct(a.cpu_peak_pct)} (< {policy.idle_cpu_pct:g}%), "
            f"network {net}. "
            + (
                f"{_ACTION['idle']} to save ${a.estimated_monthly_savings:,.2f}/month."
                if a.current_monthly_cost is not None
                else f"{_ACTION['idle']}."
            )
        ]
    else:
        parts = [
            f"CPU {p} of the 5-minute {(a.cpu_stat or 'Maximum').lower()} was "
            f"{_pct(a.cpu_pct)} of {who.vcpu} vCPUs on "
            f"{who.instance_type} over {days} days (peak {_pct(a.cpu_peak_pct)}; target "
            f"<= {policy.cpu_target_pct:g}% with {policy.cpu_headroom_pct:g}% headroom)."
        ]
        if a.options:
            best = a.options[0]
            money = (
                f"saves ${best.monthly_savings:,.2f}/month"
                if best.monthly_savings >= 0
                else f"costs ${-best.monthly_savings:,.2f}/month more"
            )
            parts.append(
                f"{_ACTION[a.finding]}: {best.itype.name} would run at "
                f"{best.projected_cpu_pct:.1f}% and {money}."
            )
        elif a.finding == "optimized":
            parts.append("No cheaper type keeps the projections within target.")
        elif a.finding == "underprovisioned":
            parts.append("No candidate type in the catalogue fits; review the workload.")
    if a.finding not in ("insufficient_data", "idle"):
        if a.memory_pct is None:
            parts.append("Memory is not measured (no CloudWatch agent).")
        else:
            parts.append(
                f"Memory {p} was {_pct(a.memory_pct)} (target <= {policy.memory_target_pct:g}%)."
            )
    parts.extend(note[0].upper() + note[1:] + "." for note in a.notes)
    if schedule is not None:
        parts.append(
            f"Business-hours workload: stopping it {schedule.stopped_hours_per_week} "
            f"hours a week saves ${schedule.monthly_savings:,.2f}/month "
            f"({schedule.consistency:.0%} of weeks consistent)."
        )
    return " ".join(parts)


def content_digest(a: Assessment, schedule: OffHoursSchedule | None, current_type: str) -> str:
    """What a person would act on, rounded so noise does not re-publish."""
    key = [
        a.finding,
        current_type,
        [o.itype.name for o in a.options],
        None if a.cpu_pct is None else round(a.cpu_pct),
        None if a.memory_pct is None else round(a.memory_pct),
        round(a.estimated_monthly_savings),
        None if schedule is None else (schedule.run_hours, round(schedule.monthly_savings)),
    ]
    if a.price_basis != "on_demand_list" or a.reservation_at_risk is not None:
        key += [a.price_basis, a.reservation_at_risk]  # appended: list-priced digests unchanged
    return stable_id(orjson.dumps(key).decode())


def as_finding(value: str | None) -> Finding | None:
    """A stored finding string back as the event's literal type (unknown values -> None)."""
    for finding in get_args(Finding):
        if value == finding:
            return finding  # type: ignore[no-any-return]  # get_args loses the Literal type
    return None


def total_savings(a: Assessment, schedule: OffHoursSchedule | None) -> float:
    """Resizing savings plus the schedule's, the latter on the cost left after resizing."""
    if schedule is None or not a.current_monthly_cost:
        return a.estimated_monthly_savings
    remaining = max(0.0, 1.0 - a.estimated_monthly_savings / a.current_monthly_cost)
    return a.estimated_monthly_savings + schedule.monthly_savings * remaining


def is_regression(finding: str, previous: str | None, rightsized: bool) -> bool:
    """A right-sized instance (optimised, or moved to a type we proposed) now under-provisioned."""
    return finding == "underprovisioned" and (previous == "optimized" or rightsized)


def to_event(
    a: Assessment,
    who: Identity,
    policy: SizingPolicy,
    schedule: OffHoursSchedule | None,
    previous: str | None,
    rightsized: bool,
    now: datetime,
    digest: str | None = None,
) -> Recommendation:
    """The event for the compacted recommendations topic.

    ``digest`` is ``content_digest(a, schedule, who.instance_type)`` when the
    caller already has it (the evaluation pass does), so it is not hashed twice.
    """
    options = [
        RightsizeOption(
            rank=i + 1,
            instance_type=o.itype.name,
            architecture=o.itype.arch,
            vcpu=o.itype.vcpu,
            memory_gib=o.itype.memory_gib,
            hourly_price=o.hourly_price,
            projected_cpu_pct=round(o.projected_cpu_pct, 2),
            projected_memory_pct=None
            if o.projected_memory_pct is None
            else round(o.projected_memory_pct, 2),
            monthly_cost=round(o.monthly_cost, 2),
            monthly_savings=round(o.monthly_savings, 2),
            performance_risk=o.performance_risk,
            migration_effort=o.migration_effort,
            platform_differences=list(o.platform_differences),
        )
        for i, o in enumerate(a.options)
    ]
    if digest is None:
        digest = content_digest(a, schedule, who.instance_type)
    return Recommendation(
        id=stable_id("rightsizing", who.resource_id, digest),
        resource_id=who.resource_id,
        account_id=who.account_id,
        region=who.region,
        current_type=who.instance_type,
        finding=a.finding,
        reason=reason_text(a, who, policy, schedule),
        lookback_days=policy.lookback_days,
        cpu_percentile=policy.cpu_percentile,
        cpu_peak_pct=a.cpu_peak_pct,
        memory_measured=a.memory_pct is not None,
        memory_peak_pct=a.memory_pct,
        network_mb_per_day=a.network_mb_per_day,
        hours_observed=round(a.hours_observed, 2),
        current_monthly_cost=None
        if a.current_monthly_cost is None
        else round(a.current_monthly_cost, 2),
        options=options,
        estimated_monthly_savings=round(total_savings(a, schedule), 2),
        price_basis=a.price_basis,
        reservation_at_risk=a.reservation_at_risk,
        schedule=schedule,
        previous_finding=as_finding(previous),
        regression=is_regression(a.finding, previous, rightsized),
        generated_at=now,
    )
