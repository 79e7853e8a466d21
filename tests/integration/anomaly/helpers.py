"""Shared pieces of the anomaly service's integration tests.

Workers run as real subprocesses (``python -m services.anomaly``) so SIGKILL
is a real crash. Input is a small organisation of daily deliveries (each
restating month-to-date, as CUR does) with injected two-day spikes; the
expected incidents come from running the same pure core in-process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.anomaly.cost.account_state import AccountState
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from shared.codec import decode
from shared.events import (
    AnomalyEvent,
    CostLineItem,
    DeliveryCompleted,
    DeliveryStarted,
    Event,
    stable_id,
)
from shared.kafka import EventProducer, make_producer
from shared.settings import SpendstreamSettings
from shared.topics import CUR_LINE_ITEMS, Topic, ensure_topics

REPO = Path(__file__).resolve().parents[3]
START = date(2024, 1, 1)
LEAVES = (("AmazonEC2", "BoxUsage", 400.0), ("AmazonS3", "TimedStorage", 90.0))
NOW = datetime(2024, 3, 1, tzinfo=UTC)


def settings_for(bootstrap: str, prefix: str) -> SpendstreamSettings:
    """Client settings of the test's isolated topic namespace."""
    return SpendstreamSettings(
        kafka_bootstrap_servers=bootstrap, topic_prefix=prefix, kafka_enable_idempotence=False
    )


def start_worker(
    bootstrap: str, prefix: str, tmp: Path, name: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real anomaly worker process (cost loop only) logging JSON to ``tmp/name.log``."""
    env = {
        **os.environ,
        "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SPENDSTREAM_TOPIC_PREFIX": prefix,
        # Tansu rejects InitProducerId (deploy/embedded notes); ids dedupe downstream.
        "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "SPENDSTREAM_STATE_DIR": str(tmp),
        "SPENDSTREAM_ANOMALY_RUN_METRICS": "false",
        "SPENDSTREAM_ANOMALY_RUN_USAGE": "false",
        "SPENDSTREAM_ANOMALY_WARMUP_DAYS": "14",
        "SPENDSTREAM_LOG_JSON": "true",
        **(extra_env or {}),
    }
    with (tmp / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "services.anomaly"], cwd=REPO, env=env, stdout=log, stderr=log
        )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no shutdown hooks, no final commit."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Graceful stop (SIGTERM), escalating to SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill(proc)


def deliveries(
    accounts: list[str], days: int, spikes: dict[str, int | tuple[int, ...]]
) -> list[list[Event]]:
    """One delivery per day per account, restating month-to-date; spikes last two days.

    ``spikes`` names the first day of each of an account's spikes (one or several).
    """
    rng = np.random.default_rng(7)
    truth: dict[str, dict[date, dict[tuple[str, str], float]]] = defaultdict(dict)
    for account in accounts:
        for i in range(days):
            day = START + timedelta(days=i)
            starts = spikes.get(account, ())
            starts = (starts,) if isinstance(starts, int) else starts
            extra = 500.0 if any(start <= i < start + 2 for start in starts) else 0.0
            truth[account][day] = {
                (svc, ut): round(
                    level * (1 + rng.normal(0, 0.02)) + (extra if svc == "AmazonEC2" else 0), 4
                )
                for svc, ut, level in LEAVES
            }
    out: list[list[Event]] = []
    for i in range(days):
        upto = START + timedelta(days=i)
        for account in accounts:
            period = upto.replace(day=1)
            attempt = stable_id(account, upto, "attempt")
            rows = [
                (day, leaf, cost)
                for day, leaves in truth[account].items()
                if period <= day <= upto
                for leaf, cost in leaves.items()
            ]
            events: list[Event] = [
                DeliveryStarted(
                    id=stable_id(attempt, "start"),
                    attempt_id=attempt,
                    delivery_id=str(period),
                    billing_period=period,
                    account_id=account,
                    source_format="cur2",
                    source_uri="s3://test",
                    started_at=NOW,
                )
            ]
            for n, (day, (svc, ut), cost) in enumerate(rows):
                at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
                events.append(
                    CostLineItem(
                        id=stable_id(attempt, n),
                        attempt_id=attempt,
                        delivery_id=str(period),
                        billing_period=period,
                        source_format="cur2",
                        source_file="t.parquet",
                        source_row=n,
                        usage_start=at,
                        usage_end=at + timedelta(hours=1),
                        account_id=account,
                        service=svc,
                        usage_type=ut,
                        region="us-east-1",
                        resource_id=f"r-{ut}",
                        line_item_type="Usage",
                        unblended_cost=cost,
                    )
                )
            events.append(
                DeliveryCompleted(
                    id=stable_id(attempt, "done"),
                    attempt_id=attempt,
                    delivery_id=str(period),
                    billing_period=period,
                    account_id=account,
                    row_count=len(rows),
                    cost_total=sum(c for *_, c in rows),
                    completed_at=NOW,
                )
            )
            out.append(events)
    return out


def reference_incidents(batches: list[list[Event]], warmup_days: int = 14) -> dict[str, list[str]]:
    """incident id -> event ids, from the pure core over the same input."""
    from services.anomaly.settings import AnomalySettings

    config = AnomalySettings(anomaly_warmup_days=warmup_days).cost_config()
    states: dict[str, AccountState] = {}
    book = FeedbackBook(FeedbackConfig())
    found: dict[str, list[str]] = defaultdict(list)
    for batch in batches:
        for event in batch:
            account = event.account_id  # type: ignore[attr-defined]
            state = states.setdefault(account, AccountState(account, config))
            for anomaly in state.on_event(event, book, NOW).anomalies:
                found[anomaly.incident_id].append(anomaly.id)
    return dict(found)


async def produce(bootstrap: str, prefix: str, batches: list[list[Event]]) -> None:
    """Create the topics and produce the batches, keyed by account."""
    settings = settings_for(bootstrap, prefix)
    await ensure_topics(settings)
    raw = make_producer(settings)
    await raw.start()
    try:
        producer = EventProducer(raw, settings)
        for batch in batches:
            for event in batch:
                await producer.send(CUR_LINE_ITEMS, event, event.account_id)  # type: ignore[attr-defined]
        await raw.flush()
    finally:
        await raw.stop()


async def read_all(bootstrap: str, prefix: str, topic: Topic) -> list[tuple[bytes | None, list]]:
    """Every record currently on ``topic`` (value, headers), all partitions."""
    settings = settings_for(bootstrap, prefix)
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        name = topic.full_name(prefix)
        tps = [TopicPartition(name, p) for p in range(topic.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[tuple[bytes | None, list]] = []
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=200)
            for records in batch.values():
                out += [(r.value, list(r.headers)) for r in records]
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


def anomalies(bootstrap: str, prefix: str, topic: Topic) -> list[AnomalyEvent]:
    """Decoded anomaly events on the topic right now."""
    records = asyncio.run(read_all(bootstrap, prefix, topic))
    return [decode(v, h, topic.values) for v, h in records]  # type: ignore[misc]
