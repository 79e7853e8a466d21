"""Classify one instance over its lookback: idle, over-, under-provisioned or optimised.

Order of the rules, each Compute Optimizer's:
1. fewer than ``min_hours`` of CPU data -> insufficient data (no guess);
2. peak CPU < 5% and network < 5 MB/day -> idle (stop or terminate);
3. projected CPU or memory on the current type above its target, or a
   burstable type whose mean CPU drains its credits -> under-provisioned;
4. a cheaper type with fewer vCPUs (or, with memory measured, less memory)
   keeps every projection within target -> over-provisioned;
5. otherwise optimised (cheaper equivalents are still listed).

Percentiles are read as upper bounds from the sketch (estimate x (1 + 1%)), so
a recommendation never rests on the sketch's error in its favour.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from services.rightsizing.catalogue.model import Catalogue, InstanceType
from services.rightsizing.recommender.options import Demand, Option, best_options, project_cpu
from services.rightsizing.recommender.policy import HOURS_PER_MONTH, SizingPolicy
from services.rightsizing.sketches.state import Window
from shared.ec2_platforms import (
    os_from_platform_details,
    price_key,
    tenancy_key,
)
from shared.events.recommendations import Finding

# A 5-minute maximum this close to 100% means the instance was saturated.
PINNED_CPU_PCT = 99.0


@dataclass(frozen=True)
class Assessment:
    """The finding and the numbers behind it, before it becomes an event."""

    finding: Finding
    cpu_pct: float | None
    cpu_peak_pct: float | None
    cpu_mean_pct: float | None
    memory_pct: float | None
    network_mb_per_day: float | None
    hours_observed: float
    current_monthly_cost: float | None
    cpu_stat: str | None = None
    options: list[Option] = field(default_factory=list)
    estimated_monthly_savings: float = 0.0
    notes: list[str] = field(default_factory=list)


# Which types exist (and so which sizes a finding can point to) when the
# instance's own price list is missing is read from us-east-1 Linux, the
# largest list; its prices are never quoted for another region or OS.
SHAPE_LIST = "us-east-1"


def price_list_of(
    catalogue: Catalogue, current: InstanceType, region: str, platform: str, tenancy: str
) -> tuple[str | None, str | None]:
    """The instance's own price list key, or None with the reason no price is quoted.

    ``platform`` is EC2's ``PlatformDetails``; ``tenancy`` EC2's
    ``Placement.Tenancy`` (``default`` is shared) or ours.
    """
    os, shared_or_dedicated = os_from_platform_details(platform), tenancy_key(tenancy)
    if os is None:
        return None, f"no price list is known for the OS {platform!r}"
    if shared_or_dedicated is None:
        return None, f"no price list is known for {tenancy!r} tenancy"
    key = price_key(region, os, shared_or_dedicated)
    which = f"{platform} ({shared_or_dedicated} tenancy)"
    if not catalogue.has_prices(key):
        refresh = f"`spendstream rightsizing prices refresh --region {region} --os {os}`"
        return None, f"there are no {which} prices for {region} (run {refresh})"
    if current.price(key) is None:
        return None, f"{current.name} has no {which} price in {region}"
    return key, None


def _unpriced(a: Assessment) -> Assessment:
    """The same finding with nothing that would rest on an invented price."""
    return replace(a, options=[], estimated_monthly_savings=0.0, current_monthly_cost=None)


def _monthly(itype: InstanceType, region: str) -> float | None:
    price = itype.price(region)
    return None if price is None else price * HOURS_PER_MONTH


def assess_instance(
    window: Window,
    current: InstanceType,
    region: str,
    catalogue: Catalogue,
    policy: SizingPolicy,
    platform: str = "Linux/UNIX",
    tenancy: str = "shared",
) -> Assessment:
    """Apply the rules above to one instance's merged lookback (``platform``: its OS).

    Prices are On-Demand, from the instance's own (region, OS and licence,
    tenancy) price list. Without that list the finding still stands (it rests
    on shapes: vCPUs, memory, families, read from us-east-1 Linux) but no
    option and no saving is quoted: another list's price would be invented.
    """
    own_list, unpriced_reason = price_list_of(catalogue, current, region, platform, tenancy)
    priced = own_list is not None
    priced_in = own_list or SHAPE_LIST
    finish = (lambda a: a) if priced else _unpriced
    cpu = window.cpu.quantile_upper(policy.cpu_quantile)
    mem = window.mem.quantile_upper(policy.cpu_quantile) if window.mem is not None else None
    base = Assessment(
        finding="insufficient_data",
        cpu_pct=cpu,
        cpu_peak_pct=window.cpu.peak if window.cpu.count else None,
        cpu_mean_pct=window.cpu.mean,
        memory_pct=mem,
        network_mb_per_day=window.net_mb_per_day,
        hours_observed=window.hours_observed,
        current_monthly_cost=_monthly(current, priced_in) if priced else None,
        cpu_stat=window.cpu_stat,
    )
    notes: list[str] = []
    if unpriced_reason is not None:
        notes.append(f"{unpriced_reason}, so no option or saving is quoted")
    if window.cpu_stat not in (None, "Maximum"):
        notes.append(f"only {window.cpu_stat} CPU is reported, which understates peaks")
    if window.hours_observed < policy.min_hours or cpu is None:
        return replace(base, notes=notes)
    peak, mean = window.cpu.peak, window.cpu.mean or 0.0
    net = window.net_mb_per_day
    if peak < policy.idle_cpu_pct and (net is None or net < policy.idle_network_mb_per_day):
        if net is None:
            notes.append("network is not reported, so idleness rests on CPU alone")
        savings = base.current_monthly_cost or 0.0
        return finish(replace(base, finding="idle", estimated_monthly_savings=savings, notes=notes))
    demand = Demand(cpu_pct=cpu, cpu_mean_pct=mean, memory_pct=mem)
    baseline = current.burst_baseline_pct
    credits_drained = baseline is not None and mean > baseline
    if credits_drained:
        notes.append(f"mean CPU {mean:.1f}% is above the {baseline:.0f}% credit baseline")
    over_target = cpu > policy.cpu_target_pct or (
        mem is not None and mem > policy.memory_target_pct
    )
    if peak >= PINNED_CPU_PCT:
        notes.append("CPU was pinned at 100%, so true demand may be higher than projected")
    if over_target or credits_drained:
        chosen = best_options(current, demand, catalogue, priced_in, policy, False, platform)
        savings = chosen[0].monthly_savings if chosen else 0.0
        return finish(
            replace(
                base,
                finding="underprovisioned",
                options=chosen,
                estimated_monthly_savings=savings,
                notes=notes,
            )
        )
    chosen = best_options(current, demand, catalogue, priced_in, policy, True, platform)
    smaller = catalogue.next_smaller(current, priced_in)
    shrinkable = smaller is not None and _fits(demand, current, smaller, policy)
    finding: Finding = "overprovisioned" if shrinkable else "optimized"
    savings = chosen[0].monthly_savings if chosen and shrinkable else 0.0
    if priced and mem is None and any(o.itype.memory_gib < current.memory_gib for o in chosen):
        notes.append(
            "options with less memory than now carry "
            f"{policy.unmeasured_memory_risk:g} point more risk: memory is not measured; "
            "install the CloudWatch agent (mem_used_percent) to confirm them"
        )
    return finish(
        replace(
            base, finding=finding, options=chosen, estimated_monthly_savings=savings, notes=notes
        )
    )


def _fits(
    demand: Demand, current: InstanceType, smaller: InstanceType, policy: SizingPolicy
) -> bool:
    """Would the next size down keep CPU (and measured memory) within target?

    This decides the *finding*, as Compute Optimizer does; with memory not
    measured, moves to less memory are offered at more risk.
    """
    if project_cpu(demand.cpu_pct, current, smaller) > policy.cpu_target_pct:
        return False
    if demand.memory_pct is None:
        return True
    return demand.memory_pct * current.memory_gib / smaller.memory_gib <= policy.memory_target_pct
