"""Read a whole topic back (assign + seek to beginning, up to the end offsets) and decode it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.codec import decode, header
from shared.events import CostLineItem, DeliveryCompleted
from shared.settings import SpendstreamSettings
from shared.topics import Topic
from tests.fixtures.cur.builders import cur2_table, write_parquet

# Each getmany waits at most this long; the loop ends when every partition is at its end.
POLL_MS = 500


@dataclass(frozen=True)
class Light:
    """An undecoded event: its ``ce_type`` and JSON fields."""

    ce_type: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Record:
    key: str | None
    partition: int
    offset: int
    event: Any


async def topic_size(settings: SpendstreamSettings, topic: Topic) -> int:
    """How many records the topic holds (sum of end offsets): cheap progress probe."""
    name = topic.full_name(settings.topic_prefix)
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(
            [TopicPartition(name, p) for p in range(topic.partitions)]
        )
        return int(sum(ends.values()))
    finally:
        await consumer.stop()


async def read_topic(
    settings: SpendstreamSettings, topic: Topic, *, light: bool = False
) -> list[Record]:
    """Every record of ``topic`` up to now, in partition order.

    ``light`` skips model validation: events come back as :class:`Light` (type + JSON
    fields), which is all the totals need and several times faster on big topics.
    """
    name = topic.full_name(settings.topic_prefix)
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in range(topic.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[Record] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=POLL_MS)
            for records in batches.values():
                for r in records:
                    key = r.key.decode() if r.key else None
                    if light:
                        fields = orjson.loads(r.value)
                        event: Any = Light(header(r.headers, "ce_type") or "", fields)
                    else:
                        event = decode(r.value, r.headers, topic.values)
                    out.append(Record(key, r.partition, r.offset, event))
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


def _fields(event: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(event, Light):
        return event.ce_type, event.fields
    return event.ce_type(), event.model_dump(mode="json")


def per_day_totals(records: list[Record]) -> dict[tuple[str, str], Decimal]:
    """Downstream's view: only completed attempts; the latest completed per (account, period) wins.

    A small stand-in for the anomaly service's aggregator (not imported: services
    never import each other), applying the restatement rule from DESIGN.md.
    """
    completed, item = DeliveryCompleted.ce_type(), CostLineItem.ce_type()
    winners: dict[tuple[str, str], tuple[int, str]] = {}
    for r in records:
        kind, e = _fields(r.event)
        if kind == completed:
            scope = (e["account_id"], e["billing_period"])
            if scope not in winners or winners[scope][0] < r.offset:
                winners[scope] = (r.offset, e["attempt_id"])
    winning = {(scope[0], attempt) for scope, (_, attempt) in winners.items()}
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in records:
        kind, e = _fields(r.event)
        if kind == item and (e["account_id"], e["attempt_id"]) in winning:
            day = e["usage_start"][:10]
            totals[(e["account_id"], day)] += Decimal(repr(e["unblended_cost"]))
    return dict(totals)


def cur2_files(
    scratch: Path, files: int, rows: int, accounts: tuple[str, ...]
) -> tuple[list[Path], dict[tuple[str, str], Decimal]]:
    """``files`` CUR 2.0 Parquet files of ``rows`` each, and their exact (account, day) totals."""
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    paths = []
    for i in range(files):
        table = cur2_table(rows, seed=i, accounts=accounts)
        paths.append(write_parquet(table, scratch / f"cur2-{i:05d}.snappy.parquet"))
        for account, start, cost in zip(
            table.column("line_item_usage_account_id").to_pylist(),
            table.column("line_item_usage_start_date").to_pylist(),
            table.column("line_item_unblended_cost").to_pylist(),
            strict=True,
        ):
            expected[(account, start.date().isoformat())] += Decimal(repr(cost))
    return paths, expected
