"""Helpers for ``eval_rightsizing``: feed simulated and NAB data, score against truth."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from services.rightsizing.catalogue import Catalogue
from services.rightsizing.evaluate import Outcome
from services.rightsizing.recommender.options import project_cpu
from services.rightsizing.sketches import InstanceState
from shared.ec2_platforms import os_from_platform_details
from shared.ec2_prices import PriceTable, Rates
from shared.events import Recommendation
from simulator import SimInstance, SimulatedOrg
from simulator.catalogue import (
    ARM_PLATFORMS,
    REGION_PRICE_FACTOR,
    load_instance_types,
    simulated_price,
    smaller_type,
)

STEP_S = 300
DAY_S = 86_400
HOURS_PER_MONTH = 730.0
# Metric series the simulator produces: (metric, statistic, key of its day arrays).
SIM_SERIES = (
    ("CPUUtilization", "Maximum", "cpu_max"),
    ("CPUUtilization", "Average", "cpu_avg"),
    ("NetworkIn", "Sum", "net_in"),
    ("NetworkOut", "Sum", "net_out"),
    ("mem_used_percent", "Average", "mem"),
)


def _epoch_day(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) // DAY_S


def states_from_org(org: SimulatedOrg, lookback_days: int) -> dict[str, InstanceState]:
    """Stream the last ``lookback_days`` of every instance into fresh states."""
    states: dict[str, InstanceState] = {}
    for inst in org.instances:
        states[inst.instance_id] = InstanceState(
            inst.instance_id, account_id=inst.account_id, region=inst.region,
            instance_type=inst.instance_type, platform=inst.platform,
        )  # fmt: skip
    start = org.dates[-lookback_days]
    for member, day, data in org.iter_instance_days(start=start):
        state = states[member.instance_id]
        ts = _epoch_day(day) * DAY_S + np.arange(288, dtype=np.int64) * STEP_S
        for metric, stat, key in SIM_SERIES:
            values = data[key]
            if key == "mem" and np.isnan(values).all():
                continue  # no CloudWatch agent on this instance
            state.add(metric, stat, ts, values.astype(np.float64))
    return states


def truth_savings(inst: SimInstance) -> float:
    """Monthly savings the ground truth implies (simulator's own regional prices)."""
    if inst.expected_finding == "idle":
        return inst.usd_per_hour * HOURS_PER_MONTH
    if inst.expected_finding == "overprovisioned":
        types = load_instance_types()
        smaller = smaller_type(types, inst.instance_type)
        if smaller is not None:
            return (inst.usd_per_hour - smaller.price_in(inst.region)) * HOURS_PER_MONTH
    return 0.0


def truth_schedule_savings(inst: SimInstance) -> float:
    """Business hours are Mon-Fri 08-18: 118 of 168 hours a week can stop."""
    return inst.usd_per_hour * HOURS_PER_MONTH * 118 / 168 if inst.schedulable else 0.0


def unsafe_options(rec: Recommendation, inst: SimInstance, catalogue: Catalogue,
                   target: float) -> list[str]:  # fmt: skip
    """Options whose projection of the *true* P99.5 (not our sketch) breaks the target."""
    current = catalogue.get(inst.instance_type)
    bad = []
    for option in rec.options:
        projected = project_cpu(inst.cpu_p995, current, catalogue.get(option.instance_type))
        if projected > target + 1e-9:
            bad.append(f"{option.instance_type}: {projected:.2f}%")
    return bad


def score_seed(org: SimulatedOrg, outcomes: Iterable[Outcome], catalogue: Catalogue,
               target: float) -> dict[str, Any]:  # fmt: skip
    """Recall per finding, schedules, safety and savings for one simulated fleet."""
    truth = {i.instance_id: i for i in org.instances}
    recs = {o.resource_id: r for o in outcomes if (r := o.recommendation()) is not None}
    confusion: Counter[tuple[str, str]] = Counter()
    unsafe: list[str] = []
    ours = {"resize": 0.0, "schedule": 0.0}
    theirs = {"resize": 0.0, "schedule": 0.0}
    sched_hit = sched_total = sched_false = 0
    for resource_id, inst in truth.items():
        rec = recs.get(resource_id)
        finding = rec.finding if rec else "missing"
        confusion[(inst.expected_finding, finding)] += 1
        if rec is None:
            continue
        unsafe += [f"{resource_id} {u}" for u in unsafe_options(rec, inst, catalogue, target)]
        if rec.finding in ("idle", "overprovisioned"):
            scheduled = rec.schedule.monthly_savings if rec.schedule else 0.0
            resize = rec.estimated_monthly_savings - scheduled
            ours["resize"] += max(resize, 0.0)
        theirs["resize"] += truth_savings(inst)
        theirs["schedule"] += truth_schedule_savings(inst)
        if rec.schedule is not None:
            ours["schedule"] += rec.schedule.monthly_savings
        sched_total += inst.schedulable
        sched_hit += inst.schedulable and rec.schedule is not None
        sched_false += (not inst.schedulable) and rec.schedule is not None

    def recall(label: str) -> float | None:
        total = sum(n for (t, _), n in confusion.items() if t == label)
        return None if not total else confusion[(label, label)] / total

    def precision(label: str) -> float | None:
        total = sum(n for (_, f), n in confusion.items() if f == label)
        return None if not total else confusion[(label, label)] / total

    labels = ("idle", "overprovisioned", "underprovisioned", "optimized")
    return {
        "instances": len(truth),
        "recall": {k: recall(k) for k in labels},
        "precision": {k: precision(k) for k in labels},
        "schedulable": sched_total,
        "schedule_recall": sched_hit / sched_total if sched_total else None,
        "schedules_on_non_schedulable": sched_false,
        "unsafe_recommendations": len(unsafe),
        "unsafe_examples": unsafe[:5],
        "savings_ours": {k: round(v, 2) for k, v in ours.items()},
        "savings_truth": {k: round(v, 2) for k, v in theirs.items()},
        "confusion": {f"{t}->{f}": n for (t, f), n in sorted(confusion.items())},
    }


# Two hourly rates agree to the price list's own precision; a monthly cost to
# the cent the event rounds it to.
PRICE_TOLERANCE = 1e-6
MONTHLY_TOLERANCE = 0.005 + 1e-9


def simulated_price_table(catalogue: Catalogue, platforms: Iterable[str]) -> PriceTable:
    """The simulated world's price list: every catalogue type in every region and OS.

    us-east-1 Linux from the catalogue, times the simulator's region factor,
    plus its licence per vCPU-hour (``simulator.catalogue.simulated_price``).
    It deliberately carries arm64 rates for Windows and SQL Server too, so the
    architecture rule, not a missing price, is what keeps them out of options.
    """
    table = PriceTable()
    for t in catalogue.types():
        base = t.price("us-east-1")
        if base is None:
            continue
        for region in REGION_PRICE_FACTOR:
            for platform in platforms:
                os = os_from_platform_details(platform)
                if os is None:
                    raise ValueError(f"the simulator drew {platform!r}, which has no price list")
                rate = simulated_price(base, t.vcpu, region, platform)
                table.update((region, os, "shared", t.name), Rates(on_demand=rate))
    return table


def pricing_score(org: SimulatedOrg, outcomes: Iterable[Outcome], catalogue: Catalogue,
                  ) -> dict[str, Any]:  # fmt: skip
    """Were instances and options priced with their own region and OS, and arm64 kept legal?

    The truth of an instance's price is the simulator's (what its CUR bills);
    of an option's, the simulator's price model for that type in the same
    region and OS. An unpriced recommendation counts as not priced right.
    """
    truth = {i.instance_id: i for i in org.instances}
    recs = [(truth[o.resource_id], r) for o in outcomes if (r := o.recommendation()) is not None]
    right = wrong = unpriced = unpriced_said = options = options_right = arch_bad = 0
    for inst, rec in recs:
        if rec.current_monthly_cost is None:
            unpriced += 1
            unpriced_said += "no option or saving is quoted" in rec.reason
        elif (
            abs(rec.current_monthly_cost - inst.usd_per_hour * HOURS_PER_MONTH) <= MONTHLY_TOLERANCE
        ):
            right += 1
        else:
            wrong += 1
        for option in rec.options:
            itype = catalogue.get(option.instance_type)
            base = itype.price("us-east-1")
            expected = None if base is None else simulated_price(
                base, itype.vcpu, inst.region, inst.platform)  # fmt: skip
            options += 1
            options_right += expected is not None and abs(
                option.hourly_price - expected) <= PRICE_TOLERANCE  # fmt: skip
            # The simulator's own list of arm64 OSes, not the recommender's rule under test.
            arch_bad += itype.arch == "arm64" and inst.platform not in ARM_PLATFORMS
    return {
        "recommendations": len(recs),
        "priced_right_share": right / len(recs) if recs else None,
        "priced_wrong": wrong,
        "unpriced": unpriced,
        "unpriced_with_reason": unpriced_said,
        "options": options,
        "option_priced_right_share": options_right / options if options else None,
        "options_arch_os_cannot_run": arch_bad,
        "platforms": dict(Counter(i.platform for i in org.instances)),
    }


def nab_states(paths: list[Path], instance_type: str) -> dict[str, InstanceState]:
    """NAB's EC2 CPU series as the (Average) CPU of hypothetical instances."""
    states = {}
    for path in paths:
        with path.open() as handle:
            rows = list(csv.DictReader(handle))
        ts = np.array(
            [int(datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC).timestamp())
             for r in rows], dtype=np.int64,
        )  # fmt: skip
        values = np.clip(np.array([float(r["value"]) for r in rows]), 0.0, 100.0)
        state = InstanceState(path.stem, account_id="nab", region="us-east-1",
                              instance_type=instance_type)  # fmt: skip
        state.add("CPUUtilization", "Average", ts, values)
        states[path.stem] = state
    return states
