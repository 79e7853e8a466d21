"""A fleet through a real metric worker: one notified incident per real problem, noise quiet.

Inventory and datapoints go onto the embedded broker; a real anomaly worker
(metric loop only) reads both, keyed by instance. One host saturates for three
hours; another gets one-point blips. The saturation must come out as exactly
one resource incident that reaches subscribers (``notify=true``), priced from
the inventory's instance type; the blips are published and stay ``notify=false``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from shared.events import Ec2Instance, MetricDatapoint, stable_id
from shared.kafka import EventProducer, make_producer
from shared.topics import ANOMALIES, CLOUDWATCH_DATAPOINTS, INVENTORY_EC2, ensure_topics
from tests.harness.wait import wait_for
from tests.integration.anomaly import helpers as h

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

T0 = datetime(2026, 6, 1, tzinfo=UTC)
POINTS = 9 * 288  # nine days of 5-minute points: the baselines learn a week first
SATURATION = range(8 * 288 + 150, 8 * 288 + 186)  # three hours on day nine
BLIPS = (7 * 288 + 150,)  # one: the detector rests a day after an alert
# A noise seed whose two hosts have no (noise) alert in the day before their event: the
# detector rests a day after any alert, which would hide the saturation.
SEED = 15
HOSTS = {  # instance -> type
    "i-0saturates": "m5.2xlarge",
    "i-0blips": "m5.large",
    "i-0quiet1": "c5.large",
    "i-0quiet2": "r5.large",
}


def fleet_events() -> tuple[list[Ec2Instance], list[MetricDatapoint]]:
    rng = np.random.default_rng(SEED)
    inventory = [
        Ec2Instance(
            id=stable_id(i, "inv"),
            instance_id=i,
            account_id="111111111111",
            region="us-east-1",
            instance_type=t,
            state="running",
            observed_at=T0,
        )
        for i, t in HOSTS.items()
    ]
    points = []
    for n in range(POINTS):
        for instance in HOSTS:
            value = 30.0 + 3.0 * np.sin(2 * np.pi * n / 288) + rng.normal(0, 1.0)
            if instance == "i-0saturates" and n in SATURATION:
                value = 98.0 + rng.normal(0, 0.3)
            if instance == "i-0blips" and n in BLIPS:
                value += 45.0
            points.append(
                MetricDatapoint(
                    id=stable_id(instance, n),
                    resource_id=instance,
                    account_id="111111111111",
                    region="us-east-1",
                    metric="CPUUtilization",
                    stat="Average",
                    timestamp=T0 + timedelta(minutes=5 * n),
                    value=round(float(value), 3),
                )
            )
    return inventory, points


async def produce(bootstrap: str, prefix: str, inventory: bool) -> None:
    """The inventory, or the datapoints (keyed by instance id, as the ingestor does)."""
    settings = h.settings_for(bootstrap, prefix)
    await ensure_topics(settings)
    raw = make_producer(settings)
    await raw.start()
    try:
        producer = EventProducer(raw, settings)
        instances, points = fleet_events()
        if inventory:
            for item in instances:
                await producer.send(INVENTORY_EC2, item, item.instance_id)
        else:
            for point in points:
                await producer.send(CLOUDWATCH_DATAPOINTS, point, point.resource_id)
        await raw.flush()
    finally:
        await raw.stop()


def start_metric_worker(bootstrap: str, prefix: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SPENDSTREAM_TOPIC_PREFIX": prefix,
        "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "SPENDSTREAM_STATE_DIR": str(tmp),
        "SPENDSTREAM_ANOMALY_RUN_COSTS": "false",
        "SPENDSTREAM_LOG_JSON": "true",
    }
    with (tmp / "metric.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "services.anomaly"], cwd=h.REPO, env=env, stdout=log, stderr=log
        )


def test_one_saturation_is_one_notified_resource_incident_and_noise_stays_quiet(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    asyncio.run(produce(kafka_bootstrap, topic_prefix, inventory=True))
    worker = start_metric_worker(kafka_bootstrap, topic_prefix, tmp_path)
    try:
        # As in production, the inventory is there before the points: the worker has
        # its partitions (and reads them from the start) before any point exists.
        log = tmp_path / "metric.log"
        wait_for(
            lambda: log.exists() and '"partitions assigned"' in log.read_text(errors="replace"),
            timeout=120,
            interval=1.0,
            description="the worker owns its partitions",
        )
        asyncio.run(produce(kafka_bootstrap, topic_prefix, inventory=False))

        def settled() -> list | None:
            events = h.anomalies(kafka_bootstrap, topic_prefix, ANOMALIES)
            saturated = [e for e in events if e.resource_id == "i-0saturates"]
            blipped = [e for e in events if e.resource_id == "i-0blips"]
            over = T0 + timedelta(minutes=5 * SATURATION.stop)
            blip = T0 + timedelta(minutes=5 * BLIPS[0])
            done = any(e.action == "resolve" and e.window_end >= over for e in saturated) and any(
                e.action == "resolve" and e.window_start >= blip for e in blipped
            )
            return events if done else None

        events = wait_for(
            settled,
            timeout=300,
            interval=2.0,
            description="the saturation and the blip resolved",
        )
    finally:
        h.stop(worker)
    blip = T0 + timedelta(minutes=5 * BLIPS[0])
    notified = {e.incident_id for e in events if e.notify}
    saturated = [e for e in events if e.resource_id == "i-0saturates"]
    assert len(notified) == 1
    assert {e.incident_id for e in saturated if e.notify} == notified
    assert {e.series_id for e in saturated} == {"i-0saturates"}  # per resource, not per stream
    resolve = next(e for e in saturated if e.action == "resolve" and e.notify)
    assert resolve.incident_id in notified
    assert resolve.window_start <= T0 + timedelta(minutes=5 * SATURATION.start + 5)
    assert resolve.window_end >= T0 + timedelta(minutes=5 * SATURATION.stop)
    assert resolve.evidence_metrics == ["CPUUtilization"]
    # ~3 h at ~68 points of CPU on a $0.384/h m5.2xlarge (price from the inventory topic)
    assert resolve.impact_usd is not None
    assert 0.6 < resolve.impact_usd < 1.0
    noise = [e for e in events if e.resource_id != "i-0saturates"]
    # the blip (and noise alerts of the other hosts) were published...
    assert any(e.resource_id == "i-0blips" and e.window_start >= blip for e in noise)
    assert not any(e.notify for e in noise)  # ...and reached no subscriber
    assert all(e.suppressed_reason for e in noise)
