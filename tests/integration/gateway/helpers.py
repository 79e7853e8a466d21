"""Helpers shared by the gateway integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from services.gateway.api.state import GatewayState
from services.gateway.app import create_app
from services.gateway.repositories import ingest, tenants
from services.gateway.settings import GatewaySettings
from shared.events import Event
from shared.topics import by_name

# Test loops poll fast so conditions hold within a fraction of a second.
FAST_POLL_S = 0.05
# Seals webhook secrets at rest; a fixed test-only Fernet key.
SECRETS_KEY = "eJ8xYDqK9kRNGRoXI4hErccwcbBKmpS0NgaT0Sib85g="
# Request limits out of the way: tests (and fuzzers) are one client sending many
# requests; the limits themselves are proven in tests/security.
NO_RATE_LIMITS: dict[str, Any] = {
    "gateway_rate_limit_per_s": 100_000.0,
    "gateway_rate_limit_burst": 100_000,
    "gateway_tenant_rate_limit_per_s": 100_000.0,
    "gateway_tenant_rate_limit_burst": 100_000,
}


def settings_factory(
    postgres_dsn: str, kafka_bootstrap: str, schema: str, topic_prefix: str, **defaults: Any
) -> Callable[..., GatewaySettings]:
    """Settings on one test's schema and topic prefix; ``defaults``, then overrides, win."""

    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "postgres_dsn": postgres_dsn,
            "gateway_pg_schema": schema,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "topic_prefix": topic_prefix,
            "gateway_consumer_group": f"{topic_prefix}gateway",
            "kafka_enable_idempotence": False,
            "gateway_run_consumer": False,
            "gateway_run_delivery": False,
            "gateway_delivery_poll_s": FAST_POLL_S,
            "gateway_stream_poll_s": FAST_POLL_S,
            **NO_RATE_LIMITS,
            "gateway_secrets_key": SECRETS_KEY,
            "log_json": False,
            **defaults,
            **overrides,
        }
        return GatewaySettings(_env_file=None, **values)

    return make


@dataclass
class RunningGateway:
    """An app inside its lifespan plus an in-process HTTP client."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: GatewaySettings

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.state.gateway
        return state

    async def tenant(self, name: str, accounts: list[str], scope: str = "write") -> str:
        """Create a tenant and return a key of ``scope`` for it."""
        async with self.state.pool.acquire() as conn:
            await tenants.create_tenant(conn, name, accounts)
            return (await tenants.create_key(conn, name, scope)).token

    async def key(self, tenant: str, scope: str) -> str:
        async with self.state.pool.acquire() as conn:
            return (await tenants.create_key(conn, tenant, scope)).token

    async def store(self, events: Sequence[Event], topic: str | None = None) -> None:
        """Write events the way the consumer does (one batch, one transaction)."""
        async with self.state.pool.acquire() as conn:
            await ingest.store(conn, [(e, topic or _topic_of(e)) for e in events])

    async def get(self, path: str, key: str, **params: object) -> httpx.Response:
        return await self.client.get(path, params=params, headers=auth(key))  # type: ignore[arg-type]  # httpx accepts objects


async def subscribe_webhook(
    gw: RunningGateway, key: str, port: int, **extra: object
) -> dict[str, str]:
    """A webhook subscription to a loopback receiver on ``port``; returns the created body."""
    body = {"name": "hook", "channel": "webhook", "url": f"http://127.0.0.1:{port}/hook", **extra}
    response = await gw.client.post("/v1/subscriptions", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    doc: dict[str, str] = response.json()
    return doc


async def deliveries(gw: RunningGateway, key: str, sub_id: str) -> list[dict[str, object]]:
    """The first page of a subscription's delivery log, newest first."""
    response = await gw.get(f"/v1/subscriptions/{sub_id}/deliveries", key)
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _topic_of(event: Event) -> str:
    return (
        by_name("spendstream.anomalies.v1.dlq").name
        if event.ce_type().startswith("spendstream.dead-letter")
        else "n/a"
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    """Run the lifespan and serve the app in-process through httpx's ASGI transport."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield RunningGateway(app, client, settings)


TABLES = {
    "anomalies": "incident_id",
    "anomaly_events": "id",
    "recommendations": "resource_id",
    "forecasts": "series_id",
    "costs_daily": "series_id, period_start",
    "dead_letters": "id",
    "budget_alerts": "incident_id",
    "alert_outbox": "seq",
    "restatements": "id",
    "commitment_reports": "account_id",
    "commitment_alerts": "id",
    "implementations": "resource_id",
}


async def snapshot(gw: RunningGateway) -> dict[str, list[tuple[object, ...]]]:
    """Every consumer-fed table, fully, in key order."""
    async with gw.state.pool.acquire() as conn:
        return {
            table: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")]
            for table, key in TABLES.items()
        }


def records_consumed(gw: RunningGateway) -> float:
    """Good records the consumer of this process has stored so far."""
    total = 0.0
    for metric in gw.state.metrics.records.collect():
        total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


async def publish(settings: GatewaySettings, events: Sequence[tuple[str, Event, str]]) -> None:
    """Send ``(topic name, event, key)`` triples with the project's producer."""
    from shared.kafka import EventProducer, make_producer

    producer = make_producer(settings)
    await producer.start()
    try:
        sender = EventProducer(producer, settings)
        for topic, event, key in events:
            await sender.send(by_name(topic), event, key)
        await producer.flush()
    finally:
        await producer.stop()


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan included) with uvicorn on a free loopback port; yield its URL.

    Streaming responses (SSE, WebSocket) need a real server: httpx's ASGI
    transport waits for the whole body.
    """
    import asyncio

    import uvicorn

    from devstack.ports import free_port
    from tests.harness.wait import wait_for_async

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_for_async(lambda: server.started or task.done(), description="uvicorn up")
        if task.done():
            task.result()
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
