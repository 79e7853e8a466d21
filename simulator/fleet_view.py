"""Streaming access to the fleet's CloudWatch series and its ground-truth labels."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

import numpy as np

from shared.events import MetricDatapoint, stable_id
from simulator.catalogue import load_instance_types, smaller_type
from simulator.config import SimConfig
from simulator.costs import Calendar
from simulator.exceptions import UnknownInstanceError
from simulator.findings import classify, summarise
from simulator.fleet import FleetMember
from simulator.records import Finding, Profile, SimInstance, Utilisation
from simulator.utilisation import STEP_MINUTES, STEPS_PER_DAY, generate_days

#: (metric, statistic, key of the generated arrays); mem only with the agent.
DATAPOINT_SERIES = (
    ("CPUUtilization", "Maximum", "cpu_max"),
    ("CPUUtilization", "Average", "cpu_avg"),
    ("NetworkIn", "Sum", "net_in"),
    ("NetworkOut", "Sum", "net_out"),
    ("mem_used_percent", "Average", "mem"),
)
BUSINESS_HOURS_SCHEDULE_NOTE = "busy Mon-Fri 08-18 office time only; stop off-hours"


def member(by_id: dict[str, FleetMember], instance_id: str) -> FleetMember:
    """The fleet member with ``instance_id`` (clear error if absent)."""
    try:
        return by_id[instance_id]
    except KeyError:
        raise UnknownInstanceError(
            f"{instance_id!r} is not in the simulated fleet; take ids from org.instances"
        ) from None


def _arrays(m: FleetMember, seed: int, cal: Calendar, days: range) -> dict[str, np.ndarray]:
    idx = np.arange(days.start, days.stop)
    return generate_days(m.load, seed, idx, cal.weekday[idx])


def utilisation(m: FleetMember, seed: int, cal: Calendar, days: range) -> Utilisation:
    """Flattened 5-minute series of one instance over ``days``."""
    data = _arrays(m, seed, cal, days)
    first = np.datetime64(cal.dates[days.start] if len(days) else cal.dates[0], "s")
    steps = np.arange(len(days) * STEPS_PER_DAY) * np.timedelta64(STEP_MINUTES * 60, "s")
    return Utilisation(
        first + steps,
        *(data[k].ravel() for k in ("cpu_max", "cpu_avg", "mem", "net_in", "net_out")),
    )


def label_fleet(fleet: list[FleetMember], config: SimConfig, cal: Calendar) -> list[SimInstance]:
    """Compute every instance's expected finding from its look-back data."""
    types = load_instance_types()
    n = len(cal.dates)
    lookback = range(max(0, n - config.lookback_days), n)
    out = []
    for m in fleet:
        data = _arrays(m, config.seed, cal, lookback)
        inputs = summarise(data["cpu_max"], data["mem"], data["net_in"], data["net_out"])
        smaller = smaller_type(types, m.instance_type.name)
        vcpu_ratio = m.instance_type.vcpu / smaller.vcpu if smaller else None
        mem_ratio = m.instance_type.memory_gib / smaller.memory_gib if smaller else None
        finding = classify(inputs, vcpu_ratio, mem_ratio)
        intended = {
            "steady": "optimized",
            "business_hours": "optimized",
            "bursty": "optimized",
        }.get(m.profile, m.profile)
        notes = [f"P99.5 CPU max {inputs.cpu_p995:.1f}%, peak {inputs.cpu_peak:.1f}%"]
        if m.profile == "business_hours":
            notes.append(BUSINESS_HOURS_SCHEDULE_NOTE)
        if finding != intended:
            notes.append(f"profile {m.profile} drew a {finding} load")
        if any(s.add > 0 for s in m.load.shifts):
            notes.append("has an injected metric anomaly")
        out.append(
            SimInstance(
                instance_id=m.instance_id,
                account_id=m.account_id,
                region=m.region,
                instance_type=m.instance_type.name,
                profile=cast(Profile, m.profile),
                has_memory_agent=m.load.has_memory_agent,
                expected_finding=cast(Finding, finding),
                schedulable=m.profile == "business_hours",
                notes="; ".join(notes),
                vcpu=m.instance_type.vcpu,
                memory_gib=m.instance_type.memory_gib,
                usd_per_hour=m.usd_per_hour,
                platform=m.platform,
                timezone_offset_h=m.load.tz_offset_h,
                tags=dict(m.tags),
                cpu_p995=round(inputs.cpu_p995, 4),
                cpu_peak=round(inputs.cpu_peak, 4),
                mem_p995=None if inputs.mem_p995 is None else round(inputs.mem_p995, 4),
                net_mb_per_day_max=round(inputs.net_bytes_per_day_max / 1024 / 1024, 4),
            )
        )
    return out


def iter_instance_days(
    fleet: list[FleetMember], seed: int, cal: Calendar, days: range
) -> Iterator[tuple[FleetMember, date, dict[str, np.ndarray]]]:
    """Day-major, instance-minor: one instance-day (arrays of 288) at a time."""
    for d in days:
        for m in fleet:
            data = generate_days(m.load, seed, np.array([d]), cal.weekday[d : d + 1])
            yield m, cal.dates[d], {k: v[0] for k, v in data.items()}


def day_timestamps(day: date) -> list[datetime]:
    """The 288 period starts of ``day`` (UTC)."""
    base = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return [base + timedelta(minutes=STEP_MINUTES * i) for i in range(STEPS_PER_DAY)]


def iter_datapoints(
    instance_days: Iterable[tuple[FleetMember, date, dict[str, np.ndarray]]],
) -> Iterator[tuple[str, str, str, datetime, float]]:
    """Flatten instance-days into (instance_id, metric, stat, timestamp, value) tuples."""
    stamps: list[datetime] = []
    stamp_day: date | None = None
    for m, day, data in instance_days:
        if day != stamp_day:
            stamps, stamp_day = day_timestamps(day), day
        for metric, stat, key in DATAPOINT_SERIES:
            if key == "mem" and not m.load.has_memory_agent:
                continue
            for ts, value in zip(stamps, data[key].tolist(), strict=True):
                yield m.instance_id, metric, stat, ts, value


def iter_metric_events(
    instance_days: Iterable[tuple[FleetMember, date, dict[str, np.ndarray]]],
) -> Iterator[MetricDatapoint]:
    """The same datapoints as wire events.

    Ids follow the CloudWatch poller's scheme, ``stable_id("<account>/<region>/<instance>/
    <metric>/<stat>", timestamp)``, so a simulated point and a polled one dedupe.
    """
    stamps: list[datetime] = []
    stamp_day: date | None = None
    for m, day, data in instance_days:
        if day != stamp_day:
            stamps, stamp_day = day_timestamps(day), day
        stream = f"{m.account_id}/{m.region}/{m.instance_id}"
        for metric, stat, key in DATAPOINT_SERIES:
            if key == "mem" and not m.load.has_memory_agent:
                continue
            namespace = "CWAgent" if key == "mem" else "AWS/EC2"
            unit = {"net_in": "Bytes", "net_out": "Bytes"}.get(key, "Percent")
            for ts, value in zip(stamps, data[key].tolist(), strict=True):
                yield MetricDatapoint(
                    id=stable_id(f"{stream}/{metric}/{stat}", ts.isoformat()),
                    resource_id=m.instance_id,
                    account_id=m.account_id,
                    region=m.region,
                    namespace=namespace,
                    metric=metric,
                    stat=stat,
                    unit=unit,
                    timestamp=ts,
                    value=value,
                )
