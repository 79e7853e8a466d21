"""The AWS Price List (boto3 ``pricing``) and Savings Plans rate APIs behind the refresh commands.

The Price List API is served from a few regions only (us-east-1 among them),
whatever region's prices are asked for; the region asked for is a filter. The
Savings Plans API is global (one endpoint, signed for us-east-1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from services.rightsizing.catalogue.files import load_catalogue, save_catalogue
from services.rightsizing.catalogue.pricelist import (
    GET_PRODUCTS_FILTERS,
    get_products_filters,
    merge_price_list,
    rates_from_document,
    rates_from_savings_plans,
)
from shared.ec2_platforms import OPERATING_SYSTEMS
from shared.ec2_prices import load_prices, save_prices

# The endpoint region of the Price List API (it is not served everywhere).
PRICING_API_REGION = "us-east-1"
# 100 is the API's largest page: fewest round trips over ~10k EC2 products a region.
PAGE_SIZE = 100
# The Savings Plans rate API's largest page.
SP_PAGE_SIZE = 1000
# botocore's standard retry mode backs off on throttling; 5 attempts ride out a burst.
RETRY_ATTEMPTS = 5
_CONFIG = Config(retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS})


def _products(filters: dict[str, str], endpoint_url: str | None) -> Iterator[str]:
    client = boto3.client(
        "pricing", region_name=PRICING_API_REGION, endpoint_url=endpoint_url, config=_CONFIG
    )
    pages = client.get_paginator("get_products").paginate(
        ServiceCode="AmazonEC2",
        Filters=[{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in filters.items()],
        FormatVersion="aws_v1",
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        yield from page.get("PriceList", [])


def fetch_price_list(region: str, endpoint_url: str | None = None) -> Iterator[str]:
    """Yield GetProducts documents for On-Demand Linux EC2 in ``region``."""
    return _products({**GET_PRODUCTS_FILTERS, "regionCode": region}, endpoint_url)


def fetch_savings_plans_rates(
    region: str, oses: Iterable[str], tenancies: Iterable[str], endpoint_url: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield Compute Savings Plans (no upfront) EC2 rates for ``region`` (nextToken paging)."""
    client = boto3.client(
        "savingsplans", region_name=PRICING_API_REGION, endpoint_url=endpoint_url, config=_CONFIG
    )
    request: dict[str, Any] = {
        "savingsPlanPaymentOptions": ["No Upfront"],
        "savingsPlanTypes": ["Compute"],
        "products": ["EC2"],
        "serviceCodes": ["AmazonEC2"],
        "filters": [
            {"name": "region", "values": [region]},
            {"name": "productDescription", "values": [OPERATING_SYSTEMS[o][0] for o in oses]},
            {"name": "tenancy", "values": list(tenancies)},
        ],
        "maxResults": SP_PAGE_SIZE,
    }
    while True:
        page = client.describe_savings_plans_offering_rates(**request)
        yield from page.get("searchResults", [])
        token = page.get("nextToken")
        if not token:
            return
        request["nextToken"] = token


def refresh_prices(
    output: Path,
    regions: list[str],
    oses: list[str],
    tenancies: list[str],
    pricing_endpoint: str | None = None,
    savingsplans_endpoint: str | None = None,
    savings_plans: bool = True,
) -> dict[tuple[str, str, str], int]:
    """Fetch every (region, OS, tenancy) list into ``output`` (kept rows for other lists)."""
    table = load_prices(output)
    counts: dict[tuple[str, str, str], int] = {}
    for region in regions:
        for os in oses:
            for tenancy in tenancies:
                docs = _products(get_products_filters(region, os, tenancy), pricing_endpoint)
                found = [r for d in docs if (r := rates_from_document(d, region)) is not None]
                for key, rates in found:
                    table.update(key, rates)
                counts[(region, os, tenancy)] = len(found)
        if savings_plans:
            rows = fetch_savings_plans_rates(region, oses, tenancies, savingsplans_endpoint)
            for row in rows:
                parsed = rates_from_savings_plans(row)
                if parsed is not None:
                    table.update(*parsed)
    save_prices(table, output)
    return counts


def refresh_catalogue(
    source: Path, output: Path, regions: list[str], endpoint_url: str | None = None
) -> dict[str, int]:
    """Update ``source``'s prices for ``regions`` from the API; write ``output``."""
    types = load_catalogue(source, prices=None).types()
    counts: dict[str, int] = {}
    for region in regions:
        types, counts[region] = merge_price_list(
            types, fetch_price_list(region, endpoint_url), region
        )
    save_catalogue(types, output)
    return counts
