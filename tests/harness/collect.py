"""Collect every event on a topic while a test runs (all partitions, from the start)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiokafka import TopicPartition

from shared.codec import decode
from shared.events import Event
from shared.kafka import make_consumer
from shared.settings import SpendstreamSettings
from shared.topics import Topic

# Short polls keep the background reader responsive to cancellation.
POLL_MS = 200


@contextlib.asynccontextmanager
async def collected(settings: SpendstreamSettings, topic: Topic) -> AsyncIterator[list[Event]]:
    """Every event on ``topic``, appended to the yielded list as it arrives."""
    consumer = make_consumer(settings, None)
    await consumer.start()
    name = topic.full_name(settings.topic_prefix)
    tps = [TopicPartition(name, p) for p in range(topic.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    events: list[Event] = []

    async def pump() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=POLL_MS)).values():
                events.extend(decode(r.value, r.headers, topic.values) for r in records)

    task = asyncio.create_task(pump())
    try:
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
