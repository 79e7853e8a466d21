"""The AWS Price List API (boto3 ``pricing``) behind ``catalogue refresh``.

The Price List API is served from a few regions only (us-east-1 among them),
whatever region's prices are asked for; the region asked for is a filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
from botocore.config import Config

from services.rightsizing.catalogue.files import load_catalogue, save_catalogue
from services.rightsizing.catalogue.pricelist import GET_PRODUCTS_FILTERS, merge_price_list

# The endpoint region of the Price List API (it is not served everywhere).
PRICING_API_REGION = "us-east-1"
# 100 is the API's largest page: fewest round trips over ~10k EC2 products a region.
PAGE_SIZE = 100
# botocore's standard retry mode backs off on throttling; 5 attempts ride out a burst.
RETRY_ATTEMPTS = 5


def fetch_price_list(region: str, endpoint_url: str | None = None) -> Iterator[str]:
    """Yield GetProducts documents for On-Demand Linux EC2 in ``region``."""
    client = boto3.client(
        "pricing",
        region_name=PRICING_API_REGION,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS}),
    )
    filters = [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in {**GET_PRODUCTS_FILTERS, "regionCode": region}.items()
    ]
    pages = client.get_paginator("get_products").paginate(
        ServiceCode="AmazonEC2",
        Filters=filters,
        FormatVersion="aws_v1",
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        yield from page.get("PriceList", [])


def refresh_catalogue(
    source: Path, output: Path, regions: list[str], endpoint_url: str | None = None
) -> dict[str, int]:
    """Update ``source``'s prices for ``regions`` from the API; write ``output``."""
    types = load_catalogue(source).types()
    counts: dict[str, int] = {}
    for region in regions:
        types, counts[region] = merge_price_list(
            types, fetch_price_list(region, endpoint_url), region
        )
    save_catalogue(types, output)
    return counts
