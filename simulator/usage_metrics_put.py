"""Publish the simulated usage metrics to CloudWatch with ``PutMetricData`` (moto, sandbox).

One entry per stream and period, with the stream's dimensions, in its declared
namespace (``shared.usage_metrics``), so the ingestor's usage discovery finds them
as it would in AWS. Real CloudWatch refuses ``AWS/`` namespaces: moto accepts them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import boto3

from simulator.cloudwatch_put import ENTRIES_PER_CALL
from simulator.usage_metrics import iter_usage_datapoints

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg


def put_usage_metric_data(
    org: SimulatedOrg,
    start: int = 0,
    end: int | None = None,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    client: Any = None,
) -> int:
    """Publish the usage datapoints of day indices [start, end); return how many were sent.

    Only streams in ``region`` go to the client (one client is one region).
    """
    cw = client or boto3.client("cloudwatch", endpoint_url=endpoint_url, region_name=region)
    batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    sent = 0
    for stream, ts, value, _period in iter_usage_datapoints(org, start, end):
        if stream.region != region:
            continue
        ns = stream.spec.namespace
        batches[ns].append(
            {
                "MetricName": stream.spec.metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in stream.dimensions.items()],
                "Timestamp": ts,
                "Value": float(value),
                "Unit": stream.spec.unit,
            }
        )
        if len(batches[ns]) >= ENTRIES_PER_CALL:
            cw.put_metric_data(Namespace=ns, MetricData=batches.pop(ns))
            sent += ENTRIES_PER_CALL
    for ns, batch in batches.items():
        cw.put_metric_data(Namespace=ns, MetricData=batch)
        sent += len(batch)
    return sent


__all__ = ["put_usage_metric_data"]
