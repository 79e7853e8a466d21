"""A consumer loop with changelog-backed state and at-least-once, replay-safe commits.

Each poll's records are decoded (undecodable ones go to the dead-letter topic
with the reason) and grouped by state key; each key's records are handed to the
agent one by one in offset order, with one state lookup per key per poll, and
the agent's output events are sent at once. At most every
``commit_interval_s`` the loop checkpoints: it writes changed state to the
changelog and, once those writes and the output events are acked, commits the
input offsets. The acks are awaited in the background while the next polls are
processed (one checkpoint in flight at a time, so commits stay in order); a
rebalance or a stop waits for them.
Every state value remembers the offset of the last record applied to it, so
records replayed after a crash between the state write and the commit are
skipped instead of applied twice.

A rebalance waits for the batch in progress, checkpoints, drops revoked state
and restores newly assigned state from the changelog before processing resumes.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from services.anomaly.exceptions import AnomalyError
from shared.changelog import ChangelogStore
from shared.codec import DecodeError, decode
from shared.events import Event, utcnow
from shared.kafka import EventProducer, PartitionListener, make_consumer
from shared.logging import get_logger
from shared.telemetry import ServiceMetrics
from shared.topics import Topic

V = TypeVar("V")
# Poll timeout: short, so a stop request and the commit interval are honoured promptly.
POLL_TIMEOUT_MS = 200
# A fetch returns after at most 100 ms even when little data has arrived: metric
# anomalies should reach subscribers within a second, and the 500 ms default
# alone would take half of that budget on a quiet partition.
FETCH_MAX_WAIT_MS = 100

log = get_logger(__name__)

Output = tuple[Topic, Event, str, str | None]  # topic, event, key, partition key


class StatefulAgent(ABC, Generic[V]):
    """What a loop runs per record: pure decisions on a partition's state."""

    source: Topic
    #: Further topics co-partitioned with ``source`` (same key, same partition count),
    #: read into the same states by the same consumer.
    also: tuple[Topic, ...] = ()
    table: ChangelogStore[V]
    #: Wall-clock time of the batch being processed (set by the loop once per poll).
    now: datetime = datetime.min.replace(tzinfo=UTC)
    #: (partition, offset) of the record being applied (set by the loop before ``apply``).
    position: tuple[int, int] = (-1, -1)

    def decode(self, record: ConsumerRecord[bytes, bytes]) -> Event:
        """Record -> event, or DecodeError (overridden where a faster path exists)."""
        return decode(record.value, record.headers, self.source.values)

    @abstractmethod
    def state_key(self, event: Event) -> str:
        """The table key the event belongs to."""

    @abstractmethod
    def new_state(self, key: str, event: Event) -> V:
        """A fresh state for a key seen for the first time."""

    @abstractmethod
    def apply(self, state: V, event: Event) -> list[Output]:
        """Apply one event to its state; return the events to publish."""

    def pending(self) -> list[Output]:
        """Outputs from work queued outside records (feedback); default none."""
        return []

    def finish(self) -> list[Output]:
        """Outputs of decisions taken once a poll is applied (in offset order); default none."""
        return []

    def applied_offset(self, state: V, topic: str) -> int:
        """Offset of the last record of ``topic`` applied to ``state`` (-1: none)."""
        return int(getattr(state, "source_offset", -1))

    def mark_applied(self, state: V, topic: str, offset: int) -> None:
        """Remember that ``state`` holds the record of ``topic`` at ``offset``."""
        state.source_offset = offset  # type: ignore[attr-defined]


