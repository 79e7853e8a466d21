"""Changelog-backed tables: per-partition state that survives restarts and moves.

Like a faust table: every key's value lives in memory for the partitions this
worker owns and is written (pickled, compressed) to a compacted changelog topic
partition equal to the input partition it came from. On assignment the worker
reads those changelog partitions to their end before processing; on
revocation it drops them. Writes are batched: a key changed many times between
two checkpoints is written once.
"""

from __future__ import annotations

import asyncio
import pickle
import zlib
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.anomaly.topics import ChangelogTopic
from shared.logging import get_logger
from shared.settings import SpendstreamSettings

V = TypeVar("V")
# Fast compression: state snapshots are mostly floats and repeated ids; level 1
# shrinks them ~3x at a fraction of the cost of the default level.
ZLIB_LEVEL = 1
# Per-stream detector state is a few KB: compressing it costs more CPU than the
# bytes are worth. Account cost states grow to hundreds of KB: those shrink ~3x.
COMPRESS_ABOVE_BYTES = 16 * 1024
_PLAIN, _ZLIB = b"p", b"z"
# Restore polls until the end offsets captured at the start are reached.
RESTORE_POLL_MS = 200

log = get_logger(__name__)


def dumps(value: Any) -> bytes:
    """Pickle one state value; compress it when it is large enough to be worth it."""
    raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    if len(raw) < COMPRESS_ABOVE_BYTES:
        return _PLAIN + raw
    return _ZLIB + zlib.compress(raw, ZLIB_LEVEL)


def loads(data: bytes) -> Any:
    """Inverse of :func:`dumps` (only ever applied to this service's own changelog)."""
    body = data[1:]
    if data[:1] == _ZLIB:
        body = zlib.decompress(body)
    return pickle.loads(body)  # our own topic, written by dumps


class ChangelogTable(Generic[V]):
    """Key -> value per owned partition, backed by a compacted changelog topic."""

    def __init__(
        self, topic: ChangelogTopic, settings: SpendstreamSettings, producer: AIOKafkaProducer
    ) -> None:
        self._topic = topic
        self._name = topic.full_name(settings.topic_prefix)
        self._settings = settings
        self._producer = producer
        self._data: dict[int, dict[str, V]] = {}
        self._dirty: dict[int, set[str]] = {}

    def get(self, partition: int, key: str) -> V | None:
        """The value of ``key`` in ``partition`` (None if unknown)."""
        return self._data.get(partition, {}).get(key)

    def put(self, partition: int, key: str, value: V) -> None:
        """Set (or mark changed) ``key``; it is written at the next :meth:`flush`."""
        self._data.setdefault(partition, {})[key] = value
        self._dirty.setdefault(partition, set()).add(key)

    def items(self) -> Iterable[tuple[int, str, V]]:
        """Every (partition, key, value) this worker owns."""
        for partition, values in self._data.items():
            for key, value in values.items():
                yield partition, key, value

    async def snapshot(self) -> list[asyncio.Future[Any]]:
        """Send every changed key to its changelog partition; return the ack futures.

        Values are pickled here, so what becomes durable is the state as of this
        call even if processing goes on before the acks arrive.
        """
        futures: list[asyncio.Future[Any]] = []
        for partition, keys in self._dirty.items():
            values = self._data.get(partition, {})
            for key in keys:
                if key in values:
                    futures.append(
                        await self._producer.send(
                            self._name, dumps(values[key]), key=key.encode(), partition=partition
                        )
                    )
        self._dirty = {}
        return futures

    async def flush(self) -> None:
        """Write every changed key to its changelog partition and wait for the acks."""
        for future in await self.snapshot():
            await future

    async def restore(self, partitions: Iterable[int]) -> int:
        """Load the latest value of every key of ``partitions``; return keys restored."""
        tps = [TopicPartition(self._name, p) for p in partitions]
        if not tps:
            return 0
        consumer = AIOKafkaConsumer(
            **self._settings.kafka_client_kwargs(), group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        restored = 0
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            remaining = {tp for tp in tps if end[tp] > 0}
            for tp in tps:
                self._data[tp.partition] = {}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=RESTORE_POLL_MS)
                for tp, records in batch.items():
                    for record in records:
                        if record.key is not None and record.value is not None:
                            self._data[tp.partition][record.key.decode()] = loads(record.value)
                            restored += 1
                for tp in list(remaining):
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
        log.info("state restored", table=self._name, partitions=sorted(p.partition for p in tps))
        return restored

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget the state of partitions this worker no longer owns."""
        for partition in partitions:
            self._data.pop(partition, None)
            self._dirty.pop(partition, None)
