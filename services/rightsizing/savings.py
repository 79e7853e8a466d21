"""Savings proven: spotting a carried-out recommendation in inventory, and measuring it on the bill.

The evaluator remembers, per instance, what it last published (``RecommendationMemo``).
When a later inventory record shows the type changed to one of the options,
the instance stopped during a suggested schedule's off-hours, or it was
terminated, ``detect`` records an ``ImplementationRecord`` with the
estimate and the billed monthly cost *before* (the instance's effective CUR
rate at that moment). ``measure`` takes each later ``BilledRate`` (one per
completed CUR delivery) and, once it covers billed time *after* the change,
sets the cost after and the realised monthly saving. Both become an
``Implementation`` event. Everything is plain data so the state codec keeps
it as JSON (no code runs on read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.rightsizing.billed_rate import BilledRate
from shared.events import Ec2Instance, Recommendation, stable_id
from shared.events.savings import Implementation

HOURS_PER_MONTH = 730.0  # AWS's monthly-cost convention (Compute Optimizer, Cost Explorer)
SECONDS_PER_DAY = 86_400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
# The epoch (1970-01-01) was a Thursday: shift so hour 0 of the week is Monday 00:00.
_MONDAY_OFFSET_S = 3 * SECONDS_PER_DAY
STOPPED_STATES = frozenset({"stopping", "stopped"})
TERMINATED_STATES = frozenset({"shutting-down", "terminated"})


@dataclass
class RecommendationMemo:
    """What the last published recommendation offered (enough to recognise it being done)."""

    recommendation_id: str
    options: dict[str, float] = field(default_factory=dict)  # type -> monthly savings
    run_hours: list[int] | None = None  # the schedule's hours of week kept running
    schedule_savings: float = 0.0
    current_monthly_cost: float | None = None
    finding: str = ""  # termination implements an "idle" recommendation only


@dataclass
class ImplementationRecord:
    """A detected implementation and, once billed, its measured cost after."""

    recommendation_id: str
    kind: str
    from_type: str
    to_type: str | None
    implemented_at: float  # epoch seconds (inventory's observed_at)
    estimated: float
    before_hourly: float | None = None
    before_hours_per_month: float | None = None
    after_monthly: float | None = None
    measured_through: float | None = None

    @property
    def before_monthly(self) -> float | None:
        """Billed cost a month before the change."""
        if self.before_hourly is None or self.before_hours_per_month is None:
            return None
        return self.before_hourly * self.before_hours_per_month


def _number(value: object, what: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} is not a finite number")


def memo_from(data: dict[str, Any]) -> RecommendationMemo:
    """A memo read from the state codec, field types checked (ValueError if wrong)."""
    memo = RecommendationMemo(**data)
    options = memo.options
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ValueError("memo options are not a map of type names")
    for value in options.values():
        _number(value, "an option's savings")
    hours = memo.run_hours
    if hours is not None and not (
        isinstance(hours, list) and all(isinstance(h, int) and 0 <= h < 168 for h in hours)
    ):
        raise ValueError("memo run hours are not hours of the week")
    _number(memo.schedule_savings, "schedule savings")
    _number(memo.current_monthly_cost, "current monthly cost", optional=True)
    if not isinstance(memo.recommendation_id, str) or not isinstance(memo.finding, str):
        raise ValueError("memo ids are not text")
    return memo


def implementation_from(data: dict[str, Any]) -> ImplementationRecord:
    """An implementation read from the state codec, field types checked (ValueError if wrong)."""
    record = ImplementationRecord(**data)
    if record.kind not in ("type_change", "schedule", "terminated"):
        raise ValueError("unknown implementation kind")
    if not all(isinstance(v, str) for v in (record.recommendation_id, record.from_type)):
        raise ValueError("implementation ids are not text")
    if record.to_type is not None and not isinstance(record.to_type, str):
        raise ValueError("implementation type is not text")
    _number(record.implemented_at, "implemented_at")
    _number(record.estimated, "estimate")
    for name in ("before_hourly", "before_hours_per_month", "after_monthly", "measured_through"):
        _number(getattr(record, name), name, optional=True)
    return record


def memo_of(event: Recommendation) -> RecommendationMemo:
    """The memo of a published recommendation."""
    return RecommendationMemo(
        event.id,
        {o.instance_type: o.monthly_savings for o in event.options[:3]},
        list(event.schedule.run_hours) if event.schedule is not None else None,
        event.schedule.monthly_savings if event.schedule is not None else 0.0,
        event.current_monthly_cost,
        event.finding,
    )


def hours_per_month(rate: BilledRate) -> float:
    """How many hours a month the instance runs, from the rate's window (24/7 if unknown)."""
    if rate.window_start is None or rate.window_end is None or rate.window_hours is None:
        return HOURS_PER_MONTH
    days = (rate.window_end - rate.window_start) / SECONDS_PER_DAY
    if days <= 0:
        return HOURS_PER_MONTH
    return min(HOURS_PER_MONTH, rate.window_hours / days * HOURS_PER_MONTH / 24.0)


