"""The result consumer: Kafka batches -> one database transaction -> offsets committed.

Offsets are committed by ``shared.kafka.consume_batches`` only after the
handler returns, and the handler returns only after the transaction commits.
While PostgreSQL is down the handler retries with capped exponential backoff
(tenacity), so nothing is committed and nothing is lost; the pool replaces
broken connections on the next attempt. Only connection-class errors are
retried (``db.errors``): a record PostgreSQL or asyncpg rejects (bad data, not
an outage) is isolated and dead-lettered with the reason, so it cannot block
its partition, or the consumer for every tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential_jitter,
)

from services.gateway.db.errors import is_retryable
from services.gateway.repositories import ingest
from shared import topics
from shared.events import DeadLetter, Event, stable_id, utcnow
from shared.kafka import EventProducer, Received, consume_batches, make_consumer
from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.telemetry import NAMESPACE, ServiceMetrics

log = get_logger(__name__)

CONSUMED_TOPICS: tuple[topics.Topic, ...] = (
    topics.ANOMALIES,
    topics.RECOMMENDATIONS,
    topics.COMMITMENTS,
    topics.COMMITMENT_ALERTS,
    topics.IMPLEMENTATIONS,
    topics.FORECASTS,
    topics.COSTS_DAILY,
    topics.BUDGET_ALERTS,
    topics.COSTS_RESTATEMENTS,
    *(t.dlq for t in topics.TOPICS),
)
# First retry after 100 ms: a blip (failover, restart) is usually over by then.
DB_RETRY_INITIAL_S = 0.1
# After the consume loop itself fails (e.g. kicked from the group by a very long
# outage), wait this long before rejoining; uncommitted records come again.
LOOP_RESTART_S = 1.0


def make_result_consumer(settings: SpendstreamSettings, group_id: str) -> AIOKafkaConsumer:
    """A manual-commit consumer of every topic the gateway stores."""
    names = [t.full_name(settings.topic_prefix) for t in CONSUMED_TOPICS]
    return make_consumer(settings, group_id, *names)


class ResultStore:
    """The batch handler: idempotent upserts with outage-proof retries."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: EventProducer,
        metrics: ServiceMetrics,
        stop: asyncio.Event,
        max_wait_s: float,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._metrics = metrics
        self._stop = stop
        self._max_wait_s = max_wait_s
        self.db_retries = Counter(
            "db_retries",
            "Batches retried because PostgreSQL was unreachable.",
            namespace=NAMESPACE,
            subsystem="gateway",
            registry=metrics.registry,
        )

    async def __call__(self, batch: Sequence[Received]) -> None:
        """Store one partition's batch; return only once it is durable."""
        topic = batch[0].topic
        with self._metrics.handle_seconds.labels(topic).time():
            pairs = [(r.event, r.topic) for r in batch]
            try:
                await self._retrying(pairs)
            except Exception as exc:  # classified: outages propagate, bad records are isolated
                if is_retryable(exc):
                    raise
                log.warning("batch rejected by database; isolating records", error=repr(exc))
                for record in batch:
                    await self._store_or_dead_letter(record)
        self._metrics.records.labels(topic).inc(len(batch))

    async def _retrying(self, pairs: Sequence[tuple[Event, str]]) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_retryable),
            wait=wait_exponential_jitter(
                multiplier=DB_RETRY_INITIAL_S, jitter=DB_RETRY_INITIAL_S, max=self._max_wait_s
            ),
            # Retry until the database is back, unless the service is shutting down.
            stop=lambda _state: self._stop.is_set(),
            before_sleep=self._log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                async with self._pool.acquire() as conn:
                    await ingest.store(conn, pairs)

    def _log_retry(self, state: RetryCallState) -> None:
        self.db_retries.inc()
        log.warning(
            "database unavailable; retrying batch",
            attempt=state.attempt_number,
            error=repr(state.outcome.exception()) if state.outcome else None,
        )

    async def _store_or_dead_letter(self, record: Received) -> None:
        try:
            await self._retrying([(record.event, record.topic)])
        except Exception as exc:  # classified: outages propagate, bad records are dead-lettered
            if is_retryable(exc):
                raise
            source = topics.by_name(record.topic, self._producer.settings.topic_prefix)
            letter = DeadLetter(
                id=stable_id(record.topic, record.partition, record.offset),
                source_topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.event.model_dump_json()[:10_000],
                reason=f"database rejected the record: {exc}",
                error_type=type(exc).__name__,
                service=self._producer.settings.service_name,
                failed_at=utcnow(),
            )
            await self._producer.send_and_wait(source.dlq, letter, key=record.key or letter.id)
            self._metrics.dead_letters.labels(record.topic).inc()


async def run_consumer(
    consumer: AIOKafkaConsumer, producer: EventProducer, handler: ResultStore, stop: asyncio.Event
) -> None:
    """Consume until ``stop`` is set, rejoining after loop-level failures."""
    while not stop.is_set():
        try:
            await consume_batches(consumer, producer, handler, stop)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the loop must outlive any one failure; records come again
            log.error("consume loop failed; restarting", error=repr(exc))
            try:
                await asyncio.wait_for(stop.wait(), LOOP_RESTART_S)
            except TimeoutError:
                continue
