"""The shared Kafka plumbing against a real broker.

Every event model travels with its CloudEvents headers; a malformed record is
dead-lettered with its reason and source offset while good records flow; and a
consumer killed between its effect and its commit gets the record again, so an
idempotent handler ends with exactly one effect.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest

from shared import topics
from shared.codec import decode, header
from shared.events import DeadLetter, MetricDatapoint
from shared.kafka import EventProducer, Received, consume_batches, make_consumer, make_producer
from shared.settings import SpendstreamSettings
from shared.topics import by_name, ensure_topics
from tests.harness.wait import wait_for, wait_for_async
from tests.integration.shared.samples import samples

pytestmark = pytest.mark.integration
WORKER = Path(__file__).with_name("idempotent_worker.py")


async def _produce_all(settings: SpendstreamSettings) -> list[tuple[str, object]]:
    producer = EventProducer(make_producer(settings), settings)
    await producer.raw.start()
    sent = []
    try:
        for event in samples():
            topic = next(t for t in topics.ALL_TOPICS if isinstance(event, t.values))
            await producer.send_and_wait(topic, event, key=event.id)
            sent.append((topic.full_name(settings.topic_prefix), event))
    finally:
        await producer.raw.stop()
    return sent


async def test_every_event_round_trips_with_headers(kafka_settings: SpendstreamSettings) -> None:
    await ensure_topics(kafka_settings)
    sent = await _produce_all(kafka_settings)
    names = sorted({name for name, _ in sent})
    consumer = make_consumer(kafka_settings, None, *names)
    await consumer.start()
    received: dict[str, object] = {}
    try:

        async def all_received() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    assert header(record.headers, "ce_source") == kafka_settings.service_name
                    assert header(record.headers, "ce_time")
                    event = decode(record.value, record.headers)
                    assert header(record.headers, "ce_type") == event.ce_type()
                    assert header(record.headers, "ce_id") == event.id
                    assert record.key == event.id.encode()
                    received[event.id] = event
            return len(received) == len(sent)

        await wait_for_async(all_received, description="every sample event consumed")
    finally:
        await consumer.stop()
    assert received == {event.id: event for _, event in sent}  # type: ignore[attr-defined]


async def test_malformed_record_goes_to_dead_letter_topic(
    kafka_settings: SpendstreamSettings,
) -> None:
    await ensure_topics(kafka_settings)
    source = topics.CLOUDWATCH_DATAPOINTS
    name = source.full_name(kafka_settings.topic_prefix)
    producer = EventProducer(make_producer(kafka_settings), kafka_settings)
    await producer.raw.start()
    good = next(e for e in samples() if isinstance(e, MetricDatapoint))
    bad = await (
        await producer.raw.send(
            name,
            b'{"id": "x", "value": "not a number"}',
            key=b"i-1",
            headers=[("ce_type", good.ce_type().encode())],
            partition=0,
        )
    )
    await producer.send_and_wait(source, good, key="i-1", partition_key="i-1")
    handled: list[Received] = []
    stop = asyncio.Event()

    async def handler(batch: Sequence[Received]) -> None:
        handled.extend(batch)
        stop.set()

    consumer = make_consumer(kafka_settings, "contract-test", name)
    await consumer.start()
    try:
        await asyncio.wait_for(consume_batches(consumer, producer, handler, stop), 60)
    finally:
        await consumer.stop()
    assert [r.event for r in handled] == [good]

    dlq = make_consumer(kafka_settings, None, source.dlq.full_name(kafka_settings.topic_prefix))
    await dlq.start()
    letters: list[DeadLetter] = []
    try:

        async def letter_arrived() -> bool:
            for records in (await dlq.getmany(timeout_ms=200)).values():
                letters.extend(decode(r.value, r.headers) for r in records)  # type: ignore[misc]
            return bool(letters)

        await wait_for_async(letter_arrived, description="a dead letter")
    finally:
        await dlq.stop()
        await producer.raw.stop()
    (letter,) = letters
    assert letter.source_topic == name
    assert (letter.partition, letter.offset) == (bad.partition, bad.offset)
    assert letter.reason.startswith("invalid spendstream.cloudwatch.datapoint.v1")
    assert "resource_id: Field required" in letter.reason
    assert letter.value.startswith('{"id": "x"')


def test_killed_consumer_redelivers_and_idempotent_handler_has_one_effect(
    kafka_settings: SpendstreamSettings, pg_schema: object, tmp_path: Path
) -> None:
    dsn = pg_schema.dsn  # type: ignore[attr-defined]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table effects (event_id text primary key, value double precision)")
        conn.execute("create table deliveries (pid int, event_id text)")
    asyncio.run(ensure_topics(kafka_settings))
    event = next(e for e in samples() if isinstance(e, MetricDatapoint))

    async def produce() -> None:
        producer = EventProducer(make_producer(kafka_settings), kafka_settings)
        await producer.raw.start()
        try:
            await producer.send_and_wait(topics.CLOUDWATCH_DATAPOINTS, event, key="i-1")
        finally:
            await producer.raw.stop()

    asyncio.run(produce())
    env = {
        **os.environ,
        "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS": kafka_settings.kafka_bootstrap_servers,
        "SPENDSTREAM_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE": str(kafka_settings.kafka_enable_idempotence),
        "WORKER_DSN": dsn,
    }

    def deliveries() -> list[tuple[int, str]]:
        with psycopg.connect(dsn) as conn:
            return conn.execute("select pid, event_id from deliveries").fetchall()

    first = subprocess.Popen([sys.executable, str(WORKER), "hang-before-commit"], env=env)
    try:
        wait_for(lambda: len(deliveries()) == 1, timeout=60, description="first delivery")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = subprocess.run(
        [sys.executable, str(WORKER), "commit"], env=env, timeout=120, check=True
    )
    assert second.returncode == 0
    rows = deliveries()
    assert [event_id for _, event_id in rows] == [event.id, event.id]
    assert rows[0][0] != rows[1][0], "the second process must have received the record again"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select event_id, value from effects").fetchall() == [
            (event.id, event.value)
        ]
    assert (
        by_name(
            topics.CLOUDWATCH_DATAPOINTS.full_name(kafka_settings.topic_prefix),
            kafka_settings.topic_prefix,
        )
        is topics.CLOUDWATCH_DATAPOINTS
    )
