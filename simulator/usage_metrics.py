"""5-minute CloudWatch usage metrics consistent with the CUR (``shared.usage_metrics``).

Every usage series whose usage type a declared metric bills as gets one stream per
resource and metric: the resource's hourly cost (its weight of the series' cost, the
culprit resource also all of the anomalous extra, both spread over the day's hours as
the CUR's hourly line items are) divided by the CUR unit rate is its usage per hour,
split over the hour's twelve 5-minute periods with a little jitter that sums to the
hour exactly, then turned into the metric's unit. So a metric's usage summed over an
hour equals the CUR usage amount of that hour, and an injected cost anomaly moves the
metric from its start hour on. NAT gateway bytes split 80/20 between the two
directions; S3 ``BucketSizeBytes`` is a daily datapoint, as AWS publishes it; Auto
Scaling groups are the fleet's (account, region, type) groups, always in service.
``AWS/Billing EstimatedCharges`` is each account's month-to-date cost per service at
every hour's end.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from shared.instance_prices import REGION_PRICE_FACTOR
from shared.usage_metrics import USAGE_METRICS, UsageMetric, bills_as
from simulator.utilisation import STEPS_PER_DAY

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg

STEPS_PER_HOUR = 12
PERIOD_S = 300
#: Share of a NAT gateway's processed bytes per direction.
NAT_SHARES = {"BytesOutToDestination": 0.8, "BytesOutToSource": 0.2}
#: Lambda memory sizes (GB) a function is drawn from, by a hash of its name.
LAMBDA_MEMORY_GB = (0.5, 1.0, 1.5, 2.0, 3.0)
#: Spread of the 5-minute periods within an hour (lognormal sigma, renormalised).
WITHIN_HOUR_SIGMA = 0.15
DAILY_METRICS = frozenset({"BucketSizeBytes"})


@dataclass(frozen=True)
class UsageStream:
    """One metric of one resource, fed by one CUR series' resource."""

    spec: UsageMetric
    account_id: str
    region: str
    resource_id: str
    series: int  # index into org.series
    resource: int  # index into the series' resources
    share: float  # share of the resource's usage this metric carries
    #: CUR effective rate (USD per usage unit) and the per-resource scale (memory GB).
    unit_rate: float
    scale: float | None
    usage_type: str

    @property
    def dimensions(self) -> dict[str, str]:
        """The CloudWatch dimensions of the stream."""
        return {self.spec.dimension: self.resource_id, **dict(self.spec.fixed_dimensions)}

    @property
    def period_s(self) -> int:
        """86400 for daily storage metrics, else 300."""
        return 86_400 if self.spec.metric in DAILY_METRICS else PERIOD_S


def dimension_value(spec: UsageMetric, arn_or_name: str) -> str:
    """The CloudWatch dimension value of a CUR resource id (ARN tail, bucket name)."""
    if spec.namespace == "AWS/NATGateway":
        return arn_or_name.rsplit("/", 1)[-1]
    if spec.namespace == "AWS/Lambda":
        return arn_or_name.rsplit(":", 1)[-1]
    if spec.namespace == "AWS/DynamoDB":
        return arn_or_name.rsplit("/", 1)[-1]
    return arn_or_name


def lambda_memory_gb(name: str) -> float:
    """A function's memory size, fixed by its name."""
    return LAMBDA_MEMORY_GB[zlib.crc32(name.encode()) % len(LAMBDA_MEMORY_GB)]


def usage_streams(org: SimulatedOrg) -> list[UsageStream]:
    """Every priced usage stream of the organisation (not Billing, not ASGs)."""
    out: list[UsageStream] = []
    specs = [m for m in USAGE_METRICS if not m.cumulative_usd and m.usage_types != ("BoxUsage",)]
    for i, s in enumerate(org.series):
        if s.line_item_type != "Usage" or s.kind != "usage":
            continue
        for spec in specs:
            if s.product_code != spec.product_code or not bills_as(spec, s.usage_type):
                continue
            rate = s.rate * REGION_PRICE_FACTOR.get(s.region, 1.0)
            for r, rid in enumerate(s.resource_ids):
                if not rid:
                    continue
                name = dimension_value(spec, rid)
                scale = lambda_memory_gb(name) if spec.scale_by else None
                out.append(
                    UsageStream(
                        spec,
                        s.account_id,
                        s.region,
                        name,
                        i,
                        r,
                        NAT_SHARES.get(spec.metric, 1.0),
                        rate,
                        scale,
                        s.usage_type,
                    )
                )
    return out


