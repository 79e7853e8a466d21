"""Publish the fleet's datapoints to CloudWatch with ``PutMetricData`` (moto or a sandbox).

Each 5-minute period becomes one ``StatisticValues`` entry (five 1-minute samples whose
average and maximum are the simulated ones), so ``GetMetricData`` returns both the
``Average`` and the ``Maximum`` the right-sizer needs. Real CloudWatch refuses
namespaces starting with ``AWS/`` and timestamps older than two weeks: use a custom
``namespace`` and a recent window there; moto accepts both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import boto3
import numpy as np

from simulator.fleet_view import day_timestamps

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg

#: PutMetricData takes up to 1,000 entries and 1 MB per call; 400 keeps well under both.
ENTRIES_PER_CALL = 400
#: Each 5-minute period is reported as five 1-minute samples (basic monitoring).
SAMPLES_PER_PERIOD = 5
AGENT_NAMESPACE = "CWAgent"


def _entries(
    org: SimulatedOrg, start: date | None, end: date | None, namespace: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    for member, day, data in org.iter_instance_days(start, end):
        stamps = day_timestamps(day)
        dims = [{"Name": "InstanceId", "Value": member.instance_id}]
        avg, peak = data["cpu_avg"], data["cpu_max"]
        low = np.clip(2 * avg - peak, 0.0, avg)
        for i, ts in enumerate(stamps):
            yield namespace, _stat("CPUUtilization", "Percent", dims, ts, avg[i], low[i], peak[i])
            for metric, key in (("NetworkIn", "net_in"), ("NetworkOut", "net_out")):
                per_sample = data[key][i] / SAMPLES_PER_PERIOD
                yield (
                    namespace,
                    _stat(metric, "Bytes", dims, ts, per_sample, per_sample, per_sample),
                )
            if member.load.has_memory_agent:
                yield (
                    AGENT_NAMESPACE,
                    {
                        "MetricName": "mem_used_percent",
                        "Dimensions": dims,
                        "Timestamp": ts,
                        "Value": float(data["mem"][i]),
                        "Unit": "Percent",
                    },
                )


def _stat(
    metric: str,
    unit: str,
    dims: list[dict[str, str]],
    ts: datetime,
    mean: float,
    low: float,
    high: float,
) -> dict[str, Any]:
    return {
        "MetricName": metric,
        "Dimensions": dims,
        "Timestamp": ts,
        "Unit": unit,
        "StatisticValues": {
            "SampleCount": float(SAMPLES_PER_PERIOD),
            "Sum": float(mean) * SAMPLES_PER_PERIOD,
            "Minimum": float(low),
            "Maximum": float(high),
        },
    }


def put_metric_data(
    org: SimulatedOrg,
    start: date | None = None,
    end: date | None = None,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    namespace: str = "AWS/EC2",
    client: Any = None,
) -> int:
    """Publish datapoints of [start, end); return how many entries were sent."""
    cw = client or boto3.client("cloudwatch", endpoint_url=endpoint_url, region_name=region)
    batches: dict[str, list[dict[str, Any]]] = {}
    sent = 0
    for ns, entry in _entries(org, start, end, namespace):
        batch = batches.setdefault(ns, [])
        batch.append(entry)
        if len(batch) >= ENTRIES_PER_CALL:
            cw.put_metric_data(Namespace=ns, MetricData=batch)
            sent += len(batch)
            batches[ns] = []
    for ns, batch in batches.items():
        if batch:
            cw.put_metric_data(Namespace=ns, MetricData=batch)
            sent += len(batch)
    return sent


__all__ = ["put_metric_data"]
