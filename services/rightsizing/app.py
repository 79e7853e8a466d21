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
from concurrent.futures import Executor, ProcessPoolExecutor

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from services.rightsizing.catalogue import load_catalogue
from services.rightsizing.commitments.store import CommitmentStore
from services.rightsizing.commitments.tracker import CommitmentTracker
from services.rightsizing.evaluator import Evaluator
from services.rightsizing.exceptions import RightsizingError
from services.rightsizing.intake import Intake
from services.rightsizing.schedules import load_clustering
from services.rightsizing.settings import RightsizingSettings
from services.rightsizing.store import StateStore
from shared.ec2_prices import load_prices
from shared.kafka import (
    EventProducer,
    PartitionListener,
    consume_batches,
    make_consumer,
    make_producer,
)
from shared.logging import get_logger
from shared.service import run_service
from shared.telemetry import ServiceMetrics
from shared.topics import (
    CLOUDWATCH_DATAPOINTS,
    CUR_LINE_ITEMS,
    INSTANCE_RATES,
    INVENTORY_EC2,
    ensure_topics,
)

log = get_logger(__name__)
# Range assignment gives one replica the same partition numbers of every topic, so
# an instance's datapoints, inventory and rate (all keyed by instance id) meet in
# one state; round robin does not. Round robin stays listed so a group upgraded
# replica by replica still agrees on a protocol until every member has Range.
CO_PARTITIONING = (RangePartitionAssignor, RoundRobinPartitionAssignor)


def make_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned workers: no forked broker sockets or event-loop state in children."""
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=load_clustering
    )


class RightsizingApp:
    """One replica: consumer of datapoints, inventory and the CUR, the evaluator, the store."""

    def __init__(
        self,
        settings: RightsizingSettings,
        pool: Executor | None = None,
        stop: asyncio.Event | None = None,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool or make_pool(settings.rightsizing_eval_workers)
        self._owns_pool = pool is None
        self.metrics = metrics or ServiceMetrics(settings.service_name)
        self.stop = stop or asyncio.Event()
        self.failure: BaseException | None = None
        self.consumer: AIOKafkaConsumer = make_consumer(
            settings,
            settings.rightsizing_group_id,
            partition_assignment_strategy=CO_PARTITIONING,
        )
        self.producer = EventProducer(make_producer(settings), settings)
        self.store = StateStore(settings, self.producer.raw)
        self.commitment_store = CommitmentStore(settings, self.producer.raw)
        # One lock: a batch never runs while either store restores an assigned partition.
        self.commitment_store.lock = self.store.lock
        self.intake = Intake(
            self.store,
            self.producer,
            self.metrics,
            settings.rightsizing_lookback_days,
            CommitmentTracker(
                load_prices(settings.rightsizing_prices_path),
                settings.commitment_policy(),
                self.commitment_store,
            ),
            self.commitment_store,
        )
        self.evaluator = Evaluator(
            self.store,
            self.producer,
            load_catalogue(settings.rightsizing_catalogue_path, settings.rightsizing_prices_path),
            settings.evaluation_config(),
            self.pool,
            settings.rightsizing_evaluation_interval_s,
        )

    async def _revoked(self, revoked: list[TopicPartition]) -> None:
        """Persist what we have, then drop the partitions another replica takes over."""
        await self.store.flush()
        self.store.drop(tp.partition for tp in revoked)
        cur = CUR_LINE_ITEMS.full_name(self.settings.topic_prefix)
        await self.commitment_store.flush()
        self.commitment_store.drop(tp.partition for tp in revoked if tp.topic == cur)
        self.intake.rates.drop(tp.partition for tp in revoked if tp.topic == cur)
        if self.intake.commitments is not None:
            self.intake.commitments.drop(tp.partition for tp in revoked if tp.topic == cur)

    async def _assigned(self, assigned: list[TopicPartition]) -> None:
        """Read the newly assigned partitions' states back from the changelog."""
        try:
            await self.store.restore(
                {tp.partition for tp in assigned} - self.store.owned_partitions()
            )
            cur = CUR_LINE_ITEMS.full_name(self.settings.topic_prefix)
            await self.commitment_store.restore(
                {tp.partition for tp in assigned if tp.topic == cur}
                - self.commitment_store.owned_partitions()
            )
        except Exception as exc:
            # aiokafka only logs a failing listener and consumes on; running on
            # empty state would publish wrong recommendations, so stop instead.
            log.error("state restore failed; stopping", error=repr(exc))
            self.failure = exc
            self.stop.set()
            raise

    async def run(self) -> None:
        """Run until ``stop`` is set; always closes clients (and its own pool)."""
        await ensure_topics(self.settings)
        await self.store.ensure_topic()
        await self.commitment_store.ensure_topic()
        await self.producer.raw.start()
        try:
            prefix = self.settings.topic_prefix
            # Rates are keyed (and partitioned) by instance like datapoints and
            # inventory, so the range assignor gives one replica all of an instance.
            topics = (CLOUDWATCH_DATAPOINTS, INVENTORY_EC2, INSTANCE_RATES, CUR_LINE_ITEMS)
            self.consumer.subscribe(
                [t.full_name(prefix) for t in topics],
                listener=PartitionListener(self._assigned, self._revoked),
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
                await self.commitment_store.flush()
        finally:
            await self.producer.raw.stop()
            if self._owns_pool:
                self.pool.shutdown(cancel_futures=True)
        if self.failure is not None:
            raise RightsizingError(
                "could not restore state from the changelog; check the broker and restart"
            ) from self.failure


async def serve(
    settings: RightsizingSettings, stop: asyncio.Event, metrics: ServiceMetrics
) -> None:
    """The service until ``stop``: one replica with its own evaluation pool."""
    await RightsizingApp(settings, stop=stop, metrics=metrics).run()


def main() -> None:
    """Entry point: the shared service skeleton around :func:`serve`."""
    run_service(RightsizingSettings, serve)
