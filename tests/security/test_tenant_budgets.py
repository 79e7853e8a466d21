"""Tenant budgets (issue 12 #4): a tenant's budget counts its accounts only, and only it hears.

The whole path runs for real: the gateway publishes the budget on the broker,
the forecast service projects month-end spend per account and sums the
budget's accounts, and the gateway's consumer stores the alert for the
budget's owner. Tenant A's budget is breached by A's own spend; tenant B's
account spends more than A's, and must neither count towards A's budget nor
see A's alert. When an account joins A, the budget's coverage follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

from services.forecast.app import ForecastApp
from services.forecast.settings import ForecastSettings
from services.gateway import budget_feed
from services.gateway.repositories import alerts as alerts_repo
from services.gateway.repositories import tenants
from services.gateway.settings import GatewaySettings
from shared.events import Budget, BudgetAlert, Forecast
from shared.topics import BUDGET_ALERTS, BUDGETS, FORECASTS, ensure_topics
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.forecast.support import cost_points, send_points
from tests.integration.gateway.helpers import RunningGateway, auth, running_gateway
from tests.security.conftest import LOOPBACK_RECEIVERS
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

A1, A2, A3, B1 = "411111111111", "422222222222", "433333333333", "599999999999"
# Group join on the embedded broker plus a spawned worker's first import.
STARTUP_TIMEOUT_S = 90.0
# About 3,600 a month per account (cost_points): A's two accounts project ~7,200,
# over this; B's account alone is not; A with B would be ~10,800.
BUDGET_USD = 6000.0
# The coverage check runs this often here, so a tenant's new account counts quickly.
SYNC_S = 0.2


def _forecast_settings(gw: GatewaySettings) -> ForecastSettings:
    return ForecastSettings(
        _env_file=None,
        kafka_bootstrap_servers=gw.kafka_bootstrap_servers,
        topic_prefix=gw.topic_prefix,
        log_json=False,
        kafka_enable_idempotence=False,  # the embedded broker rejects InitProducerId
        forecast_models=("seasonal_naive",),
        forecast_workers=1,
        forecast_delivery_quiet_s=0.3,
    )


@contextlib.asynccontextmanager
async def _forecasting(settings: ForecastSettings) -> AsyncIterator[ForecastApp]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        app = ForecastApp(settings, pool=pool)
        task = asyncio.create_task(app.run())
        try:
            yield app
        finally:
            app.stop.set()
            await asyncio.wait_for(task, 30)


def _projected(forecasts: list[object], accounts: tuple[str, ...]) -> float | None:
    """The sum of the latest month-end projections of these accounts, once all exist."""
    latest: dict[str, float] = {}
    for event in forecasts:
        if isinstance(event, Forecast) and event.account_id in accounts and event.month_end:
            latest[event.account_id] = event.month_end.projected
    return sum(latest.values()) if len(latest) == len(accounts) else None


async def _budget_alerts(gw: RunningGateway, key: str, tenant_id: str) -> list[str]:
    """Actions of breach alerts naming ``tenant_id`` that ``key`` sees, oldest first."""
    response = await gw.client.get("/v1/alerts", params={"source": "budget"}, headers=auth(key))
    assert response.status_code == 200, response.text
    return [
        a["action"]
        for a in response.json()["items"]
        if a["detail"].get("tenant_id") == tenant_id and a["detail"]["kind"] == "projected_breach"
    ]


async def test_a_tenant_budget_counts_and_reaches_only_its_tenant(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_run_consumer=True, gateway_budget_sync_s=SYNC_S)
    await ensure_topics(settings)
    # A3 belongs to no one yet; B1 spends the most.
    await send_points(
        settings,
        [
            *cost_points(A1, 100),
            *cost_points(A2, 100),
            *cost_points(A3, 100),
            *(p.model_copy(update={"cost": p.cost * 1.5}) for p in cost_points(B1, 100)),
        ],
    )
    forecast_settings = _forecast_settings(settings)
    async with (
        running_gateway(settings) as gw,
        collected(settings, FORECASTS) as forecasts,
        collected(settings, BUDGET_ALERTS) as alerts,
        _forecasting(forecast_settings),
    ):
        # Every account is projected before the budget exists, so its first evaluation
        # sees them all (the forecast service would count whatever it knows).
        await wait_for_async(
            lambda: _projected(forecasts, (A1, A2, A3, B1)),
            timeout=STARTUP_TIMEOUT_S,
            description="every account projected",
        )
        key_a = await gw.tenant("acme", [A1, A2])
        key_b = await gw.tenant("globex", [B1])
        created = await gw.client.post(
            "/v1/budgets",
            json={"name": "all of acme", "scope": "tenant", "amount_usd": BUDGET_USD},
            headers=auth(key_a),
        )
        assert created.status_code == 201, created.text
        budget_id = created.json()["id"]
        async with gw.state.pool.acquire() as conn:
            acme = await tenants.tenant_id_by_name(conn, "acme")

        def breach(action: str) -> BudgetAlert | None:
            found = [
                a
                for a in alerts
                if isinstance(a, BudgetAlert)
                and (a.tenant_id, a.kind, a.action) == (acme, "projected_breach", action)
            ]
            return found[-1] if found else None

        opened = await wait_for_async(
            lambda: breach("open"), timeout=STARTUP_TIMEOUT_S, description="A's budget opens"
        )
        own = _projected(forecasts, (A1, A2))
        assert own is not None
        # Only A's spend counts: B's account (and the unowned one) would add ~9,000.
        assert opened.projected == pytest.approx(own)
        assert opened.budget_id == budget_id

        await wait_for_async(
            lambda: _seen(gw, key_a, acme, ["open"]), description="A sees its budget alert"
        )
        assert await _budget_alerts(gw, key_b, acme) == []

        # A3 joins A: the budget is re-published with it, and the projection follows.
        async with gw.state.pool.acquire() as conn:
            await tenants.add_accounts(conn, "acme", [A3])
        updated = await wait_for_async(
            lambda: breach("update"), timeout=STARTUP_TIMEOUT_S, description="coverage follows"
        )
        assert updated.projected == pytest.approx(_projected(forecasts, (A1, A2, A3)))
        await wait_for_async(
            lambda: _seen(gw, key_a, acme, ["open", "update"]),
            description="A sees the update too",
        )
        assert await _budget_alerts(gw, key_b, acme) == []


async def _seen(gw: RunningGateway, key: str, tenant_id: str, actions: list[str]) -> bool:
    return await _budget_alerts(gw, key, tenant_id) == actions


async def test_a_budget_alert_belongs_to_the_budgets_owner_whatever_it_claims(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """The owner comes from the gateway's budgets table: a record naming another tenant
    (a hostile or buggy producer) reaches the budget's owner only, in lists and webhooks."""
    async with running_gateway(make_settings(**LOOPBACK_RECEIVERS)) as gw:
        key_a = await gw.tenant("acme", [A1])
        key_b = await gw.tenant("globex", [B1])
        async with gw.state.pool.acquire() as conn:
            acme = await tenants.tenant_id_by_name(conn, "acme")
            globex = await tenants.tenant_id_by_name(conn, "globex")
        budget = {"name": "all", "scope": "tenant", "amount_usd": 100.0}
        created = await gw.client.post("/v1/budgets", json=budget, headers=auth(key_a))
        budget_id = created.json()["id"]
        subscriptions = {}
        for name, key in (("acme", key_a), ("globex", key_b)):
            hook = {"name": name, "channel": "webhook", "url": "http://127.0.0.1:9/hook"}
            made = await gw.client.post("/v1/subscriptions", json=hook, headers=auth(key))
            assert made.status_code == 201, made.text
            subscriptions[made.json()["id"]] = name
        claims_globex = f.budget_alert("inc-forged", account="*").model_copy(
            update={"budget_id": budget_id, "tenant_id": globex}
        )
        unknown_budget = f.budget_alert("inc-unknown", account="*").model_copy(
            update={"budget_id": "no-such-budget", "tenant_id": globex}
        )
        await gw.store([claims_globex, unknown_budget])
        assert claims_globex.tenant_id != acme
        assert await _budget_alerts(gw, key_a, globex) == ["open"]  # A's budget: A sees it
        assert await _budget_alerts(gw, key_b, globex) == []
        async with gw.state.pool.acquire() as conn:
            await alerts_repo.fan_out(conn, 100)
            queued = await conn.fetch("SELECT subscription_id FROM deliveries")
        assert [subscriptions[r["subscription_id"]] for r in queued] == ["acme"]


async def test_a_budgets_coverage_follows_its_tenants_accounts(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_budget_sync_s=0)  # the test runs each check itself
    async with running_gateway(settings) as gw, collected(settings, BUDGETS) as published:
        key = await gw.tenant("acme", [A1, A2])
        budget = {"name": "all", "scope": "tenant", "amount_usd": 100.0}
        budget_id = (await gw.client.post("/v1/budgets", json=budget, headers=auth(key))).json()[
            "id"
        ]

        def coverage() -> list[str] | None:
            mine = [b for b in published if isinstance(b, Budget) and b.id == budget_id]
            return mine[-1].account_ids if mine else None

        await wait_for_async(lambda: coverage() == [A1, A2], description="published coverage")
        pool, publisher = gw.state.pool, gw.state.publisher
        assert await budget_feed.sync_coverage(pool, publisher) == 0  # nothing changed
        async with pool.acquire() as conn:
            await tenants.remove_accounts(conn, "acme", [A2])
        assert await budget_feed.sync_coverage(pool, publisher) == 1
        await wait_for_async(lambda: coverage() == [A1], description="coverage without A2")
        assert await budget_feed.sync_coverage(pool, publisher) == 0