def hour_of_week(ts: float) -> int:
    """Hour of week (0 = Monday 00:00 UTC) of epoch seconds ``ts``."""
    return int(((ts + _MONDAY_OFFSET_S) % SECONDS_PER_WEEK) // 3600)


def detect(
    memo: RecommendationMemo | None,
    current_type: str | None,
    rate: BilledRate | None,
    item: Ec2Instance,
) -> ImplementationRecord | None:
    """The implementation ``item`` shows of ``memo``'s recommendation, if it shows one."""
    if memo is None or current_type is None:
        return None
    at = item.observed_at.timestamp()
    if item.deleted or item.state in TERMINATED_STATES:
        if memo.finding != "idle":
            return None  # retiring a sized instance is not acting on this recommendation
        estimate = memo.current_monthly_cost or 0.0
        record = ImplementationRecord(
            memo.recommendation_id, "terminated", current_type, None, at, estimate
        )
    elif item.instance_type != current_type and item.instance_type in memo.options:
        record = ImplementationRecord(
            memo.recommendation_id,
            "type_change",
            current_type,
            item.instance_type,
            at,
            memo.options[item.instance_type],
        )
    elif (
        item.state in STOPPED_STATES
        and item.instance_type == current_type
        and memo.run_hours is not None
        and hour_of_week(at) not in set(memo.run_hours)
    ):
        record = ImplementationRecord(
            memo.recommendation_id, "schedule", current_type, None, at, memo.schedule_savings
        )
    else:
        return None
    if rate is not None and rate.instance_type == current_type and rate.through <= at + 3600:
        record.before_hourly = rate.effective_hourly
        record.before_hours_per_month = hours_per_month(rate)
    if record.kind == "terminated" and record.before_hourly is not None:
        record.after_monthly, record.measured_through = 0.0, at  # no instance hours after it
    return record


def measure(record: ImplementationRecord, rate: BilledRate) -> bool:
    """Set the cost after from ``rate`` if it is billed time after the change; True if set."""
    if record.before_hourly is None or record.kind == "terminated":
        return False
    if record.measured_through is not None and rate.through <= record.measured_through:
        return False
    if record.kind == "type_change":
        if rate.instance_type != record.to_type:
            return False
        # The same running hours as before, at the new type's billed rate.
        after = rate.effective_hourly * (record.before_hours_per_month or HOURS_PER_MONTH)
    else:
        # A schedule shows only in whole days after the first stop (the window is days).
        first_full_day = (record.implemented_at // SECONDS_PER_DAY + 1) * SECONDS_PER_DAY
        if rate.instance_type != record.from_type or rate.window_start is None:
            return False
        if rate.window_start < first_full_day:
            return False
        after = rate.effective_hourly * hours_per_month(rate)
    record.after_monthly, record.measured_through = after, rate.through
    return True


def to_event(
    record: ImplementationRecord,
    resource_id: str,
    account_id: str,
    region: str,
    now: datetime,
) -> Implementation:
    """The ``Implementation`` event of ``record`` (id changes when the measurement does)."""
    before = record.before_monthly
    after = record.after_monthly
    realised = before - after if before is not None and after is not None else None
    return Implementation(
        id=stable_id(
            "implementation", resource_id, record.recommendation_id, str(record.measured_through)
        ),
        resource_id=resource_id,
        account_id=account_id,
        region=region,
        recommendation_id=record.recommendation_id,
        kind=record.kind,
        from_type=record.from_type,
        to_type=record.to_type,
        implemented_at=datetime.fromtimestamp(record.implemented_at, UTC),
        estimated_monthly_savings=round(record.estimated, 4),
        before_monthly_cost=None if before is None else round(before, 4),
        after_monthly_cost=None if after is None else round(after, 4),
        realised_monthly_savings=None if realised is None else round(realised, 4),
        measured_through=None
        if record.measured_through is None
        else datetime.fromtimestamp(record.measured_through, UTC),
        generated_at=now,
    )
