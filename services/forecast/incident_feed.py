"""Cost incidents and restatements -> the incident book, for anomaly-aware history.

Every replica reads both topics without a consumer group, every partition from
its first record, and follows them: an incident on a usage-type series moves
its account series, which may live on another replica's partition, so no
replica can rely on seeing only its own series' incidents. Both topics are
small (lifecycle steps and notices, not cost points). A record that does not
decode is skipped: the gateway, the topics' other reader, dead-letters it, and
one dead letter per bad record is enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.forecast.budget_feed import POLL_MS, assign_all, groupless_consumer
from services.forecast.engine.incidents import IncidentBook
from shared.codec import DecodeError, decode
from shared.events import AnomalyEvent, CostRestated
from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.topics import ANOMALIES, COSTS_RESTATEMENTS

log = get_logger(__name__)


def fold(book: IncidentBook, event: object) -> set[str]:
    """One decoded event into the book; the series whose windows changed."""
    if isinstance(event, AnomalyEvent):
        return book.on_anomaly(event)
    if isinstance(event, CostRestated):
        return book.on_restatement(event)
    return set()


async def follow_incidents(
    settings: SpendstreamSettings,
    book: IncidentBook,
    stop: asyncio.Event,
    on_change: Callable[[set[str]], None] = lambda _: None,
) -> None:
    """Keep ``book`` current; ``on_change`` gets the series each batch changed."""
    consumer = groupless_consumer(settings)
    await consumer.start()
    try:
        names = (t.full_name(settings.topic_prefix) for t in (ANOMALIES, COSTS_RESTATEMENTS))
        await assign_all(consumer, *names)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            changed: set[str] = set()
            for records in batches.values():
                for record in records:
                    try:
                        event = decode(record.value, record.headers, (AnomalyEvent, CostRestated))
                    except DecodeError as exc:
                        log.warning("undecodable incident record skipped", error=str(exc))
                        continue
                    changed |= fold(book, event)
            if changed:
                on_change(changed)
    finally:
        await consumer.stop()
