"""Instance types, their prices per region, and which of them we recommend.

>>> t = InstanceType("m7g.large", "m7g", "large", 7, 2, 8.0, "arm64", "aws", "nitro",
...                  {"us-east-1": 0.0816})
>>> t.current_generation, t.performance_factor, t.is_graviton
(True, 1.1, True)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from services.rightsizing.exceptions import CatalogueError

_T = TypeVar("_T")
# Families we recommend into: general purpose (m), compute (c), memory (r) and
# burstable (t), the classes Compute Optimizer draws EC2 options from. GPU,
# storage-dense and high-memory families need a person's judgement.
_CANDIDATE_FAMILY = re.compile(r"^[mcrt]\d+[a-z]*$")
# Nitro-era generations (5+), plus the current burstable families.
_CURRENT_BURSTABLE = frozenset({"t3", "t3a", "t4g"})
MIN_CURRENT_GENERATION = 5
# A documented, deliberately simple performance model: each generation after
# the 5th gives ~5% more work per vCPU (AWS's own per-generation claims are
# 10-25%; we take the conservative end). Bounds stop it from running away.
PERF_PER_GENERATION = 0.05
PERF_FACTOR_BOUNDS = (0.85, 1.2)
# Per-vCPU baseline performance of burstable types (AWS "burstable performance
# instances" table): sustained CPU above it drains credits.
BURST_BASELINE_PCT = {
    "nano": 5.0,
    "micro": 10.0,
    "small": 20.0,
    "medium": 20.0,
    "large": 30.0,
    "xlarge": 40.0,
    "2xlarge": 40.0,
}


@dataclass(frozen=True)
class InstanceType:
    """One EC2 instance type and its On-Demand price in each price list.

    ``prices`` is keyed by ``shared.ec2_platforms.price_key``: the bare region for Linux
    on shared tenancy, ``region/os/tenancy`` for every other list.
    """

    name: str
    family: str
    size: str
    generation: int
    vcpu: int
    memory_gib: float
    arch: str
    cpu_manufacturer: str
    hypervisor: str
    prices: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    gpu_count: int = 0
    local_nvme_gib: float = 0.0

    @property
    def burstable(self) -> bool:
        """T-family types accrue and spend CPU credits."""
        return self.family.startswith("t")

    @property
    def burst_baseline_pct(self) -> float | None:
        """Sustainable CPU per vCPU without spending credits, for burstable types."""
        return BURST_BASELINE_PCT.get(self.size) if self.burstable else None

    @property
    def current_generation(self) -> bool:
        """Whether we would recommend moving *to* this type's generation."""
        if self.burstable:
            return self.family in _CURRENT_BURSTABLE
        return self.generation >= MIN_CURRENT_GENERATION

    @property
    def is_graviton(self) -> bool:
        """AWS Graviton (arm64): usually the best price-performance, preferred on ties."""
        return self.arch == "arm64"

    @property
    def performance_factor(self) -> float:
        """Work per vCPU relative to a 5th-generation vCPU (see module constants)."""
        raw = 1.0 + PERF_PER_GENERATION * (self.generation - MIN_CURRENT_GENERATION)
        lo, hi = PERF_FACTOR_BOUNDS
        return round(min(max(raw, lo), hi), 4)

    @property
    def recommendable(self) -> bool:
        """Eligible as an option: current generation, candidate family, no GPU, not metal."""
        return (
            self.current_generation
            and bool(_CANDIDATE_FAMILY.match(self.family))
            and self.gpu_count == 0
            and self.size != "metal"
            and self.hypervisor == "nitro"
        )

    def price(self, key: str) -> float | None:
        """On-Demand $/h in one price list (see ``price_key``), or None when unknown there."""
        return self.prices.get(key)


class Catalogue:
    """Look-ups over a set of instance types."""

    def __init__(self, types: Iterable[InstanceType], source: str = "") -> None:
        self._types = {t.name: t for t in types}
        self._lists = {r for t in self._types.values() for r in t.prices}
        self._families: dict[str, list[InstanceType]] = {}
        for t in self.types():
            self._families.setdefault(t.family, []).append(t)
        self._candidates: dict[str, list[InstanceType]] = {}
        self._memo: dict[object, object] = {}
        self.source = source

    def memo(self, key: object, build: Callable[[], _T]) -> _T:
        """A value derived from this catalogue, built once (e.g. a region's candidate arrays)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]  # type: ignore[return-value]  # stored by its own builder

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def types(self) -> list[InstanceType]:
        """Every type, in name order."""
        return [self._types[n] for n in sorted(self._types)]

    def get(self, name: str) -> InstanceType:
        """One type, or a CatalogueError that says how to fix it."""
        try:
            return self._types[name]
        except KeyError:
            raise CatalogueError(
                f"instance type {name!r} is not in the catalogue ({self.source or 'in memory'}); "
                "run `spendstream rightsizing catalogue refresh` to pick up new types"
            ) from None

    def has_prices(self, key: str) -> bool:
        """Whether any type is priced in this price list (``price_key``): never borrowed."""
        return key in self._lists

    def next_smaller(self, itype: InstanceType, region: str) -> InstanceType | None:
        """The largest size of the same family with fewer vCPUs, priced in ``region`` (a key)."""
        smaller = [t for t in self.family_members(itype.family, region) if t.vcpu < itype.vcpu]
        return max(smaller, key=lambda t: (t.vcpu, t.memory_gib), default=None)

    def candidates(self, region: str) -> list[InstanceType]:
        """Recommendable types priced in ``region`` (computed once per region)."""
        found = self._candidates.get(region)
        if found is None:
            found = [t for t in self.types() if t.recommendable and t.price(region) is not None]
            self._candidates[region] = found
        return found

    def family_members(self, family: str, region: str) -> list[InstanceType]:
        """Every priced, non-metal size of one family (even a previous-generation one)."""
        return [
            t
            for t in self._families.get(family, ())
            if t.size != "metal" and t.price(region) is not None
        ]
