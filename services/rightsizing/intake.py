"""Applying consumed records to instance state: datapoints, inventory, rates, rejects.

A batch's datapoints are grouped per (instance, metric, statistic, period)
and folded in with one vectorised call each; inventory records update what
the instance is; CUR events feed the ``RateLearner``, whose rates (on a
completed delivery) are re-keyed by instance and come back as
``InstanceRate`` records that set the instance's billed rate. Datapoints that
decode but cannot be utilisation go to the dead-letter topic with the reason.
Changed states reach the changelog (and rates their topic) before the handler
returns, i.e. before ``consume_batches`` commits the offsets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from aiokafka import ConsumerRecord

from services.rightsizing.billed_rate import BilledRate
from services.rightsizing.commitments.store import CommitmentStore
from services.rightsizing.commitments.tracker import CommitmentTracker
from services.rightsizing.exceptions import BadDatapointError
from services.rightsizing.rates import RateLearner
from services.rightsizing.savings import ImplementationRecord, detect, measure
from services.rightsizing.savings import to_event as implementation_event
from services.rightsizing.sketches import DayRecord, InstanceState
from services.rightsizing.sketches.bulk import add_cpu_points
from services.rightsizing.sketches.state import CPU_METRICS
from services.rightsizing.store import StateStore
from services.rightsizing.validation import check_datapoint
from shared.codec import encode
from shared.events import (
    CostLineItem,
    DeliveryCompleted,
    DeliveryStarted,
    Ec2Instance,
    InstanceRate,
    MetricDatapoint,
)
from shared.events.commitments import CommitmentAlert, CommitmentReport
from shared.events.savings import Implementation
from shared.kafka import EventProducer, Received
from shared.logging import get_logger
from shared.telemetry import ServiceMetrics
from shared.topics import COMMITMENT_ALERTS, COMMITMENTS, IMPLEMENTATIONS, INSTANCE_RATES

log = get_logger(__name__)
# EC2 states in which an instance is billed for compute (and so worth sizing).
RUNNING_STATES = frozenset({"running", "pending"})


def _as_record(received: Received, producer: EventProducer) -> ConsumerRecord[bytes, bytes]:
    """Rebuild the raw record of a decoded event, for the dead-letter helper."""
    value, headers = encode(received.event, producer.settings.service_name)
    key = received.key.encode() if received.key else None
    return ConsumerRecord(
        topic=received.topic,
        partition=received.partition,
        offset=received.offset,
        timestamp=-1,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=headers,
    )


def apply_inventory(state: InstanceState, item: Ec2Instance) -> None:
    """Update what the instance is; a new type restarts its measurements."""
    if state.instance_type is not None and item.instance_type != state.instance_type:
        # Utilisation on the old type says little about the new one.
        state.days.clear()
        state.rightsized = item.instance_type in state.recommended_types
    state.instance_type = item.instance_type
    state.account_id, state.region = item.account_id, item.region
    state.architecture, state.platform = item.architecture, item.platform
    state.tenancy = item.tenancy
    state.running = item.state in RUNNING_STATES
    state.deleted = item.deleted
    state.changed = True


def _implementation(state: InstanceState, record: ImplementationRecord) -> Implementation:
    """The event of ``state``'s implementation as it now stands."""
    return implementation_event(
        record, state.resource_id, state.account_id, state.region, datetime.now(UTC)
    )


def apply_rate(state: InstanceState, event: InstanceRate) -> bool:
    """Keep the rate of the latest billed hours (a redelivered older month never wins)."""
    rate = BilledRate.of(event)
    if state.rate is not None and state.rate.through > rate.through:
        return False
    if state.rate == rate:
        return False
    state.rate = rate
    state.changed = True
    return True


