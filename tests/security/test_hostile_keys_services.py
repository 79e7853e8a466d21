"""A record key that is not UTF-8, on the topics forecast and right-sizing consume.

Both services run ``shared.kafka.consume_batches``, the gateway's loop too. The
key used to be decoded after the poll, outside the dead-letter path: the error
killed the service's consume loop (and with it the service), or, where the
loop restarted, skipped the records of the poll. Now the record goes to the
topic's dead-letter topic with the reason and the record behind it is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from shared.codec import encode
from shared.events import DeadLetter, Event, MetricDatapoint
from shared.kafka import EventProducer, Received, consume_batches, make_consumer, make_producer
from shared.settings import SpendstreamSettings
from shared.topics import ensure_topics
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _datapoint(resource: str) -> MetricDatapoint:
    return MetricDatapoint(
        id=f"dp-{resource}",
        resource_id=resource,
        account_id="111111111111",
        region="us-east-1",
        metric="CPUUtilization",
        timestamp=T0,
        value=12.5,
    )


GOOD: dict[str, tuple[topics.Topic, Event, Event]] = {
    "forecast-costs": (topics.COSTS_DAILY, f.cost(account="bad"), f.cost(account="good")),
    "rightsizing-datapoints": (
        topics.CLOUDWATCH_DATAPOINTS,
        _datapoint("i-bad"),
        _datapoint("i-good"),
    ),
}


async def _produce(
    settings: SpendstreamSettings, topic: str, records: list[tuple[bytes, Event]]
) -> None:
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs())
    await producer.start()
    try:
        for key, event in records:
            value, headers = encode(event, "hostile-producer")
            await producer.send_and_wait(topic, value, key=key, headers=headers, partition=0)
    finally:
        await producer.stop()


@pytest.mark.parametrize("consumer_of", sorted(GOOD))
async def test_bad_key_is_dead_lettered_and_the_next_record_handled(
    consumer_of: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic, bad, good = GOOD[consumer_of]
    settings = SpendstreamSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=topic_prefix,
        kafka_enable_idempotence=False,
        service_name=consumer_of,
    )
    await ensure_topics(settings)
    name = topic.full_name(topic_prefix)
    await _produce(settings, name, [(b"\xc3\x28-bad", bad), (b"good", good)])
    handled: list[Received] = []

    async def handler(batch: Sequence[Received]) -> None:
        handled.extend(batch)

    stop = asyncio.Event()
    consumer = make_consumer(settings, f"{consumer_of}-keys", name)
    raw = make_producer(settings)
    await consumer.start()
    await raw.start()
    sender = EventProducer(raw, settings)
    loop = asyncio.create_task(consume_batches(consumer, sender, handler, stop))
    try:
        async with collected(settings, topic.dlq) as letters:
            await wait_for_async(
                lambda: loop.done() or [r for r in handled if r.event.id == good.id],
                timeout=60,
                description="the good record behind the bad key handled",
            )
            assert not loop.done(), f"the consume loop died: {loop.exception()!r}"
            found = await wait_for_async(
                lambda: [d for d in letters if isinstance(d, DeadLetter)],
                description="the bad-key record on the dead-letter topic",
            )
        assert [r.event.id for r in handled] == [good.id]
        assert len(found) == 1
        assert "record key is not UTF-8" in found[0].reason
        assert found[0].offset == 0
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await loop
        await consumer.stop()
        await raw.stop()
