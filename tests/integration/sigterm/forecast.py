"""Forecast: daily cost points in, forecasts and budget alerts out.

The service rebuilds its history from the compacted ``costs.daily`` on every
start, so the restart must forecast every series on its full history; the
budget incident opened before the stop is restored, not opened a second time.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime

from shared.events import Budget, BudgetAlert, Forecast
from shared.topics import BUDGET_ALERTS, BUDGETS, FORECASTS, ensure_topics
from tests.harness.wait import wait_for
from tests.integration.forecast.support import cost_points, send_event, send_points
from tests.integration.sigterm.process import ServiceProcess
from tests.integration.sigterm.scenario import Context, Scenario

ACCOUNTS = tuple(f"{n:012d}" for n in range(1, 9))
DAYS = 100
BUDGET = Budget(
    id="b-sigterm",
    tenant_id="t1",
    name="prod",
    scope="account",
    account_id=ACCOUNTS[0],
    account_ids=[ACCOUNTS[0]],
    amount_usd=1000.0,  # ~120 a day: the month-end projection breaches it
    updated_at=datetime(2025, 4, 1, tzinfo=UTC),
)


def budget_opens(alerts: list[BudgetAlert]) -> list[BudgetAlert]:
    return [a for a in alerts if a.budget_id == BUDGET.id and a.action == "open"]


class ForecastSigterm(Scenario):
    """Eight series of 100 days and a budget that the first series breaches."""

    service = "forecast"

    def prepare(self, ctx: Context) -> dict[str, str]:
        settings = ctx.settings()

        async def send() -> None:
            await ensure_topics(settings)
            await send_points(settings, [p for a in ACCOUNTS for p in cost_points(a, DAYS)])
            await send_event(settings, BUDGETS, BUDGET, key=BUDGET.id)

        asyncio.run(send())
        return {
            # Prophet takes seconds per fit; these two keep eight fits short on 2 cores.
            "SPENDSTREAM_FORECAST_MODELS": json.dumps(["seasonal_naive", "damped_holt"]),
            "SPENDSTREAM_FORECAST_WORKERS": "1",
            "SPENDSTREAM_FORECAST_DELIVERY_QUIET_S": "0.3",
        }

    def busy(self, ctx: Context) -> bool:
        return bool(ctx.events_on(FORECASTS))

    def stopped(self, ctx: Context) -> None:
        forecasts = [e for e in ctx.events_on(FORECASTS) if isinstance(e, Forecast)]
        twice = {i: n for i, n in Counter(f.id for f in forecasts).items() if n > 1}
        assert not twice, f"forecasts sent more than once: {twice}"
        alerts = [e for e in ctx.events_on(BUDGET_ALERTS) if isinstance(e, BudgetAlert)]
        assert len(budget_opens(alerts)) <= 1, budget_opens(alerts)

    def finished(self, ctx: Context, service: ServiceProcess) -> None:
        series = {f"daily/{a}" for a in ACCOUNTS}
        restarted_at = datetime.now(UTC)

        def complete() -> bool:
            service.alive()
            forecasts = [e for e in ctx.events_on(FORECASTS) if isinstance(e, Forecast)]
            alerts = [e for e in ctx.events_on(BUDGET_ALERTS) if isinstance(e, BudgetAlert)]
            full = {
                f.series_id
                for f in forecasts
                if f.generated_at >= restarted_at and f.history_days == DAYS
            }
            return full >= series and bool(budget_opens(alerts))

        wait_for(
            complete,
            timeout=self.finish_timeout_s,
            interval=0.5,
            description="every series forecast on its full history after the restart",
        )
        self.stopped(ctx)  # checked again once the restarted run has stopped too