class Intake:
    """The consume handler: records in, state updated and durably logged."""

    def __init__(
        self,
        store: StateStore,
        producer: EventProducer,
        metrics: ServiceMetrics,
        retention_days: int,
        commitments: CommitmentTracker | None = None,
        commitment_store: CommitmentStore | None = None,
    ) -> None:
        self._store = store
        self._producer = producer
        self._metrics = metrics
        self._retention_days = retention_days
        self.rates = RateLearner()
        self.commitments = commitments
        self.commitment_store = commitment_store

    async def __call__(self, batch: Sequence[Received]) -> None:
        """Handle one batch (one partition's records), never during a state restore."""
        async with self._store.lock:
            try:
                await self._handle(batch)
            except BaseException:
                # The batch will be read again: sums that saw part of it would double-count.
                self.rates.drop({r.partition for r in batch})
                if self.commitments is not None:
                    self.commitments.drop({r.partition for r in batch})
                raise

    async def _publish_rates(self, rates: list[InstanceRate]) -> None:
        """Re-key completed rates by instance, acked before the CUR offsets are committed."""
        futures = [await self._producer.send(INSTANCE_RATES, r, key=r.resource_id) for r in rates]
        for future in futures:
            await future

    async def _publish_commitments(self, found: list[CommitmentReport | CommitmentAlert]) -> None:
        """Reports and alerts (keyed by account), acked before the CUR offsets are committed."""
        futures = []
        for event in found:
            topic = COMMITMENTS if isinstance(event, CommitmentReport) else COMMITMENT_ALERTS
            futures.append(await self._producer.send(topic, event, key=event.account_id))
        for future in futures:
            await future

    async def _handle(self, batch: Sequence[Received]) -> None:
        groups: dict[tuple[str, str, str, int], list[tuple[int, float]]] = defaultdict(list)
        partitions: dict[str, int] = {}
        rates: list[InstanceRate] = []
        commitments: list[CommitmentReport | CommitmentAlert] = []
        implementations: list[Implementation] = []
        for received in batch:
            event = received.event
            self._metrics.records.labels(topic=received.topic).inc()
            if isinstance(event, CostLineItem | DeliveryStarted | DeliveryCompleted):
                rates += self.rates.on_event(event, received.partition)
                if self.commitments is not None:
                    commitments += self.commitments.on_event(event, received.partition)
            elif isinstance(event, InstanceRate):
                state = self._store.state_for(event.resource_id, received.partition)
                if apply_rate(state, event):
                    self._store.mark(event.resource_id)
                    done = state.implementation
                    if done is not None and state.rate is not None and measure(done, state.rate):
                        implementations.append(_implementation(state, done))
            elif isinstance(event, Ec2Instance):
                state = self._store.state_for(event.instance_id, received.partition)
                if state.implementation is None:
                    done = detect(state.memo, state.instance_type, state.rate, event)
                    if done is not None:
                        state.implementation = done
                        implementations.append(_implementation(state, done))
                apply_inventory(state, event)
                self._store.mark(event.instance_id)
            elif isinstance(event, MetricDatapoint):
                try:
                    check_datapoint(event)
                except BadDatapointError as exc:
                    await self._producer.dead_letter(
                        _as_record(received, self._producer), str(exc), type(exc).__name__
                    )
                    self._metrics.dead_letters.labels(topic=received.topic).inc()
                    continue
                key = (event.resource_id, event.metric, event.stat, event.period_s)
                groups[key].append((int(event.timestamp.timestamp()), event.value))
                partitions[event.resource_id] = received.partition
        cpu = _CpuBatch()
        touched: dict[str, InstanceState] = {}
        for (resource_id, metric, stat, period), points in groups.items():
            state = self._store.state_for(resource_id, partitions[resource_id])
            ts = np.fromiter((t for t, _ in points), dtype=np.int64, count=len(points))
            values = np.fromiter((v for _, v in points), dtype=np.float64, count=len(points))
            if metric in CPU_METRICS:
                if state.accept(metric, stat):
                    cpu.add(state, ts, values, period)
                    touched[resource_id] = state
            elif state.add(metric, stat, ts, values, period):
                touched[resource_id] = state
        if rates:
            await self._publish_rates(rates)
        if commitments:
            await self._publish_commitments(commitments)
        if implementations:
            # Acked before the state that remembers them (and the offsets) are written.
            futures = [
                await self._producer.send(IMPLEMENTATIONS, i, key=i.resource_id)
                for i in implementations
            ]
            for future in futures:
                await future
        if self.commitment_store is not None:
            await self.commitment_store.flush()  # completed periods, before the commit
        cpu.apply()  # every instance's CPU in one vectorised pass
        for resource_id, state in touched.items():
            state.changed = True
            state.trim(self._retention_days)
            self._store.mark(resource_id)
        await self._store.flush()


class _CpuBatch:
    """CPU points of one consumed batch, gathered for one ``add_cpu_points`` call."""

    def __init__(self) -> None:
        self._days: list[dict[int, DayRecord]] = []
        self._index: dict[int, int] = {}
        self._parts: list[tuple[int, np.ndarray, np.ndarray, int]] = []

    def add(self, state: InstanceState, ts: np.ndarray, values: np.ndarray, period: int) -> None:
        """Queue ``state``'s points (its statistic already accepted)."""
        row = self._index.setdefault(id(state), len(self._days))
        if row == len(self._days):
            self._days.append(state.days)
        self._parts.append((row, ts, values, period))

    def apply(self) -> None:
        """Fold every queued point into its instance's day records."""
        if not self._parts:
            return
        sizes = [ts.size for _, ts, _, _ in self._parts]
        rows = np.repeat([row for row, _, _, _ in self._parts], sizes)
        periods = np.repeat([period for _, _, _, period in self._parts], sizes)
        ts = np.concatenate([ts for _, ts, _, _ in self._parts])
        values = np.concatenate([v for _, _, v, _ in self._parts])
        add_cpu_points(self._days, rows, ts, values, periods)
