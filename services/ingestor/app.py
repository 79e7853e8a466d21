"""Composition root: settings -> clients -> the three polling loops.

``run`` starts one producer, opens the state store and runs, each on its own
interval, the CUR pass (when a source is configured; with
``SPENDSTREAM_INGESTOR_CUR_SHARED`` over this replica's shares), the CloudWatch poll and
the inventory scan (when accounts are configured) until ``stop`` is set. A
failing pass is logged and retried next interval; it never kills the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from services.ingestor.accounts import AccountConfig, parse_accounts
from services.ingestor.aws import AwsClients
from services.ingestor.cloudwatch.poller import CloudWatchPoller
from services.ingestor.cur_runner import CurRunner, make_source
from services.ingestor.cur_shares import ShareBook
from services.ingestor.exceptions import IngestorError
from services.ingestor.inventory.collector import InventoryCollector
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.kafka import EventProducer, make_producer
from shared.logging import get_logger
from shared.service import run_service
from shared.telemetry import ServiceMetrics
from shared.topics import CLOUDWATCH_DATAPOINTS, CUR_LINE_ITEMS, INVENTORY_EC2, ensure_topics

log = get_logger(__name__)


@contextlib.asynccontextmanager
async def event_producer(settings: IngestorSettings) -> AsyncIterator[EventProducer]:
    """A started, durable producer; flushed and stopped on exit."""
    await ensure_topics(settings)
    producer = make_producer(settings)
    try:
        await producer.start()
        yield EventProducer(producer, settings)
        await producer.flush()
    finally:
        await producer.stop()


def aws_clients(settings: IngestorSettings) -> AwsClients:
    """boto3 clients with the configured region and endpoint."""
    return AwsClients(settings.ingestor_aws_region, settings.ingestor_aws_endpoint_url)


def accounts(settings: IngestorSettings) -> list[AccountConfig]:
    """The configured accounts (empty: CloudWatch and inventory are off)."""
    return parse_accounts(settings.ingestor_accounts, settings.ingestor_aws_region)


def cur_runner(
    settings: IngestorSettings,
    producer: EventProducer,
    state: StateStore,
    source: str,
    shares: ShareBook | None = None,
) -> CurRunner:
    """A CUR runner over ``source`` (directory or s3:// URI)."""
    s3 = aws_clients(settings).client("s3") if source.startswith("s3://") else None
    return CurRunner(make_source(source, s3), producer, state, shares)


def cloudwatch_poller(
    settings: IngestorSettings, producer: EventProducer, state: StateStore
) -> CloudWatchPoller:
    """The CloudWatch poller for the configured accounts."""
    return CloudWatchPoller(
        aws_clients(settings),
        accounts(settings),
        producer,
        state,
        period_s=settings.ingestor_cloudwatch_period_s,
        lag=timedelta(seconds=settings.ingestor_cloudwatch_lag_s),
        initial_lookback=timedelta(seconds=settings.ingestor_cloudwatch_initial_lookback_s),
        usage_metrics=settings.ingestor_cloudwatch_usage_metrics,
    )


async def every(
    name: str, interval_s: float, job: Callable[[], Awaitable[Any]], stop: asyncio.Event
) -> None:
    """Run ``job`` now and then every ``interval_s`` until ``stop``; log failures, keep going."""
    while not stop.is_set():
        try:
            await job()
        except (IngestorError, OSError) as exc:
            log.error("pass failed; retrying next interval", loop=name, error=str(exc))
        except Exception:  # an AWS or broker error must not end the other loops
            log.exception("pass crashed; retrying next interval", loop=name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


async def run(settings: IngestorSettings, stop: asyncio.Event, metrics: ServiceMetrics) -> None:
    """The service: every configured loop on its interval until ``stop`` is set."""
    state = StateStore(settings.ingestor_state_dir)
    async with event_producer(settings) as producer, contextlib.AsyncExitStack() as stack:
        loops = []
        if settings.ingestor_cur_source:
            shares = None
            if settings.ingestor_cur_shared:
                shares = ShareBook(settings, producer)
                await shares.start()
                stack.push_async_callback(shares.stop)
            runner = cur_runner(settings, producer, state, settings.ingestor_cur_source, shares)

            async def cur_pass() -> None:
                reports = await runner.run_once(stop=stop)
                metrics.records.labels(CUR_LINE_ITEMS.name).inc(sum(r.rows for r in reports))
                rejected = sum(r.rejected for r in reports)
                metrics.dead_letters.labels(CUR_LINE_ITEMS.dlq.name).inc(rejected)

            loops.append(every("cur", settings.ingestor_cur_poll_s, cur_pass, stop))
        if accounts(settings):
            poller = cloudwatch_poller(settings, producer, state)
            collector = InventoryCollector(
                aws_clients(settings), accounts(settings), producer, state
            )

            async def cloudwatch_pass() -> None:
                sent = await poller.poll_once()
                metrics.records.labels(CLOUDWATCH_DATAPOINTS.name).inc(sent)

            async def inventory_pass() -> None:
                changed, deleted = await collector.scan_once()
                metrics.records.labels(INVENTORY_EC2.name).inc(changed + deleted)

            loops.append(
                every("cloudwatch", settings.ingestor_cloudwatch_poll_s, cloudwatch_pass, stop)
            )
            loops.append(
                every("inventory", settings.ingestor_inventory_poll_s, inventory_pass, stop)
            )
        if not loops:
            raise IngestorError(
                "nothing to ingest: set SPENDSTREAM_INGESTOR_CUR_SOURCE and/or "
                "SPENDSTREAM_INGESTOR_ACCOUNTS"
            )
        await asyncio.gather(*loops)


def main() -> None:
    """Entry point: the shared service skeleton around :func:`run`."""
    run_service(IngestorSettings, run)
