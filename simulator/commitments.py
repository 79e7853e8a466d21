"""Savings Plans and Reserved Instances over a simulated fleet, hour by hour, with CUR lines.

Each fleet member becomes a group of identical instances: most run one
instance around the clock, ``autoscaled_share`` of them scale through the day
(a business-hours swing in the account's timezone, weekends lower, a slow
trend and AR(1) noise), so the hourly On-Demand curve has the shape a
commitment must be sized against. Every account holds commitments for part of
that fleet: one RI per ``ri_share`` of its steady instances, and a Compute
Savings Plan covering ``sp_cover`` of its lowest hour of the first week; the
first account's plan ends ``expiring_days`` after the window (an expiry
alert), the second holds a second, oversized plan (a utilisation alert).

Commitments apply as AWS applies them: RIs first, to matching instance hours;
then each Savings Plan to the remaining hours, deepest discount first, a line
split where the plan runs out. Rates are the simulated world's truth
(``SP_RATIO``, ``RI_RATIO`` x On-Demand, varied per family), not AWS's.
``price_table`` writes them as a price file would, so the service reads the
very rates the bill was made with; ``simulator.commitment_lines`` writes the
bill's line items, ``simulator.commitment_cur`` the CUR 2.0 file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from shared.ec2_platforms import os_from_platform_details
from shared.ec2_prices import PriceTable, Rates
from shared.events import stable_id
from simulator.fleet import FleetMember

# Rate / On-Demand per term (simulated truth): Compute SP ~28% / ~50% off, RIs deeper.
SP_RATIO = {1: 0.72, 3: 0.50}
RI_RATIO = {1: 0.62, 3: 0.40}
# Per-family spread of the discount, so plans have a deepest-first order to follow.
FAMILY_SPREAD = 0.04


@dataclass(frozen=True)
class CommitmentConfig:
    """How much of the fleet scales and how much is committed."""

    autoscaled_share: float = 0.5
    ri_share: float = 0.3
    sp_cover: float = 0.6
    expiring_days: int = 12
    oversized_sp: float = 1.0  # the second account's extra plan, x its mean SP-rate usage
    noise: float = 0.15


@dataclass(frozen=True)
class Held:
    """One commitment: a Savings Plan ($/h) or an RI (one instance of one type)."""

    arn: str
    account_id: str
    kind: str  # "savings_plan" | "reservation"
    hourly: float  # SP: commitment $/h; RI: its rate $/h
    end: datetime
    group: int = -1  # RIs: the group whose type it reserves


@dataclass
class CommitmentWorld:
    """The fleet's hourly instance counts, rates and held commitments."""

    start: datetime
    hours: int
    members: list[FleetMember]
    counts: np.ndarray  # (groups x hours) running instances
    on_demand: np.ndarray  # (groups,) $/h
    sp_rate: dict[int, np.ndarray]  # term -> (groups,) $/h
    ri_rate: dict[int, np.ndarray]
    held: list[Held] = field(default_factory=list)

    def key(self, g: int) -> tuple[str, str, str, str]:
        """(region, os, tenancy, type) of group ``g``."""
        m = self.members[g]
        return (
            m.region,
            os_from_platform_details(m.platform) or "linux",
            "shared",
            m.instance_type.name,
        )

    def price_table(self) -> PriceTable:
        """The simulated rates as a price file holds them."""
        table = PriceTable()
        for g in range(len(self.members)):
            table.update(
                self.key(g),
                Rates(
                    on_demand=float(self.on_demand[g]),
                    ri_1y_no_upfront=float(self.ri_rate[1][g]),
                    ri_3y_no_upfront=float(self.ri_rate[3][g]),
                    compute_sp_1y_no_upfront=float(self.sp_rate[1][g]),
                    compute_sp_3y_no_upfront=float(self.sp_rate[3][g]),
                ),
            )
        return table


