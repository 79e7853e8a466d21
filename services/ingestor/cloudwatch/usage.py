"""Discovering the usage metrics of ``shared.usage_metrics`` in an account and region.

Unlike EC2 metrics (one stream per instance DescribeInstances lists), usage metrics
are found by ``ListMetrics`` per declared namespace and metric name: every published
dimension set naming the billed resource (NatGatewayId, FunctionName, BucketName,
TableName, AutoScalingGroupName, ServiceName) becomes one stream, whose resource id
is that dimension's value. A dimension set whose fixed dimensions differ (an S3
request-metrics filter other than the whole bucket, a currency other than USD) or
that lacks the resource dimension (Lambda's per-version rows are kept only when they
are the function as a whole) is skipped, so no usage is counted twice.
"""

from __future__ import annotations

from typing import Any

from services.ingestor.cloudwatch.plan import MetricSpec, Stream
from shared.usage_metrics import USAGE_METRICS, UsageMetric

#: AWS publishes billing metrics only in us-east-1.
BILLING_REGION = "us-east-1"
USAGE_NAMESPACES = frozenset(m.namespace for m in USAGE_METRICS)


def _wanted(spec: UsageMetric, dims: dict[str, str]) -> bool:
    if spec.dimension not in dims:
        return False
    if any(dims.get(k) != v for k, v in spec.fixed_dimensions):
        return False
    return set(dims) == {spec.dimension, *(k for k, _ in spec.fixed_dimensions)}


def usage_streams(cloudwatch: Any, account: str, region: str) -> list[Stream]:
    """One stream per declared usage metric and billed resource in ``region``."""
    out: list[Stream] = []
    for spec in USAGE_METRICS:
        if spec.namespace == "AWS/Billing" and region != BILLING_REGION:
            continue
        metric = MetricSpec(spec.namespace, spec.metric, (spec.stat,), spec.unit)
        pages = cloudwatch.get_paginator("list_metrics").paginate(
            Namespace=spec.namespace, MetricName=spec.metric
        )
        seen: set[tuple[tuple[str, str], ...]] = set()
        for page in pages:
            for listed in page.get("Metrics", []):
                pairs = tuple((d["Name"], d["Value"]) for d in listed.get("Dimensions", []))
                dims = dict(pairs)
                key = tuple(sorted(pairs))
                if key in seen or not _wanted(spec, dims):
                    continue
                seen.add(key)
                # As listed: CloudWatch matches a query's dimensions as a set, moto in order.
                out.append(Stream(account, region, dims[spec.dimension], metric, spec.stat, pairs))
    return out
