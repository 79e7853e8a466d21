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
#: EC2 ``PlatformDetails`` -> approximate licence cost added per vCPU-hour over
#: Linux (read off public m5 rates: Windows m5.large $0.188 vs $0.096 Linux;
#: SQL Server on top of the OS). Good enough for credible totals; the
#: simulated world's truth, not AWS's price list.
PLATFORM_USD_PER_VCPU_HOUR: dict[str, float] = {
    "Linux/UNIX": 0.0,
    "Red Hat Enterprise Linux": 0.013,
    "SUSE Linux": 0.0125,
    "Windows": 0.046,
    "Windows with SQL Server Web": 0.063,
    "Windows with SQL Server Standard": 0.286,
    "Windows with SQL Server Enterprise": 0.431,
    "Linux with SQL Server Web": 0.017,
    "Linux with SQL Server Standard": 0.24,
    "Linux with SQL Server Enterprise": 0.385,
}
#: Platforms with arm64 builds (a Graviton type only ever runs one of these).
ARM_PLATFORMS = ("Linux/UNIX", "Red Hat Enterprise Linux", "SUSE Linux")
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

    def price_in(self, region: str, platform: str = "Linux/UNIX") -> float:
        """Hourly On-Demand price in ``region`` for ``platform`` (licence included)."""
        return simulated_price(self.usd_per_hour, self.vcpu, region, platform)


def simulated_price(us_east_1_linux: float, vcpu: int, region: str, platform: str) -> float:
    """The simulated world's $/h: us-east-1 Linux x region factor + licence per vCPU.

    >>> [simulated_price(0.096, 2, "us-east-1", p) for p in ("Linux/UNIX", "Windows")]
    [0.096, 0.188]
    """
    linux = us_east_1_linux * REGION_PRICE_FACTOR[region]
    return round(linux + PLATFORM_USD_PER_VCPU_HOUR[platform] * vcpu, 6)


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
