"""The right-sizing service on a real broker: findings, dead letters, restart, regression."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.rightsizing.app import RightsizingApp
from services.rightsizing.settings import RightsizingSettings
from shared.events import DeadLetter, Ec2Instance, Event, MetricDatapoint, Recommendation, stable_id
from shared.kafka import EventProducer, make_producer
from shared.topics import (
    CLOUDWATCH_DATAPOINTS,
    INVENTORY_EC2,
    RECOMMENDATIONS,
    Topic,
    ensure_topics,
)
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async

pytestmark = pytest.mark.integration

# Group join on the embedded broker plus the spawned evaluation worker's start.
STARTUP_TIMEOUT_S = 90.0
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=5)


def _settings(kafka_bootstrap: str, topic_prefix: str) -> RightsizingSettings:
    return RightsizingSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=topic_prefix,
        log_json=False,
        kafka_enable_idempotence=False,  # Tansu rejects InitProducerId
        rightsizing_evaluation_interval_s=0.5,
    )


def inventory(instance_id: str, instance_type: str) -> Ec2Instance:
    return Ec2Instance(
        id=stable_id(instance_id, instance_type),
        instance_id=instance_id,
        account_id="111122223333",
        region="us-east-1",
        instance_type=instance_type,
        state="running",
        observed_at=START,
    )


def points(
    instance_id: str,
    cpu: float,
    days: float,
    first_day: int = 0,
    net: float = 50_000.0,
    seed: int = 0,
) -> list[MetricDatapoint]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(int(days * 288)):
        ts = START + timedelta(days=first_day) + i * STEP
        value = float(min(cpu * np.exp(0.05 * rng.standard_normal()), 100.0))
        for metric, stat, v in (("CPUUtilization", "Maximum", value), ("NetworkIn", "Sum", net)):
            out.append(
                MetricDatapoint(
                    id=stable_id(instance_id, metric, ts),
                    resource_id=instance_id,
                    account_id="111122223333",
                    region="us-east-1",
                    metric=metric,
                    stat=stat,
                    timestamp=ts,
                    value=v,
                )
            )
    return out


async def publish(
    settings: RightsizingSettings,
    events: list[tuple[Topic, Event, str]],
    raw: list[tuple[Topic, bytes, str]] = (),
) -> None:
    producer = EventProducer(make_producer(settings), settings)
    await producer.raw.start()
    try:
        for topic, event, key in events:
            await producer.send(topic, event, key=key)
        for topic, value, key in raw:
            await producer.raw.send(
                topic.full_name(settings.topic_prefix), value=value, key=key.encode()
            )
        await producer.raw.flush()
    finally:
        await producer.raw.stop()


@contextlib.asynccontextmanager
async def running(app: RightsizingApp) -> AsyncIterator[RightsizingApp]:
    task = asyncio.create_task(app.run())
    try:
        yield app
    finally:
        app.stop.set()
        await asyncio.wait_for(task, 60)


def latest(events: list[Event], resource_id: str) -> Recommendation | None:
    found = [e for e in events if isinstance(e, Recommendation) and e.resource_id == resource_id]
    return found[-1] if found else None


def with_key(topic: Topic, events: list[MetricDatapoint]) -> list[tuple[Topic, Event, str]]:
    return [(topic, e, e.resource_id) for e in events]


async def test_findings_dead_letters_restart_and_regression(kafka_bootstrap, topic_prefix):
    settings = _settings(kafka_bootstrap, topic_prefix)
    await ensure_topics(settings)
    bad_cpu = points("i-over", 140.0, 1 / 288)[0].model_copy(update={"id": "bad-1", "value": 140.0})
    negative = bad_cpu.model_copy(update={"id": "bad-2", "value": -3.0})
    await publish(
        settings,
        [
            (INVENTORY_EC2, inventory("i-over", "m5.2xlarge"), "i-over"),
            (INVENTORY_EC2, inventory("i-idle", "m5.large"), "i-idle"),
            (INVENTORY_EC2, inventory("i-opt", "m5.xlarge"), "i-opt"),
            (INVENTORY_EC2, inventory("i-new", "m5.large"), "i-new"),
            *with_key(CLOUDWATCH_DATAPOINTS, points("i-over", 12.0, 2, seed=1)),
            *with_key(CLOUDWATCH_DATAPOINTS, points("i-idle", 1.0, 2, net=100.0, seed=2)),
            *with_key(CLOUDWATCH_DATAPOINTS, points("i-opt", 55.0, 2, seed=3)),
            *with_key(CLOUDWATCH_DATAPOINTS, points("i-new", 20.0, 0.5, seed=4)),
            (CLOUDWATCH_DATAPOINTS, bad_cpu, "i-over"),
            (CLOUDWATCH_DATAPOINTS, negative, "i-over"),
        ],
        raw=[(CLOUDWATCH_DATAPOINTS, b"{not json", "i-over")],
    )
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        async with (
            collected(settings, RECOMMENDATIONS) as recs,
            collected(settings, CLOUDWATCH_DATAPOINTS.dlq) as dead,
        ):
            async with running(RightsizingApp(settings, pool)):
                expected = {
                    "i-over": "overprovisioned",
                    "i-idle": "idle",
                    "i-opt": "optimized",
                    "i-new": "insufficient_data",
                }

                def first_round() -> bool:
                    # partial data may first give other findings: wait for the final ones
                    found = {i: getattr(latest(recs, i), "finding", None) for i in expected}
                    return found == expected

                try:
                    await wait_for_async(
                        first_round,
                        timeout=STARTUP_TIMEOUT_S,
                        description="the expected finding for every instance",
                    )
                except AssertionError:
                    print({i: latest(recs, i) for i in expected})
                    raise
                await wait_for_async(lambda: len(dead) >= 3, description="three dead letters")
            assert latest(recs, "i-over").options
            reasons = sorted(d.reason for d in dead if isinstance(d, DeadLetter))
            assert any("> 100" in r for r in reasons)
            assert any("negative" in r for r in reasons)
            assert any("invalid" in r or "ce_type" in r for r in reasons)
            assert all(d.source_topic.endswith(CLOUDWATCH_DATAPOINTS.name) for d in dead)

            # Restart: a new replica restores the sketches and the last finding.
            await publish(
                settings,
                with_key(CLOUDWATCH_DATAPOINTS, points("i-opt", 97.0, 2, first_day=2, seed=5)),
            )
            async with running(RightsizingApp(settings, pool)):

                def regressed() -> Recommendation | None:
                    return next(
                        (
                            r
                            for r in recs
                            if isinstance(r, Recommendation)
                            and r.resource_id == "i-opt"
                            and r.finding == "underprovisioned"
                        ),
                        None,
                    )

                rec = await wait_for_async(
                    regressed,
                    timeout=STARTUP_TIMEOUT_S,
                    description="i-opt under-provisioned after restart",
                )
            assert rec.previous_finding == "optimized"
            assert rec.regression
            # 48 h were measured before the restart: more than that means they survived it.
            assert rec.hours_observed > 48.5
            over = [r for r in recs if r.resource_id == "i-over"]
            assert over[-1].finding == "overprovisioned"
            assert over[-1].id == latest(recs, "i-over").id  # nothing re-sent after restart
    finally:
        pool.shutdown(cancel_futures=True)
