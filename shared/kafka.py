"""aiokafka producer and consumer plumbing shared by every non-faust service.

Producers are durable (``acks=all`` + idempotence). Consumers commit manually,
only after the handler's effect is durable, and send undecodable records to the
topic's dead-letter topic with the reason and source coordinates, so nothing is
lost and nothing blocks the partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.partitioner import murmur2

from shared.codec import DecodeError, Encoded, decode, decode_key, encode
from shared.events import DeadLetter, Event, stable_id, utcnow
from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.topics import Topic, by_name

# Wait up to 5 ms to fill a batch: invisible next to CloudWatch's minute
# resolution, and it turns bursts (a CUR file) into few large requests.
PRODUCER_LINGER_MS = 5
# 1 MiB batches: the Kafka default max message size, so a full batch is accepted.
PRODUCER_MAX_BATCH_BYTES = 1024 * 1024
# Tansu and small clusters rebalance slowly with the 5-minute Java default; a
# few seconds lets a replica join or take over fast while a GC pause or a
# process-pool fit (never on the loop) stays well inside it.
CONSUMER_SESSION_TIMEOUT_MS = 10_000
CONSUMER_HEARTBEAT_MS = 1_000
CONSUMER_REBALANCE_TIMEOUT_MS = 5_000
# Records per poll: large enough to amortise a database round trip, small
# enough that one batch's work finishes well within the poll interval.
CONSUMER_MAX_RECORDS = 500
# Keep dead-letter bodies small enough to store and show; the offset points at the rest.
DLQ_MAX_VALUE_CHARS = 10_000

log = get_logger(__name__)


def partition_for(partition_key: str, partitions: int) -> int:
    """Kafka's default (murmur2) partition for a key, so prefixes can co-partition.

    ``costs.daily`` keys are ``series@period`` but must land where ``series``
    alone would, so one consumer owns a whole series.
    """
    return int(murmur2(partition_key.encode()) & 0x7FFFFFFF) % partitions


def make_producer(settings: SpendstreamSettings, **overrides: Any) -> AIOKafkaProducer:
    """A durable producer: acks from all in-sync replicas, idempotent retries."""
    kwargs: dict[str, Any] = {
        **settings.kafka_client_kwargs(),
        "acks": "all",
        "enable_idempotence": settings.kafka_enable_idempotence,
        "linger_ms": PRODUCER_LINGER_MS,
        "max_batch_size": PRODUCER_MAX_BATCH_BYTES,
        "client_id": settings.service_name,
    }
    kwargs.update(overrides)
    return AIOKafkaProducer(**kwargs)


def make_consumer(
    settings: SpendstreamSettings, group_id: str | None, *topics: str, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer with manual commits, reading from the start of unseen partitions.

    Group ids carry the topic prefix: environments (and tests) sharing a
    cluster never join each other's groups or read each other's offsets.
    """
    kwargs: dict[str, Any] = {
        **settings.kafka_client_kwargs(),
        "group_id": None if group_id is None else f"{settings.topic_prefix}{group_id}",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": CONSUMER_SESSION_TIMEOUT_MS,
        "heartbeat_interval_ms": CONSUMER_HEARTBEAT_MS,
        "rebalance_timeout_ms": CONSUMER_REBALANCE_TIMEOUT_MS,
        "max_poll_records": CONSUMER_MAX_RECORDS,
        "client_id": settings.service_name,
    }
    kwargs.update(overrides)
    return AIOKafkaConsumer(*topics, **kwargs)


PartitionsCallback = Callable[[list[TopicPartition]], Awaitable[None]]


async def _nothing(partitions: list[TopicPartition]) -> None:
    return None


class PartitionListener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka's base is untyped
    """Hands assignment changes to two callbacks; both run before consumption resumes."""

    def __init__(
        self, on_assigned: PartitionsCallback, on_revoked: PartitionsCallback = _nothing
    ) -> None:
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Give up partitions (flush, drop their state) before another member takes them."""
        await self._on_revoked(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Take partitions over (restore or replay their state) before their records are used."""
        await self._on_assigned(list(assigned))


