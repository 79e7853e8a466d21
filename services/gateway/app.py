"""Composition root: settings -> database, Kafka and HTTP clients -> loops -> the ASGI app.

Nothing connects at import time: ``create_app(settings)`` returns an app whose
lifespan migrates the schema, opens the pool and the Kafka clients, and starts
the consumer and delivery loops; leaving the lifespan stops them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import boto3
import httpx
import uvicorn
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from services.gateway.api import error_responses
from services.gateway.api.middleware import BodyLimit, RequestMetrics
from services.gateway.api.params import reject_repeated_query
from services.gateway.api.routes import (
    alerts,
    anomalies,
    budgets,
    operations,
    results,
    subscriptions,
)
from services.gateway.api.state import GatewayState
from services.gateway.api.stream_slots import StreamSlots
from services.gateway.consumer import ResultStore, make_result_consumer, run_consumer
from services.gateway.db.migrate import apply_migrations
from services.gateway.db.pool import create_pool
from services.gateway.delivery.channels import SnsSender, WebhookSender
from services.gateway.delivery.worker import DeliveryWorker
from services.gateway.http_server import server_config
from services.gateway.ratelimit import FailureLimiter, TokenBuckets
from services.gateway.settings import GatewaySettings
from shared.kafka import EventProducer, make_producer
from shared.logging import configure_logging, get_logger
from shared.settings import load
from shared.telemetry import ServiceMetrics
from shared.topics import ensure_topics

log = get_logger(__name__)
API_VERSION = "1.0.0"
# Background loops get this long to finish their current step on shutdown.
SHUTDOWN_GRACE_S = 10.0


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = app.state.settings
    registry: CollectorRegistry = app.state.registry
    dsn = settings.require_postgres_dsn()
    applied = await asyncio.to_thread(apply_migrations, dsn, settings.pg_schema)
    log.info("schema ready", schema=settings.pg_schema, applied=applied)
    await ensure_topics(settings)
    async with contextlib.AsyncExitStack() as stack:
        pool = await create_pool(settings)
        stack.push_async_callback(pool.close)
        producer = make_producer(settings)
        await producer.start()
        stack.push_async_callback(producer.stop)
        state = GatewayState(
            settings=settings,
            pool=pool,
            publisher=EventProducer(producer, settings),
            registry=registry,
            metrics=ServiceMetrics("gateway", registry),
            buckets=TokenBuckets(settings.rate_limit_per_s, settings.rate_limit_burst),
            auth_failures=FailureLimiter(settings.auth_failure_per_s, settings.auth_failure_burst),
            streams=StreamSlots(settings.stream_max_per_key, settings.stream_max),
        )
        app.state.gateway = state
        if settings.run_consumer:
            consumer = make_result_consumer(settings, settings.consumer_group)
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            handler = ResultStore(
                pool, state.publisher, state.metrics, state.stop, settings.db_retry_max_wait_s
            )
            state.tasks.append(
                asyncio.create_task(run_consumer(consumer, state.publisher, handler, state.stop))
            )
            state.consumer_ready = True
        if settings.run_delivery:
            # No redirects (a receiver must not bounce us inward) and no proxies from the
            # environment (the egress check decides where we connect).
            http = httpx.AsyncClient(
                timeout=settings.webhook_timeout_s, follow_redirects=False, trust_env=False
            )
            stack.push_async_callback(http.aclose)
            sns = boto3.client(
                "sns", region_name=settings.aws_region, endpoint_url=settings.sns_endpoint_url
            )
            worker = DeliveryWorker(
                pool,
                settings,
                WebhookSender(http, settings.egress_policy(), settings.webhook_timeout_s),
                SnsSender(sns),
            )
            state.tasks.append(asyncio.create_task(worker.run(state.stop)))
        # Registered last so it runs first: loops stop before their clients close.
        stack.push_async_callback(_stop_loops, state)
        log.info("gateway started", consumer=settings.run_consumer, delivery=settings.run_delivery)
        yield


async def _stop_loops(state: GatewayState) -> None:
    """Ask loops to stop, give them a grace period, then cancel what is left."""
    state.stop.set()
    if not state.tasks:
        return
    _, pending = await asyncio.wait(state.tasks, timeout=SHUTDOWN_GRACE_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*state.tasks, return_exceptions=True)


def create_app(settings: GatewaySettings) -> FastAPI:
    """The ASGI app for ``settings`` (resources are built by its lifespan)."""
    app = FastAPI(
        title="spendstream gateway",
        version=API_VERSION,
        description="Anomalies, recommendations, forecasts, costs, budgets and real-time "
        "alerts for the AWS accounts of the calling API key's tenant.",
        lifespan=_lifespan,
        dependencies=[Depends(reject_repeated_query)],
    )
    app.state.settings = settings
    app.state.registry = CollectorRegistry()
    for router in (
        anomalies.router,
        results.router,
        budgets.router,
        subscriptions.router,
        alerts.router,
        operations.router,
    ):
        app.include_router(router)
    error_responses.install(app)
    app.add_middleware(
        BodyLimit, max_bytes=settings.body_max_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(RequestMetrics, registry=app.state.registry)
    return app


def run() -> None:
    """Start the gateway with settings from the environment (``python -m services.gateway``)."""
    settings = load(GatewaySettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    server = uvicorn.Server(server_config(create_app(settings), settings))
    asyncio.run(server.serve())