def _family_factor(family: str) -> float:
    digest = int(hashlib.sha256(family.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return 1.0 + FAMILY_SPREAD * (2 * digest - 1)


def _counts(
    members: list[FleetMember],
    start: datetime,
    hours: int,
    cfg: CommitmentConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    t = np.arange(hours)
    when = np.array([start + timedelta(hours=int(h)) for h in t])
    hour_utc = np.array([w.hour for w in when])
    weekday = np.array([w.weekday() for w in when])
    out = np.ones((len(members), hours))
    for g, _ in enumerate(members):
        if rng.uniform() >= cfg.autoscaled_share:
            continue
        base = rng.integers(2, 9)
        swing = rng.uniform(0.3, 1.2)
        tz = int(rng.integers(-8, 3))
        local = (hour_utc + tz) % 24
        busy = np.clip(np.sin((local - 7) / 12 * np.pi), 0, None)
        weekend = np.where(weekday >= 5, rng.uniform(0.3, 0.8), 1.0)
        trend = 1.0 + rng.uniform(-0.1, 0.25) * t / max(hours, 1)
        ar = np.empty(hours)
        ar[0] = rng.standard_normal()
        for i in range(1, hours):
            ar[i] = 0.9 * ar[i - 1] + np.sqrt(1 - 0.81) * rng.standard_normal()
        level = base * trend * (1 + swing * busy * weekend) * np.exp(cfg.noise * ar)
        out[g] = np.maximum(0, np.round(level))
    return out


def build_world(
    members: list[FleetMember],
    start: date,
    days: int,
    seed: int,
    cfg: CommitmentConfig | None = None,
) -> CommitmentWorld:
    """The fleet's hours from ``start`` for ``days`` days and its commitments."""
    cfg = cfg or CommitmentConfig()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0]))
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    hours = days * 24
    counts = _counts(members, begin, hours, cfg, rng)
    od = np.array([m.usd_per_hour for m in members])
    fam = np.array([_family_factor(m.instance_type.family) for m in members])
    sp = {term: np.round(od * np.clip(r * fam, 0, 0.95), 6) for term, r in SP_RATIO.items()}
    ri = {term: np.round(od * np.clip(r * fam, 0, 0.95), 6) for term, r in RI_RATIO.items()}
    world = CommitmentWorld(begin, hours, members, counts, od, sp, ri)
    end = begin + timedelta(hours=hours)
    accounts = sorted({m.account_id for m in members})
    for a, account in enumerate(accounts):
        groups = [g for g, m in enumerate(members) if m.account_id == account]
        steady = [g for g in groups if (counts[g] == 1).all()]
        for g in steady[: int(len(steady) * cfg.ri_share)]:
            world.held.append(
                Held(
                    _arn("ri", account, g),
                    account,
                    "reservation",
                    float(ri[1][g]),
                    end + timedelta(days=200),
                    g,
                )
            )
        week = (counts[groups, : 7 * 24] * sp[1][groups, None]).sum(axis=0)
        if week.min() > 0:
            ends = end + timedelta(days=cfg.expiring_days if a == 0 else 300)
            world.held.append(
                Held(
                    _arn("sp", account, 0),
                    account,
                    "savings_plan",
                    round(float(week.min()) * cfg.sp_cover, 3),
                    ends,
                )
            )
        if a == 1 and cfg.oversized_sp > 0:
            world.held.append(
                Held(
                    _arn("sp", account, 1),
                    account,
                    "savings_plan",
                    round(float(week.mean()) * cfg.oversized_sp, 3),
                    end + timedelta(days=300),
                )
            )
    return world


def _arn(kind: str, account: str, n: int) -> str:
    uid = stable_id(kind, account, n)
    if kind == "ri":
        return f"arn:aws:ec2:us-east-1:{account}:reserved-instances/{uid}"
    return f"arn:aws:savingsplans::{account}:savingsplan/{uid}"


@dataclass(frozen=True)
class Line:
    """One instance-hour line (or part of one) before it becomes a CostLineItem."""

    group: int
    hour: int
    kind: str
    amount: float
    held: Held | None = None


def apply_hour(world: CommitmentWorld, h: int) -> Iterator[Line]:
    """Hour ``h``'s instance lines: RIs first, then Savings Plans deepest discount first."""
    left = world.counts[:, h].copy()
    for held in world.held:
        if held.kind == "reservation" and left[held.group] >= 1:
            left[held.group] -= 1
            yield Line(held.group, h, "DiscountedUsage", 1.0, held)
    discount = 1 - world.sp_rate[1] / world.on_demand
    order = [int(g) for g in np.argsort(-discount, kind="stable")]
    for held in world.held:
        if held.kind != "savings_plan" or held.end <= world.start + timedelta(hours=h):
            continue
        budget = held.hourly
        for g in order:
            if budget <= 1e-12 or left[g] <= 0 or world.members[g].account_id != held.account_id:
                continue
            take = min(left[g], budget / world.sp_rate[1][g])
            left[g] -= take
            budget -= take * world.sp_rate[1][g]
            yield Line(g, h, "SavingsPlanCoveredUsage", float(take), held)
    for rest in np.flatnonzero(left > 1e-12):
        yield Line(int(rest), h, "Usage", float(left[rest]))


def uncovered_on_demand(world: CommitmentWorld) -> np.ndarray:
    """(groups x hours) On-Demand instance hours no held commitment covered."""
    out = np.zeros_like(world.counts)
    for h in range(world.hours):
        for line in apply_hour(world, h):
            if line.kind == "Usage":
                out[line.group, h] += line.amount
    return out
