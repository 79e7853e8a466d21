"""Changelog bytes per datapoint: delta writes against full-state writes, same input, same run.

Part of ``make bench-anomaly``. Two regimes, each run twice on fresh topics
(``SPENDSTREAM_ANOMALY_STATE_DELTAS`` true, then false = every changed state
re-written whole, as before deltas):

* **steady, full windows** - the sizing case of ``docs/capacity.md``: every
  resource's state is seeded onto the changelog already 30 days deep (8,640
  points in its rolling window), a worker restores them, and points arrive at
  a steady rate, a few per stream per 1 s checkpoint;
* **throughput run** - the pre-produced points of the throughput phase, fresh
  streams, hundreds of points per stream per checkpoint.

Bytes are the keys and values of every changelog record the worker wrote
(read back from the topic; the seeded states are not counted).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.anomaly.fleet.resource_tracker import ResourceTracker
from services.anomaly.metric import MetricDetector, MetricDetectorConfig
from services.anomaly.settings import AnomalySettings
from services.anomaly.state_codec import metric_state_codec
from services.anomaly.topics import METRIC_STATE
from shared.changelog import ChangelogStore
from shared.codec import encode
from shared.events import MetricDatapoint
from shared.kafka import make_producer, partition_for
from shared.settings import SpendstreamSettings
from shared.topics import CLOUDWATCH_DATAPOINTS, ensure_topics

WINDOW_POINTS = 8640  # 30 days of 5-minute points: the detector's long window is full
POLL_S = 0.05


async def changelog_bytes(
    settings: SpendstreamSettings, since: dict[int, int] | None = None
) -> int:
    """Keys + values of the metric changelog's records (from offsets ``since``, else all)."""
    name = METRIC_STATE.full_name(settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(METRIC_STATE.partitions)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, (since or {}).get(tp.partition, 0))
        ends = await consumer.end_offsets(tps)
        total = 0
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                total += sum(len(r.key or b"") + len(r.value or b"") for r in records)
        return total
    finally:
        await consumer.stop()


async def end_offsets(settings: SpendstreamSettings) -> dict[int, int]:
    """The metric changelog's end offset per partition."""
    name = METRIC_STATE.full_name(settings.topic_prefix)
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(METRIC_STATE.partitions)]
        return {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


def full_tracker(resource: str, start: Any, step: timedelta) -> ResourceTracker:
    """One resource whose CPU stream has seen 30 days of points (its window full)."""
    config = AnomalySettings().metric_config(MetricDetectorConfig().threshold)
    tracker = ResourceTracker(resource, config)
    rng = np.random.default_rng(0)
    for i, value in enumerate(np.clip(rng.normal(40.0, 5.0, WINDOW_POINTS), 0.0, 89.0)):
        tracker.observe(
            "CPUUtilization",
            "Average",
            start + i * step,
            float(value),
            "111122223333",
            start,
            lambda: MetricDetector(MetricDetectorConfig()),
        )
    return tracker


async def seed_states(
    settings: SpendstreamSettings, resources: list[str], start: Any, step: timedelta
) -> None:
    """Write every resource's 30-day state to the changelog, as a worker would have."""
    codec = metric_state_codec(MetricDetector(MetricDetectorConfig()))
    template = codec.encode(full_tracker("template", start, step))
    raw = make_producer(settings)
    await raw.start()
    try:
        store = ChangelogStore(METRIC_STATE, settings, raw, codec)
        await store.ensure_topic()
        for resource in resources:
            state = codec.decode(template)
            state.resource_id = resource
            for stream in state.streams.values():
                stream.key = f"{resource}|CPUUtilization|Average"
            store.put(resource, partition_for(resource, CLOUDWATCH_DATAPOINTS.partitions), state)
        await store.flush()
    finally:
        await raw.stop()


async def steady(
    settings: SpendstreamSettings,
    points: list[MetricDatapoint],
    rate: int,
    start_worker: Callable[[], Any],
    wait_committed: Callable[..., Any],
) -> tuple[int, float]:
    """Feed ``points`` at ``rate`` to a worker over seeded states: (changelog bytes, points/s)."""
    await ensure_topics(settings)
    seeded = await end_offsets(settings)
    proc = start_worker()
    raw = make_producer(settings)
    await raw.start()
    try:
        topic = CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
        chunk = max(1, rate // 20)
        began = time.perf_counter()
        for i in range(0, len(points), chunk):
            for p in points[i : i + chunk]:
                value, headers = encode(p, "bench")
                await raw.send(topic, value, key=p.resource_id.encode(), headers=headers)
            pause = began + (i + chunk) / rate - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
        await raw.flush()
        await wait_committed(settings, len(points), proc)
        fed = len(points) / (time.perf_counter() - began)
    finally:
        await raw.stop()
        proc.terminate()
        proc.wait(timeout=30)
    return await changelog_bytes(settings, seeded), fed
