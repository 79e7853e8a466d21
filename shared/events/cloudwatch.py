"""CloudWatch datapoints and EC2 inventory."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.base import Event, Int32


class MetricDatapoint(Event):
    """One CloudWatch datapoint for one resource, metric and statistic."""

    event_type = "spendstream.cloudwatch.datapoint"

    resource_id: str
    account_id: str
    region: str
    namespace: str = "AWS/EC2"
    metric: str = Field(description="e.g. CPUUtilization, NetworkIn, mem_used_percent")
    stat: str = Field("Average", description="Average, Maximum, Sum ...")
    unit: str | None = None
    period_s: Int32 = 300
    timestamp: datetime
    value: float
    dimensions: dict[str, str] = Field(
        default_factory=dict,
        description="The CloudWatch dimensions of the metric (usage metrics: the billed "
        "resource, e.g. NatGatewayId, FunctionName, BucketName; see shared.usage_metrics).",
    )


class Ec2Instance(Event):
    """Current state of one EC2 instance (compacted topic: latest wins)."""

    event_type = "spendstream.inventory.ec2-instance"

    instance_id: str
    account_id: str
    region: str
    instance_type: str
    state: str
    platform: str = "Linux/UNIX"
    tenancy: str = Field(
        "default", description="EC2 Placement.Tenancy: default (shared), dedicated or host"
    )
    architecture: str | None = None
    launch_time: datetime | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    observed_at: datetime
    deleted: bool = False
