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

Writes proportional to the change: with a codec that offers deltas
(``encode_base``/``encode_delta``, see ``shared.state_codec``), a key's first
write is its full state (the *base*, on the key, with a ``gen`` header) and
later writes are *deltas* on the same partition under the key's bytes plus
``0xFF`` (which no UTF-8 key contains): the state with each rolling window cut
to what was appended since the base. A delta is cumulative, so compaction
keeps at most two records per key and a restore reads exactly base + latest
delta. A new base is written once the deltas' growth since the last base adds
up to the base's size (writing base and growth then costs at most twice the
cheapest split), when a window no longer lines up, or when a delta would not
be much smaller than the state. A delta applies only to the base of its
generation written before it; one that is later than its base but unreadable
or of another generation makes the key start afresh, like any bad record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.state_codec import ChangelogDecodeError, Marks
from shared.topics import Topic, ensure_compacted

V = TypeVar("V")
# Restore polls until the end offsets captured at its start are reached.
RESTORE_POLL_MS = 200
# Give up restoring after 2 minutes without progress: a stuck broker must fail
# loudly rather than let the service run on empty state.
RESTORE_STALL_S = 120.0
# States are a few KB to a few hundred: 4 MiB fetches take many per round trip.
RESTORE_FETCH_BYTES = 4 * 1024 * 1024
# Suffix of a key's delta record: 0xFF never occurs in UTF-8, so no real key collides.
DELTA_SUFFIX = b"\xff"
GEN_HEADER = "gen"
# A delta is written only if at most this share of its state's full size.
DELTA_MAX_SHARE = 0.5

log = get_logger(__name__)


class Codec(Protocol[V]):
    """Turns one state into a record value and back; decode raises ChangelogDecodeError."""

    def encode(self, value: V) -> bytes: ...  # noqa: D102

    def decode(self, data: bytes) -> V: ...  # noqa: D102


class DeltaCodec(Codec[V], Protocol[V]):
    """A codec that can also write a state as a delta on an earlier full write."""

    def encode_base(self, value: V) -> tuple[bytes, Marks]: ...  # noqa: D102

    def encode_delta(self, value: V, base: Marks) -> bytes | None: ...  # noqa: D102

    def decode_base(self, data: bytes) -> tuple[V, Marks]: ...  # noqa: D102

    def decode_delta(self, data: bytes, base: Marks) -> V: ...  # noqa: D102


class _Base:
    """A key's last full write: what its deltas are written against, and how much they grew."""

    __slots__ = ("first", "gen", "grown", "last", "marks", "size")

    def __init__(self, gen: int, size: int, marks: Marks) -> None:
        self.gen, self.size, self.marks = gen, size, marks
        self.first = 0  # size of the first delta since the base (the part that is not growth)
        self.grown = 0  # sum over deltas of their size beyond the first one's
        self.last = 0  # size of the latest delta (deltas are cumulative: the next is no smaller)


@dataclass
class _Latest:
    """The newest record of a key (or of its delta key) seen during a restore."""

    value: bytes
    gen: int | None
    offset: int


def _delta_may_pay(base: _Base) -> bool:
    """Whether a delta can still beat a new base, judged before encoding it.

    A delta is at least its windows' new values (8 bytes or more each) and no
    smaller than the one before (they are cumulative); when either already
    loses, encoding it only to throw it away is skipped (a catch-up, a replay).
    """
    new = sum(window.appended - appended for window, appended, _ in base.marks.windows)
    if max(new * 8, base.last) > base.size * DELTA_MAX_SHARE:
        return False
    return not base.last or base.grown + base.last - base.first <= base.size


