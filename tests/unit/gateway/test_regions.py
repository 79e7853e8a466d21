"""The region read from a usage type agrees with where the simulator (AWS's naming) spent it."""

from __future__ import annotations

from datetime import date

import pytest

from services.gateway.repositories.regions import GLOBAL, REGION_CODES, usage_type_region
from simulator import SimConfig, simulate_organisation
from simulator.catalogue import REGION_PREFIX


def test_every_simulated_region_prefix_is_known() -> None:
    for region, prefix in REGION_PREFIX.items():
        if prefix:
            assert REGION_CODES[prefix.rstrip("-")] == region


def test_the_region_of_every_simulated_series() -> None:
    org = simulate_organisation(
        SimConfig(seed=7, days=40, accounts=4, instances=80, start=date(2026, 6, 1))
    )
    regions = set()
    for s in org.series:
        want = s.region if s.region not in ("", "global") else GLOBAL
        assert usage_type_region(s.product_code, s.usage_type) == want, s.series_id
        regions.add(want)
    assert len(regions) >= 3, regions  # the check covers more than one region


@pytest.mark.parametrize(
    ("service", "usage_type", "region"),
    [
        ("AmazonEC2", "APN1-BoxUsage:m5.large", "ap-northeast-1"),
        ("AWSDataTransfer", "USE2-USW2-AWS-Out-Bytes", "us-east-2"),
        ("awskms", "us-gov-west-1-KMS-Requests", "us-gov-west-1"),
        ("AmazonEC2", "NatGateway-Bytes", "us-east-1"),
        ("AmazonRoute53", "HostedZone", GLOBAL),
        ("AmazonEC2", None, GLOBAL),
        ("AmazonEC2", "-", GLOBAL),
    ],
)
def test_aws_usage_type_names(service: str, usage_type: str | None, region: str) -> None:
    assert usage_type_region(service, usage_type) == region
