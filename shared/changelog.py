"""Changelog-backed state: per-key values that survive restarts and move with partitions.

What faust's tables give, in the few lines this project needs: every key's
value lives in memory while this replica owns the input partition it came
from, and is written to the same partition of a compacted changelog topic
(co-partitioned with the input) before the input offsets that produced it are
committed. On assignment a replica reads the changelog partitions to their end
before processing; on revocation it drops them. A key changed many times
between two checkpoints is written once. Values go through a data-only codec:
a record that does not decode is logged, counted and skipped (that key starts
afresh), never executed and never fatal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.state_codec import ChangelogDecodeError
from shared.topics import Topic, ensure_compacted

V = TypeVar("V")
# Restore polls until the end offsets captured at its start are reached.
RESTORE_POLL_MS = 200
# Give up restoring after 2 minutes without progress: a stuck broker must fail
# loudly rather than let the service run on empty state.
RESTORE_STALL_S = 120.0
# States are a few KB to a few hundred: 4 MiB fetches take many per round trip.
RESTORE_FETCH_BYTES = 4 * 1024 * 1024

log = get_logger(__name__)


class Codec(Protocol[V]):
    """Turns one state into a record value and back; decode raises ChangelogDecodeError."""

    def encode(self, value: V) -> bytes: ...  # noqa: D102

    def decode(self, data: bytes) -> V: ...  # noqa: D102


@dataclass(frozen=True)
class ChangelogTopic:
    """A service's private compacted topic, co-partitioned with the input ``source``."""

    name: str
    source: Topic

    def full_name(self, prefix: str = "") -> str:
        """The name on the broker, with the deployment's prefix."""
        return f"{prefix}{self.name}"

    @property
    def partitions(self) -> int:
        """Same count as the source topic: whoever owns input ``p`` restores changelog ``p``."""
        return self.source.partitions


