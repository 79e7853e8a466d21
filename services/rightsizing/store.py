"""Instance state in memory, backed by a compacted changelog topic.

Every changed state is written to the changelog (key: resource id, partition:
the one its datapoints come from) *before* the source offsets are committed,
so a crash loses nothing: on (re)assignment of a partition, its states are
read back from the changelog before any new record is applied. This is what
faust's changelog-backed tables do, with a compact binary value instead of
pickles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.rightsizing.exceptions import StateDecodeError
from services.rightsizing.sketches import InstanceState, decode_state, encode_state
from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.topics import CLOUDWATCH_DATAPOINTS

log = get_logger(__name__)

CHANGELOG_TOPIC = "spendstream.rightsizing.state-changelog.v1"
# Restore reads in polls of half a second: short enough to notice the end quickly.
RESTORE_POLL_MS = 500
# Give up restoring a partition after 2 minutes without progress: a stuck broker
# must fail loudly rather than let the service run on empty state.
RESTORE_STALL_S = 120.0
# States are a few KB: 4 MiB batches fetch many per round trip.
RESTORE_FETCH_BYTES = 4 * 1024 * 1024


class StateStore:
    """The states of the instances whose partitions this replica owns."""

    def __init__(self, settings: SpendstreamSettings, producer: AIOKafkaProducer) -> None:
        self._settings = settings
        self._producer = producer
        self.states: dict[str, InstanceState] = {}
        self.partition_of: dict[str, int] = {}
        self.dirty: set[str] = set()
        self._inflight: set[asyncio.Future[Any]] = set()
        # aiokafka may hand out records of newly assigned partitions while the
        # assignment listener is still restoring them; the intake holds this
        # lock per batch and the restore holds it throughout, so a batch never
        # applies to a state that the restore then overwrites with an older one.
        self.lock = asyncio.Lock()

    @property
    def topic(self) -> str:
        """The changelog's name on the broker."""
        return self._settings.topic_prefix + CHANGELOG_TOPIC

    async def ensure_topic(self) -> None:
        """Create the compacted changelog, co-partitioned with the datapoints, if missing."""
        admin = AIOKafkaAdminClient(**self._settings.kafka_client_kwargs())
        await admin.start()
        try:
            if self.topic in set(await admin.list_topics()):
                return
            topic = NewTopic(
                self.topic,
                CLOUDWATCH_DATAPOINTS.partitions,
                self._settings.topic_replication_factor,
                topic_configs={"cleanup.policy": "compact"},
            )
            response = await admin.create_topics([topic])
            for name, code, *rest in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create {name}: error {code} {rest}")
        finally:
            await admin.close()

    def get(self, resource_id: str, partition: int) -> InstanceState:
        """The state of ``resource_id`` (created empty on first sight)."""
        state = self.states.get(resource_id)
        if state is None:
            state = self.states[resource_id] = InstanceState(resource_id)
        self.partition_of[resource_id] = partition
        return state

    def mark(self, resource_id: str) -> None:
        """Remember that this state must be written before the next commit."""
        self.dirty.add(resource_id)

    async def flush(self) -> int:
        """Write every dirty state and wait until every write issued so far is acked.

        The intake and the evaluator flush concurrently. The dirty set is taken
        and cleared before the first ``await``, so a state marked while writes
        are in flight stays dirty for the next flush instead of being cleared
        unwritten; and each flush waits for *all* in-flight writes, so no caller
        commits offsets (or hands partitions over) ahead of a state it changed.
        """
        ids = sorted(self.dirty)
        self.dirty.clear()
        written = 0
        try:
            for resource_id in ids:
                state = self.states.get(resource_id)
                if state is None:
                    continue
                future = await self._producer.send(
                    self.topic,
                    value=encode_state(state),
                    key=resource_id.encode(),
                    partition=self.partition_of[resource_id],
                )
                self._inflight.add(future)
                future.add_done_callback(self._inflight.discard)
                written += 1
        except BaseException:
            self.dirty.update(ids)  # not all written: write them again next time
            raise
        if self._inflight:
            await asyncio.gather(*list(self._inflight))
        return written

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget the states of partitions this replica no longer owns."""
        gone = set(partitions)
        for resource_id in [r for r, p in self.partition_of.items() if p in gone]:
            self.states.pop(resource_id, None)
            self.partition_of.pop(resource_id, None)
            self.dirty.discard(resource_id)

    async def restore(self, partitions: Iterable[int]) -> int:
        """Load the states of ``partitions`` from the changelog; returns how many."""
        tps = [TopicPartition(self.topic, p) for p in sorted(set(partitions))]
        if not tps:
            return 0
        async with self.lock:
            return await self._restore(tps)

    async def _restore(self, tps: list[TopicPartition]) -> int:
        consumer = AIOKafkaConsumer(
            **self._settings.kafka_client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=RESTORE_FETCH_BYTES,
        )
        await consumer.start()
        restored = 0
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            loop = asyncio.get_running_loop()
            last_progress = loop.time()
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(*tps, timeout_ms=RESTORE_POLL_MS)
                if batches:
                    last_progress = loop.time()
                elif loop.time() - last_progress > RESTORE_STALL_S:
                    raise RuntimeError(
                        f"changelog restore of {self.topic} stalled; check the broker"
                    )
                for tp, records in batches.items():
                    for record in records:
                        restored += self._apply(record.key, record.value, tp.partition)
        finally:
            await consumer.stop()
        log.info(
            "state restored",
            topic=self.topic,
            partitions=[tp.partition for tp in tps],
            instances=restored,
        )
        return restored

    def _apply(self, key: bytes | None, value: bytes | None, partition: int) -> int:
        if key is None:
            return 0
        resource_id = key.decode()
        if value is None:  # tombstone: the instance was forgotten
            self.states.pop(resource_id, None)
            return 0
        try:
            self.states[resource_id] = decode_state(value)
        except StateDecodeError as exc:
            log.error("changelog record skipped", resource_id=resource_id, error=str(exc))
            return 0
        self.partition_of[resource_id] = partition
        return 1
