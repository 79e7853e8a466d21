from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.ingestor.datapoint_file import replay_datapoints
from shared.events import MetricDatapoint, stable_id
from shared.topics import CLOUDWATCH_DATAPOINTS, CLOUDWATCH_USAGE
from simulator import SimConfig, simulate_organisation
from simulator.cloudwatch_out import write_cloudwatch
from tests.unit.ingestor.fakes import FakeProducer


@pytest.fixture(scope="module")
def org():
    return simulate_organisation(
        SimConfig(seed=3, accounts=2, days=30, start=date(2026, 6, 1), instances=3)
    )


@pytest.mark.parametrize("name", ["points.parquet", "points.jsonl.gz", "points.jsonl"])
async def test_simulated_cloudwatch_file_replays_every_point_once(
    org, tmp_path: Path, name: str
) -> None:
    written = write_cloudwatch(org, str(tmp_path / name), start=date(2026, 6, 29))
    producer = FakeProducer()
    sent = await replay_datapoints(tmp_path / name, producer)  # type: ignore[arg-type]
    points = producer.of(MetricDatapoint)
    assert sent == written == len(points) == len({p.id for p in points})
    first = points[0]
    key = f"{first.account_id}/{first.region}/{first.resource_id}/{first.metric}/{first.stat}"
    assert first.id == stable_id(key, first.timestamp.isoformat())  # the poller's id
    assert {p.namespace for p in points} <= {"AWS/EC2", "CWAgent"}
    assert all(s.key == s.event.resource_id for s in producer.sent)


async def test_unparseable_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"instance_id":"i-1","account_id":"1","region":"r","metric":"CPUUtilization",'
        '"stat":"Average","timestamp":"2026-06-01T00:00:00Z","value":1.5}\n'
        '{"instance_id":"i-1","account_id":"1","region":"r","metric":"CPUUtilization",'
        '"stat":"Average","timestamp":"2026-06-01T00:05:00Z","value":"x"}\n'
    )
    producer = FakeProducer()
    assert await replay_datapoints(path, producer) == 1  # type: ignore[arg-type]


async def test_usage_metric_rows_go_to_the_usage_topic_keyed_by_account(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"instance_id":"i-1","account_id":"1","region":"r","namespace":"AWS/EC2",'
        '"metric":"CPUUtilization","stat":"Average","timestamp":"2026-06-01T00:00:00Z",'
        '"value":1.5}\n'
        '{"instance_id":"nat-1","account_id":"2","region":"r","namespace":"AWS/NATGateway",'
        '"metric":"BytesOutToDestination","stat":"Sum","timestamp":"2026-06-01T00:00:00Z",'
        '"value":1e9}\n'
    )
    producer = FakeProducer()
    assert await replay_datapoints(path, producer) == 2  # type: ignore[arg-type]
    where = {(s.topic, s.key, s.event.resource_id) for s in producer.sent}
    assert where == {
        (CLOUDWATCH_DATAPOINTS.name, "i-1", "i-1"),
        (CLOUDWATCH_USAGE.name, "2", "nat-1"),  # never on the EC2 metric path
    }
