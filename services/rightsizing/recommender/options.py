"""Candidate instance types for one workload: projection, fit, risk, effort, savings.

Which types may be candidates follows Compute Optimizer's preferences: the
current architecture and CPU vendor unless the account opted in to others,
and never arm64 for an OS that has no arm64 build (Windows, SQL Server).

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

import numpy as np

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
    platform_differences: tuple[str, ...] = ()


def runs_on_arm(platform: str) -> bool:
    """Whether an OS (EC2 ``PlatformDetails``) has arm64 builds: Linux yes, Windows/SQL Server no.

    >>> runs_on_arm("Linux/UNIX"), runs_on_arm("Red Hat Enterprise Linux")
    (True, True)
    >>> runs_on_arm("Windows with SQL Server Standard"), runs_on_arm("Linux with SQL Server Web")
    (False, False)
    """
    lowered = platform.lower()
    return "windows" not in lowered and "sql server" not in lowered


def platform_differences(current: InstanceType, candidate: InstanceType) -> tuple[str, ...]:
    """What changes under the workload besides size (Compute Optimizer's platform differences)."""
    out = []
    if candidate.arch != current.arch:
        out.append(f"architecture {current.arch} -> {candidate.arch}")
    if candidate.cpu_manufacturer != current.cpu_manufacturer:
        out.append(f"CPU vendor {current.cpu_manufacturer} -> {candidate.cpu_manufacturer}")
    if candidate.hypervisor != current.hypervisor:
        out.append(f"hypervisor {current.hypervisor} -> {candidate.hypervisor}")
    return tuple(out)


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


@dataclass(frozen=True)
class Pool:
    """Every type priced in one region, as arrays, so a workload is matched in one pass."""

    types: list[InstanceType]
    names: np.ndarray
    families: np.ndarray
    recommendable: np.ndarray
    capacity: np.ndarray  # vCPUs x performance factor
    memory: np.ndarray
    price: np.ndarray
    baseline: np.ndarray  # burst credit baseline per vCPU; NaN for fixed-performance types
    graviton: np.ndarray
    arch: np.ndarray
    vendor: np.ndarray
    inverse_capacity: np.ndarray
    inverse_memory: np.ndarray
    burstable_index: np.ndarray

    def eligibility(self, current: InstanceType) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Same-family mask, candidate mask, and "at least as much memory" mask for a type."""
        same_family = self.families == current.family
        eligible = (self.recommendable | same_family) & (self.names != current.name)
        return same_family, eligible, self.memory >= current.memory_gib

    @classmethod
    def of(cls, catalogue: Catalogue, region: str) -> Pool:
        """The region's pool (built once per catalogue and region)."""
        return catalogue.memo(("pool", region), lambda: cls._build(catalogue, region))

    @classmethod
    def _build(cls, catalogue: Catalogue, region: str) -> Pool:
        types = [
            t
            for t in catalogue.types()
            if t.price(region) is not None and t.size != "metal" and t.gpu_count == 0
        ]
        capacity = np.array([t.vcpu * t.performance_factor for t in types])
        memory = np.array([t.memory_gib for t in types])
        baseline = np.array([t.burst_baseline_pct or np.nan for t in types])
        return cls(
            types=types,
            names=np.array([t.name for t in types]),
            families=np.array([t.family for t in types]),
            recommendable=np.array([t.recommendable for t in types], dtype=bool),
            capacity=capacity,
            memory=memory,
            price=np.array([t.price(region) or 0.0 for t in types]),
            baseline=baseline,
            graviton=np.array([t.is_graviton for t in types], dtype=bool),
            arch=np.array([t.arch for t in types]),
            vendor=np.array([t.cpu_manufacturer for t in types]),
            inverse_capacity=1.0 / capacity,
            inverse_memory=1.0 / memory,
            burstable_index=np.flatnonzero(~np.isnan(baseline)),
        )


@dataclass(frozen=True)
class Ladder:
    """One type's candidates that pass every demand-independent test, best first.

    Price, savings, family, memory when unmeasured, and the rank key
    (``primary``, then projected CPU, i.e. inverse capacity) do not depend on
    the workload, so they are filtered and sorted once per type and region;
    each workload then only masks this short list by its own projections.
    """

    index: np.ndarray  # pool indices, in rank order
    inverse_capacity: np.ndarray
    inverse_memory: np.ndarray
    baseline: np.ndarray
    same_family: np.ndarray
    monthly: np.ndarray
    savings: np.ndarray

    @classmethod
    def of(cls, pool: Pool, current: InstanceType, current_price: float, policy: SizingPolicy,
           cheaper_only: bool, memory_measured: bool, arm_ok: bool) -> Ladder:  # fmt: skip
        """Candidates for ``current`` in rank order (see ``best_options``)."""
        same_family, eligible, keeps_memory = pool.eligibility(current)
        monthly = pool.price * HOURS_PER_MONTH
        savings = current_price * HOURS_PER_MONTH - monthly
        # Unmeasured memory: other families must keep it; the family's own
        # smaller sizes stay (CPU decides, at more risk: see _option).
        ok = eligible if memory_measured else eligible & (keeps_memory | same_family)
        if policy.other_architectures:
            ok &= (pool.arch != "arm64") | arm_ok
            bonus = policy.graviton_rank_bonus * pool.graviton
        else:
            ok &= (pool.arch == current.arch) & (pool.vendor == current.cpu_manufacturer)
            bonus = np.zeros(len(pool.types))
        if cheaper_only:
            ok = ok & (savings > policy.min_savings_fraction * current_price * HOURS_PER_MONTH)
            primary = -savings * (1.0 + bonus)
        else:
            primary = monthly * (1.0 - bonus)
        index = np.flatnonzero(ok)
        # The projected CPU is a positive constant times inverse capacity, so
        # sorting by it ranks exactly as sorting by the projection would.
        index = index[np.lexsort((index, pool.inverse_capacity[index], primary[index]))]
        return cls(
            index=index,
            inverse_capacity=pool.inverse_capacity[index],
            inverse_memory=pool.inverse_memory[index],
            baseline=pool.baseline[index],
            same_family=same_family[index],
            monthly=monthly[index],
            savings=savings[index],
        )


def best_options(
    current: InstanceType,
    demand: Demand,
    catalogue: Catalogue,
    region: str,
    policy: SizingPolicy,
    cheaper_only: bool,
    platform: str = "Linux/UNIX",
) -> list[Option]:
    """Up to ``max_options`` types that fit, ranked.

    Candidates are the current family's sizes and every recommendable
    (current-generation) type. With ``cheaper_only`` (over-provisioned or
    optimised), options must save money and rank by savings, Graviton's
    counted ``graviton_rank_bonus`` higher when the account opted in to other
    architectures, and the best same-family option is
    always kept (no new AMI needed). Otherwise (under-provisioned) the cheapest
    fitting types come first; ties go to the lower projected CPU.
    """
    pool = Pool.of(catalogue, region)
    current_price = current.price(region)
    if current_price is None or not pool.types:
        return []
    measured, arm_ok = demand.memory_pct is not None, runs_on_arm(platform)
    key = ("ladder", region, current.name, policy, cheaper_only, measured, arm_ok)
    ladder = catalogue.memo(
        key,
        lambda: Ladder.of(pool, current, current_price, policy, cheaper_only, measured, arm_ok),
    )
    work = current.vcpu * current.performance_factor
    cpu = demand.cpu_pct * work * ladder.inverse_capacity
    ok = cpu <= policy.cpu_target_pct
    memory = None
    if demand.memory_pct is not None:
        memory = demand.memory_pct * current.memory_gib * ladder.inverse_memory
        ok &= memory <= policy.memory_target_pct
    # The mean load must not drain a burstable type's CPU credits (NaN: not burstable).
    mean = demand.cpu_mean_pct * work * ladder.inverse_capacity
    ok &= np.isnan(ladder.baseline) | (mean <= ladder.baseline)
    order = np.flatnonzero(ok)
    chosen = order[: policy.max_options].tolist()
    family_first = order[ladder.same_family[order]][:1].tolist()
    if cheaper_only and chosen and family_first and family_first[0] not in chosen:
        chosen = [*chosen[: policy.max_options - 1], family_first[0]]
    return [_option(pool, ladder, j, current, cpu, memory, policy) for j in chosen]


def _option(
    pool: Pool,
    ladder: Ladder,
    j: int,
    current: InstanceType,
    cpu: np.ndarray,
    memory: np.ndarray | None,
    policy: SizingPolicy,
) -> Option:
    i = int(ladder.index[j])
    itype = pool.types[i]
    mem = None if memory is None else float(memory[j])
    risk = performance_risk(float(cpu[j]), mem, policy, itype.burstable)
    if mem is None and itype.memory_gib < current.memory_gib:
        risk = min(4.0, risk + policy.unmeasured_memory_risk)
    return Option(
        itype=itype,
        projected_cpu_pct=float(cpu[j]),
        projected_memory_pct=mem,
        hourly_price=float(pool.price[i]),
        monthly_cost=float(ladder.monthly[j]),
        monthly_savings=float(ladder.savings[j]),
        performance_risk=risk,
        migration_effort=migration_effort(current, itype),
        platform_differences=platform_differences(current, itype),
    )
