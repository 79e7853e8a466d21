"""Candidate instance types for one workload: projection, fit, risk, effort, savings.

Projection assumptions, stated once: CPU demand is work, so a P-percentile of
``p`` % on ``v`` vCPUs becomes ``p * v * f / (v' * f')`` % on a candidate with
``v'`` vCPUs, where ``f`` is the per-vCPU performance factor of the catalogue
(generation-based, conservative). Memory in use is bytes, so it scales by the
memory ratio. Burstable candidates must also sustain the *mean* CPU under
their credit baseline, else credits run out and the instance is throttled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.rightsizing.catalogue.model import Catalogue, InstanceType
from services.rightsizing.recommender.policy import HOURS_PER_MONTH, SizingPolicy

Effort = Literal["very_low", "low", "medium", "high"]
# Risk grows from 0 at half the target to 2 at the target (and 4 well past it):
# Compute Optimizer's 0-4 scale, where 0 is "very low" and 4 "very high".
RISK_SLOPE = 4.0
RISK_AT_HALF_TARGET = 2.0
# Burstable types can be throttled when credits run out: one point more risk.
BURSTABLE_RISK = 1.0


@dataclass(frozen=True)
class Demand:
    """What the workload needs, as measured (upper bounds of the percentiles)."""

    cpu_pct: float
    cpu_mean_pct: float
    memory_pct: float | None


@dataclass(frozen=True)
class Option:
    """One candidate type with its projections."""

    itype: InstanceType
    projected_cpu_pct: float
    projected_memory_pct: float | None
    hourly_price: float
    monthly_cost: float
    monthly_savings: float
    performance_risk: float
    migration_effort: Effort


def project_cpu(pct: float, current: InstanceType, candidate: InstanceType) -> float:
    """CPU percentage the same work would use on ``candidate``."""
    work = pct * current.vcpu * current.performance_factor
    return work / (candidate.vcpu * candidate.performance_factor)


def migration_effort(current: InstanceType, candidate: InstanceType) -> Effort:
    """How much a move takes: resize in place, new family, new architecture, new hypervisor."""
    if candidate.hypervisor != current.hypervisor:
        return "high"  # Xen -> Nitro needs ENA and NVMe drivers in the image
    if candidate.arch != current.arch:
        return "medium"  # arm64 builds of the software and the AMI
    if candidate.family == current.family:
        return "very_low"
    return "low"


def performance_risk(
    cpu_pct: float, memory_pct: float | None, policy: SizingPolicy, burstable: bool
) -> float:
    """0 (very low) to 4 (very high), from how close projections come to the targets."""
    ratios = [cpu_pct / policy.cpu_target_pct if policy.cpu_target_pct else 1.0]
    if memory_pct is not None:
        ratios.append(memory_pct / policy.memory_target_pct)
    risk = RISK_SLOPE * max(ratios) - RISK_AT_HALF_TARGET
    risk += BURSTABLE_RISK if burstable else 0.0
    return round(min(max(risk, 0.0), 4.0), 1)


def assess(
    current: InstanceType,
    candidate: InstanceType,
    demand: Demand,
    region: str,
    policy: SizingPolicy,
) -> Option | None:
    """The candidate's projections, or None when it would not fit the workload."""
    price, current_price = candidate.price(region), current.price(region)
    if price is None or current_price is None:
        return None
    cpu = project_cpu(demand.cpu_pct, current, candidate)
    if cpu > policy.cpu_target_pct:
        return None
    memory: float | None = None
    if demand.memory_pct is not None:
        memory = demand.memory_pct * current.memory_gib / candidate.memory_gib
        if memory > policy.memory_target_pct:
            return None
    elif candidate.memory_gib < current.memory_gib:
        return None  # memory not measured: never shrink it
    baseline = candidate.burst_baseline_pct
    if candidate.burstable and (
        baseline is None or project_cpu(demand.cpu_mean_pct, current, candidate) > baseline
    ):
        return None  # mean load would drain the CPU credits
    monthly = price * HOURS_PER_MONTH
    return Option(
        itype=candidate,
        projected_cpu_pct=cpu,
        projected_memory_pct=memory,
        hourly_price=price,
        monthly_cost=monthly,
        monthly_savings=current_price * HOURS_PER_MONTH - monthly,
        performance_risk=performance_risk(cpu, memory, policy, candidate.burstable),
        migration_effort=migration_effort(current, candidate),
    )


def fitting_options(
    current: InstanceType, demand: Demand, catalogue: Catalogue, region: str, policy: SizingPolicy
) -> list[Option]:
    """Every candidate (same family, or current-generation families) that fits."""
    pool = {t.name: t for t in catalogue.candidates(region)}
    pool.update({t.name: t for t in catalogue.family_members(current.family, region)})
    pool.pop(current.name, None)
    found = (assess(current, t, demand, region, policy) for t in pool.values())
    return [o for o in found if o is not None]


def rank(options: list[Option], policy: SizingPolicy, cheaper_only: bool) -> list[Option]:
    """Up to ``max_options``: best savings first (Graviton preferred), then low effort.

    When cheaper options are wanted the list always keeps the best same-family
    option, which needs no new AMI, so a person has a low-effort choice.
    """
    current_cost = max((o.monthly_cost + o.monthly_savings for o in options), default=0.0)
    if cheaper_only:
        floor = policy.min_savings_fraction * current_cost
        options = [o for o in options if o.monthly_savings > floor]

        def score(o: Option) -> tuple[float, float]:
            bonus = 1.0 + (policy.graviton_rank_bonus if o.itype.is_graviton else 0.0)
            return (-o.monthly_savings * bonus, o.performance_risk)
    else:

        def score(o: Option) -> tuple[float, float]:
            bonus = 1.0 - (policy.graviton_rank_bonus if o.itype.is_graviton else 0.0)
            return (o.monthly_cost * bonus, o.performance_risk)

    ordered = sorted(options, key=score)
    chosen = ordered[: policy.max_options]
    same_family = [o for o in ordered if o.migration_effort == "very_low"]
    if cheaper_only and same_family and same_family[0] not in chosen and chosen:
        chosen = [*chosen[: policy.max_options - 1], same_family[0]]
    return chosen
