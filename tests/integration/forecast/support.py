"""Helpers for the forecast integration tests: publish cost points and events, run the app."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import numpy as np

from services.forecast.engine.refresh import RefreshJob, refresh_series
from shared.events import CostPoint, Event, Forecast, stable_id
from shared.kafka import EventProducer, make_producer
from shared.settings import SpendstreamSettings
from shared.topics import COSTS_DAILY, Topic

START = date(2025, 1, 1)
# The slow fit must outlast the consumer's 10 s session timeout: if fitting
# blocked the loop, the broker would evict the member before the fit ended.
SLOW_FIT_S = 12.0


def slow_refresh(job: RefreshJob) -> Forecast:
    """A refresh that holds its worker process for longer than a session timeout."""
    time.sleep(SLOW_FIT_S)
    return refresh_series(job)


def cost_points(account: str, days: int, first: int = 0, service: str | None = None):
    """Daily CostPoints with a weekly shape for one account (or account x service)."""
    level = "service" if service else "account"
    sid = f"daily/{account}" + (f"/{service}" if service else "")
    for i in range(first, first + days):
        day = START + timedelta(days=i)
        cost = 100.0 + 30.0 * (i % 7 < 5) + float(np.sin(i))
        yield CostPoint(
            id=stable_id(sid, day),
            series_id=sid,
            level=level,
            granularity="daily",
            period_start=datetime(day.year, day.month, day.day, tzinfo=UTC),
            account_id=account,
            service=service,
            cost=cost,
            attempt_id="attempt-1",
            as_of=datetime(2025, 6, 1, tzinfo=UTC),
        )


async def send_points(settings: SpendstreamSettings, points) -> None:
    """Publish points the way the anomaly service does (key series@day, partition by series)."""
    producer = EventProducer(make_producer(settings), settings)
    await producer.raw.start()
    try:
        for p in points:
            key = f"{p.series_id}@{p.period_start.date().isoformat()}"
            await producer.send(COSTS_DAILY, p, key=key, partition_key=p.series_id)
        await producer.raw.flush()
    finally:
        await producer.raw.stop()


async def send_event(settings: SpendstreamSettings, topic: Topic, event: Event, key: str) -> None:
    """Publish one event and wait for the ack."""
    producer = EventProducer(make_producer(settings), settings)
    await producer.raw.start()
    try:
        await producer.send_and_wait(topic, event, key=key)
    finally:
        await producer.raw.stop()
