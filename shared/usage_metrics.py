"""Which CloudWatch usage metrics bill as which CUR usage types, and how to convert.

The simulator writes these metrics consistent with its CUR, the CloudWatch ingestor
fetches them and the anomaly service prices their deviations, so the mapping lives
here, declared once. A metric's datapoint (one ``stat`` over ``period_s``) converts to
the CUR usage amount of its usage type as

* a *counter* (``gauge_hours`` None): ``value * to_usage`` (bytes -> GB, ms -> s ...);
* a *gauge* (instances, stored bytes): ``value * to_usage * period_s / 3600 /
  gauge_hours`` (an instance for an hour is one ``Hrs``; a GB for ``HOURS_PER_MONTH``
  hours is one ``GB-Mo``).

``scale_by`` names a per-resource factor the metric does not carry (a Lambda
function's memory in GB turns seconds into GB-seconds); callers that know it pass it
(inventory), else ``DEFAULT_SCALE`` is assumed and the estimate is labelled so.
``CATALOGUE_USD`` holds us-east-1 list prices per usage type: the fallback when an
account's CUR has not taught its own effective rate yet.

>>> spec = usage_metric("AWS/NATGateway", "BytesOutToDestination")
>>> spec.usage_types, round(spec.usage(2**30, 300), 6)
(('NatGateway-Bytes',), 1.0)
>>> usage_metric("AWS/AutoScaling", "GroupInServiceInstances").usage(4.0, 300)
0.3333333333333333
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = float(2**30)
#: AWS bills GB-Mo over the month's hours; 730 is the average month (error <= 2%).
HOURS_PER_MONTH = 730.0
#: Assumed when a per-resource factor (``scale_by``) is unknown: 1 GB of Lambda memory.
DEFAULT_SCALE = 1.0


@dataclass(frozen=True)
class UsageMetric:
    """One CloudWatch metric that drives a CUR usage type."""

    namespace: str
    metric: str
    stat: str
    unit: str
    #: The dimension naming the billed resource (its value is the resource id).
    dimension: str
    product_code: str
    #: CUR usage types (region prefix stripped) this metric bills as; the first is
    #: the one priced. ``BoxUsage`` is a family: ``BoxUsage:<instance type>``.
    usage_types: tuple[str, ...]
    to_usage: float = 1.0
    gauge_hours: float | None = None
    scale_by: str | None = None
    #: Extra dimensions the metric is published with (fixed values).
    fixed_dimensions: tuple[tuple[str, str], ...] = ()
    #: The value is already US dollars, month to date (AWS/Billing): not priced.
    cumulative_usd: bool = False

    def usage(self, value: float, period_s: int, scale: float | None = None) -> float:
        """CUR usage amount of one datapoint (see the module docstring)."""
        amount = value * self.to_usage
        if self.scale_by is not None:
            amount *= scale if scale is not None else DEFAULT_SCALE
        if self.gauge_hours is not None:
            amount *= period_s / 3600.0 / self.gauge_hours
        return amount

    @property
    def key(self) -> str:
        """``namespace/metric``, how streams and events name the metric."""
        return f"{self.namespace}/{self.metric}"


USAGE_METRICS: tuple[UsageMetric, ...] = (
    # NAT data processing bills every byte through the gateway, both directions.
    UsageMetric(
        "AWS/NATGateway", "BytesOutToDestination", "Sum", "Bytes", "NatGatewayId",
        "AmazonEC2", ("NatGateway-Bytes",), 1 / GIB,
    ),
    UsageMetric(
        "AWS/NATGateway", "BytesOutToSource", "Sum", "Bytes", "NatGatewayId",
        "AmazonEC2", ("NatGateway-Bytes",), 1 / GIB,
    ),
    UsageMetric(
        "AWS/AutoScaling", "GroupInServiceInstances", "Average", "None",
        "AutoScalingGroupName", "AmazonEC2", ("BoxUsage",), 1.0, gauge_hours=1.0,
    ),
    UsageMetric(
        "AWS/Lambda", "Invocations", "Sum", "Count", "FunctionName", "AWSLambda", ("Request",),
    ),
    UsageMetric(
        "AWS/Lambda", "Duration", "Sum", "Milliseconds", "FunctionName", "AWSLambda",
        ("Lambda-GB-Second",), 1 / 1000, scale_by="MemorySizeGB",
    ),
    UsageMetric(
        "AWS/S3", "PutRequests", "Sum", "Count", "BucketName", "AmazonS3", ("Requests-Tier1",),
        fixed_dimensions=(("FilterId", "EntireBucket"),),
    ),
    UsageMetric(
        "AWS/S3", "GetRequests", "Sum", "Count", "BucketName", "AmazonS3", ("Requests-Tier2",),
        fixed_dimensions=(("FilterId", "EntireBucket"),),
    ),
    UsageMetric(
        "AWS/S3", "BucketSizeBytes", "Average", "Bytes", "BucketName", "AmazonS3",
        ("TimedStorage-ByteHrs",), 1 / GIB, gauge_hours=HOURS_PER_MONTH,
        fixed_dimensions=(("StorageType", "StandardStorage"),),
    ),
    # On-demand tables bill request units; provisioned ones capacity-unit hours.
    UsageMetric(
        "AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum", "Count", "TableName",
        "AmazonDynamoDB", ("ReadRequestUnits",),
    ),
    UsageMetric(
        "AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum", "Count", "TableName",
        "AmazonDynamoDB", ("WriteRequestUnits",),
    ),
    UsageMetric(
        "AWS/DynamoDB", "ProvisionedReadCapacityUnits", "Average", "Count", "TableName",
        "AmazonDynamoDB", ("ReadCapacityUnit-Hrs",), gauge_hours=1.0,
    ),
    UsageMetric(
        "AWS/DynamoDB", "ProvisionedWriteCapacityUnits", "Average", "Count", "TableName",
        "AmazonDynamoDB", ("WriteCapacityUnit-Hrs",), gauge_hours=1.0,
    ),
    UsageMetric(
        "AWS/Billing", "EstimatedCharges", "Maximum", "None", "ServiceName", "*", ("*",),
        fixed_dimensions=(("Currency", "USD"),), cumulative_usd=True,
    ),
)  # fmt: skip

#: us-east-1 on-demand list prices (USD per CUR usage unit), the pricing fallback.
CATALOGUE_USD: dict[str, float] = {
    "NatGateway-Bytes": 0.045,
    "Request": 2e-07,
    "Lambda-GB-Second": 1.66667e-05,
    "Requests-Tier1": 5e-06,
    "Requests-Tier2": 4e-07,
    "TimedStorage-ByteHrs": 0.023,
    "ReadRequestUnits": 2.5e-07,
    "WriteRequestUnits": 1.25e-06,
    "ReadCapacityUnit-Hrs": 0.00013,
    "WriteCapacityUnit-Hrs": 0.00065,
}

_BY_KEY = {(m.namespace, m.metric): m for m in USAGE_METRICS}


def usage_metric(namespace: str, metric: str) -> UsageMetric | None:
    """The declared mapping of ``namespace``/``metric`` (None: not a usage metric)."""
    return _BY_KEY.get((namespace, metric))


def base_usage_type(usage_type: str) -> str:
    """A CUR usage type without its region prefix (``USW2-``, ``EU-``, ``us-west-2-``).

    >>> base_usage_type("USW2-NatGateway-Bytes"), base_usage_type("BoxUsage:m5.large")
    ('NatGateway-Bytes', 'BoxUsage:m5.large')
    >>> base_usage_type("EU-Request"), base_usage_type("us-west-2-Lambda-GB-Second")
    ('Request', 'Lambda-GB-Second')
    """
    head, sep, rest = usage_type.partition("-")
    if sep and rest and head.isupper() and head.isalnum() and 2 <= len(head) <= 5:
        return rest
    parts = usage_type.split("-", 3)
    if len(parts) == 4 and parts[0].islower() and parts[2].isdigit():
        return parts[3]
    return usage_type


def bills_as(spec: UsageMetric, usage_type: str) -> bool:
    """Whether a CUR usage type (any region) is one ``spec`` bills as."""
    base = base_usage_type(usage_type)
    return any(
        t == "*" or base == t or (t == "BoxUsage" and base.startswith("BoxUsage:"))
        for t in spec.usage_types
    )
