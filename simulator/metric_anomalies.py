"""Injected CloudWatch CPU anomalies on a few instances (spikes and level shifts).

A *spike* adds 45-60 points to the CPU for 30-45 minutes (the 5-minute Maximum hits
the ceiling); a *level shift* adds 10-15 points from its start to the end of the
window. Hosts are ``steady`` instances (else any busy one); starts fall after the
warm-up. Spikes last fewer periods than the look-back's top 0.5%, so they do not
move the P99.5 a right-sizer uses; level shifts may, and the expected finding (computed
from the data) follows them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np

from simulator.fleet import FleetMember
from simulator.records import InjectedAnomaly
from simulator.utilisation import STEP_MINUTES, STEPS_PER_DAY, MetricShift

SPIKE_STEPS = (6, 9)  # 30-45 minutes of 5-minute periods


def inject_metric_anomalies(
    fleet: list[FleetMember],
    start_day: datetime,
    days: int,
    count: int,
    warmup: int,
    rng: np.random.Generator,
) -> tuple[list[FleetMember], list[InjectedAnomaly]]:
    """Return the fleet with shifted load models, and the anomaly records."""
    hosts = [i for i, m in enumerate(fleet) if m.profile == "steady"]
    if len(hosts) < count:
        hosts += [i for i, m in enumerate(fleet) if m.profile in ("bursty", "business_hours")]
    picked = [int(x) for x in rng.permutation(hosts)[:count]]
    fleet = list(fleet)
    records = []
    for k, i in enumerate(picked):
        member = fleet[i]
        day = int(rng.integers(warmup, days))
        step0 = day * STEPS_PER_DAY + int(rng.integers(0, STEPS_PER_DAY))
        if k % 2 == 0:
            shape, add = "spike", float(rng.uniform(45, 60))
            step1 = min(
                step0 + int(rng.integers(SPIKE_STEPS[0], SPIKE_STEPS[1] + 1)), days * STEPS_PER_DAY
            )
        else:
            shape, add, step1 = "level_shift", float(rng.uniform(10, 15)), days * STEPS_PER_DAY
        shift = MetricShift(step0, step1, round(add, 3))
        load = replace(member.load, shifts=(*member.load.shifts, shift))
        fleet[i] = replace(member, load=load)
        t0 = start_day + timedelta(minutes=STEP_MINUTES * step0)
        t1 = start_day + timedelta(minutes=STEP_MINUTES * (step1 - 1))
        records.append(
            InjectedAnomaly(
                id=f"metric-{k:03d}-{shape}",
                kind="metric",
                level="resource",
                account_id=member.account_id,
                service="AmazonEC2",
                usage_type=None,
                resource_id=member.instance_id,
                metric="CPUUtilization",
                start=t0,
                end=t1,
                magnitude=round(add, 3),
                description=f"CPU {shape.replace('_', ' ')} of +{add:.1f} points on "
                f"{member.instance_id} ({member.instance_type.name})",
                region=member.region,
                shape=shape,
            )
        )
    return fleet, records


def midnight_utc(day: date) -> datetime:
    """Midnight UTC of a date."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
