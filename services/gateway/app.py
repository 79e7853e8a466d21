"""Composition root: settings -> database, Kafka and HTTP clients -> loops -> the ASGI app.

Nothing connects at import time: ``create_app(settings)`` returns an app whose
lifespan migrates the schema, opens the pool and the Kafka clients, and starts
the consumer and delivery loops; leaving the lifespan stops them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import boto3
import httpx
import uvicorn
from fastapi import Depends, FastAPI

from services.gateway import console
from services.gateway.api import error_responses, openapi_links
from services.gateway.api.middleware import (
    BodyLimit,
    LockedOut,
    QueryCap,
    RequestMetrics,
    SecurityHeaders,
)
from services.gateway.api.params import reject_repeated_query
from services.gateway.api.routes import (
    alerts,
    anomalies,
    budgets,
    commitments,
    docs,
    insights,
    operations,
    recommendations,
    restatements,
    results,
    savings,
    subscriptions,
)
from services.gateway.api.state import GatewayState
from services.gateway.api.stream_slots import StreamSlots
from services.gateway.budget_feed import run_coverage_sync
from services.gateway.consumer import ResultStore, make_result_consumer, run_consumer
from services.gateway.db.migrate import apply_migrations
from services.gateway.db.pool import create_pool
from services.gateway.delivery.channels import SnsSender, WebhookSender
from services.gateway.delivery.worker import DeliveryWorker
from services.gateway.http_server import server_config
from services.gateway.ratelimit import FailureLimiter, TokenBuckets
from services.gateway.repositories.subscriptions import reseal_secrets
from services.gateway.secretbox import SecretBox
from services.gateway.settings import GatewaySettings
from shared.kafka import EventProducer, make_producer
from shared.logging import get_logger
from shared.service import run_service
from shared.telemetry import ServiceMetrics
from shared.topics import ensure_topics

log = get_logger(__name__)
API_VERSION = "1.0.0"
# Background loops get this long to finish their current step on shutdown.
SHUTDOWN_GRACE_S = 10.0


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = app.state.settings
    metrics: ServiceMetrics = app.state.metrics
    dsn = settings.require_postgres_dsn()
    box = SecretBox(settings.require_secrets_key())
    applied = await asyncio.to_thread(apply_migrations, dsn, settings.gateway_pg_schema)
    log.info("schema ready", schema=settings.gateway_pg_schema, applied=applied)
    await ensure_topics(settings)
    async with contextlib.AsyncExitStack() as stack:
        pool = await create_pool(settings)
        stack.push_async_callback(pool.close)
        async with pool.acquire() as conn:
            sealed = await reseal_secrets(conn, box)
        if sealed:
            log.info("sealed webhook secrets under the newest key", count=sealed)
        producer = make_producer(settings)
        await producer.start()
        stack.push_async_callback(producer.stop)
        state = GatewayState(
            settings=settings,
            pool=pool,
            publisher=EventProducer(producer, settings),
            registry=metrics.registry,
            metrics=metrics,
            buckets=TokenBuckets(
                settings.gateway_rate_limit_per_s, settings.gateway_rate_limit_burst
            ),
            tenant_buckets=TokenBuckets(
                settings.gateway_tenant_rate_limit_per_s, settings.gateway_tenant_rate_limit_burst
            ),
            auth_failures=FailureLimiter(
                settings.gateway_auth_failure_per_s, settings.gateway_auth_failure_burst
            ),
            streams=StreamSlots(settings.gateway_stream_max_per_key, settings.gateway_stream_max),
            feedback_buckets=TokenBuckets(
                settings.gateway_feedback_per_s, settings.gateway_feedback_burst
            ),
            secrets=box,
        )
        app.state.gateway = state
        if settings.gateway_budget_sync_s > 0:
            state.tasks.append(
                asyncio.create_task(
                    run_coverage_sync(
                        pool, state.publisher, settings.gateway_budget_sync_s, state.stop
                    )
                )
            )
        if settings.gateway_run_consumer:
            consumer = make_result_consumer(settings, settings.gateway_consumer_group)
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            handler = ResultStore(
                pool,
                state.publisher,
                state.metrics,
                state.stop,
                settings.gateway_db_retry_max_wait_s,
            )
            state.tasks.append(
                asyncio.create_task(run_consumer(consumer, state.publisher, handler, state.stop))
            )
            state.consumer_ready = True
        if settings.gateway_run_delivery:
            # No redirects (a receiver must not bounce us inward) and no proxies from the
            # environment (the egress check decides where we connect).
            http = httpx.AsyncClient(
                timeout=settings.gateway_webhook_timeout_s, follow_redirects=False, trust_env=False
            )
            stack.push_async_callback(http.aclose)
            sns = boto3.client(
                "sns",
                region_name=settings.gateway_aws_region,
                endpoint_url=settings.gateway_sns_endpoint_url,
            )
            worker = DeliveryWorker(
                pool,
                settings,
                WebhookSender(http, settings.egress_policy(), settings.gateway_webhook_timeout_s),
                SnsSender(sns),
                box,
            )
            state.tasks.append(asyncio.create_task(worker.run(state.stop)))
        # Registered last so it runs first: loops stop before their clients close.
        stack.push_async_callback(_stop_loops, state)
        log.info(
            "gateway started",
            consumer=settings.gateway_run_consumer,
            delivery=settings.gateway_run_delivery,
        )
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


def create_app(settings: GatewaySettings, metrics: ServiceMetrics | None = None) -> FastAPI:
    """The ASGI app for ``settings`` (resources are built by its lifespan)."""
    app = FastAPI(
        title="spendstream gateway",
        version=API_VERSION,
        description="Anomalies, recommendations, forecasts, costs, budgets and real-time "
        "alerts for the AWS accounts of the calling API key's tenant.",
        lifespan=_lifespan,
        dependencies=[Depends(reject_repeated_query)],
        # Served by api.routes.docs instead, behind the operator token unless made public.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics or ServiceMetrics(settings.service_name)
    for router in (
        anomalies.router,
        recommendations.router,
        insights.router,
        results.router,
        budgets.router,
        subscriptions.router,
        alerts.router,
        restatements.router,
        commitments.router,
        savings.router,
        operations.router,
        docs.router,
    ):
        app.include_router(router)
    assets = console.Assets(console.STATIC_DIR)
    console.mount(app, assets)
    error_responses.install(app)
    openapi_links.install(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.gateway_body_max_bytes,
        timeout_s=settings.gateway_body_timeout_s,
    )
    app.add_middleware(QueryCap)
    app.add_middleware(LockedOut)
    app.add_middleware(RequestMetrics, registry=app.state.metrics.registry)
    # Outermost, so the body limit's own 413/408 answers carry the headers too.
    app.add_middleware(
        SecurityHeaders, immutable_prefix=assets.prefix, script_hashes=assets.script_hashes
    )
    return app


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the service skeleton owns SIGTERM/SIGINT.

    uvicorn's handlers re-raise the signal after shutdown, so the process would
    end killed by SIGTERM instead of exiting 0 after its clean shutdown.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the skeleton's stop event."""
        yield


async def serve(settings: GatewaySettings, stop: asyncio.Event, metrics: ServiceMetrics) -> None:
    """Serve HTTP until ``stop``; the lifespan then stops loops and closes clients."""
    server = _Server(server_config(create_app(settings, metrics), settings))

    async def exit_on_stop() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(exit_on_stop())
    try:
        await server.serve()
    finally:
        watcher.cancel()


def main() -> None:
    """Entry point (``python -m services.gateway``): the service skeleton around :func:`serve`."""
    run_service(GatewaySettings, serve)
