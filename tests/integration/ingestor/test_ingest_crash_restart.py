from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.ingestor.app import event_producer
from services.ingestor.cur_runner import CurRunner, make_source
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.events import CostLineItem, DeliveryCompleted
from shared.topics import CUR_LINE_ITEMS, ensure_topics
from tests.fixtures.cur.builders import export_delivery
from tests.harness.wait import wait_for_async
from tests.integration.ingestor.reading import cur2_files, per_day_totals, read_topic, topic_size

pytestmark = pytest.mark.integration

FILES, ROWS_PER_FILE = 4, 10_000
# Kill once this many records are on the topic: well inside the 40k-row delivery.
KILL_AFTER_RECORDS = 3_000
# The ingestor starts (imports, broker connect) and streams 40k rows within this on CI.
DEADLINE_S = 120.0
# 3k records take the ingestor ~0.1 s and the whole delivery over a second: poll well inside.
PROBE_INTERVAL_S = 0.01


def env_for(settings: IngestorSettings, source: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "SPENDSTREAM_TOPIC_PREFIX": settings.topic_prefix,
        "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "SPENDSTREAM_INGESTOR_STATE_DIR": str(settings.ingestor_state_dir),
        "SPENDSTREAM_INGESTOR_CUR_SOURCE": str(source),
        "SPENDSTREAM_LOG_JSON": "false",
    }


async def rerun(settings: IngestorSettings, source: Path) -> list:
    """Re-run the ingestor over the same source and state dir (in-process: the
    killed run above is the separate process that matters)."""
    async with event_producer(settings) as producer:
        runner = CurRunner(
            make_source(str(source)), producer, StateStore(settings.ingestor_state_dir)
        )
        return await runner.run_once()


async def test_killed_mid_delivery_then_rerun_gives_exact_daily_totals(
    tmp_path: Path, make_settings: Callable[..., IngestorSettings]
) -> None:
    files, expected = cur2_files(
        tmp_path / "scratch", FILES, ROWS_PER_FILE, ("111111111111", "222222222222", "3")
    )
    root = tmp_path / "bucket"
    export_delivery(root, files)
    settings = make_settings()
    env = env_for(settings, root)
    await ensure_topics(settings)

    service = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.ingestor",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    # One probe consumer for the whole wait: starting one per poll took longer
    # than the ingestor needs for the whole delivery on a fast machine.
    probe = AIOKafkaConsumer(**settings.kafka_client_kwargs(), enable_auto_commit=False)
    await probe.start()
    partitions = [
        TopicPartition(CUR_LINE_ITEMS.full_name(settings.topic_prefix), p)
        for p in range(CUR_LINE_ITEMS.partitions)
    ]
    try:

        async def mid_delivery() -> bool:
            assert service.returncode is None, "the ingestor exited before it was killed"
            return sum((await probe.end_offsets(partitions)).values()) >= KILL_AFTER_RECORDS

        await wait_for_async(
            mid_delivery,
            timeout=DEADLINE_S,
            interval=PROBE_INTERVAL_S,
            description="the ingestor mid-delivery",
        )
    finally:
        service.kill()
        await service.wait()
        await probe.stop()

    partial = await read_topic(settings, CUR_LINE_ITEMS, light=True)
    kinds = [r.event.ce_type for r in partial]
    assert DeliveryCompleted.ce_type() not in kinds, "killed too late"
    assert 0 < kinds.count(CostLineItem.ce_type()) < FILES * ROWS_PER_FILE
    assert per_day_totals(partial) == {}  # an unfinished attempt counts for nothing
    assert StateStore(settings.ingestor_state_dir).deliveries() == {}

    reports = await rerun(settings, root)
    assert [r.rows for r in reports] == [FILES * ROWS_PER_FILE]
    records = await read_topic(settings, CUR_LINE_ITEMS, light=True)
    assert per_day_totals(records) == dict(expected)

    assert await rerun(settings, root) == []  # same files again: nothing is sent
    assert await topic_size(settings, CUR_LINE_ITEMS) == len(records)
