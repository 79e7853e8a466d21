"""Append pre-encoded records straight into aiokafka's per-partition record batches.

``EventProducer.send`` costs ~50 us a record (a model dump, a partitioner call,
a future and a coroutine each); a CUR month has millions of rows. Here each row
is one ``BatchBuilder.append`` (C-accelerated) and one ``send_batch`` per ~1 MiB,
with the same key, partition (murmur2, cached per key) and CloudEvents headers
the codec would produce, so consumers see exactly what ``EventProducer`` sends.

Ordering: all records of a partition go through one open builder and are
submitted in order; aiokafka keeps at most one batch per partition queued and
sends them in order, which is also what bounds memory (``send_batch`` waits for
the previous batch of that partition to drain).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from services.ingestor.exceptions import IngestorError
from shared.codec import CONTENT_TYPE, Headers, encode
from shared.events import Event, utcnow
from shared.kafka import EventProducer, partition_for
from shared.topics import Topic

# At most 16 submitted batches (~16 MiB) awaiting the broker's ack: aiokafka
# bounds batches *queued* per partition but not requests in flight, so a slow
# broker would otherwise let unacked batches (and our memory) pile up.
MAX_UNACKED_BATCHES = 16
# orjson options the codec uses for event bodies.
BODY_OPTIONS = orjson.OPT_NON_STR_KEYS


def encode_body(fields: dict[str, Any]) -> bytes:
    """The JSON body of an event given as its field dict (same bytes as the codec)."""
    return orjson.dumps(fields, option=BODY_OPTIONS)


class HeaderFactory:
    """CloudEvents headers for one event type; ``ce_time`` refreshed by :meth:`tick`."""

    def __init__(self, ce_type: str, source: str) -> None:
        self._type = ce_type.encode()
        self._source = source.encode()
        self._time = utcnow().isoformat().encode()

    def tick(self) -> None:
        """Refresh the production time (once per Arrow batch is plenty)."""
        self._time = utcnow().isoformat().encode()

    def __call__(self, event_id: str) -> Headers:
        """Headers for the event ``event_id``."""
        return [
            ("ce_specversion", b"1.0"),
            ("ce_type", self._type),
            ("ce_id", event_id.encode()),
            ("ce_source", self._source),
            ("ce_time", self._time),
            ("content-type", CONTENT_TYPE),
        ]


class TopicBatcher:
    """Ordered, backpressured batch writer for one topic."""

    def __init__(self, producer: EventProducer, topic: Topic) -> None:
        self._raw = producer.raw
        self._source = producer.settings.service_name
        self._name = topic.full_name(producer.settings.topic_prefix)
        self._partitions = topic.partitions
        self._topic = topic
        self._builders: dict[int, Any] = {}
        self._routes: dict[str, tuple[int, bytes]] = {}
        self._inflight: list[asyncio.Future[Any]] = []

    def _route(self, key: str) -> tuple[int, bytes]:
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = (partition_for(key, self._partitions), key.encode())
        return route

    def try_append(self, key: str, value: bytes, headers: Headers) -> bool:
        """Append to the key's partition batch; False when it is full (then call :meth:`append`)."""
        partition, key_bytes = self._route(key)
        builder = self._builders.get(partition)
        if builder is None:
            builder = self._builders[partition] = self._raw.create_batch()
        return (
            builder.append(timestamp=None, key=key_bytes, value=value, headers=headers) is not None
        )

    async def append(self, key: str, value: bytes, headers: Headers) -> None:
        """Append, submitting the partition's full batch first when needed."""
        if self.try_append(key, value, headers):
            return
        partition, _ = self._route(key)
        await self._submit(partition)
        if not self.try_append(key, value, headers):
            raise IngestorError(f"a {len(value)}-byte record exceeds the producer's batch size")

    async def append_event(self, event: Event, key: str) -> None:
        """Append a registered event encoded by the shared codec."""
        if not isinstance(event, self._topic.values):
            raise TypeError(f"{type(event).__name__} does not belong on {self._topic.name}")
        value, headers = encode(event, self._source)
        await self.append(key, value, headers)

    async def _submit(self, partition: int) -> None:
        builder = self._builders.pop(partition, None)
        if builder is None:
            return
        future = await self._raw.send_batch(builder, self._name, partition=partition)
        self._inflight.append(future)
        for f in self._inflight:
            if f.done():
                f.result()  # surface a failed batch now, not at the end
        self._inflight = [f for f in self._inflight if not f.done()]
        while len(self._inflight) > MAX_UNACKED_BATCHES:
            await self._inflight.pop(0)

    async def flush(self) -> None:
        """Submit every open batch and wait until the broker acked all of them."""
        for partition in list(self._builders):
            await self._submit(partition)
        inflight, self._inflight = self._inflight, []
        await asyncio.gather(*inflight)
