"""Hostile records on the incident topics the forecast service follows.

Every forecast replica reads ``anomalies`` and ``costs.restatements`` from their
first record for the life of the process. A record that does not decode (not
JSON, a value of another topic's type) or names a series id the service cannot
parse must not stop the follower: without the skip, one bad record kills the
follower task and with it the replica (``asyncio.gather`` in ``app.run``), on
every restart, since the record is replayed from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from services.forecast.engine.incidents import IncidentBook
from services.forecast.incident_feed import follow_incidents
from shared.codec import encode
from shared.events import AnomalyEvent, Event
from shared.settings import SpendstreamSettings
from shared.topics import ANOMALIES, ensure_topics
from tests.harness.wait import wait_for_async
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _incident(series_id: str, incident_id: str) -> AnomalyEvent:
    return AnomalyEvent(
        id=f"{incident_id}-open",
        incident_id=incident_id,
        action="open",
        kind="cost",
        series_id=series_id,
        account_id="111",
        window_start=T0,
        window_end=T0 + timedelta(days=1),
        actual=500.0,
        expected=100.0,
        lower=80.0,
        upper=120.0,
        score=0.9,
        severity="high",
        detector="cost",
        reason="spend jumped",
        detected_at=T0,
    )


async def _produce(settings: SpendstreamSettings, records: list[bytes | Event]) -> None:
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs())
    await producer.start()
    try:
        for record in records:
            value, headers = (record, []) if isinstance(record, bytes) else encode(record, "x")
            await producer.send_and_wait(
                ANOMALIES.full_name(settings.topic_prefix),
                value,
                key=b"k",
                headers=headers,
                partition=0,
            )
    finally:
        await producer.stop()


async def test_bad_incident_records_are_skipped_and_the_next_one_is_folded(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = SpendstreamSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=topic_prefix,
        kafka_enable_idempotence=False,
        service_name="forecast",
    )
    await ensure_topics(settings)
    await _produce(
        settings,
        [
            b"\xff not json",
            f.cost(account="111"),  # a costs.daily value on the anomalies topic
            _incident("", "inc-empty"),  # no series id to file it under
            _incident("daily/../../etc/passwd/x/y/z", "inc-odd"),
            _incident("daily/111/AmazonEC2", "inc-good"),
        ],
    )
    book, stop = IncidentBook(keep_days=400), asyncio.Event()
    task = asyncio.create_task(follow_incidents(settings, book, stop))
    try:
        await wait_for_async(
            lambda: task.done() or book.windows("daily/111/AmazonEC2"),
            timeout=60,
            description="the good incident behind the bad records folded",
        )
        assert not task.done(), f"the incident follower died: {task.exception()!r}"
        assert [w.incident_id for w in book.windows("daily/111")] == ["inc-good"]
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
