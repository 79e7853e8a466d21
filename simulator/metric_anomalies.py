"""Injected CloudWatch anomalies on a few instances, cycling through four kinds.

* a *spike* adds 45-60 points to the CPU for 30-45 minutes (the 5-minute Maximum hits
  the ceiling);
* a *level shift* adds 10-15 points to the CPU from its start to the end of the window;
* a *saturation* pins the CPU level at 97-99% for 2-4 hours (a runaway job);
* a *leak* ramps ``mem_used_percent`` up by 25-35 points over 12-36 hours, then the
  process restarts and memory drops back (needs the CloudWatch agent on the host).

Hosts are ``steady`` instances (else any busy one); starts fall after the warm-up
(``SimConfig.metric_anomaly_first_day``: inside the datapoints written, when only the
last days are).
Each record carries the kind (``shape``), the metric it moved and its inclusive
``start``/``end``, so an evaluation scores metric incidents like cost incidents.
Spikes and saturations last fewer periods than the look-back's top 0.5%, so they do
not move the P99.5 a right-sizer uses; level shifts may, and the expected finding
(computed from the data) follows them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np

from simulator.fleet import FleetMember
from simulator.records import InjectedAnomaly
from simulator.utilisation import STEP_MINUTES, STEPS_PER_DAY, MetricShift

KINDS = ("spike", "level_shift", "saturation", "leak")
SPIKE_STEPS = (6, 9)  # 30-45 minutes of 5-minute periods
SATURATION_STEPS = (24, 48)  # 2-4 hours: long enough to page, short of a level shift
LEAK_STEPS = (144, 432)  # 12-36 hours of growth before the restart
METRIC_OF = {"leak": "mem_used_percent"}


def _pick_hosts(fleet: list[FleetMember], count: int, rng: np.random.Generator) -> list[int]:
    """Distinct hosts; every fourth anomaly (a leak) on one with the memory agent."""
    hosts = [i for i, m in enumerate(fleet) if m.profile == "steady"]
    hosts += [i for i, m in enumerate(fleet) if m.profile in ("bursty", "business_hours")]
    order = [int(x) for x in rng.permutation(len(hosts))]
    ranked = [hosts[j] for j in order]
    picked: list[int] = []
    for k in range(count):
        wants_agent = KINDS[k % len(KINDS)] == "leak"
        pool = [i for i in ranked if i not in picked]
        fits = [i for i in pool if fleet[i].load.has_memory_agent] if wants_agent else pool
        if fits or pool:
            picked.append((fits or pool)[0])
    return picked


def _shape(kind: str, step0: int, last: int, rng: np.random.Generator) -> MetricShift:
    if kind == "spike":
        add = float(rng.uniform(45, 60))
        step1 = step0 + int(rng.integers(SPIKE_STEPS[0], SPIKE_STEPS[1] + 1))
        return MetricShift(step0, min(step1, last), round(add, 3))
    if kind == "level_shift":
        return MetricShift(step0, last, round(float(rng.uniform(10, 15)), 3))
    if kind == "saturation":
        step1 = step0 + int(rng.integers(SATURATION_STEPS[0], SATURATION_STEPS[1] + 1))
        level = round(float(rng.uniform(97, 99)), 3)
        return MetricShift(step0, min(step1, last), level, "saturate")
    step1 = step0 + int(rng.integers(LEAK_STEPS[0], LEAK_STEPS[1] + 1))
    return MetricShift(step0, min(step1, last), round(float(rng.uniform(25, 35)), 3), "leak")


def inject_metric_anomalies(
    fleet: list[FleetMember],
    start_day: datetime,
    days: int,
    count: int,
    warmup: int,
    rng: np.random.Generator,
) -> tuple[list[FleetMember], list[InjectedAnomaly]]:
    """Return the fleet with shifted load models, and the anomaly records."""
    picked = _pick_hosts(fleet, count, rng)
    fleet = list(fleet)
    records = []
    for k, i in enumerate(picked):
        member = fleet[i]
        kind = KINDS[k % len(KINDS)]
        if kind == "leak" and not member.load.has_memory_agent:
            kind = "saturation"  # no agent anywhere: a leak would be invisible
        day = int(rng.integers(warmup, days))
        step0 = day * STEPS_PER_DAY + int(rng.integers(0, STEPS_PER_DAY))
        shift = _shape(kind, step0, days * STEPS_PER_DAY, rng)
        load = replace(member.load, shifts=(*member.load.shifts, shift))
        fleet[i] = replace(member, load=load)
        t0 = start_day + timedelta(minutes=STEP_MINUTES * step0)
        t1 = start_day + timedelta(minutes=STEP_MINUTES * (shift.end_step - 1))
        metric = METRIC_OF.get(kind, "CPUUtilization")
        what = {"leak": "memory leak of", "saturation": "CPU saturation at"}.get(
            kind, f"CPU {kind.replace('_', ' ')} of"
        )
        unit = "%" if kind == "saturation" else " points"
        records.append(
            InjectedAnomaly(
                id=f"metric-{k:03d}-{kind}",
                kind="metric",
                level="resource",
                account_id=member.account_id,
                service="AmazonEC2",
                usage_type=None,
                resource_id=member.instance_id,
                metric=metric,
                start=t0,
                end=t1,
                magnitude=shift.add,
                description=f"{what} {shift.add:.1f}{unit} on "
                f"{member.instance_id} ({member.instance_type.name})",
                region=member.region,
                shape=kind,
            )
        )
    return fleet, records


def midnight_utc(day: date) -> datetime:
    """Midnight UTC of a date."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