def _gen(headers: Any) -> int | None:
    for name, value in headers or ():
        if name == GEN_HEADER:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


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
        deltas: bool = False,
    ) -> None:
        self.topic = topic
        self.name = topic.full_name(settings.topic_prefix)
        self._settings = settings
        self._producer = producer
        self._codec = codec
        # Deltas when asked for and the codec can write them (else every write is full).
        self._delta_codec: DeltaCodec[V] | None = (
            cast(DeltaCodec[V], codec) if deltas and hasattr(codec, "encode_delta") else None
        )
        self._bases: dict[str, _Base] = {}
        self.bytes_written = 0  # keys + values of every state record sent, since start
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
        self._bases.pop(key, None)  # a state made again later starts from a new base
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
                    await self._write(key, self.values[key], self.partition_of[key])
                elif key in self._tombstones:
                    partition = self._tombstones[key]
                    await self._send(key.encode(), None, partition)
                    if self._delta_codec is not None:
                        await self._send(key.encode() + DELTA_SUFFIX, None, partition)
                    self._tombstones.pop(key, None)
        except BaseException:
            self.dirty.update(keys)  # not all sent: send them again next time
            raise
        return list(self._inflight)

    async def _write(self, key: str, value: V, partition: int) -> None:
        """Send ``key``'s state: a delta on its base when that is cheap, else a new base."""
        codec, base = self._delta_codec, self._bases.get(key)
        if codec is None:
            await self._send(key.encode(), self._codec.encode(value), partition)
            return
        if base is not None and base.marks.windows and _delta_may_pay(base):
            delta = codec.encode_delta(value, base.marks)
            if delta is not None and self._cheap(base, len(delta)):
                headers = [(GEN_HEADER, str(base.gen).encode())]
                await self._send(key.encode() + DELTA_SUFFIX, delta, partition, headers)
                return
        gen = base.gen + 1 if base is not None else 1
        data, marks = codec.encode_base(value)
        await self._send(key.encode(), data, partition, [(GEN_HEADER, str(gen).encode())])
        self._bases[key] = _Base(gen, len(data), marks)

    @staticmethod
    def _cheap(base: _Base, size: int) -> bool:
        """Whether a delta of ``size`` beats a new base; records its growth if so."""
        if size > base.size * DELTA_MAX_SHARE:
            return False
        if not base.first:
            base.first = size
        grown = base.grown + max(0, size - base.first)
        if grown > base.size:
            return False
        base.grown, base.last = grown, size
        return True

    async def _send(
        self,
        key: bytes,
        value: bytes | None,
        partition: int,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        future = await self._producer.send(
            self.name, value, key=key, partition=partition, headers=headers
        )
        self.bytes_written += len(key) + (len(value) if value else 0)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)

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
            self._bases.pop(key, None)
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
            bases: dict[str, tuple[int, _Latest]] = {}
            deltas: dict[str, _Latest] = {}
            while remaining := [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(*remaining, timeout_ms=RESTORE_POLL_MS)
                if batches:
                    last_progress = loop.time()
                elif loop.time() - last_progress > RESTORE_STALL_S:
                    raise RuntimeError(f"restore of {self.name} stalled; check the broker")
                for tp, records in batches.items():
                    for record in records:
                        _latest(bases, deltas, record, tp.partition)
        finally:
            await consumer.stop()
        for name, (partition, base) in bases.items():
            self._load(name, partition, base, deltas.get(name))
        return sum(1 for p in self.partition_of.values() if p in {tp.partition for tp in tps})

    def _load(self, name: str, partition: int, base: _Latest, delta: _Latest | None) -> None:
        """Decode a key's newest base, and its delta if one was written after it."""
        reader = self._codec if hasattr(self._codec, "decode_delta") else None
        later = delta if delta is not None and delta.offset > base.offset else None
        offset = base.offset if later is None else later.offset
        try:
            if reader is None:
                if later is not None:
                    raise ChangelogDecodeError("a state delta this store cannot apply")
                value = self._codec.decode(base.value)
            else:
                codec = cast(DeltaCodec[V], reader)
                value, marks = codec.decode_base(base.value)
                state = _Base(base.gen or 0, len(base.value), marks)
                if later is not None:
                    if later.gen is None or later.gen != base.gen:
                        raise ChangelogDecodeError(
                            f"delta of generation {later.gen} after base {base.gen}"
                        )
                    value = codec.decode_delta(later.value, marks)
                    state.first = state.last = len(later.value)
                self._bases[name] = state
        except ChangelogDecodeError as exc:
            self.skipped += 1  # an older good state would be stale: start afresh
            log.error(
                "changelog record skipped",
                topic=self.name,
                partition=partition,
                offset=offset,
                key=name,
                error=str(exc),
            )
            return
        self.values[name] = value
        self.partition_of[name] = partition


def _latest(
    bases: dict[str, tuple[int, _Latest]],
    deltas: dict[str, _Latest],
    record: Any,
    partition: int,
) -> None:
    """Keep the newest record of each key and of each delta key (a tombstone forgets one)."""
    key, value = record.key, record.value
    if key is None:
        return
    is_delta = key.endswith(DELTA_SUFFIX)
    name = (key[: -len(DELTA_SUFFIX)] if is_delta else key).decode("utf-8", "replace")
    table: dict[str, Any] = deltas if is_delta else bases
    if value is None:  # tombstone: the key was forgotten
        table.pop(name, None)
        return
    latest = _Latest(value, _gen(record.headers), record.offset)
    table[name] = latest if is_delta else (partition, latest)
