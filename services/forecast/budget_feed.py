"""Budgets and past alerts, read by every replica from the start of their topics.

Budgets arrive on a compacted topic the gateway writes; every replica needs
all of them, so they are read without a consumer group, every partition from
its first record, and followed for the life of the process. Past budget
alerts are replayed once at start-up (up to the end offsets seen then) so open
incidents keep their ids and revisions across a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.forecast.budgets.breach import BudgetWatch, restore_breach
from services.forecast.budgets.interval import IntervalWatch
from shared.codec import DecodeError, decode, decode_key
from shared.events import Budget, BudgetAlert, utcnow
from shared.kafka import EventProducer, make_consumer
from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.topics import BUDGET_ALERTS, BUDGETS

log = get_logger(__name__)

# Poll wait: budgets change rarely, half a second keeps shutdown prompt.
POLL_MS = 500


async def assign_all(consumer: AIOKafkaConsumer, *topics: str) -> list[TopicPartition]:
    """Assign every partition of ``topics``, each read from its first record."""
    tps: list[TopicPartition] = []
    for topic in topics:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:  # metadata for a fresh topic may need a moment
            await consumer.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await asyncio.sleep(POLL_MS / 1000)
        tps += [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    return tps


def groupless_consumer(settings: SpendstreamSettings) -> AIOKafkaConsumer:
    """A consumer without a group (every replica reads everything)."""
    return make_consumer(settings, None)


async def restore_alerts(
    settings: SpendstreamSettings, budgets: BudgetWatch, intervals: IntervalWatch
) -> int:
    """Replay BUDGET_ALERTS up to its current end; returns alerts folded in."""
    consumer = groupless_consumer(settings)
    await consumer.start()
    count = 0
    try:
        name = BUDGET_ALERTS.full_name(settings.topic_prefix)
        tps = await assign_all(consumer, name)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=POLL_MS)
            for records in batches.values():
                for record in records:
                    try:
                        alert = decode(record.value, record.headers, (BudgetAlert,))
                    except DecodeError:
                        continue  # someone else's garbage; the gateway DLQs it
                    assert isinstance(alert, BudgetAlert)
                    restore_breach(budgets, alert)
                    intervals.restore(alert)
                    count += 1
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    log.info("budget alerts restored", alerts=count)
    return count


async def follow_budgets(
    settings: SpendstreamSettings,
    producer: EventProducer,
    budgets: BudgetWatch,
    stop: asyncio.Event,
    on_change: Callable[[], None] = lambda: None,
) -> None:
    """Keep ``budgets`` current; evaluate each change and publish its alerts."""
    consumer = groupless_consumer(settings)
    await consumer.start()
    try:
        await assign_all(consumer, BUDGETS.full_name(settings.topic_prefix))
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            for records in batches.values():
                for record in records:
                    try:
                        key = decode_key(record.key)
                        if record.value is None and key:  # compaction tombstone
                            budgets.budgets.pop(key, None)
                            continue
                        budget = decode(record.value, record.headers, (Budget,))
                    except DecodeError as exc:
                        await producer.dead_letter(record, str(exc), "DecodeError")
                        continue
                    assert isinstance(budget, Budget)
                    for alert in budgets.on_budget(budget, utcnow()):
                        await producer.send_and_wait(BUDGET_ALERTS, alert, key=alert.series_id)
                    on_change()
    finally:
        await consumer.stop()
