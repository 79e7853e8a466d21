"""The simulated EC2 fleet: who runs what type where, and how loaded it is.

Profiles and the load each is drawn with (CPU levels are the 5-minute Average; the
Maximum runs ~15-50% above it):

* ``steady`` — diurnal load peaking at 33-46% average, P99.5 of Maximum ~50-72%: optimized;
* ``business_hours`` — Mon-Fri 08:00-18:00 office time busy (P99.5 ~50-75%), 1-3%
  otherwise, the same every week: optimized and *schedulable*;
* ``idle`` — under 2% CPU, a few KB of network per 5 minutes: idle;
* ``bursty`` — 4-10% with a few 10-60 minute bursts a day to 32-44%: optimized;
* ``overprovisioned`` — xlarge or bigger, P99.5 ~12-30%: the next size down fits;
* ``underprovisioned`` — 78-90% average at peak, Maximum pinned near 100%.

The *expected finding* is not assumed from the profile: it is computed from the
generated series (see :mod:`.findings`), and ``notes`` says when the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simulator.catalogue import ARM_PLATFORMS, REGION_TZ_OFFSET_H, InstanceType
from simulator.utilisation import LoadModel

#: Instance types each profile is drawn from (overprovisioned needs a smaller size).
PROFILE_TYPES: dict[str, tuple[str, ...]] = {
    "steady": (
        "m5.large",
        "m5.xlarge",
        "m6i.large",
        "m6i.xlarge",
        "c5.large",
        "c5.xlarge",
        "c6i.large",
        "r5.large",
        "r6g.large",
        "m7g.large",
        "m6g.xlarge",
    ),
    "business_hours": ("t3.large", "t3.xlarge", "m5.large", "m5.xlarge", "c5.large"),
    "idle": ("t3.micro", "t3.small", "t3.medium", "t3.large", "m5.large"),
    "bursty": ("t3.medium", "t3.large", "t3.xlarge", "t3.2xlarge"),
    "overprovisioned": (
        "m5.2xlarge",
        "m5.4xlarge",
        "m6i.2xlarge",
        "m6i.4xlarge",
        "c5.2xlarge",
        "c5.4xlarge",
        "r5.2xlarge",
        "c6i.4xlarge",
        "m5.xlarge",
        "m6i.8xlarge",
    ),
    "underprovisioned": ("c5.large", "c5.xlarge", "m5.large", "t3.medium", "c6i.large"),
}
#: Share of an account's instances in its primary region.
PRIMARY_REGION_SHARE = 0.8
APPS = (
    "checkout",
    "search",
    "payments",
    "catalog",
    "auth",
    "etl",
    "reporting",
    "api",
    "web",
    "ml-infer",
    "batch",
    "ci-runner",
)


@dataclass(frozen=True)
class FleetMember:
    """One instance before its finding is computed."""

    instance_id: str
    account_id: str
    account_name: str
    region: str
    instance_type: InstanceType
    profile: str
    load: LoadModel
    tags: dict[str, str]
    platform: str = "Linux/UNIX"

    @property
    def usd_per_hour(self) -> float:
        """Its On-Demand $/h in its region and OS (licence included)."""
        return self.instance_type.price_in(self.region, self.platform)


def _load_model(
    index: int, profile: str, tz: int, agent: bool, rng: np.random.Generator
) -> LoadModel:
    """Draw the load parameters of one instance of ``profile``."""
    u = rng.uniform
    trough, peak, weekend, bursts, burst_level = 0.0, 0.0, 1.0, 0.0, 0.0
    mem = float(u(30, 65))
    net = float(np.exp(rng.normal(np.log(8e6), 1.0)))
    if profile in ("steady", "overprovisioned", "underprovisioned"):
        peak = {"steady": u(33, 46), "overprovisioned": u(8, 19), "underprovisioned": u(78, 90)}[
            profile
        ]
        trough = peak * u(0.3, 0.6)
        weekend = u(0.75, 1.0)
        if profile == "overprovisioned":
            mem = float(u(12, 33))
        elif profile == "underprovisioned":
            mem = float(u(45, 75))
    elif profile == "business_hours":
        peak, trough = u(33, 46), u(1.0, 3.0)
    elif profile == "idle":
        peak = u(0.4, 1.5)
        trough = peak * u(0.5, 0.9)
        mem, net = float(u(8, 25)), float(u(800, 4000))
    elif profile == "bursty":
        peak = u(4, 10)
        trough = peak * u(0.4, 0.8)
        bursts, burst_level = float(u(1.5, 4.0)), float(u(32, 44))
    return LoadModel(
        index=index,
        profile=profile,
        tz_offset_h=tz,
        cpu_trough=float(trough),
        cpu_peak=float(peak),
        weekend_factor=float(weekend),
        bursts_per_day=bursts,
        burst_level=burst_level,
        mem_level=mem,
        has_memory_agent=agent,
        net_peak_bytes=net,
        net_out_ratio=float(u(0.3, 1.5)),
    )


def build_fleet(
    n: int,
    accounts: list[tuple[str, str, tuple[str, ...], float]],
    types: dict[str, InstanceType],
    profile_mix: tuple[tuple[str, float], ...],
    memory_agent_share: float,
    rng: np.random.Generator,
) -> list[FleetMember]:
    """Draw ``n`` instances over ``accounts`` ((id, name, regions, fleet share) tuples)."""
    names = [p for p, _ in profile_mix]
    shares = np.array([s for _, s in profile_mix])
    weights = np.array([a[3] for a in accounts])
    account_of = rng.choice(len(accounts), size=n, p=weights / weights.sum())
    profiles = rng.choice(names, size=n, p=shares / shares.sum())
    agents = rng.random(n) < memory_agent_share
    ids = rng.integers(0, 16, size=(n, 17))
    fleet = []
    for i in range(n):
        account_id, account_name, regions, _ = accounts[account_of[i]]
        in_primary = len(regions) == 1 or rng.random() < PRIMARY_REGION_SHARE
        region = regions[0] if in_primary else regions[1]
        profile = str(profiles[i])
        itype = types[str(rng.choice(PROFILE_TYPES[profile]))]
        load = _load_model(i, profile, REGION_TZ_OFFSET_H[region], bool(agents[i]), rng)
        app = str(rng.choice(APPS))
        tags = {
            "Name": f"{app}-{i:05d}",
            "app": app,
            "env": account_name,
            "team": f"team-{app.split('-')[0]}",
        }
        if profile == "business_hours":
            tags["schedule"] = "office-hours"
        fleet.append(
            FleetMember(
                instance_id="i-" + "".join(f"{d:x}" for d in ids[i]),
                account_id=account_id,
                account_name=account_name,
                region=region,
                instance_type=itype,
                profile=profile,
                load=load,
                tags=tags,
            )
        )
    return fleet


def assign_platforms(
    fleet: list[FleetMember], mix: tuple[tuple[str, float], ...], rng: np.random.Generator
) -> list[FleetMember]:
    """Give each member an OS drawn from ``mix``; Graviton types draw only arm64 OSes.

    Drawn from its own generator after the fleet, so a fleet without a mix is
    exactly the fleet it always was.
    """
    if not mix:
        return fleet
    names = [p for p, _ in mix]
    shares = np.array([s for _, s in mix], dtype=float)
    arm = np.array([p in ARM_PLATFORMS for p in names])
    out = []
    for m in fleet:
        is_arm = m.instance_type.family.endswith("g")
        w = shares * arm if is_arm and (shares * arm).sum() > 0 else shares
        out.append(replace(m, platform=str(rng.choice(names, p=w / w.sum()))))
    return out
