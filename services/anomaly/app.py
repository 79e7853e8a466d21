"""Composition root: settings -> producer -> tables -> agents -> loops.

Runs the cost loop (line items -> points, restatements, cost incidents), the
metric loop (datapoints -> metric incidents) and the feedback follower in one
process until SIGTERM/SIGINT. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import signal
from collections.abc import Callable
from typing import cast

from services.anomaly.agents import CostAgent, MetricAgent
from services.anomaly.exceptions import MetricDetectorMissingError
from services.anomaly.feedback.follower import follow_feedback
from services.anomaly.feedback.rules import FeedbackBook
from services.anomaly.loop import StatefulLoop
from services.anomaly.metric.tracker import ScoringDetector
from services.anomaly.settings import AnomalySettings
from services.anomaly.tables import ChangelogTable
from services.anomaly.topics import COST_STATE, METRIC_STATE, ensure_changelogs
from shared.kafka import EventProducer, make_producer
from shared.logging import configure_logging, get_logger
from shared.settings import load
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
    detector_factory: Callable[[], ScoringDetector] | None = None,
) -> None:
    """Run every enabled loop until ``stop`` is set."""
    await ensure_topics(settings)
    await ensure_changelogs(settings)
    metrics = ServiceMetrics(settings.service_name)
    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_port)
    raw = make_producer(settings, max_request_size=PRODUCER_MAX_REQUEST_BYTES)
    await raw.start()
    try:
        producer = EventProducer(raw, settings)
        book = FeedbackBook(settings.feedback_config())
        loops: list[StatefulLoop[object]] = []
        sinks = []
        if settings.anomaly_run_costs:
            cost = CostAgent(
                ChangelogTable(COST_STATE, settings, raw), settings.cost_config(), book
            )
            sinks.append(cost)
            loops.append(
                StatefulLoop(
                    cost,  # type: ignore[arg-type]  # loops are generic over their state
                    producer,
                    settings.anomaly_cost_group_id,
                    settings.anomaly_max_poll_records,
                    settings.anomaly_commit_interval_s,
                    metrics,
                )
            )
        if settings.anomaly_run_metrics:
            factory = detector_factory or metric_detector_factory(settings.anomaly_metric_detector)
            own = getattr(getattr(factory(), "config", None), "threshold", None)
            metric = MetricAgent(
                ChangelogTable(METRIC_STATE, settings, raw),
                settings.metric_config(own if isinstance(own, float) else None),
                book,
                factory,
            )
            sinks.append(metric)
            loops.append(
                StatefulLoop(
                    metric,  # type: ignore[arg-type]  # loops are generic over their state
                    producer,
                    settings.anomaly_metric_group_id,
                    settings.anomaly_max_poll_records,
                    settings.anomaly_commit_interval_s,
                    metrics,
                )
            )
        log.info("anomaly service starting", loops=len(loops))
        await asyncio.gather(
            *(loop.run(stop) for loop in loops), follow_feedback(producer, book, sinks, stop)
        )
    finally:
        await raw.stop()


def main() -> None:
    """Entry point: load settings, configure logging, run until SIGTERM/SIGINT."""
    settings = load(AnomalySettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    gc.freeze()  # modules and settings live for the whole process: never scan them again
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, stop)

    asyncio.run(_run())
