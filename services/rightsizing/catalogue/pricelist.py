"""Turning AWS Price List ``GetProducts`` documents into catalogue prices (pure).

Each ``PriceList`` entry is a JSON document: ``product.attributes`` describes
the type, and the On-Demand hourly rate sits at
``terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD`` with unit
``Hrs``. ``merge_price_list`` (``catalogue refresh``) keeps On-Demand Linux
only; ``rates_from_document`` (``prices refresh``) reads any OS, licence and
tenancy plus the standard no-upfront Reserved Instance rates, and
``rates_from_savings_plans`` the Compute Savings Plans rates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson

from services.rightsizing.catalogue.model import InstanceType
from services.rightsizing.exceptions import CatalogueError
from shared.ec2_platforms import (
    LICENCE_INCLUDED,
    OPERATING_SYSTEMS,
    TENANCIES,
    os_from_platform_details,
    os_from_price_attributes,
    tenancy_key,
)
from shared.ec2_prices import RateKey, Rates

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


# Seconds in the Savings Plans API's one- and three-year terms.
TERM_SECONDS = {31_536_000: "1y", 94_608_000: "3y"}
_RI_TERMS = {"1yr": "ri_1y_no_upfront", "3yr": "ri_3y_no_upfront"}


def get_products_filters(region: str, os: str, tenancy: str) -> dict[str, str]:
    """GetProducts TERM_MATCH filters selecting one price list (licence included, used capacity)."""
    _, operating_system, software = OPERATING_SYSTEMS[os]
    return {
        "regionCode": region,
        "operatingSystem": operating_system,
        "preInstalledSw": software,
        "tenancy": next(k for k, v in TENANCIES.items() if v == tenancy),
        "capacitystatus": "Used",
        "licenseModel": LICENCE_INCLUDED,
    }


def _reserved_no_upfront(document: dict[str, Any]) -> dict[str, float]:
    """Standard, no-upfront Reserved Instance hourly rates by term."""
    out: dict[str, float] = {}
    for offer in document.get("terms", {}).get("Reserved", {}).values():
        attrs = offer.get("termAttributes", {})
        field = _RI_TERMS.get(attrs.get("LeaseContractLength", ""))
        if field is None or attrs.get("OfferingClass") != "standard":
            continue
        if attrs.get("PurchaseOption") != "No Upfront":
            continue
        for dimension in offer.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit") == "Hrs" and usd is not None and float(usd) > 0:
                out[field] = float(usd)
    return out


def rates_from_document(
    raw: str | bytes | dict[str, Any], region: str | None = None
) -> tuple[RateKey, Rates] | None:
    """(region, os, tenancy, type) and its On-Demand + RI rates, or None if not a list we keep.

    ``region`` is the one the request filtered on, for documents without
    ``regionCode``; a document naming another region is dropped, not relabelled.
    """
    try:
        document = raw if isinstance(raw, dict) else orjson.loads(raw)
        attrs = document["product"]["attributes"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise CatalogueError(f"Price List document is not GetProducts JSON ({exc})") from exc
    os = os_from_price_attributes(attrs)
    tenancy = tenancy_key(attrs.get("tenancy", ""))
    name, named = attrs.get("instanceType"), attrs.get("regionCode")
    if region is not None and named is not None and named != region:
        return None
    region = named or region
    if os is None or tenancy is None or not name or not region:
        return None
    if attrs.get("capacitystatus", "Used") != "Used":
        return None  # reservation and dedicated-host capacity rows are not instance hours
    rate = on_demand_rate(document)
    rates = Rates(on_demand=rate if rate and rate > 0 else None, **_reserved_no_upfront(document))
    return (region, os, tenancy, name), rates


def rates_from_savings_plans(result: dict[str, Any]) -> tuple[RateKey, Rates] | None:
    """One ``DescribeSavingsPlansOfferingRates`` search result as a Compute SP rate, or None."""
    offering = result.get("savingsPlanOffering", {})
    term = TERM_SECONDS.get(int(offering.get("durationSeconds", 0)))
    if (
        term is None
        or offering.get("planType") != "Compute"
        or offering.get("paymentOption") != "No Upfront"
        or result.get("unit") != "Hrs"
        or not any(u in result.get("usageType", "") for u in ("BoxUsage", "DedicatedUsage"))
    ):
        return None
    props = {p.get("name"): p.get("value", "") for p in result.get("properties", [])}
    os = os_from_platform_details(props.get("productDescription", ""))
    tenancy = tenancy_key(props.get("tenancy", ""))
    name, region = props.get("instanceType"), props.get("region")
    try:
        rate = float(result.get("rate", ""))
    except ValueError:
        return None
    if os is None or tenancy is None or not name or not region or rate <= 0:
        return None
    return (region, os, tenancy, name), Rates(**{f"compute_sp_{term}_no_upfront": rate})
