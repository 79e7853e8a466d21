"""Composition root: settings -> clients -> the ingest, refresh and budget loops."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor

from aiokafka import TopicPartition

from services.forecast.budget_feed import follow_budgets, restore_alerts
from services.forecast.budgets.breach import BudgetWatch
from services.forecast.budgets.interval import IntervalWatch
from services.forecast.engine.history import HistoryStore
from services.forecast.engine.incidents import IncidentBook
from services.forecast.engine.refresh import refresh_series
from services.forecast.incident_feed import follow_incidents
from services.forecast.ingest import CostHistory
from services.forecast.pool import make_pool
from services.forecast.refresher import Refresher, RefreshFn
from services.forecast.settings import ForecastSettings
from shared.kafka import (
    EventProducer,
    PartitionListener,
    Received,
    consume_batches,
    make_consumer,
    make_producer,
)
from shared.logging import get_logger
from shared.service import run_service
from shared.telemetry import ServiceMetrics
from shared.topics import COSTS_DAILY, ensure_topics

log = get_logger(__name__)


class ForecastApp:
    """One replica: consumer of costs.daily, the refresher, budget and incident followers."""

    def __init__(
        self,
        settings: ForecastSettings,
        pool: Executor | None = None,
        refresh_fn: RefreshFn = refresh_series,
        stop: asyncio.Event | None = None,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool or make_pool(settings.forecast_workers)
        self._owns_pool = pool is None
        self.store = HistoryStore(settings.forecast_history_days)
        self.history = CostHistory(self.store, settings.forecast_levels)
        self.incidents = IncidentBook(settings.forecast_history_days)
        self.budgets = BudgetWatch()
        self.intervals = IntervalWatch()
        self.metrics = metrics or ServiceMetrics(settings.service_name)
        self.stop = stop or asyncio.Event()
        self.consumer = make_consumer(settings, settings.forecast_group_id)
        self.producer = EventProducer(make_producer(settings), settings)
        self.refresher = Refresher(
            settings,
            self.store,
            self.pool,
            self.producer,
            self.budgets,
            self.intervals,
            refresh_fn,
            self.incidents,
        )

    async def _assigned(self, assigned: list[TopicPartition]) -> None:
        """Replay each newly assigned partition of the compacted topic from its first record."""
        if assigned:
            await self.consumer.seek_to_beginning(*assigned)
            log.info("replaying costs.daily", partitions=sorted(tp.partition for tp in assigned))

    async def _revoked(self, revoked: list[TopicPartition]) -> None:
        """Drop the series that lived on partitions another replica now owns."""
        self.history.drop_partitions({tp.partition for tp in revoked})

    def _incidents_changed(self, series: set[str]) -> None:
        """Refit the series whose incident windows changed (those this replica holds)."""
        self.store.mark_changed(sorted(series))
        self.refresher.touched()

    async def _handle(self, batch: Sequence[Received]) -> None:
        if self.history.apply(batch):
            self.refresher.touched()
        self.metrics.records.labels(topic=COSTS_DAILY.name).inc(len(batch))

    async def run(self) -> None:
        """Run until ``stop`` is set; always closes clients (and its own pool)."""
        await ensure_topics(self.settings)
        await self.producer.raw.start()
        try:
            await restore_alerts(self.settings, self.budgets, self.intervals)
            self.consumer.subscribe(
                [COSTS_DAILY.full_name(self.settings.topic_prefix)],
                listener=PartitionListener(self._assigned, self._revoked),
            )
            await self.consumer.start()
            try:
                await asyncio.gather(
                    consume_batches(self.consumer, self.producer, self._handle, self.stop),
                    self.refresher.run(self.stop),
                    follow_budgets(self.settings, self.producer, self.budgets, self.stop),
                    follow_incidents(
                        self.settings, self.incidents, self.stop, self._incidents_changed
                    ),
                )
            finally:
                await self.consumer.stop()
        finally:
            await self.producer.raw.stop()
            if self._owns_pool:
                self.pool.shutdown(cancel_futures=True)


async def serve(settings: ForecastSettings, stop: asyncio.Event, metrics: ServiceMetrics) -> None:
    """The service until ``stop``: one replica with its own fitting pool."""
    await ForecastApp(settings, stop=stop, metrics=metrics).run()


def main() -> None:
    """Entry point: the shared service skeleton around :func:`serve`."""
    run_service(ForecastSettings, serve)
