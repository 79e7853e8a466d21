"""The CloudWatch ingestor fetches the declared usage metrics with their dimensions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import orjson
import pytest

from services.ingestor.app import cloudwatch_poller, event_producer
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.events import MetricDatapoint
from shared.topics import CLOUDWATCH_DATAPOINTS, CLOUDWATCH_USAGE
from shared.usage_metrics import usage_metric
from simulator import SimConfig, simulate_organisation
from simulator.usage_metrics import PERIOD_S, STEPS_PER_HOUR, usage_streams
from simulator.usage_metrics_put import put_usage_metric_data
from tests.integration.ingestor.reading import read_topic

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
T0 = NOW - timedelta(hours=2) - timedelta(minutes=NOW.minute % 5)
MAIN = "123456789012"
NAT = "nat-0123456789abcdef0"


def _put(cw, namespace: str, metric: str, dims: dict[str, str], value: float) -> None:  # type: ignore[no-untyped-def]
    data = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            "Timestamp": T0 + timedelta(minutes=m),
            "Value": value + m,
        }
        for m in range(0, 60, 5)
    ]
    cw.put_metric_data(Namespace=namespace, MetricData=data)


async def test_usage_metrics_are_published_with_their_resource_and_dimensions(
    moto: str, make_settings: Callable[..., IngestorSettings]
) -> None:
    cw = boto3.client("cloudwatch", endpoint_url=moto, region_name="us-east-1")
    _put(cw, "AWS/NATGateway", "BytesOutToDestination", {"NatGatewayId": NAT}, 5e9)
    _put(cw, "AWS/Lambda", "Duration", {"FunctionName": "orders"}, 120_000.0)
    _put(cw, "AWS/S3", "GetRequests", {"BucketName": "logs", "FilterId": "EntireBucket"}, 900.0)
    # A narrower S3 request filter would count the same requests twice: skipped.
    _put(cw, "AWS/S3", "GetRequests", {"BucketName": "logs", "FilterId": "images-only"}, 1.0)
    _put(
        cw, "AWS/Billing", "EstimatedCharges", {"ServiceName": "AmazonEC2", "Currency": "USD"}, 40.0
    )
    settings = make_settings(
        ingestor_aws_endpoint_url=moto,
        ingestor_accounts=orjson.dumps({MAIN: {"regions": ["us-east-1"]}}).decode(),
        ingestor_cloudwatch_initial_lookback_s=3 * 3600.0,
        ingestor_cloudwatch_usage_metrics=True,
    )
    lag = timedelta(seconds=settings.ingestor_cloudwatch_lag_s)
    off = settings.model_copy(update={"ingestor_cloudwatch_usage_metrics": False})
    async with event_producer(off) as producer:  # the default: EC2 metrics only
        poller = cloudwatch_poller(off, producer, StateStore(off.ingestor_state_dir / "off"))
        assert await poller.poll_once(now=T0 + timedelta(minutes=60) + lag) == 0
    async with event_producer(settings) as producer:
        poller = cloudwatch_poller(settings, producer, StateStore(settings.ingestor_state_dir))
        sent = await poller.poll_once(now=T0 + timedelta(minutes=60) + lag)
    records = await read_topic(settings, CLOUDWATCH_USAGE)
    points: list[MetricDatapoint] = [r.event for r in records]
    assert sent == len(points) == 4 * 12
    assert {r.key for r in records} == {MAIN}  # keyed by account, to meet its unit rates
    # Usage points have their own topic, keyed by account: none reach the EC2 metric path.
    assert await read_topic(settings, CLOUDWATCH_DATAPOINTS) == []
    by = {(p.namespace, p.metric, p.resource_id): [] for p in points}  # type: ignore[var-annotated]
    for p in points:
        by[(p.namespace, p.metric, p.resource_id)].append(p)
    nat = by[("AWS/NATGateway", "BytesOutToDestination", NAT)]
    assert {p.dimensions["NatGatewayId"] for p in nat} == {NAT}
    assert {p.stat for p in nat} == {"Sum"}
    first = min(nat, key=lambda p: p.timestamp)
    spec = usage_metric(first.namespace, first.metric)
    assert spec is not None
    assert spec.usage(first.value, first.period_s) == pytest.approx(5e9 / 2**30)  # GB billed
    s3 = by[("AWS/S3", "GetRequests", "logs")]
    assert {p.dimensions["FilterId"] for p in s3} == {"EntireBucket"}
    billing = by[("AWS/Billing", "EstimatedCharges", "AmazonEC2")]
    assert {p.stat for p in billing} == {"Maximum"}
    assert by[("AWS/Lambda", "Duration", "orders")][0].dimensions == {"FunctionName": "orders"}


async def test_the_simulators_usage_metrics_round_trip_through_cloudwatch(
    moto: str, make_settings: Callable[..., IngestorSettings]
) -> None:
    org = simulate_organisation(
        SimConfig(seed=2, accounts=2, days=30, instances=6, start=(T0 - timedelta(days=29)).date())
    )
    cw = boto3.client("cloudwatch", endpoint_url=moto, region_name="us-east-1")
    put = put_usage_metric_data(org, 29, 30, client=cw)
    streams = [s for s in usage_streams(org) if s.region == "us-east-1" and s.period_s == PERIOD_S]
    assert put >= len(streams) * 24 * STEPS_PER_HOUR
    settings = make_settings(
        ingestor_aws_endpoint_url=moto,
        ingestor_accounts=orjson.dumps({MAIN: {"regions": ["us-east-1"]}}).decode(),
        ingestor_cloudwatch_usage_metrics=True,
    )
    day_end = datetime.combine(org.dates[-1], datetime.min.time(), UTC) + timedelta(days=1)
    async with event_producer(settings) as producer:
        poller = cloudwatch_poller(settings, producer, StateStore(settings.ingestor_state_dir))
        await poller.backfill(day_end - timedelta(hours=1), day_end, progress=False)
    points = [r.event for r in await read_topic(settings, CLOUDWATCH_USAGE)]
    # The last hour of every 5-minute stream, each datapoint naming its resource.
    got = {(p.namespace, p.metric, p.resource_id) for p in points}
    assert {(s.spec.namespace, s.spec.metric, s.resource_id) for s in streams} <= got
    assert all(p.dimensions for p in points)
