"""Composition root: settings -> catalogue, clients, state store -> intake and evaluator.

Why aiokafka (through ``shared.kafka``) rather than faust: the state is one
compact binary value per instance, evaluated in bulk on a timer, and the
shared ``consume_batches`` already gives decode-failure dead-lettering and
commit-after-effect. A small changelog store gives faust's guarantee
(restore on assignment, write before commit) without its table machinery.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from services.rightsizing.catalogue import load_catalogue
from services.rightsizing.evaluate import EvaluationConfig
from services.rightsizing.evaluator import Evaluator
from services.rightsizing.exceptions import RightsizingError
from services.rightsizing.intake import Intake
from services.rightsizing.recommender import SizingPolicy
from services.rightsizing.schedules import load_clustering
from services.rightsizing.settings import RightsizingSettings
from services.rightsizing.store import StateStore
from shared.kafka import EventProducer, consume_batches, make_consumer, make_producer
from shared.logging import configure_logging, get_logger
from shared.settings import load
from shared.telemetry import ServiceMetrics
from shared.topics import CLOUDWATCH_DATAPOINTS, INVENTORY_EC2, ensure_topics

log = get_logger(__name__)


def evaluation_config(settings: RightsizingSettings) -> EvaluationConfig:
    """The sizing policy the settings select."""
    return EvaluationConfig(
        sizing=SizingPolicy(
            cpu_percentile=settings.rightsizing_cpu_percentile,
            cpu_headroom_pct=settings.rightsizing_cpu_headroom_pct,
            memory_headroom_pct=settings.rightsizing_memory_headroom_pct,
            lookback_days=settings.rightsizing_lookback_days,
        )
    )


def make_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned workers: no forked broker sockets or event-loop state in children."""
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=load_clustering
    )


class RestoreOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped base class
    """Flush and forget revoked partitions; restore assigned ones before consuming."""

    def __init__(self, store: StateStore, on_error: Callable[[BaseException], None]) -> None:
        self._store = store
        self._on_error = on_error

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Persist what we have, then drop the partitions another replica takes over."""
        await self._store.flush()
        self._store.drop({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Read the assigned partitions' states back from the changelog."""
        owned = set(self._store.partition_of.values())
        try:
            await self._store.restore({tp.partition for tp in assigned} - owned)
        except Exception as exc:
            # aiokafka only logs a failing listener and consumes on; running on
            # empty state would publish wrong recommendations, so stop instead.
            self._on_error(exc)
            raise


class RightsizingApp:
    """One replica: consumer of datapoints and inventory, the evaluator, the state store."""

    def __init__(self, settings: RightsizingSettings, pool: Executor | None = None) -> None:
        self.settings = settings
        self.pool = pool or make_pool(settings.rightsizing_eval_workers)
        self._owns_pool = pool is None
        self.metrics = ServiceMetrics(settings.service_name)
        self.stop = asyncio.Event()
        self.failure: BaseException | None = None
        self.consumer: AIOKafkaConsumer = make_consumer(settings, settings.rightsizing_group_id)
        self.producer = EventProducer(make_producer(settings), settings)
        self.store = StateStore(settings, self.producer.raw)
        self.intake = Intake(
            self.store, self.producer, self.metrics, settings.rightsizing_lookback_days
        )
        self.evaluator = Evaluator(
            self.store,
            self.producer,
            load_catalogue(settings.rightsizing_catalogue_path),
            evaluation_config(settings),
            self.pool,
            settings.rightsizing_evaluation_interval_s,
        )

    def _fail(self, exc: BaseException) -> None:
        log.error("state restore failed; stopping", error=repr(exc))
        self.failure = exc
        self.stop.set()

    async def run(self) -> None:
        """Run until ``stop`` is set; always closes clients (and its own pool)."""
        await ensure_topics(self.settings)
        await self.store.ensure_topic()
        await self.producer.raw.start()
        try:
            prefix = self.settings.topic_prefix
            self.consumer.subscribe(
                [CLOUDWATCH_DATAPOINTS.full_name(prefix), INVENTORY_EC2.full_name(prefix)],
                listener=RestoreOnAssign(self.store, self._fail),
            )
            await self.consumer.start()
            try:
                await asyncio.gather(
                    consume_batches(self.consumer, self.producer, self.intake, self.stop),
                    self.evaluator.run(self.stop),
                )
            finally:
                await self.consumer.stop()
                await self.store.flush()
        finally:
            await self.producer.raw.stop()
            if self._owns_pool:
                self.pool.shutdown(cancel_futures=True)
        if self.failure is not None:
            raise RightsizingError(
                "could not restore state from the changelog; check the broker and restart"
            ) from self.failure


def main() -> None:
    """Entry point: load settings, configure logging, run until interrupted."""
    settings = load(RightsizingSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)

    async def _run() -> None:
        app = RightsizingApp(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, app.stop.set)
        if settings.metrics_port:
            app.metrics.serve(settings.metrics_port)
        await app.run()

    asyncio.run(_run())
