"""Accounts and their usage-type cost series (what is billed, to which resources).

A *series* is one account x service x usage type x region x line-item type; its daily
cost is split over its resources by fixed weights when line items are written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from simulator.catalogue import REGION_PREFIX
from simulator.fleet import FleetMember
from simulator.portfolio import (
    ARCHETYPES,
    Archetype,
    ServiceTemplate,
    UsageTemplate,
    service_templates,
)

MIN_SERVICES, MAX_SERVICES = 8, 15
#: gp3 volume size per instance: 20 GB root + this many GB per vCPU.
EBS_GB_PER_VCPU = 25
WORDS = (
    "assets",
    "logs",
    "backups",
    "events",
    "media",
    "exports",
    "artifacts",
    "lake",
    "reports",
    "images",
    "orders",
    "users",
    "sessions",
    "metrics",
    "archive",
)


@dataclass(frozen=True)
class Account:
    """One member account of the simulated organisation."""

    account_id: str
    name: str
    archetype: Archetype
    scale: float


@dataclass
class Series:
    """One cost series and how its cost behaves."""

    series_id: str
    account_id: str
    product_code: str
    service_name: str
    category: str
    usage_type: str
    operation: str
    region: str
    unit: str
    rate: float
    kind: str
    line_item_type: str = "Usage"
    resource_ids: tuple[str, ...] = ()
    weights: np.ndarray = field(default_factory=lambda: np.ones(1))
    diurnal: bool = False
    instance_type: str | None = None
    template: UsageTemplate | None = None
    flat_usd_per_day: float = 0.0


def build_accounts(n: int, rng: np.random.Generator) -> tuple[str, list[Account]]:
    """The payer id and ``n`` member accounts (archetypes in a fixed order)."""
    ids: list[int] = []
    while len(ids) < n + 1:
        candidate = int(rng.integers(100_000_000_000, 999_999_999_999))
        if candidate not in ids:
            ids.append(candidate)
    accounts = [
        Account(
            f"{ids[i + 1]:012d}",
            ARCHETYPES[i % len(ARCHETYPES)].name
            + ("" if i < len(ARCHETYPES) else f"-{i // len(ARCHETYPES) + 1}"),
            ARCHETYPES[i % len(ARCHETYPES)],
            float(np.exp(rng.normal(0.0, 0.15))),
        )
        for i in range(n)
    ]
    return f"{ids[0]:012d}", accounts


def usage_type_for(template: UsageTemplate, region: str) -> str:
    """The usage type as AWS spells it in ``region`` (us-east-1 carries no prefix)."""
    if template.prefix == "none":
        return template.usage_type
    if template.prefix == "regionname":
        return f"{region}-{template.usage_type}"
    return REGION_PREFIX[region] + template.usage_type


def _hex(rng: np.random.Generator, n: int) -> str:
    return "".join(f"{d:x}" for d in rng.integers(0, 16, size=n))


def resource_id(kind: str, account: Account, region: str, i: int, rng: np.random.Generator) -> str:
    """A realistic resource id (bucket name or ARN) for one resource of ``kind``."""
    a, name = account.account_id, f"{account.name}-{WORDS[i % len(WORDS)]}-{i}"
    arn = f"arn:aws:{{}}:{region}:{a}:"
    return {
        "bucket": f"{name}-{a[-4:]}",
        "snapshot": arn.format("ec2") + f"snapshot/snap-{_hex(rng, 17)}",
        "natgateway": arn.format("ec2") + f"natgateway/nat-{_hex(rng, 17)}",
        "eip": arn.format("ec2") + f"elastic-ip/eipalloc-{_hex(rng, 17)}",
        "db": arn.format("rds") + f"db:{name}",
        "function": arn.format("lambda") + f"function:{name}",
        "loggroup": arn.format("logs") + f"log-group:/aws/{name}",
        "table": arn.format("dynamodb") + f"table/{name}",
        "distribution": f"arn:aws:cloudfront::{a}:distribution/E{_hex(rng, 13).upper()}",
        "loadbalancer": arn.format("elasticloadbalancing")
        + f"loadbalancer/app/{name}/{_hex(rng, 16)}",
        "cluster": arn.format("eks") + f"cluster/{name}",
        "cache": arn.format("elasticache") + f"cluster:{name}",
        "key": arn.format("kms") + f"key/{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 12)}",
        "queue": arn.format("sqs") + name,
        "topic": arn.format("sns") + name,
        "hostedzone": f"arn:aws:route53:::hostedzone/Z{_hex(rng, 20).upper()}",
        "secret": arn.format("secretsmanager") + f"secret:{name}-{_hex(rng, 6)}",
        "repository": arn.format("ecr") + f"repository/{name}",
        "job": arn.format("glue") + f"job/{name}",
        "workgroup": arn.format("athena") + f"workgroup/{name}",
        "redshift": arn.format("redshift") + f"cluster:{name}",
        "vpcendpoint": arn.format("ec2") + f"vpc-endpoint/vpce-{_hex(rng, 17)}",
    }.get(kind, arn.format(kind) + f"{kind}/{name}")


def _pick_services(arch: Archetype, rng: np.random.Generator) -> list[ServiceTemplate]:
    lo = max(MIN_SERVICES - len(arch.required), 0)
    hi = min(MAX_SERVICES - len(arch.required), len(arch.optional))
    k = int(rng.integers(min(lo, hi), hi + 1))
    chosen = list(rng.choice(arch.optional, size=k, replace=False)) if k else []
    templates = service_templates()
    return [templates[c] for c in (*arch.required, *sorted(chosen))]


def build_series(
    accounts: list[Account], fleet: list[FleetMember], rng: np.random.Generator
) -> list[Series]:
    """Every usage series of every account (EC2 BoxUsage/EBS follow the fleet)."""
    by_place: dict[tuple[str, str], list[FleetMember]] = defaultdict(list)
    for member in fleet:
        by_place[(member.account_id, member.region)].append(member)
    out: list[Series] = []
    for account in accounts:
        home = account.archetype.regions[0]
        for svc in _pick_services(account.archetype, rng):
            region = "global" if svc.global_region else home
            for tpl in svc.usages:
                out.extend(_series_of(account, svc, tpl, region, by_place, rng))
    return out


def _series_of(
    account: Account,
    svc: ServiceTemplate,
    tpl: UsageTemplate,
    region: str,
    by_place: dict[tuple[str, str], list[FleetMember]],
    rng: np.random.Generator,
) -> list[Series]:
    def make(
        ut: str,
        reg: str,
        ids: tuple[str, ...],
        weights: np.ndarray,
        flat_usd_per_day: float,
        instance_type: str | None = None,
    ) -> Series:
        return Series(
            f"{account.account_id}|{svc.product_code}|{ut}|{reg}|Usage",
            account.account_id,
            svc.product_code,
            svc.service_name,
            svc.category,
            ut,
            tpl.operation,
            reg,
            tpl.unit,
            tpl.rate,
            tpl.kind,
            resource_ids=ids,
            weights=weights,
            diurnal=tpl.diurnal,
            template=tpl,
            instance_type=instance_type,
            flat_usd_per_day=flat_usd_per_day,
        )

    if tpl.kind in ("box", "ebs"):
        result = []
        for (acct, reg), members in sorted(by_place.items()):
            if acct != account.account_id:
                continue
            if tpl.kind == "ebs":
                sizes = np.array([20 + EBS_GB_PER_VCPU * m.instance_type.vcpu for m in members])
                ids = tuple("vol-" + m.instance_id[2:] for m in members)
                result.append(
                    make(
                        usage_type_for(tpl, reg),
                        reg,
                        ids,
                        sizes / sizes.sum(),
                        flat_usd_per_day=float(sizes.sum()) * tpl.rate,
                    )
                )
                continue
            by_type: dict[str, list[FleetMember]] = defaultdict(list)
            for m in members:
                by_type[m.instance_type.name].append(m)
            for tname, group in sorted(by_type.items()):
                ut = usage_type_for(tpl, reg) + ":" + tname
                prices = np.array([m.usd_per_hour for m in group])
                same = all(m.platform == group[0].platform for m in group)
                result.append(
                    make(
                        ut,
                        reg,
                        tuple(m.instance_id for m in group),
                        np.full(len(group), 1.0 / len(group)) if same else prices / prices.sum(),
                        instance_type=tname,
                        flat_usd_per_day=float(prices[0] * len(group) if same else prices.sum())
                        * 24,
                    )
                )
        return result
    n_res = int(rng.integers(tpl.resources[0], tpl.resources[1] + 1)) if tpl.resource else 0
    ids = (
        tuple(resource_id(tpl.resource, account, region, i, rng) for i in range(n_res))
        if tpl.resource
        else ("",)
    )
    weights = rng.dirichlet(np.full(len(ids), 1.5)) if len(ids) > 1 else np.ones(1)
    if tpl.kind == "hourly" or tpl.kind == "monthly":
        weights = np.full(len(ids), 1.0 / len(ids))
    flat = tpl.rate * 24 * len(ids) if tpl.kind == "hourly" else tpl.rate * len(ids)
    return [make(usage_type_for(tpl, region), region, ids, weights, flat_usd_per_day=flat)]