class ChangelogStore(Generic[V]):
    """Key -> state for the partitions this replica owns, backed by a changelog topic."""

    def __init__(
        self,
        topic: ChangelogTopic,
        settings: SpendstreamSettings,
        producer: AIOKafkaProducer,
        codec: Codec[V],
    ) -> None:
        self.topic = topic
        self.name = topic.full_name(settings.topic_prefix)
        self._settings = settings
        self._producer = producer
        self._codec = codec
        self.values: dict[str, V] = {}
        self.partition_of: dict[str, int] = {}
        self.dirty: set[str] = set()
        self._tombstones: dict[str, int] = {}  # deleted key -> partition, until written
        self.skipped = 0  # changelog records that did not decode, since start
        self._inflight: set[asyncio.Future[Any]] = set()
        # aiokafka may hand out records of newly assigned partitions while the
        # assignment listener is still restoring them; callers that process
        # records outside the listener hold this lock per batch (the restore
        # holds it throughout), so no state is overwritten by an older one.
        self.lock = asyncio.Lock()

    async def ensure_topic(self) -> None:
        """Create the compacted changelog if it is missing."""
        await ensure_compacted(self._settings, self.name, self.topic.partitions)

    def get(self, key: str) -> V | None:
        """The state of ``key`` (None if this replica has none)."""
        return self.values.get(key)

    def put(self, key: str, partition: int, value: V) -> None:
        """Set ``key``'s state; it is written at the next :meth:`snapshot`."""
        self.values[key] = value
        self.partition_of[key] = partition
        self._tombstones.pop(key, None)
        self.dirty.add(key)

    def delete(self, key: str) -> None:
        """Forget ``key``; the next :meth:`snapshot` writes a tombstone, so restores forget it."""
        partition = self.partition_of.pop(key, None)
        self.values.pop(key, None)
        if partition is not None:
            self._tombstones[key] = partition
            self.dirty.add(key)

    def mark(self, key: str) -> None:
        """Remember that ``key``'s state (changed in place) must be written."""
        self.dirty.add(key)

    def items(self) -> Iterator[tuple[int, str, V]]:
        """Every (partition, key, state) this replica owns."""
        for key, value in self.values.items():
            yield self.partition_of[key], key, value

    def owned_partitions(self) -> set[int]:
        """The partitions this replica holds state for."""
        return set(self.partition_of.values())

    async def snapshot(self) -> list[asyncio.Future[Any]]:
        """Send every changed key now; return the ack futures of every write in flight.

        States are encoded here, so what becomes durable is the state as of this
        call even if processing goes on before the acks arrive. The dirty set is
        taken before the first ``await``: a key marked meanwhile stays dirty for
        the next snapshot instead of being cleared unwritten.
        """
        keys, self.dirty = sorted(self.dirty), set()
        try:
            for key in keys:
                if key in self.values:
                    value: bytes | None = self._codec.encode(self.values[key])
                    partition = self.partition_of[key]
                elif key in self._tombstones:
                    value, partition = None, self._tombstones[key]
                else:
                    continue
                future = await self._producer.send(
                    self.name, value, key=key.encode(), partition=partition
                )
                self._tombstones.pop(key, None)
                self._inflight.add(future)
                future.add_done_callback(self._inflight.discard)
        except BaseException:
            self.dirty.update(keys)  # not all sent: send them again next time
            raise
        return list(self._inflight)

    async def flush(self) -> None:
        """Write every changed key and wait until every write issued so far is acked."""
        pending = await self.snapshot()
        if pending:
            await asyncio.gather(*pending)

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget the state of partitions this replica no longer owns."""
        gone = set(partitions)
        for key in [k for k, p in self.partition_of.items() if p in gone]:
            self.values.pop(key, None)
            self.partition_of.pop(key, None)
            self.dirty.discard(key)
        for key in [k for k, p in self._tombstones.items() if p in gone]:
            # Callers snapshot before giving partitions up; what was not written is lost
            # like any unsnapshotted change, and the key is merely evicted again later.
            del self._tombstones[key]
            self.dirty.discard(key)

    async def restore(self, partitions: Iterable[int]) -> int:
        """Load the latest state of every key of ``partitions``; return how many."""
        tps = [TopicPartition(self.name, p) for p in sorted(set(partitions))]
        if not tps:
            return 0
        async with self.lock:
            restored = await self._restore(tps)
        log.info(
            "state restored",
            topic=self.name,
            partitions=[tp.partition for tp in tps],
            keys=restored,
            skipped=self.skipped,
        )
        return restored

    async def _restore(self, tps: list[TopicPartition]) -> int:
        self.drop(tp.partition for tp in tps)
        consumer = AIOKafkaConsumer(
            **self._settings.kafka_client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=RESTORE_FETCH_BYTES,
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            loop = asyncio.get_running_loop()
            last_progress = loop.time()
            while remaining := [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(*remaining, timeout_ms=RESTORE_POLL_MS)
                if batches:
                    last_progress = loop.time()
                elif loop.time() - last_progress > RESTORE_STALL_S:
                    raise RuntimeError(f"restore of {self.name} stalled; check the broker")
                for tp, records in batches.items():
                    for record in records:
                        self._apply(record.key, record.value, tp.partition, record.offset)
        finally:
            await consumer.stop()
        return sum(1 for p in self.partition_of.values() if p in {tp.partition for tp in tps})

    def _apply(self, key: bytes | None, value: bytes | None, partition: int, offset: int) -> None:
        if key is None:
            return
        name = key.decode("utf-8", "replace")
        if value is None:  # tombstone: the key was forgotten
            self.values.pop(name, None)
            self.partition_of.pop(name, None)
            return
        try:
            self.values[name] = self._codec.decode(value)
        except ChangelogDecodeError as exc:
            self.skipped += 1
            self.values.pop(name, None)  # an older good state would be stale: start afresh
            self.partition_of.pop(name, None)
            log.error(
                "changelog record skipped",
                topic=self.name,
                partition=partition,
                offset=offset,
                key=name,
                error=str(exc),
            )
            return
        self.partition_of[name] = partition
