"""The forecast service on a real broker: forecasts, restart, budgets, heartbeats while fitting."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import pytest

from services.forecast.app import ForecastApp
from services.forecast.engine.config import FAST_MODELS
from services.forecast.settings import ForecastSettings
from shared.events import Budget, BudgetAlert, Forecast
from shared.topics import BUDGET_ALERTS, BUDGETS, FORECASTS, ensure_topics
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.forecast.support import (
    cost_points,
    send_event,
    send_points,
    slow_refresh,
)

pytestmark = pytest.mark.integration

# Group join on the embedded broker plus a spawned worker's first import.
STARTUP_TIMEOUT_S = 60.0


def _settings(kafka_bootstrap: str, topic_prefix: str) -> ForecastSettings:
    return ForecastSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=topic_prefix,
        log_json=False,
        # The embedded Tansu broker rejects idempotent producers (InitProducerId).
        kafka_enable_idempotence=False,
        # The opt-in fast ensemble: the ensemble path end to end, and cheap fits.
        forecast_models=FAST_MODELS,
        forecast_workers=1,
        forecast_delivery_quiet_s=0.3,
    )


def _pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))


@contextlib.asynccontextmanager
async def running(app: ForecastApp):
    task = asyncio.create_task(app.run())
    try:
        yield app
    finally:
        app.stop.set()
        await asyncio.wait_for(task, 30)


def _latest(events, series_id: str) -> Forecast | None:
    found = [e for e in events if isinstance(e, Forecast) and e.series_id == series_id]
    return found[-1] if found else None


async def test_forecasts_survive_a_restart_and_budgets_alert(kafka_bootstrap, topic_prefix):
    settings = _settings(kafka_bootstrap, topic_prefix)
    await ensure_topics(settings)
    await send_points(settings, [*cost_points("111", 100), *cost_points("222", 30)])
    budget = Budget(
        id="b-111",
        tenant_id="t1",
        name="prod",
        scope="account",
        account_id="111",
        account_ids=["111"],
        amount_usd=1000.0,
        updated_at=datetime(2025, 4, 1, tzinfo=UTC),
    )
    await send_event(settings, BUDGETS, budget, key=budget.id)
    with _pool() as pool:
        async with (
            collected(settings, FORECASTS) as forecasts,
            collected(settings, BUDGET_ALERTS) as alerts,
        ):
            async with running(ForecastApp(settings, pool=pool)):
                await wait_for_async(
                    lambda: _latest(forecasts, "daily/111") and _latest(forecasts, "daily/222"),
                    timeout=STARTUP_TIMEOUT_S,
                    description="both series forecast",
                )
                await wait_for_async(lambda: alerts, description="a budget alert")
            ok, short = _latest(forecasts, "daily/111"), _latest(forecasts, "daily/222")
            assert ok.status == "ok"
            assert ok.model == "ensemble_fast"  # through the real pool and broker
            assert {s.model for s in ok.backtest} == set(settings.forecast_models)
            assert ok.history_days == 100
            assert ok.month_end is not None
            assert ok.month_end.projected > 1000
            assert short.status == "insufficient_history"
            assert short.history_days == 30
            alert = alerts[0]
            assert isinstance(alert, BudgetAlert)
            assert (alert.action, alert.kind, alert.budget_id) == (
                "open",
                "projected_breach",
                "b-111",
            )

            # A new replica in the same group (offsets committed) rebuilds the full
            # history from the compacted topic: one more day makes 101, not 1.
            restarted = ForecastApp(settings, pool=pool)
            async with running(restarted):
                await wait_for_async(
                    lambda: (
                        "daily/111" in restarted.store
                        and len(restarted.store.snapshot("daily/111")) == 100
                    ),
                    timeout=STARTUP_TIMEOUT_S,
                    description="history replayed after restart",
                )
                await send_points(settings, cost_points("111", 1, first=100))
                await wait_for_async(
                    lambda: (f := _latest(forecasts, "daily/111")) and f.history_days == 101,
                    timeout=STARTUP_TIMEOUT_S,
                    description="forecast on 101 days",
                )
            # The restored incident continues (same id) instead of opening a second one.
            opens = [a for a in alerts if a.action == "open"]
            assert len(opens) == 1


async def test_consumer_keeps_its_group_membership_while_fitting(kafka_bootstrap, topic_prefix):
    settings = _settings(kafka_bootstrap, topic_prefix)
    await ensure_topics(settings)
    await send_points(settings, cost_points("333", 70))
    with _pool() as pool:
        app = ForecastApp(settings, pool=pool, refresh_fn=slow_refresh)
        async with collected(settings, FORECASTS) as forecasts, running(app):
            await wait_for_async(
                app.refresher.fitting.is_set, timeout=STARTUP_TIMEOUT_S, description="fit started"
            )
            # aiokafka keeps no public handle on group state; the coordinator's
            # generation and member id change if the member is evicted and rejoins.
            coordinator = app.consumer._coordinator
            member, generation = coordinator.member_id, coordinator.generation
            # While the worker is busy, the loop still consumes: a new day arrives.
            await send_points(settings, cost_points("333", 1, first=70))
            await wait_for_async(
                lambda: len(app.store.snapshot("daily/333")) == 71,
                description="a point consumed during the fit",
            )
            assert app.refresher.fitting.is_set()
            await wait_for_async(
                lambda: _latest(forecasts, "daily/333"),
                timeout=STARTUP_TIMEOUT_S,
                description="the slow fit's forecast",
            )
            assert (coordinator.member_id, coordinator.generation) == (member, generation)
            assert app.consumer.assignment()
