"""Turning AWS Price List ``GetProducts`` documents into catalogue prices (pure).

Each ``PriceList`` entry is a JSON document: ``product.attributes`` describes
the type, and the On-Demand hourly rate sits at
``terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD`` with unit
``Hrs``. Reserved terms are ignored: we compare On-Demand, as Compute
Optimizer's default does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson

from services.rightsizing.catalogue.model import InstanceType
from services.rightsizing.exceptions import CatalogueError

# The filters that select one Linux, shared-tenancy, no-extra-software,
# On-Demand (capacity "Used") rate per instance type: the price users compare.
GET_PRODUCTS_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}
_GENERATION = re.compile(r"^[a-z]+(\d+)")


def on_demand_rate(document: dict[str, Any]) -> float | None:
    """The hourly On-Demand USD rate in one GetProducts document, or None."""
    for offer in document.get("terms", {}).get("OnDemand", {}).values():
        for dimension in offer.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit") == "Hrs" and usd is not None:
                return float(usd)
    return None


def type_from_attributes(attrs: dict[str, str]) -> InstanceType:
    """A catalogue entry for a type we did not know, from Price List attributes."""
    name = attrs["instanceType"]
    family, _, size = name.partition(".")
    match = _GENERATION.match(family)
    processor = attrs.get("physicalProcessor", "")
    graviton = "graviton" in processor.lower()
    manufacturer = "aws" if graviton else ("amd" if "amd" in processor.lower() else "intel")
    generation = int(match.group(1)) if match else 0
    return InstanceType(
        name=name,
        family=family,
        size=size,
        generation=generation,
        vcpu=int(attrs.get("vcpu", "0")),
        memory_gib=float(attrs.get("memory", "0 GiB").split()[0].replace(",", "")),
        arch="arm64" if graviton else "amd64",
        cpu_manufacturer=manufacturer,
        hypervisor="nitro" if generation >= 5 else "xen",
        prices={},
    )


def merge_price_list(
    known: Iterable[InstanceType], documents: Iterable[str | bytes | dict[str, Any]], region: str
) -> tuple[list[InstanceType], int]:
    """Apply GetProducts documents for ``region``; returns (types, prices updated)."""
    types = {t.name: replace(t, prices=dict(t.prices)) for t in known}
    updated = 0
    for raw in documents:
        try:
            document = raw if isinstance(raw, dict) else orjson.loads(raw)
            attrs = document["product"]["attributes"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise CatalogueError(f"Price List document is not GetProducts JSON ({exc})") from exc
        name, rate = attrs.get("instanceType"), on_demand_rate(document)
        if not name or rate is None or rate <= 0:
            continue
        if name not in types:
            types[name] = type_from_attributes(attrs)
        types[name].prices[region] = rate
        updated += 1
    return list(types.values()), updated