def resource_hours(org: SimulatedOrg, streams: list[UsageStream], d: int) -> np.ndarray:
    """(streams x 24) CUR usage amount per hour of day index ``d`` (final CUR)."""
    base_w, extra_w = org.hour_split(d)
    out = np.zeros((len(streams), 24))
    for k, st in enumerate(streams):
        s = org.series[st.series]
        extra = float(org.extra[st.series, d])
        base = float(org.costs[st.series, d]) - extra
        cost = base * float(s.weights[st.resource]) * base_w[st.series]
        if org.culprit.get(s.series_id) == st.resource:
            cost = cost + extra * extra_w[st.series]
        out[k] = cost / st.unit_rate * st.share
    return out


def _jitter(org: SimulatedOrg, d: int, n: int) -> np.ndarray:
    """(n x 24 x 12) within-hour shares, each hour's twelve summing to 1."""
    rng = np.random.default_rng(np.random.SeedSequence([org.config.seed, 0x05AE, d]))
    w = rng.lognormal(0.0, WITHIN_HOUR_SIGMA, size=(n, 24, STEPS_PER_HOUR))
    return w / w.sum(axis=2, keepdims=True)


def day_usage(org: SimulatedOrg, streams: list[UsageStream], d: int) -> np.ndarray:
    """(streams x 288) CUR usage amount per 5-minute period of day ``d``."""
    hours = resource_hours(org, streams, d)
    per_step = hours[:, :, None] * _jitter(org, d, len(streams))
    gauge = np.array([st.spec.gauge_hours is not None for st in streams])
    per_step[gauge] = np.repeat(hours[gauge][:, :, None] / STEPS_PER_HOUR, STEPS_PER_HOUR, axis=2)
    return per_step.reshape(len(streams), STEPS_PER_DAY)


def to_metric(
    stream: UsageStream, usage: float | np.ndarray, period_s: int = PERIOD_S
) -> float | np.ndarray:
    """Invert the mapping: the metric value whose usage is ``usage`` over ``period_s``."""
    per_unit = stream.spec.usage(1.0, period_s, stream.scale)
    return usage / per_unit


def iter_usage_datapoints(
    org: SimulatedOrg, start: int = 0, end: int | None = None
) -> Iterator[tuple[UsageStream, datetime, float, int]]:
    """(stream, period start, metric value, period seconds) for days [start, end)."""
    streams = usage_streams(org)
    origin = datetime.combine(org.dates[0], datetime.min.time(), UTC)
    for d in range(start, len(org.dates) if end is None else end):
        usage = day_usage(org, streams, d)
        day0 = origin + timedelta(days=d)
        for k, st in enumerate(streams):
            if st.period_s == 86_400:
                total = float(usage[k].sum())
                yield st, day0, float(to_metric(st, total, 86_400)), 86_400
                continue
            values = to_metric(st, usage[k])
            for step, v in enumerate(np.asarray(values).tolist()):
                yield st, day0 + timedelta(seconds=PERIOD_S * step), v, PERIOD_S


def asg_groups(org: SimulatedOrg) -> dict[tuple[str, str, str], int]:
    """(account, region, instance type) -> instances: the fleet's Auto Scaling groups."""
    out: dict[tuple[str, str, str], int] = {}
    for m in org.fleet:
        key = (m.account_id, m.region, m.instance_type.name)
        out[key] = out.get(key, 0) + 1
    return out


def estimated_charges(org: SimulatedOrg, d: int) -> dict[tuple[str, str], np.ndarray]:
    """(account, product code) -> 24 month-to-date USD at the end of each hour of day ``d``."""
    base_w, extra_w = org.hour_split(d)
    first = d
    while first > 0 and not org.calendar.first_of_period[first]:
        first -= 1
    out: dict[tuple[str, str], np.ndarray] = {}
    for i, s in enumerate(org.series):
        before = float(org.costs[i, first:d].sum())
        extra = float(org.extra[i, d])
        hours = (float(org.costs[i, d]) - extra) * base_w[i] + extra * extra_w[i]
        key = (s.account_id, s.product_code)
        out[key] = out.get(key, np.zeros(24)) + before + np.cumsum(hours)
    return out


__all__ = ["UsageStream", "day_usage", "iter_usage_datapoints", "usage_streams"]
