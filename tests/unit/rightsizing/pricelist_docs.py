"""Price List and Savings Plans API answers shaped like the real ones (trimmed), for tests.

The structure follows a real ``GetProducts`` document for m5.large in
us-east-1 (On-Demand under ``terms.OnDemand``, Reserved terms with
``termAttributes``) and a real ``DescribeSavingsPlansOfferingRates`` result.
"""

from __future__ import annotations

import json
from typing import Any

from shared.ec2_platforms import OPERATING_SYSTEMS


def product(
    instance_type: str,
    region: str,
    os: str,
    on_demand: str,
    ri_1y: str | None = None,
    ri_3y: str | None = None,
    tenancy: str = "Shared",
    vcpu: int = 2,
    memory: str = "8 GiB",
    processor: str = "Intel Xeon Platinum 8175",
    region_code: bool = True,
) -> str:
    """One GetProducts document (JSON text, as the API returns it)."""
    _, operating_system, software = OPERATING_SYSTEMS[os]
    sku = f"SKU{region}{os}{tenancy}{instance_type}".replace(".", "").replace("-", "")
    attrs = {
        "instanceType": instance_type,
        "vcpu": str(vcpu),
        "memory": memory,
        "operatingSystem": operating_system,
        "preInstalledSw": software,
        "licenseModel": "No License required",
        "tenancy": tenancy,
        "capacitystatus": "Used",
        "physicalProcessor": processor,
        "currentGeneration": "Yes",
    }
    if region_code:
        attrs["regionCode"] = region
    reserved: dict[str, Any] = {
        # A convertible partial-upfront term: never read as a no-upfront rate.
        f"{sku}.CUZHX8X6JH": {
            "termAttributes": {
                "LeaseContractLength": "1yr",
                "OfferingClass": "convertible",
                "PurchaseOption": "Partial Upfront",
            },
            "priceDimensions": {
                "a": {"unit": "Quantity", "pricePerUnit": {"USD": "294"}},
                "b": {"unit": "Hrs", "pricePerUnit": {"USD": "0.0001"}},
            },
        }
    }
    for term, rate in (("1yr", ri_1y), ("3yr", ri_3y)):
        if rate is not None:
            reserved[f"{sku}.{term}"] = {
                "termAttributes": {
                    "LeaseContractLength": term,
                    "OfferingClass": "standard",
                    "PurchaseOption": "No Upfront",
                },
                "priceDimensions": {"c": {"unit": "Hrs", "pricePerUnit": {"USD": rate}}},
            }
    return json.dumps(
        {
            "product": {"productFamily": "Compute Instance", "attributes": attrs, "sku": sku},
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "pricePerUnit": {"USD": on_demand},
                            }
                        }
                    }
                },
                "Reserved": reserved,
            },
        }
    )


def savings_plan_rate(
    instance_type: str, region: str, os: str, rate: str, years: int = 1, tenancy: str = "shared"
) -> dict[str, Any]:
    """One DescribeSavingsPlansOfferingRates search result (Compute, no upfront)."""
    usage = "BoxUsage" if tenancy == "shared" else "DedicatedUsage"
    return {
        "savingsPlanOffering": {
            "offeringId": f"off-{years}",
            "paymentOption": "No Upfront",
            "planType": "Compute",
            "durationSeconds": 31_536_000 * years,
            "currency": "USD",
            "planDescription": f"{years} year No Upfront Compute Savings Plan",
        },
        "rate": rate,
        "currency": "USD",
        "unit": "Hrs",
        "productType": "EC2",
        "serviceCode": "AmazonEC2",
        "usageType": f"{usage}:{instance_type}",
        "operation": "RunInstances",
        "properties": [
            {"name": "region", "value": region},
            {"name": "instanceType", "value": instance_type},
            {"name": "productDescription", "value": OPERATING_SYSTEMS[os][0]},
            {"name": "tenancy", "value": tenancy},
        ],
    }
