from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import orjson
import pytest

from services.ingestor.app import aws_clients, cloudwatch_poller, event_producer
from services.ingestor.inventory.collector import InventoryCollector
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.events import Ec2Instance, MetricDatapoint
from shared.topics import CLOUDWATCH_DATAPOINTS, INVENTORY_EC2
from tests.integration.ingestor.reading import read_topic

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
T0 = NOW - timedelta(hours=3) - timedelta(minutes=NOW.minute % 5)
MAIN, OTHER = "123456789012", "210987654321"
TRUST = orjson.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
).decode()


def put_points(cw, instance_id: str, minutes: range, agent: bool = False) -> None:
    data = []
    for m in minutes:
        ts = T0 + timedelta(minutes=m)
        dims = [{"Name": "InstanceId", "Value": instance_id}]
        data += [
            {
                "MetricName": "CPUUtilization",
                "Dimensions": dims,
                "Timestamp": ts,
                "Value": 10.0 + m,
                "Unit": "Percent",
            },
            {
                "MetricName": "NetworkIn",
                "Dimensions": dims,
                "Timestamp": ts,
                "Value": 1000.0 * m,
                "Unit": "Bytes",
            },
        ]
    for i in range(0, len(data), 20):
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=data[i : i + 20])
    if agent:
        mem = [
            {
                "MetricName": "mem_used_percent",
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": T0 + timedelta(minutes=m),
                "Value": 50.0,
            }
            for m in minutes
        ]
        for i in range(0, len(mem), 20):
            cw.put_metric_data(Namespace="CWAgent", MetricData=mem[i : i + 20])


def streams(points: list[MetricDatapoint]) -> dict[tuple[str, str, str], list[datetime]]:
    out: dict[tuple[str, str, str], list[datetime]] = {}
    for p in points:
        out.setdefault((p.resource_id, p.metric, p.stat), []).append(p.timestamp)
    return out


async def test_cloudwatch_watermark_continues_after_restart_without_gap_or_duplicate(
    moto: str, make_settings: Callable[..., IngestorSettings]
) -> None:
    ec2 = boto3.client("ec2", endpoint_url=moto, region_name="us-east-1")
    cw = boto3.client("cloudwatch", endpoint_url=moto, region_name="us-east-1")
    ids = [
        i["InstanceId"]
        for i in ec2.run_instances(ImageId="ami-12345678", MinCount=2, MaxCount=2)["Instances"]
    ]
    put_points(cw, ids[0], range(0, 60, 5), agent=True)
    put_points(cw, ids[1], range(0, 60, 5))
    settings = make_settings(
        ingestor_aws_endpoint_url=moto,
        ingestor_accounts=orjson.dumps({MAIN: {"regions": ["us-east-1"]}}).decode(),
        ingestor_cloudwatch_initial_lookback_s=3 * 3600.0,
    )
    lag = timedelta(seconds=settings.ingestor_cloudwatch_lag_s)
    async with event_producer(settings) as producer:
        poller = cloudwatch_poller(settings, producer, StateStore(settings.ingestor_state_dir))
        first = await poller.poll_once(now=T0 + timedelta(minutes=30) + lag)
    # "restart": a new producer, poller and state store over the same state dir
    put_points(cw, ids[0], range(60, 90, 5), agent=True)
    put_points(cw, ids[1], range(60, 90, 5))
    async with event_producer(settings) as producer:
        poller = cloudwatch_poller(settings, producer, StateStore(settings.ingestor_state_dir))
        second = await poller.poll_once(now=T0 + timedelta(minutes=90) + lag)
        assert await poller.poll_once(now=T0 + timedelta(minutes=90) + lag) == 0
    points = [r.event for r in await read_topic(settings, CLOUDWATCH_DATAPOINTS)]
    assert first + second == len(points)
    by_stream = streams(points)
    expected_times = [T0 + timedelta(minutes=m) for m in range(0, 90, 5)]
    for iid in ids:
        for metric, stat in (
            ("CPUUtilization", "Average"),
            ("CPUUtilization", "Maximum"),
            ("NetworkIn", "Sum"),
        ):
            assert sorted(by_stream[(iid, metric, stat)]) == expected_times
    assert sorted(by_stream[(ids[0], "mem_used_percent", "Average")]) == expected_times
    assert (ids[1], "mem_used_percent", "Average") not in by_stream
    cpu = [
        p
        for p in points
        if p.resource_id == ids[0] and p.metric == "CPUUtilization" and p.stat == "Average"
    ]
    assert {p.timestamp: p.value for p in cpu}[T0 + timedelta(minutes=15)] == 25.0
    assert {p.account_id for p in points} == {MAIN}


