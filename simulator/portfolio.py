"""What each simulated account runs: AWS services, their usage types and cost behaviour.

Each :class:`UsageTemplate` describes one usage-type series the way it looks in a real
CUR (product code, usage type, operation, pricing unit and rate) and how its daily cost
behaves: level range (USD/day in a production-sized account), weekend factor, daily
growth, noise, whether it follows office hours within the day, and which resources it
is billed to. ``kind`` says how the cost is formed:

* ``usage`` — metered usage: level x growth x weekly pattern x lognormal AR(1) noise;
* ``hourly`` — always-on resources billed per hour (flat: resources x rate x 24);
* ``monthly`` — a charge posted on the first day of each month (e.g. hosted zones);
* ``box``/``ebs`` — EC2 BoxUsage and EBS volumes, derived from the simulated fleet.

The templates live in ``data/usage_templates.csv``. Rates are approximate public
us-east-1 list prices; they only set usage amounts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class UsageTemplate:
    """One usage-type series as it appears in CUR, with its cost behaviour."""

    usage_type: str
    operation: str
    unit: str
    rate: float
    kind: str = "usage"
    level: tuple[float, float] = (10.0, 100.0)
    weekend: tuple[float, float] = (1.0, 1.0)
    growth: tuple[float, float] = (0.0, 0.0)
    noise: float = 0.05
    diurnal: bool = False
    resource: str | None = None
    resources: tuple[int, int] = (1, 1)
    prefix: str = "region"  # "region" (USW2-), "regionname" (us-west-2-) or "none"


@dataclass(frozen=True)
class ServiceTemplate:
    """An AWS service: its CUR product code, FOCUS names and usage types."""

    product_code: str
    service_name: str
    category: str
    usages: tuple[UsageTemplate, ...]
    global_region: bool = False


@cache
def service_templates() -> dict[str, ServiceTemplate]:
    """The service portfolio from ``data/usage_templates.csv`` (one row per usage type)."""
    text = resources.files(__package__).joinpath("data/usage_templates.csv").read_text()
    grouped: dict[str, tuple[dict[str, str], list[UsageTemplate]]] = {}
    for row in csv.DictReader(text.splitlines()):
        usage = UsageTemplate(
            usage_type=row["usage_type"],
            operation=row["operation"],
            unit=row["unit"],
            rate=float(row["rate"]),
            kind=row["kind"],
            level=(float(row["level_lo"]), float(row["level_hi"])),
            weekend=(float(row["weekend_lo"]), float(row["weekend_hi"])),
            growth=(float(row["growth_lo"]), float(row["growth_hi"])),
            noise=float(row["noise"]),
            diurnal=row["diurnal"] == "1",
            resource=row["resource"] or None,
            resources=(int(row["resources_lo"]), int(row["resources_hi"])),
            prefix=row["prefix"],
        )
        grouped.setdefault(row["product_code"], (row, []))[1].append(usage)
    return {
        code: ServiceTemplate(
            code,
            head["service_name"],
            head["category"],
            tuple(usages),
            global_region=head["global_region"] == "1",
        )
        for code, (head, usages) in grouped.items()
    }


#: Services that appear as injected "new service" anomalies (never in the base portfolio):
#: (product code, service name, category, usage type, operation, unit, hourly rate, resource).
NEW_SERVICES: tuple[tuple[str, str, str, str, str, str, float, str], ...] = (
    (
        "AmazonSageMaker",
        "Amazon SageMaker",
        "AI and Machine Learning",
        "Host:ml.g5.2xlarge",
        "RunInstance",
        "Hrs",
        1.515,
        "endpoint",
    ),
    (
        "AmazonES",
        "Amazon OpenSearch Service",
        "Analytics",
        "ESInstance:r6g.4xlarge.search",
        "ESDomain",
        "Hrs",
        1.34,
        "domain",
    ),
    (
        "AmazonMSK",
        "Amazon Managed Streaming for Apache Kafka",
        "Analytics",
        "Kafka.m5.2xlarge",
        "RunBroker",
        "Hrs",
        0.84,
        "mskcluster",
    ),
)


@dataclass(frozen=True)
class Archetype:
    """A kind of member account: size, services (required + optional) and regions."""

    name: str
    scale: float
    fleet_share: float
    required: tuple[str, ...]
    optional: tuple[str, ...]
    regions: tuple[str, ...]
    tax_rate: float


_CORE = ("AmazonEC2", "AmazonS3", "AmazonCloudWatch", "AWSDataTransfer", "awskms")
ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "prod",
        1.0,
        1.0,
        (*_CORE, "AmazonRDS", "AWSELB", "AmazonCloudFront"),
        (
            "AWSLambda",
            "AmazonDynamoDB",
            "AmazonElastiCache",
            "AWSQueueService",
            "AmazonSNS",
            "AmazonRoute53",
            "AWSSecretsManager",
            "AmazonVPC",
        ),
        ("us-east-1", "us-west-2"),
        0.06,
    ),
    Archetype(
        "dev",
        0.3,
        0.5,
        (*_CORE, "AWSLambda", "AmazonECR"),
        (
            "AmazonRDS",
            "AmazonEKS",
            "AmazonDynamoDB",
            "AWSSecretsManager",
            "AWSQueueService",
            "AWSELB",
        ),
        ("us-east-1",),
        0.06,
    ),
    Archetype(
        "data",
        0.7,
        0.4,
        (*_CORE, "AWSGlue", "AmazonAthena"),
        ("AmazonRedshift", "AWSLambda", "AmazonDynamoDB", "AWSSecretsManager", "AmazonECR"),
        ("us-east-1", "us-east-2"),
        0.06,
    ),
    Archetype(
        "staging",
        0.25,
        0.3,
        (*_CORE, "AWSELB", "AmazonRDS"),
        ("AWSLambda", "AmazonDynamoDB", "AmazonEKS", "AWSQueueService", "AmazonSNS"),
        ("us-east-1",),
        0.06,
    ),
    Archetype(
        "prod-eu",
        0.6,
        0.6,
        (*_CORE, "AmazonRDS", "AWSELB"),
        (
            "AWSLambda",
            "AmazonDynamoDB",
            "AmazonElastiCache",
            "AmazonCloudFront",
            "AWSSecretsManager",
            "AmazonVPC",
        ),
        ("eu-west-1", "eu-central-1"),
        0.20,
    ),
    Archetype(
        "security",
        0.08,
        0.05,
        (*_CORE, "AWSCloudTrail", "AWSConfig"),
        ("AWSLambda", "AmazonSNS", "AWSSecretsManager"),
        ("us-east-1",),
        0.06,
    ),
    Archetype(
        "shared-services",
        0.15,
        0.2,
        (*_CORE, "AmazonRoute53", "AmazonVPC"),
        ("AmazonECR", "AWSSecretsManager", "AWSELB", "AmazonEKS"),
        ("us-east-1",),
        0.06,
    ),
    Archetype(
        "ml",
        0.4,
        0.3,
        (*_CORE, "AmazonECR", "AWSLambda"),
        ("AmazonDynamoDB", "AWSGlue", "AmazonAthena", "AWSSecretsManager"),
        ("us-west-2",),
        0.06,
    ),
    Archetype(
        "prod-apac",
        0.35,
        0.3,
        (*_CORE, "AmazonRDS", "AWSELB"),
        ("AWSLambda", "AmazonDynamoDB", "AmazonCloudFront", "AWSQueueService"),
        ("ap-southeast-2",),
        0.10,
    ),
)
#: AWS Business Support, billed to the payer on the 1st: 10% of the first $10k of monthly
#: usage, 7% up to $80k, 5% up to $250k, 3% above; at least $100.
SUPPORT_TIERS: tuple[tuple[float, float], ...] = (
    (10_000.0, 0.10),
    (80_000.0, 0.07),
    (250_000.0, 0.05),
    (float("inf"), 0.03),
)
SUPPORT_MINIMUM_USD = 100.0
