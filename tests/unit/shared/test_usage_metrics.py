"""The declared usage-metric mapping: every metric bills as a priced usage type."""

from __future__ import annotations

import pytest

from shared.usage_metrics import (
    CATALOGUE_USD,
    GIB,
    HOURS_PER_MONTH,
    USAGE_METRICS,
    base_usage_type,
    bills_as,
    usage_metric,
)

REQUIRED = {
    ("AWS/NATGateway", "BytesOutToDestination"),
    ("AWS/AutoScaling", "GroupInServiceInstances"),
    ("AWS/Lambda", "Invocations"),
    ("AWS/Lambda", "Duration"),
    ("AWS/S3", "PutRequests"),
    ("AWS/S3", "BucketSizeBytes"),
    ("AWS/DynamoDB", "ConsumedReadCapacityUnits"),
    ("AWS/Billing", "EstimatedCharges"),
}


def test_the_issue_s_metrics_are_all_declared_once() -> None:
    keys = [(m.namespace, m.metric) for m in USAGE_METRICS]
    assert len(keys) == len(set(keys))
    assert set(keys) >= REQUIRED


def test_every_priced_metric_has_a_catalogue_price_to_fall_back_on() -> None:
    for m in USAGE_METRICS:
        if m.cumulative_usd or m.usage_types == ("BoxUsage",):
            continue
        assert m.usage_types[0] in CATALOGUE_USD, m.key


@pytest.mark.parametrize(
    ("namespace", "metric", "value", "period", "scale", "usage"),
    [
        ("AWS/NATGateway", "BytesOutToDestination", 3 * GIB, 300, None, 3.0),
        ("AWS/Lambda", "Duration", 2000.0, 300, 1.5, 3.0),  # 2 s at 1.5 GB
        ("AWS/Lambda", "Duration", 2000.0, 300, None, 2.0),  # memory unknown: 1 GB
        ("AWS/AutoScaling", "GroupInServiceInstances", 6.0, 600, None, 1.0),
        ("AWS/S3", "BucketSizeBytes", GIB, 86_400, None, 24 / HOURS_PER_MONTH),
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", 40.0, 300, None, 40.0),
    ],
)
def test_a_datapoint_converts_to_its_cur_usage_amount(
    namespace: str, metric: str, value: float, period: int, scale: float | None, usage: float
) -> None:
    spec = usage_metric(namespace, metric)
    assert spec is not None
    assert spec.usage(value, period, scale) == pytest.approx(usage)


def test_region_prefixes_are_stripped_and_families_match() -> None:
    nat = usage_metric("AWS/NATGateway", "BytesOutToSource")
    asg = usage_metric("AWS/AutoScaling", "GroupInServiceInstances")
    assert nat is not None
    assert asg is not None
    assert bills_as(nat, "USW2-NatGateway-Bytes")
    assert bills_as(nat, "NatGateway-Bytes")
    assert not bills_as(nat, "USW2-NatGateway-Hours")
    assert bills_as(asg, "EU-BoxUsage:m5.large")
    assert not bills_as(asg, "EBS:VolumeUsage.gp3")
    assert base_usage_type("APS2-TimedStorage-ByteHrs") == "TimedStorage-ByteHrs"
    assert usage_metric("AWS/EC2", "CPUUtilization") is None