class StatefulLoop(Generic[V]):
    """Consume ``agent.source`` in a consumer group, keeping the agent's state."""

    def __init__(
        self,
        agent: StatefulAgent[V],
        producer: EventProducer,
        group_id: str,
        max_poll_records: int,
        commit_interval_s: float,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.agent = agent
        self.metrics = metrics
        self.producer = producer
        self._group_id = group_id
        self._max_poll_records = max_poll_records
        self._commit_interval_s = commit_interval_s
        self._lock = asyncio.Lock()
        self._positions: dict[TopicPartition, int] = {}
        self._acks: list[Awaitable[Any]] = []
        self._in_flight: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then checkpoint and leave the group."""
        settings = self.producer.settings
        # Co-partitioned topics need the range assignor: it gives partition p of
        # every subscribed topic to the same member (round-robin does not).
        consumer = make_consumer(
            settings,
            self._group_id,
            max_poll_records=self._max_poll_records,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            partition_assignment_strategy=(RangePartitionAssignor,),
        )
        self._consumer = consumer
        consumer.subscribe(
            [t.full_name(settings.topic_prefix) for t in (self.agent.source, *self.agent.also)],
            listener=PartitionListener(self.on_assigned, self.on_revoked),
        )
        await consumer.start()
        last_checkpoint = time.monotonic()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS)
                async with self._lock:
                    await self._process(batches)
                    if time.monotonic() - last_checkpoint >= self._commit_interval_s:
                        await self._checkpoint(wait=False)
                        last_checkpoint = time.monotonic()
            async with self._lock:
                await self._checkpoint()
        finally:
            if self._in_flight is not None:
                self._in_flight.cancel()  # failing anyway: uncommitted input is replayed
            await consumer.stop()

    async def _process(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        self.agent.now = utcnow()
        outputs = self.agent.pending()
        # Co-consumed topics are tables the source is judged against (usage incidents,
        # inventory): what a poll brings of them is applied first, so a restarted
        # replica holding both a CUR delivery and the incident it confirms links them.
        source = self.agent.source.full_name(self.producer.settings.topic_prefix)
        for tp, records in sorted(batches.items(), key=lambda item: item[0].topic == source):
            for key, items in (await self._decode_by_key(records)).items():
                outputs += await self._apply_key(tp.partition, key, items)
            if records:
                self._positions[tp] = records[-1].offset + 1
                if self.metrics is not None:
                    self.metrics.records.labels(tp.topic).inc(len(records))
        outputs += self.agent.finish()
        for topic, event, key, partition_key in outputs:
            self._acks.append(await self.producer.send(topic, event, key, partition_key))

    async def _decode_by_key(
        self, records: list[ConsumerRecord[bytes, bytes]]
    ) -> dict[str, list[tuple[ConsumerRecord[bytes, bytes], Event]]]:
        """Decode a partition's records, grouped by state key in offset order.

        Grouping lets each key's state be looked up and marked changed once per
        poll instead of once per record; order within a key is kept, and keys
        are independent, so the decisions are the same.
        """
        groups: dict[str, list[tuple[ConsumerRecord[bytes, bytes], Event]]] = {}
        for record in records:
            try:
                event = self.agent.decode(record)
                key = self.agent.state_key(event)
            except (DecodeError, AnomalyError, ValueError) as exc:
                await self._reject(record, exc)
                continue
            group = groups.get(key)
            if group is None:
                groups[key] = [(record, event)]
            else:
                group.append((record, event))
        return groups

    async def _apply_key(
        self, partition: int, key: str, items: list[tuple[ConsumerRecord[bytes, bytes], Event]]
    ) -> list[Output]:
        """Apply one key's events in order; skip those applied before a crash."""
        state = self.agent.table.get(key)
        if state is None:
            state = self.agent.new_state(key, items[0][1])
        agent = self.agent
        changed = False
        outputs: list[Output] = []
        for record, event in items:
            if agent.applied_offset(state, record.topic) >= record.offset:
                continue  # already applied before a crash: replay-safe
            agent.position = (partition, record.offset)
            try:
                outputs += agent.apply(state, event)
            except (AnomalyError, ValueError) as exc:
                await self._reject(record, exc)
                continue
            agent.mark_applied(state, record.topic, record.offset)
            changed = True
        if changed:
            self.agent.table.put(key, partition, state)
        return outputs

    async def _reject(self, record: ConsumerRecord[bytes, bytes], exc: Exception) -> None:
        """Park a record the agent cannot use on the dead-letter topic, with the reason."""
        await self.producer.dead_letter(record, str(exc), type(exc).__name__)
        if self.metrics is not None:
            self.metrics.dead_letters.labels(record.topic).inc()

    async def _checkpoint(self, wait: bool = True) -> None:
        """Snapshot changed state now; commit the offsets it covers once it is durable."""
        await self._settle()  # the previous checkpoint commits first: offsets only move forward
        acks, self._acks = self._acks, []
        acks += await self.agent.table.snapshot()
        positions, self._positions = self._positions, {}
        self._in_flight = asyncio.create_task(self._commit_when_durable(acks, positions))
        if wait:
            await self._settle()

    async def _commit_when_durable(
        self, acks: list[Awaitable[Any]], positions: dict[TopicPartition, int]
    ) -> None:
        for ack in acks:
            await ack
        if positions and self._consumer is not None:
            await self._consumer.commit(positions)

    async def _settle(self) -> None:
        """Wait for the checkpoint in flight (its error, if any, surfaces here)."""
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """Finish the batch in progress, checkpoint, and drop the revoked state."""
        async with self._lock:
            await self._checkpoint()
            self.agent.table.drop(tp.partition for tp in revoked)
            self.ready.clear()
        log.info("partitions revoked", topic=self.agent.source.name, partitions=len(revoked))

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        """Restore the newly assigned partitions' state before processing them."""
        async with self._lock:
            restored = await self.agent.table.restore(tp.partition for tp in assigned)
            self.ready.set()
        log.info(
            "partitions assigned",
            topic=self.agent.source.name,
            partitions=sorted(tp.partition for tp in assigned),
            keys_restored=restored,
        )