class EventProducer:
    """Sends registered events to registered topics with the codec's headers."""

    def __init__(self, producer: AIOKafkaProducer, settings: SpendstreamSettings) -> None:
        self._producer = producer
        self._settings = settings

    @property
    def settings(self) -> SpendstreamSettings:
        """The settings this producer names topics with."""
        return self._settings

    @property
    def raw(self) -> AIOKafkaProducer:
        """The underlying aiokafka producer (for flush and batching)."""
        return self._producer

    async def send(
        self,
        topic: Topic,
        event: Event | Encoded,
        key: str,
        partition_key: str | None = None,
    ) -> asyncio.Future[Any]:
        """Queue one event; await the returned future for the broker's ack."""
        if isinstance(event, Encoded):
            if event.ce_type not in {v.ce_type() for v in topic.values}:
                raise TypeError(f"{event.ce_type} does not belong on {topic.name}")
        elif not isinstance(event, topic.values):
            raise TypeError(f"{type(event).__name__} does not belong on {topic.name}")
        value, headers = encode(event, self._settings.service_name)
        partition = (
            partition_for(partition_key, topic.partitions) if partition_key is not None else None
        )
        future: asyncio.Future[Any] = await self._producer.send(
            topic.full_name(self._settings.topic_prefix),
            value=value,
            key=key.encode(),
            headers=headers,
            partition=partition,
        )
        return future

    async def send_and_wait(
        self, topic: Topic, event: Event, key: str, partition_key: str | None = None
    ) -> None:
        """Send one event and wait until the broker has it."""
        await (await self.send(topic, event, key, partition_key))

    async def dead_letter(
        self, record: ConsumerRecord[bytes, bytes], reason: str, error_type: str
    ) -> None:
        """Park a rejected record on its topic's DLQ and wait for the ack."""
        source = by_name(record.topic, self._settings.topic_prefix)
        letter = DeadLetter(
            id=stable_id(record.topic, record.partition, record.offset),
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode("utf-8", "replace") if record.key else None,
            value=(record.value or b"").decode("utf-8", "replace")[:DLQ_MAX_VALUE_CHARS],
            headers={k: v.decode("utf-8", "replace") for k, v in record.headers or ()},
            reason=reason,
            error_type=error_type,
            service=self._settings.service_name,
            failed_at=utcnow(),
        )
        await self.send_and_wait(source.dlq, letter, key=letter.key or letter.id)
        log.warning(
            "record dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
        )


@dataclass(frozen=True)
class Received:
    """A decoded event with the coordinates of the record it came from."""

    event: Event
    key: str | None
    topic: str
    partition: int
    offset: int


Handler = Callable[[Sequence[Received]], Awaitable[None]]


async def consume_batches(
    consumer: AIOKafkaConsumer,
    producer: EventProducer,
    handler: Handler,
    stop: asyncio.Event,
    poll_timeout_ms: int = 500,
) -> None:
    """Decode, hand batches to ``handler``, and commit only after it returns.

    A record that cannot be decoded (value, headers or key) goes to the
    dead-letter topic (acked) before its offset is committed. If anything
    raises, nothing of the unfinished partitions is committed, their positions
    are moved back to the first uncommitted record and the error propagates,
    so the same consumer delivers those records again: handlers must be
    idempotent.
    """
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=poll_timeout_ms)
        done: set[TopicPartition] = set()
        try:
            for tp, records in batches.items():
                good = [r async for r in _decoded(records, producer)]
                if good:
                    await handler(good)
                await consumer.commit({tp: records[-1].offset + 1})
                done.add(tp)
        except BaseException:
            _rewind(consumer, {tp: r for tp, r in batches.items() if tp not in done})
            raise


async def _decoded(
    records: Sequence[ConsumerRecord[bytes, bytes]], producer: EventProducer
) -> AsyncIterator[Received]:
    """The records that decode; the others are dead-lettered on the way."""
    for record in records:
        try:
            source = by_name(record.topic, producer.settings.topic_prefix)
            key = decode_key(record.key)
            event = decode(record.value, record.headers, source.values)
        except DecodeError as exc:
            await producer.dead_letter(record, str(exc), "DecodeError")
            continue
        yield Received(event, key, record.topic, record.partition, record.offset)


def _rewind(
    consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
) -> None:
    """Move positions back to the first record not committed, so none is skipped."""
    assigned = consumer.assignment()
    for tp, records in batches.items():
        if records and tp in assigned:
            consumer.seek(tp, records[0].offset)
