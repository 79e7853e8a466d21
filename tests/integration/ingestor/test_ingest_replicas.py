"""Two ingestor replicas share one delivery; one is SIGKILLed mid-file (issue 17 #1).

The replicas are real service processes in shared mode on the session broker.
Once both hold their shares the delivery lands; when the first replica's shares
have records on the line-items topic it is killed. The survivor takes its shares
over and ingests them as its own attempt. Downstream's view (completed attempts
only, the latest per account and period) must equal the files' totals exactly,
every applied attempt must hold exactly its ``row_count`` items (what the
anomaly aggregator checks), and the killed replica's partial attempt must be
there, unfinished.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.ingestor.settings import IngestorSettings
from shared.events import CostLineItem, DeliveryCompleted
from shared.topics import CUR_LINE_ITEMS, CUR_SHARES, ensure_topics
from tests.fixtures.cur.builders import export_delivery
from tests.harness.wait import wait_for_async
from tests.integration.ingestor.reading import Record, cur2_files, per_day_totals, read_topic
from tests.integration.ingestor.test_ingest_crash_restart import env_for

pytestmark = pytest.mark.integration

FILES, ROWS_PER_FILE = 4, 10_000
# Twelve accounts spread over the six partitions, so both replicas get rows.
ACCOUNTS = tuple(f"{100000000000 + 7919 * i:012d}" for i in range(12))
# Kill once the first replica's shares hold this many records: inside its first file.
KILL_AFTER_RECORDS = 1_500
# Two service start-ups, a group join, a takeover after the session timeout and
# 40k rows on a loaded CI machine.
DEADLINE_S = 240.0
PROBE_INTERVAL_S = 0.01
ASSIGNED = re.compile(r"cur shares assigned.*partitions=\[([0-9, ]*)\]")


class Replica:
    """One ingestor service process and the shares it last logged."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.shares: set[int] | None = None
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            match = ASSIGNED.search(raw.decode(errors="replace"))
            if match:
                self.shares = {int(p) for p in match.group(1).split(",") if p.strip()}


async def start_replica(env: dict[str, str]) -> Replica:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.ingestor",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return Replica(proc)


def whole_attempts(records: list[Record]) -> dict[tuple[str, str], tuple[int, int]]:
    """(account, attempt) -> (items on the topic, the completed marker's row_count)."""
    items: Counter[tuple[str, str]] = Counter()
    counts: dict[tuple[str, str], int] = {}
    for r in records:
        fields = r.event.fields
        scope = (fields["account_id"], fields["attempt_id"])
        if r.event.ce_type == CostLineItem.ce_type():
            items[scope] += 1
        elif r.event.ce_type == DeliveryCompleted.ce_type():
            counts[scope] = fields["row_count"]
    return {scope: (items[scope], count) for scope, count in counts.items()} | {
        scope: (n, -1) for scope, n in items.items() if scope not in counts
    }


async def test_two_replicas_one_killed_mid_file_give_exact_daily_totals(
    tmp_path: Path, make_settings: Callable[..., IngestorSettings]
) -> None:
    files, expected = cur2_files(tmp_path / "scratch", FILES, ROWS_PER_FILE, ACCOUNTS)
    staging, root = tmp_path / "staging", tmp_path / "bucket"
    export_delivery(staging, files)
    root.mkdir()
    settings = make_settings()
    await ensure_topics(settings)
    shared = {"SPENDSTREAM_INGESTOR_CUR_SHARED": "true", "SPENDSTREAM_INGESTOR_CUR_POLL_S": "0.5"}
    first = await start_replica(
        {**env_for(settings, root), **shared, "SPENDSTREAM_INGESTOR_STATE_DIR": str(tmp_path / "a")}
    )
    second = await start_replica(
        {**env_for(settings, root), **shared, "SPENDSTREAM_INGESTOR_STATE_DIR": str(tmp_path / "b")}
    )
    probe = AIOKafkaConsumer(**settings.kafka_client_kwargs(), enable_auto_commit=False)
    await probe.start()
    try:

        def both_hold_shares() -> bool:
            for replica in (first, second):
                assert replica.proc.returncode is None, "a replica exited"
            a, b = first.shares, second.shares
            return bool(a and b) and a | b == set(range(CUR_LINE_ITEMS.partitions)) and not a & b

        await wait_for_async(
            both_hold_shares, timeout=DEADLINE_S, description="both replicas holding shares"
        )
        for entry in staging.iterdir():  # the whole delivery appears at once
            os.rename(entry, root / entry.name)
        assert first.shares is not None
        killed_shares = [
            TopicPartition(CUR_LINE_ITEMS.full_name(settings.topic_prefix), p) for p in first.shares
        ]

        async def first_mid_file() -> bool:
            ends = await probe.end_offsets(killed_shares)
            return sum(ends.values()) >= KILL_AFTER_RECORDS

        await wait_for_async(
            first_mid_file,
            timeout=DEADLINE_S,
            interval=PROBE_INTERVAL_S,
            description="the first replica mid-file",
        )
        first.proc.kill()
        await first.proc.wait()

        done = [
            TopicPartition(CUR_SHARES.full_name(settings.topic_prefix), p)
            for p in range(CUR_SHARES.partitions)
        ]

        async def every_share_done() -> bool:
            assert second.proc.returncode is None, "the surviving replica exited"
            return all(end > 0 for end in (await probe.end_offsets(done)).values())

        await wait_for_async(
            every_share_done, timeout=DEADLINE_S, description="every share done by the survivor"
        )
    finally:
        for replica in (first, second):
            if replica.proc.returncode is None:
                replica.proc.kill()
            await replica.proc.wait()
            replica.reader.cancel()
        await probe.stop()

    records = await read_topic(settings, CUR_LINE_ITEMS, light=True)
    assert per_day_totals(records) == dict(expected)
    attempts = whole_attempts(records)
    completed = {scope: v for scope, v in attempts.items() if v[1] >= 0}
    assert all(n == count for n, count in completed.values()), "an applied attempt is not whole"
    assert {account for account, _ in completed} == set(ACCOUNTS)
    unfinished = [scope for scope, (n, count) in attempts.items() if count < 0 and n > 0]
    assert unfinished, "the killed replica left no partial attempt: it was not killed mid-file"
    ids = [r.event.fields["id"] for r in records if r.event.ce_type == CostLineItem.ce_type()]
    assert len(ids) > FILES * ROWS_PER_FILE  # the partial rows are on the topic, not counted
