"""State written as deltas restores exactly: base + latest delta is the state that was written.

The metric loop writes a stream's full state once and then only what changed
(its windows' new points, its small fields). These tests write through the
real changelog topic and restore from it: after several rounds of deltas and
rebases in one process, and after a real worker is SIGKILLed once it has
written deltas.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.anomaly.agents import MetricAgent
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.fleet.resource_tracker import ResourceTracker
from services.anomaly.metric import MetricDetector, MetricDetectorConfig
from services.anomaly.settings import AnomalySettings
from services.anomaly.state_codec import metric_state_codec
from services.anomaly.topics import METRIC_STATE
from shared.changelog import DELTA_SUFFIX, ChangelogStore
from shared.events import MetricDatapoint, utcnow
from shared.kafka import EventProducer, make_producer
from shared.topics import CLOUDWATCH_DATAPOINTS, ensure_topics
from tests.harness.wait import wait_for
from tests.integration.anomaly import helpers as h

pytestmark = pytest.mark.integration

HOSTS = ("i-0aaa", "i-0bbb", "i-0ccc")
METRICS = (("CPUUtilization", "Average"), ("NetworkIn", "Sum"))
T0 = (utcnow() - timedelta(days=2)).replace(microsecond=0)
DEADLINE_S = 120.0


def _points(start: int, count: int) -> list[MetricDatapoint]:
    rng = np.random.default_rng(start)
    return [
        MetricDatapoint(
            id=f"{host}-{metric}-{n}",
            resource_id=host,
            account_id="111111111111",
            region="us-east-1",
            metric=metric,
            stat=stat,
            timestamp=T0 + timedelta(minutes=5 * n),
            value=round(float(30.0 + 3.0 * np.sin(n / 46) + rng.normal(0, 1.0)), 3),
        )
        for n in range(start, start + count)
        for host in HOSTS
        for metric, stat in METRICS
    ]


def _agent(store: ChangelogStore) -> MetricAgent:
    """The worker's agent: its default fleet config with the detector's own threshold."""
    return MetricAgent(
        store,
        AnomalySettings().metric_config(MetricDetectorConfig().threshold),
        FeedbackBook(FeedbackConfig()),
        lambda: MetricDetector(MetricDetectorConfig()),
    )


async def _changelog_records(settings, name: str) -> list[tuple[bytes, int]]:
    """Every (key, value size) on the changelog topic, in offset order per partition."""
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(METRIC_STATE.partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[bytes, int]] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out += [(r.key, len(r.value or b"")) for r in records]
        return out
    finally:
        await consumer.stop()


async def test_rounds_of_deltas_and_rebases_restore_the_identical_state(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = h.settings_for(kafka_bootstrap, topic_prefix)
    codec = metric_state_codec(MetricDetector(MetricDetectorConfig()))
    raw = make_producer(settings)
    await raw.start()
    try:
        store = ChangelogStore(METRIC_STATE, settings, raw, codec, deltas=True)
        await store.ensure_topic()
        agent = _agent(store)
        agent.now = utcnow()
        offset = 0
        # 60 rounds of 2 points per stream: the first writes bases, later ones deltas,
        # and the deltas' growth forces at least one rebase of every resource.
        for round_no in range(60):
            for point in _points(round_no * 2, 2):
                state = store.get(point.resource_id) or agent.new_state(point.resource_id, point)
                agent.position = (0, offset)
                agent.apply(state, point)
                agent.mark_applied(state, "datapoints", offset)
                store.put(point.resource_id, 0, state)
                offset += 1
            await store.flush()
        # Killed here: nothing more is written. A fresh store restores from the topic.
        restored = ChangelogStore(METRIC_STATE, settings, raw, codec)
        await restored.restore([0])
        records = await _changelog_records(settings, store.name)
    finally:
        await raw.stop()
    assert restored.skipped == 0
    assert {k for _, k, _ in restored.items()} == set(HOSTS)
    for host in HOSTS:
        assert codec.encode(restored.get(host)) == codec.encode(store.get(host)), host
    bases = [size for key, size in records if not key.endswith(DELTA_SUFFIX)]
    deltas = [size for key, size in records if key.endswith(DELTA_SUFFIX)]
    assert len(bases) > len(HOSTS), "the deltas' growth must have forced rebases"
    assert len(deltas) > 10 * len(bases)
    assert max(deltas) < min(bases[len(HOSTS) :])  # every delta smaller than a later base


def _start_worker(bootstrap: str, prefix: str, tmp: Path) -> subprocess.Popen[bytes]:
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


async def _produce(settings, points: list[MetricDatapoint]) -> None:
    raw = make_producer(settings)
    await raw.start()
    try:
        producer = EventProducer(raw, settings)
        for point in points:
            await producer.send(CLOUDWATCH_DATAPOINTS, point, point.resource_id)
        await raw.flush()
    finally:
        await raw.stop()


async def _committed(settings, group: str) -> int:
    probe = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=group, enable_auto_commit=False
    )
    await probe.start()
    try:
        name = CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
        tps = [TopicPartition(name, p) for p in range(CLOUDWATCH_DATAPOINTS.partitions)]
        total = 0
        for tp in tps:
            total += max(0, await probe.committed(tp) or 0)
        return total
    finally:
        await probe.stop()


async def _reference(settings) -> dict[str, ResourceTracker]:
    """The states the datapoints topic leads to, applied here in the loop's order."""
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    store = ChangelogStore(
        METRIC_STATE, settings, None, metric_state_codec(MetricDetector(MetricDetectorConfig()))
    )
    agent = _agent(store)
    agent.now = utcnow()
    try:
        name = CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
        tps = [TopicPartition(name, p) for p in range(CLOUDWATCH_DATAPOINTS.partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    event = agent.decode(record)
                    key = agent.state_key(event)
                    state = store.get(key) or agent.new_state(key, event)
                    agent.position = (tp.partition, record.offset)
                    agent.apply(state, event)
                    agent.mark_applied(state, record.topic, record.offset)
                    store.put(key, tp.partition, state)
    finally:
        await consumer.stop()
    return {k: v for _, k, v in store.items() if isinstance(v, ResourceTracker)}


def _wait_committed(settings, group: str, total: int, worker: subprocess.Popen[bytes]) -> None:
    def committed() -> bool:
        assert worker.poll() is None, "the worker died"
        return asyncio.run(_committed(settings, group)) >= total

    wait_for(
        committed, timeout=DEADLINE_S, interval=0.2, description="the worker committing its input"
    )


def test_a_worker_killed_after_delta_writes_restores_the_identical_state(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = h.settings_for(kafka_bootstrap, topic_prefix)
    asyncio.run(ensure_topics(settings))
    group = f"{topic_prefix}anomaly-metrics"
    worker = _start_worker(kafka_bootstrap, topic_prefix, tmp_path)
    produced = 0
    try:
        for batch in range(8):  # a commit after each: a base first, then deltas
            points = _points(batch * 30, 30)
            asyncio.run(_produce(settings, points))
            produced += len(points)
            _wait_committed(settings, group, produced, worker)
    finally:
        h.kill(worker)  # SIGKILL: no shutdown hook, no final write
    name = METRIC_STATE.full_name(topic_prefix)
    records = asyncio.run(_changelog_records(settings, name))
    assert any(key.endswith(DELTA_SUFFIX) for key, _ in records), "the worker wrote no delta"

    async def restore() -> ChangelogStore:
        raw = make_producer(settings)
        await raw.start()
        try:
            store = ChangelogStore(
                METRIC_STATE,
                settings,
                raw,
                metric_state_codec(MetricDetector(MetricDetectorConfig())),
            )
            await store.restore(range(METRIC_STATE.partitions))
            return store
        finally:
            await raw.stop()

    restored = asyncio.run(restore())
    reference = asyncio.run(_reference(settings))
    codec = metric_state_codec(MetricDetector(MetricDetectorConfig()))
    assert restored.skipped == 0
    trackers = {k for _, k, v in restored.items() if isinstance(v, ResourceTracker)}
    assert trackers == set(reference) == set(HOSTS)
    for host, expected in reference.items():
        got = restored.get(host)
        assert isinstance(got, ResourceTracker)
        # Streams and offsets hold no wall-clock time: they must be byte-identical.
        assert codec.encode(got.streams) == codec.encode(expected.streams), host
        assert got.offsets == expected.offsets
        assert got.last_ts == expected.last_ts
