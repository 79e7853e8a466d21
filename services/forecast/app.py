"""Composition root: settings -> clients -> the ingest, refresh and budget loops."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor

from services.forecast.budget_feed import follow_budgets, restore_alerts
from services.forecast.budgets.breach import BudgetWatch
from services.forecast.budgets.interval import IntervalWatch
from services.forecast.engine.history import HistoryStore
from services.forecast.engine.refresh import refresh_series
from services.forecast.ingest import CostHistory, ReplayOnAssign
from services.forecast.pool import make_pool
from services.forecast.refresher import Refresher, RefreshFn
from services.forecast.settings import ForecastSettings
from shared.kafka import EventProducer, Received, consume_batches, make_consumer, make_producer
from shared.logging import configure_logging, get_logger
from shared.settings import load
from shared.telemetry import ServiceMetrics
from shared.topics import COSTS_DAILY, ensure_topics

log = get_logger(__name__)


class ForecastApp:
    """One replica: consumer of costs.daily, the refresher, the budget follower."""

    def __init__(
        self,
        settings: ForecastSettings,
        pool: Executor | None = None,
        refresh_fn: RefreshFn = refresh_series,
    ) -> None:
        self.settings = settings
        self.pool = pool or make_pool(settings.forecast_workers)
        self._owns_pool = pool is None
        self.store = HistoryStore(settings.forecast_history_days)
        self.history = CostHistory(self.store, settings.forecast_levels)
        self.budgets = BudgetWatch()
        self.intervals = IntervalWatch()
        self.metrics = ServiceMetrics(settings.service_name)
        self.stop = asyncio.Event()
        self.consumer = make_consumer(settings, settings.forecast_group_id)
        self.producer = EventProducer(make_producer(settings), settings)
        self.refresher = Refresher(
            settings, self.store, self.pool, self.producer, self.budgets, self.intervals, refresh_fn
        )

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
                listener=ReplayOnAssign(self.consumer, self.history),
            )
            await self.consumer.start()
            try:
                await asyncio.gather(
                    consume_batches(self.consumer, self.producer, self._handle, self.stop),
                    self.refresher.run(self.stop),
                    follow_budgets(self.settings, self.producer, self.budgets, self.stop),
                )
            finally:
                await self.consumer.stop()
        finally:
            await self.producer.raw.stop()
            if self._owns_pool:
                self.pool.shutdown(cancel_futures=True)


def main() -> None:
    """Entry point: load settings, configure logging, run until interrupted."""
    settings = load(ForecastSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)

    async def _run() -> None:
        app = ForecastApp(settings)
        if settings.metrics_port is not None:
            app.metrics.serve(settings.metrics_port)
        await app.run()

    asyncio.run(_run())
