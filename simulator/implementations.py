"""Opt-in: some instances follow their recommendation on a known day, and the CUR shows it.

Given the recommendations a right-sizer made for a simulated fleet, a seeded
share of the instances carry one out at 00:00 UTC of ``change_day``: a type
change to the first option the simulated price list knows, the off-hours
schedule (kept running ``drift_hours`` longer each weekday, drawn per
instance, as real operators do), or termination of an idle instance. Each
becomes an inventory record and hourly CUR ``Usage`` lines at the simulator's
own prices before and after, so the realised saving has a known truth. Nothing
here runs unless called: the default simulator output is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np

from shared.events import (
    CostLineItem,
    DeliveryCompleted,
    DeliveryStarted,
    Ec2Instance,
    Recommendation,
    stable_id,
)
from simulator.catalogue import load_instance_types
from simulator.records import SimInstance

HOURS_PER_MONTH = 730.0
HOURS_PER_WEEK = 168
MAX_DRIFT_HOURS = 2  # extra running hours per weekday a follower may keep


@dataclass(frozen=True)
class Followed:
    """One instance that carried out its recommendation, and what its bill truly is."""

    instance_id: str
    account_id: str
    region: str
    kind: str  # type_change | schedule | terminated
    from_type: str
    to_type: str | None
    before_hourly: float
    after_hourly: float
    run_hours: frozenset[int] | None  # hours of week billed after a schedule
    estimated_monthly_savings: float
    recommendation_id: str

    def running(self, hour_of_week: int) -> bool:
        """Whether it runs (and is billed) in this hour of the week after the change."""
        if self.kind == "terminated":
            return False
        return self.run_hours is None or hour_of_week in self.run_hours

    @property
    def truth_realised_monthly(self) -> float:
        """Before minus after, a month, from the simulated bill's own rates and hours."""
        hours = (
            HOURS_PER_MONTH
            if self.run_hours is None
            else (HOURS_PER_MONTH * len(self.run_hours) / HOURS_PER_WEEK)
        )
        after = 0.0 if self.kind == "terminated" else self.after_hourly * hours
        return self.before_hourly * HOURS_PER_MONTH - after


def _with_drift(run_hours: Iterable[int], drift: int) -> frozenset[int]:
    """The schedule's run hours plus ``drift`` hours after each weekday's last run hour."""
    hours = set(run_hours)
    for day in range(5):
        day_hours = [h for h in hours if h // 24 == day]
        if day_hours:
            last = max(day_hours)
            hours.update(h for h in range(last + 1, last + 1 + drift) if h // 24 == day)
    return frozenset(hours)


def follow(
    instances: Sequence[SimInstance],
    recommendations: dict[str, Recommendation],
    share: float,
    seed: int,
) -> list[Followed]:
    """A seeded ``share`` of the instances with something to act on, acting on it."""
    rng = np.random.default_rng(seed)
    types = load_instance_types()
    out = []
    for inst in instances:
        rec = recommendations.get(inst.instance_id)
        if rec is None or rng.random() >= share:
            continue
        base = Followed(
            inst.instance_id,
            inst.account_id,
            inst.region,
            "",
            inst.instance_type,
            None,
            inst.usd_per_hour,
            0.0,
            None,
            0.0,
            rec.id,
        )
        option = next((o for o in rec.options if o.instance_type in types), None)
        if rec.finding == "idle":
            out.append(
                replace(
                    base,
                    kind="terminated",
                    estimated_monthly_savings=rec.current_monthly_cost or 0.0,
                )
            )
        elif rec.schedule is not None:
            drift = int(rng.integers(0, MAX_DRIFT_HOURS + 1))
            out.append(
                replace(
                    base,
                    kind="schedule",
                    after_hourly=inst.usd_per_hour,
                    run_hours=_with_drift(rec.schedule.run_hours, drift),
                    estimated_monthly_savings=rec.schedule.monthly_savings,
                )
            )
        elif option is not None:
            after = types[option.instance_type].price_in(inst.region, inst.platform)
            out.append(
                replace(
                    base,
                    kind="type_change",
                    to_type=option.instance_type,
                    after_hourly=after,
                    estimated_monthly_savings=option.monthly_savings,
                )
            )
    return out


def inventory_change(f: Followed, change_at: datetime) -> Ec2Instance:
    """What inventory shows at the change (a schedule: its first stop)."""
    state = {"terminated": "terminated", "schedule": "stopped"}.get(f.kind, "running")
    if f.kind == "schedule" and f.run_hours is not None:
        # ``change_at`` is a Monday 00:00: the first stop is the schedule's first off-hour.
        first_off = next(h for h in range(HOURS_PER_WEEK) if h not in f.run_hours)
        change_at += timedelta(hours=first_off)
    return Ec2Instance(
        id=stable_id("sim-implementation", f.instance_id, change_at),
        instance_id=f.instance_id,
        account_id=f.account_id,
        region=f.region,
        instance_type=f.to_type or f.from_type,
        state=state,
        observed_at=change_at,
        deleted=f.kind == "terminated",
    )


def delivery(
    followed: Sequence[Followed], start: date, change_day: date, end: date, attempt: str
) -> list[CostLineItem | DeliveryStarted | DeliveryCompleted]:
    """Month-to-date CUR of the followers' instance hours ``[start, end)``, one attempt/account."""
    period = date(start.year, start.month, 1)
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    change = datetime(change_day.year, change_day.month, change_day.day, tzinfo=UTC)
    hours = int((datetime(end.year, end.month, end.day, tzinfo=UTC) - t0).total_seconds() // 3600)
    events: list[CostLineItem | DeliveryStarted | DeliveryCompleted] = []
    for account in sorted({f.account_id for f in followed}):
        common = {
            "attempt_id": f"{attempt}-{account}",
            "delivery_id": f"sim-{account}-{period}",
            "billing_period": period,
            "account_id": account,
        }
        lines: list[CostLineItem] = []
        for f in (x for x in followed if x.account_id == account):
            for h in range(hours):
                at = t0 + timedelta(hours=h)
                after = at >= change
                how = (at.weekday() * 24 + at.hour) if after else None
                if after and not f.running(how or 0):
                    continue
                itype = (f.to_type or f.from_type) if after else f.from_type
                cost = f.after_hourly if after else f.before_hourly
                lines.append(
                    CostLineItem(
                        id=stable_id(attempt, f.instance_id, h),
                        **common,
                        source_format="cur2",
                        source_file="sim/implementations.parquet",
                        source_row=len(lines),
                        usage_start=at,
                        usage_end=at + timedelta(hours=1),
                        service="AmazonEC2",
                        usage_type=f"BoxUsage:{itype}",
                        resource_id=f.instance_id,
                        instance_type=itype,
                        line_item_type="Usage",
                        unblended_cost=cost,
                        amortized_cost=cost,
                        list_cost=cost,
                        usage_amount=1.0,
                    )
                )
        events.append(
            DeliveryStarted(
                id=f"s-{attempt}-{account}",
                **common,
                source_format="cur2",
                source_uri="s3://sim/cur",
                started_at=t0,
            )
        )
        events += lines
        events.append(
            DeliveryCompleted(
                id=f"c-{attempt}-{account}",
                **common,
                row_count=len(lines),
                cost_total=0.0,
                completed_at=t0 + timedelta(hours=hours),
            )
        )
    return events
