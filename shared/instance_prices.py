"""Hourly EC2 On-Demand prices by instance type and region, from a bundled table.

One table for whoever needs an instance's price without a pricing service: the
simulator prices its fleet with it, and the anomaly service prices metric
incidents (instance type from the inventory topic). The table holds real
us-east-1 On-Demand Linux rates for common types (``data/NOTICE.md``); other
regions apply approximate multipliers. A type it does not hold has no price
(``None``): callers say what they assume instead.

>>> hourly_price("m5.large", "us-east-1"), hourly_price("m5.large", "eu-central-1")
(0.096, 0.1152)
>>> hourly_price("u-24tb1.metal", "us-east-1") is None
True
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

#: Approximate On-Demand price ratio to us-east-1 (regions outside it: 1.0).
REGION_PRICE_FACTOR: dict[str, float] = {
    "us-east-1": 1.0,
    "us-east-2": 1.0,
    "us-west-2": 1.0,
    "eu-west-1": 1.115,
    "eu-central-1": 1.2,
    "ap-southeast-2": 1.25,
}


@cache
def price_rows() -> tuple[dict[str, str], ...]:
    """The bundled table's rows (type, family, size, vCPU, memory, us-east-1 USD/hour)."""
    text = resources.files(__package__).joinpath("data/ec2_prices.csv").read_text()
    return tuple(csv.DictReader(text.splitlines()))


@cache
def _us_east_1() -> dict[str, float]:
    return {r["instance_type"]: float(r["usd_per_hour_us_east_1"]) for r in price_rows()}


def hourly_price(instance_type: str, region: str) -> float | None:
    """On-Demand Linux USD/hour of ``instance_type`` in ``region``; None if not in the table."""
    base = _us_east_1().get(instance_type)
    if base is None:
        return None
    return round(base * REGION_PRICE_FACTOR.get(region, 1.0), 6)
