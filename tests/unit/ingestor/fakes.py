"""A recording stand-in for EventProducer: acks each send on the next loop tick."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from shared.codec import decode, encode
from shared.events import DeliveryCompleted, Event
from shared.settings import SpendstreamSettings
from shared.topics import Topic


@dataclass
class Sent:
    topic: str
    key: str
    event: Event


@dataclass
class _Raw:
    futures: list[asyncio.Future[Any]] = field(default_factory=list)

    async def flush(self) -> None:
        for future in self.futures:
            if not future.done():
                future.set_result(None)


class FakeProducer:
    """Encodes and decodes every event (so the wire format is checked), records it in order."""

    def __init__(self) -> None:
        self.settings = SpendstreamSettings(service_name="ingestor")
        self.raw = _Raw()
        self.sent: list[Sent] = []
        self.completed_before_all_acked = False
        self.item_futures: list[asyncio.Future[Any]] = []

    async def send(self, topic: Topic, event: Event, key: str, partition_key: str | None = None):
        if isinstance(event, DeliveryCompleted) and not all(f.done() for f in self.item_futures):
            self.completed_before_all_acked = True
        value, headers = encode(event, "ingestor")
        self.sent.append(Sent(topic.name, key, decode(value, headers, topic.values)))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)
        self.raw.futures.append(future)
        if not isinstance(event, DeliveryCompleted):
            self.item_futures.append(future)
        return future

    def of(self, cls: type[Event]) -> list[Any]:
        return [s.event for s in self.sent if isinstance(s.event, cls)]
