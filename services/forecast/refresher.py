"""The refresh loop: changed series -> process pool fits -> forecasts and alerts.

Fits run in a ``ProcessPoolExecutor`` through ``loop.run_in_executor``, so the
event loop (and with it the consumer's heartbeats) never waits on a fit. Only
series whose data changed since the last refresh are refitted. Results are
published as each finishes, not when the whole batch does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import date

from services.forecast.budgets.breach import BudgetWatch
from services.forecast.budgets.interval import IntervalWatch
from services.forecast.engine.history import HistoryStore
from services.forecast.engine.incidents import IncidentBook
from services.forecast.engine.refresh import RefreshJob, refresh_series
from services.forecast.settings import ForecastSettings
from shared.events import BudgetAlert, Forecast, utcnow
from shared.kafka import EventProducer
from shared.logging import get_logger
from shared.topics import BUDGET_ALERTS, FORECASTS

log = get_logger(__name__)

# How often the loop checks whether it is time to refresh: short enough that a
# delivery's quiet period is honoured within a fraction of a second.
TICK_S = 0.2

RefreshFn = Callable[[RefreshJob], Forecast]


class Refresher:
    """Decides when to refresh, runs the fits off-loop, publishes the results."""

    def __init__(
        self,
        settings: ForecastSettings,
        store: HistoryStore,
        pool: Executor,
        producer: EventProducer,
        budgets: BudgetWatch,
        intervals: IntervalWatch,
        refresh_fn: RefreshFn = refresh_series,
        incidents: IncidentBook | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._pool = pool
        self._producer = producer
        self._budgets = budgets
        self._intervals = intervals
        self._refresh_fn = refresh_fn
        self._incidents = incidents or IncidentBook(settings.forecast_history_days)
        self._config = settings.refresh_config()
        self._last_change = 0.0
        self._last_refresh = 0.0
        self.refreshes = 0
        self._latest_month: date | None = None
        self.fitting = asyncio.Event()

    def touched(self) -> None:
        """Note that data arrived (delivery mode waits for it to go quiet)."""
        self._last_change = time.monotonic()

    def _due(self) -> bool:
        now = time.monotonic()
        if self._settings.forecast_refresh_mode == "delivery":
            return now - self._last_change >= self._settings.forecast_delivery_quiet_s
        return now - self._last_refresh >= self._settings.forecast_refresh_interval_s

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh changed series whenever due, until ``stop``."""
        while not stop.is_set():
            if self._store.pending() and self._due():
                await self.refresh_changed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)

    async def refresh_changed(self) -> int:
        """Fit every changed series in the pool and publish; returns how many."""
        ids = self._store.take_changed()
        if not ids:
            return 0
        loop = asyncio.get_running_loop()
        now = utcnow()
        futures = {}
        for series_id in ids:
            state = self._store.state(series_id)
            job = RefreshJob(
                series_id=series_id,
                account_id=state.account_id,
                service=state.service,
                history=self._store.snapshot(series_id),
                config=self._config,
                generated_at=now,
                incidents=self._incidents.windows(series_id),
            )
            futures[loop.run_in_executor(self._pool, self._refresh_fn, job)] = job
        self.fitting.set()
        started = time.monotonic()
        failed: list[str] = []
        try:
            for done in asyncio.as_completed(list(futures)):
                try:
                    forecast = await done
                except Exception as exc:  # one bad series must not stop the others
                    log.exception("refresh failed", error=str(exc))
                    continue
                await self._publish(forecast)
        finally:
            self.fitting.clear()
        failed = [j.series_id for f, j in futures.items() if f.exception() is not None]
        self._store.mark_changed(failed)
        await self._close_past_months()
        self._last_refresh = time.monotonic()
        self.refreshes += 1
        log.info(
            "refreshed", series=len(ids), failed=len(failed), seconds=time.monotonic() - started
        )
        return len(ids)

    async def _publish(self, forecast: Forecast) -> None:
        await self._producer.send_and_wait(FORECASTS, forecast, key=forecast.series_id)
        now = utcnow()
        alerts: list[BudgetAlert] = []
        if forecast.series_id in self._store and forecast.month_end is not None:
            history = self._store.snapshot(forecast.series_id)
            alerts += self._intervals.check(
                forecast.series_id, history, forecast.month_end.projected, now
            )
            alerts += self._intervals.observe(forecast, now)
            month = forecast.month_end.month
            self._latest_month = max(month, self._latest_month or month)
        alerts += self._budgets.on_forecast(forecast, now)
        for alert in alerts:
            await self._producer.send_and_wait(BUDGET_ALERTS, alert, key=alert.series_id)

    async def _close_past_months(self) -> None:
        # Data time, not wall time: a backfill of last year must not close this month.
        if self._latest_month is None:
            return
        for alert in self._budgets.close_months_before(self._latest_month, utcnow()):
            await self._producer.send_and_wait(BUDGET_ALERTS, alert, key=alert.series_id)
