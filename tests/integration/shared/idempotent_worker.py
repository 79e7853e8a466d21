"""A consumer process for the redelivery test: effect first, commit after.

``hang-before-commit`` records the delivery and the (idempotent) effect, then
blocks before committing so the test can SIGKILL it. ``commit`` does the same
and commits, then exits once it has handled a batch.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

import psycopg

from shared import topics
from shared.kafka import EventProducer, Received, consume_batches, make_consumer, make_producer
from shared.settings import SpendstreamSettings

GROUP = "redelivery-test"


async def main(mode: str) -> None:
    settings = SpendstreamSettings()
    dsn = os.environ["WORKER_DSN"]
    stop = asyncio.Event()

    async def handler(batch: Sequence[Received]) -> None:
        with psycopg.connect(dsn) as conn:
            for received in batch:
                conn.execute(
                    "insert into deliveries values (%s, %s)", (os.getpid(), received.event.id)
                )
                conn.execute(
                    "insert into effects values (%s, %s) on conflict (event_id) do nothing",
                    (received.event.id, received.event.value),  # type: ignore[attr-defined]
                )
        if mode == "hang-before-commit":
            await asyncio.Event().wait()  # the test kills us here, before the commit
        stop.set()

    producer = EventProducer(make_producer(settings), settings)
    consumer = make_consumer(
        settings, GROUP, topics.CLOUDWATCH_DATAPOINTS.full_name(settings.topic_prefix)
    )
    await producer.raw.start()
    await consumer.start()
    try:
        await consume_batches(consumer, producer, handler, stop)
    finally:
        await consumer.stop()
        await producer.raw.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
