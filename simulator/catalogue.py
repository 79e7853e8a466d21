"""Small price and region tables the simulator prices its fleet and usage with.

EC2 prices are real us-east-1 On-Demand Linux rates, shared with the anomaly service
(``shared/instance_prices.py``, ``shared/data/NOTICE.md``); other regions apply approximate
multipliers, good enough for credible totals.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.instance_prices import REGION_PRICE_FACTOR, price_rows

#: Usage-type prefix per region, as AWS writes it. us-east-1 has none
#: (real CUR: ``BoxUsage:m5.large``, ``USW2-BoxUsage:m5.large``).
REGION_PREFIX: dict[str, str] = {
    "us-east-1": "",
    "us-east-2": "USE2-",
    "us-west-2": "USW2-",
    "eu-west-1": "EU-",
    "eu-central-1": "EUC1-",
    "ap-southeast-2": "APS2-",
}
REGION_NAME: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}
#: Standard-time UTC offset of the office that works in each region (business hours).
REGION_TZ_OFFSET_H: dict[str, int] = {
    "us-east-1": -5,
    "us-east-2": -5,
    "us-west-2": -8,
    "eu-west-1": 0,
    "eu-central-1": 1,
    "ap-southeast-2": 10,
}
SIZE_ORDER = ("micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge")


@dataclass(frozen=True)
class InstanceType:
    """One EC2 instance type with its us-east-1 On-Demand Linux price."""

    name: str
    family: str
    size: str
    vcpu: int
    memory_gib: float
    usd_per_hour: float

    def price_in(self, region: str) -> float:
        """Hourly On-Demand price in ``region``."""
        return round(self.usd_per_hour * REGION_PRICE_FACTOR[region], 6)


def load_instance_types() -> dict[str, InstanceType]:
    """The bundled EC2 price table, keyed by type name."""
    return {
        row["instance_type"]: InstanceType(
            name=row["instance_type"],
            family=row["family"],
            size=row["size"],
            vcpu=int(row["vcpu"]),
            memory_gib=float(row["memory_gib"]),
            usd_per_hour=float(row["usd_per_hour_us_east_1"]),
        )
        for row in price_rows()
    }


def smaller_type(types: dict[str, InstanceType], name: str) -> InstanceType | None:
    """The next smaller size of the same family with fewer vCPUs, if the table has one.

    >>> types = load_instance_types()
    >>> smaller_type(types, "m5.2xlarge").name, smaller_type(types, "m5.large")
    ('m5.xlarge', None)
    """
    current = types[name]
    candidates = [
        t
        for t in types.values()
        if t.family == current.family
        and t.vcpu < current.vcpu
        and SIZE_ORDER.index(t.size) < SIZE_ORDER.index(current.size)
    ]
    return max(candidates, key=lambda t: SIZE_ORDER.index(t.size), default=None)