async def test_backfill_publishes_the_range_and_advances_watermarks(
    moto: str, make_settings: Callable[..., IngestorSettings]
) -> None:
    ec2 = boto3.client("ec2", endpoint_url=moto, region_name="us-east-1")
    cw = boto3.client("cloudwatch", endpoint_url=moto, region_name="us-east-1")
    iid = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]
    put_points(cw, iid, range(0, 120, 5))
    settings = make_settings(
        ingestor_aws_endpoint_url=moto,
        ingestor_accounts=orjson.dumps({MAIN: {"regions": ["us-east-1"]}}).decode(),
    )
    async with event_producer(settings) as producer:
        state = StateStore(settings.ingestor_state_dir)
        poller = cloudwatch_poller(settings, producer, state)
        sent = await poller.backfill(T0, T0 + timedelta(minutes=60), progress=False)
        assert sent == 12 * 3  # CPU Average + Maximum and NetworkIn Sum; no NetworkOut was put
    points = [r.event for r in await read_topic(settings, CLOUDWATCH_DATAPOINTS)]
    assert len(points) == sent
    key = f"{MAIN}/us-east-1/{iid}/CPUUtilization/Average"
    assert (
        StateStore(settings.ingestor_state_dir).watermark(key)
        == (T0 + timedelta(minutes=60)).isoformat()
    )


async def test_inventory_across_accounts_through_assumed_roles_publishes_changes_only(
    tmp_path: Path, moto: str, make_settings: Callable[..., IngestorSettings]
) -> None:
    accounts = {}
    for account in (MAIN, OTHER):
        sts = boto3.client("sts", endpoint_url=moto, region_name="us-east-1")
        role_arn = f"arn:aws:iam::{account}:role/spendstream-read"
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="setup")["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        regions = ["eu-west-1"] if account == MAIN else ["us-east-1", "eu-west-1"]
        for region in regions:
            ec2 = session.client("ec2", endpoint_url=moto, region_name=region)
            ec2.run_instances(
                ImageId="ami-12345678",
                MinCount=1,
                MaxCount=1,
                InstanceType="m5.large",
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": "team", "Value": account}]}
                ],
            )
        accounts[account] = {"role_arn": role_arn, "regions": regions}
    settings = make_settings(
        ingestor_aws_endpoint_url=moto, ingestor_accounts=orjson.dumps(accounts).decode()
    )
    clients = aws_clients(settings)
    from services.ingestor.accounts import parse_accounts

    configured = parse_accounts(settings.ingestor_accounts, "us-east-1")
    async with event_producer(settings) as producer:
        state = StateStore(settings.ingestor_state_dir)
        collector = InventoryCollector(clients, configured, producer, state)
        assert await collector.scan_once() == (3, 0)
        assert await collector.scan_once() == (0, 0)
        other = clients.for_account(configured[1], "ec2", "eu-west-1")
        victim = other.describe_instances()["Reservations"][0]["Instances"][0]["InstanceId"]
        other.terminate_instances(InstanceIds=[victim])
        assert await collector.scan_once() == (0, 1)
    events = [
        r.event
        for r in await read_topic(settings, INVENTORY_EC2)
        if isinstance(r.event, Ec2Instance)
    ]
    assert len(events) == 4
    live = [e for e in events if not e.deleted]
    assert {(e.account_id, e.region) for e in live} == {
        (MAIN, "eu-west-1"),
        (OTHER, "us-east-1"),
        (OTHER, "eu-west-1"),
    }
    assert all(e.tags["team"] == e.account_id for e in live)
    assert all(e.tenancy == "default" for e in live)  # Placement.Tenancy (moto: always default)
    gone = [e for e in events if e.deleted]
    assert [(g.instance_id, g.account_id, g.region) for g in gone] == [(victim, OTHER, "eu-west-1")]
