"""Composition root: settings -> producer -> changelog stores -> agents -> loops.

Runs the cost loop (line items -> points, restatements, cost incidents, unit
rates), the metric loop (datapoints -> metric incidents), the usage loop (usage
metrics and unit rates -> priced usage incidents) and the feedback follower in one
process until SIGTERM/SIGINT. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Callable
from typing import Any, cast

from services.anomaly.agents import CostAgent, MetricAgent
from services.anomaly.exceptions import MetricDetectorMissingError
from services.anomaly.feedback.follower import follow_feedback
from services.anomaly.feedback.rules import FeedbackBook
from services.anomaly.loop import StatefulAgent, StatefulLoop
from services.anomaly.memory_probe import probe_memory
from services.anomaly.metric.tracker import ScoringDetector
from services.anomaly.settings import AnomalySettings
from services.anomaly.state_codec import cost_state_codec, metric_state_codec, usage_state_codec
from services.anomaly.topics import COST_STATE, METRIC_STATE, USAGE_STATE
from services.anomaly.usage.agent import UsageAgent
from shared.changelog import ChangelogStore
from shared.kafka import EventProducer, make_producer
from shared.logging import get_logger
from shared.service import run_service
from shared.telemetry import ServiceMetrics
from shared.topics import ensure_topics

# A poll keeps ~10 GC-tracked objects per record (the record, its headers, the
# decoded point) alive until it is processed, so with CPython's default
# generation-0 threshold (700 allocations) they are swept and promoted many times
# per poll, and the growing old generation triggers full collections over every
# detector's state: ~25% of a metric worker's CPU (measured with gc.callbacks).
# Sweeping every 50k allocations brings that to ~3%, for a few MB of garbage
# cycles held a little longer.
GC_GEN0_THRESHOLD = 50_000

# State snapshots of a busy account can exceed Kafka's 1 MiB default request;
# 8 MiB leaves room while staying far below broker limits on message sets.
PRODUCER_MAX_REQUEST_BYTES = 8 * 1024 * 1024

log = get_logger(__name__)


def metric_detector_factory(spec: str = "") -> Callable[[], ScoringDetector]:
    """The metric detector factory: ``spec`` ("module:Class") or the NAB-tuned default."""
    if spec:
        module_name, _, attribute = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise MetricDetectorMissingError(
                f"SPENDSTREAM_ANOMALY_METRIC_DETECTOR={spec!r} cannot be imported; "
                "use 'package.module:ClassName'"
            ) from exc
        return cast(Callable[[], ScoringDetector], cls)
    try:
        from services.anomaly.metric import (  # optional: owned by the NAB work
            MetricDetector,
            MetricDetectorConfig,
        )
    except ImportError as exc:
        raise MetricDetectorMissingError(
            "services.anomaly.metric is not available; set "
            "SPENDSTREAM_ANOMALY_RUN_METRICS=false to run the cost loop alone"
        ) from exc
    return lambda: MetricDetector(MetricDetectorConfig())


async def run(
    settings: AnomalySettings,
    stop: asyncio.Event,
    metrics: ServiceMetrics,
    detector_factory: Callable[[], ScoringDetector] | None = None,
) -> None:
    """Run every enabled loop until ``stop`` is set."""
    await ensure_topics(settings)
    raw = make_producer(settings, max_request_size=PRODUCER_MAX_REQUEST_BYTES)
    await raw.start()
    try:
        producer = EventProducer(raw, settings)
        book = FeedbackBook(settings.feedback_config())
        loops: list[StatefulLoop[Any]] = []
        sinks: list[CostAgent | MetricAgent | UsageAgent] = []
        if settings.anomaly_run_costs:
            store = ChangelogStore(
                COST_STATE, settings, raw, cost_state_codec(), settings.anomaly_state_deltas
            )
            await store.ensure_topic()
            cost = CostAgent(store, settings.cost_config(), book)
            sinks.append(cost)
            loops.append(_loop(cost, producer, settings, settings.anomaly_cost_group_id, metrics))
        if settings.anomaly_run_metrics:
            factory = detector_factory or metric_detector_factory(settings.anomaly_metric_detector)
            sample = factory()
            own = getattr(getattr(sample, "config", None), "threshold", None)
            store = ChangelogStore(
                METRIC_STATE,
                settings,
                raw,
                metric_state_codec(sample),
                settings.anomaly_state_deltas,
            )
            await store.ensure_topic()
            metric = MetricAgent(
                store,
                settings.metric_config(own if isinstance(own, float) else None),
                book,
                factory,
                settings.metric_idle_horizon(),
            )
            sinks.append(metric)
            loops.append(
                _loop(metric, producer, settings, settings.anomaly_metric_group_id, metrics)
            )
        if settings.anomaly_run_usage:
            usage_store = ChangelogStore(USAGE_STATE, settings, raw, usage_state_codec())
            await usage_store.ensure_topic()
            usage = UsageAgent(usage_store, settings.usage_config())
            sinks.append(usage)
            loops.append(_loop(usage, producer, settings, settings.anomaly_usage_group_id, metrics))
        log.info("anomaly service starting", loops=len(loops))
        probes = (
            [probe_memory(settings.anomaly_tracemalloc_s, stop)]
            if settings.anomaly_tracemalloc_s > 0
            else []
        )
        await asyncio.gather(
            *(loop.run(stop) for loop in loops),
            follow_feedback(producer, book, sinks, stop),
            *probes,
        )
    finally:
        await raw.stop()


def _loop(
    agent: StatefulAgent[Any],
    producer: EventProducer,
    settings: AnomalySettings,
    group_id: str,
    metrics: ServiceMetrics,
) -> StatefulLoop[Any]:
    return StatefulLoop(
        agent,
        producer,
        group_id,
        settings.anomaly_max_poll_records,
        settings.anomaly_commit_interval_s,
        metrics,
    )


def tune_gc(settings: AnomalySettings) -> None:
    """Collect less often: see GC_GEN0_THRESHOLD."""
    gc.freeze()  # modules and settings live for the whole process: never scan them again
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def main() -> None:
    """Entry point: the shared service skeleton around :func:`run`."""
    run_service(AnomalySettings, run, prepare=tune_gc)
