"""A recording stand-in for EventProducer and its aiokafka batch API.

Every record is decoded with the shared codec (so the wire format is checked)
and recorded in send order; acks arrive on the next loop tick.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from shared.codec import decode, encode
from shared.events import DeliveryCompleted, Event
from shared.settings import SpendstreamSettings
from shared.topics import Topic, by_name

# Small batches so tests exercise the "batch full" path.
FAKE_BATCH_RECORDS = 100


@dataclass
class Sent:
    topic: str
    key: str
    event: Event
    partition: int | None = None


class _Builder:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []

    def append(self, *, timestamp: Any, key: bytes, value: bytes, headers: Any) -> object | None:
        if len(self.records) >= FAKE_BATCH_RECORDS:
            return None
        self.records.append((key, value, headers))
        return object()


class _Raw:
    def __init__(self, owner: FakeProducer) -> None:
        self.owner = owner

    def create_batch(self) -> _Builder:
        return _Builder()

    async def send_batch(
        self, batch: _Builder, topic: str, *, partition: int
    ) -> asyncio.Future[Any]:
        source = by_name(topic, self.owner.settings.topic_prefix)
        markers_only = True
        for key, value, headers in batch.records:
            event = decode(value, headers, source.values)
            self.owner.record(Sent(source.name, key.decode(), event, partition))
            markers_only = markers_only and isinstance(event, DeliveryCompleted)
        future = self.owner.future()
        if not markers_only:
            self.owner.item_futures.append(future)
        return future

    async def flush(self) -> None:
        await asyncio.gather(*self.owner.futures)


class FakeProducer:
    def __init__(self) -> None:
        self.settings = SpendstreamSettings(service_name="ingestor")
        self.raw = _Raw(self)
        self.sent: list[Sent] = []
        self.futures: list[asyncio.Future[Any]] = []
        self.item_futures: list[asyncio.Future[Any]] = []
        self.completed_before_all_acked = False

    def future(self) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)
        self.futures.append(future)
        return future

    def record(self, sent: Sent) -> None:
        if isinstance(sent.event, DeliveryCompleted) and not all(
            f.done() for f in self.item_futures
        ):
            self.completed_before_all_acked = True
        self.sent.append(sent)

    async def send(self, topic: Topic, event: Event, key: str, partition_key: str | None = None):
        value, headers = encode(event, "ingestor")
        self.record(Sent(topic.name, key, decode(value, headers, topic.values)))
        future = self.future()
        self.item_futures.append(future)
        return future

    def of(self, cls: type[Event]) -> list[Any]:
        return [s.event for s in self.sent if isinstance(s.event, cls)]
