"""Replay a CloudWatch datapoints file (the simulator's output) onto the datapoints topic.

Accepted: CSV, CSV.gz, Parquet or JSON lines with one datapoint per row:
``resource_id`` (or ``instance_id``), ``account_id``, ``region``, ``metric``,
``stat``, ``timestamp``, ``value`` and optionally ``namespace``, ``unit``,
``period_s``. Rows that do not parse are logged and counted, never sent.
Ids are deterministic, so replaying twice is idempotent downstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.ingestor.cur.readers import open_data_file
from services.ingestor.exceptions import FileRefused
from shared.events import MetricDatapoint, stable_id
from shared.kafka import EventProducer
from shared.logging import get_logger
from shared.topics import CLOUDWATCH_DATAPOINTS

log = get_logger(__name__)

# Await acks every 20k datapoints: bounded memory, plenty in flight.
ACK_WINDOW = 20_000


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        raise FileRefused(f"{path}: no such datapoints file")
    if path.suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield orjson.loads(line)
        return
    opened = open_data_file(path)
    for batch in opened.batches:
        yield from batch.to_pylist()


def to_datapoint(row: dict[str, Any]) -> MetricDatapoint:
    """One row as a datapoint; raises ValueError/KeyError when a field is missing or bad."""
    resource = str(row.get("resource_id") or row["instance_id"])
    ts = row["timestamp"]
    when = ts if isinstance(ts, datetime) else datetime.fromisoformat(str(ts))
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    metric, stat = str(row["metric"]), str(row.get("stat") or "Average")
    account, region = str(row["account_id"]), str(row["region"])
    return MetricDatapoint(
        id=stable_id(account, region, resource, metric, stat, when.isoformat()),
        resource_id=resource,
        account_id=account,
        region=region,
        namespace=str(row.get("namespace") or "AWS/EC2"),
        metric=metric,
        stat=stat,
        unit=row.get("unit") or None,
        period_s=int(row.get("period_s") or 300),
        timestamp=when,
        value=float(row["value"]),
    )


async def replay_datapoints(path: Path, producer: EventProducer) -> int:
    """Send every datapoint of ``path``; return how many were acked."""
    sent, bad = 0, 0
    pending: list[Any] = []
    for row in _rows(path):
        try:
            point = to_datapoint(row)
        except (KeyError, ValueError, TypeError) as exc:
            bad += 1
            log.warning("datapoint row skipped", file=str(path), reason=repr(exc))
            continue
        pending.append(await producer.send(CLOUDWATCH_DATAPOINTS, point, key=point.resource_id))
        if len(pending) >= ACK_WINDOW:
            await asyncio.gather(*pending)
            sent, pending = sent + len(pending), []
    await asyncio.gather(*pending)
    sent += len(pending)
    log.info("datapoints replayed", file=str(path), sent=sent, skipped=bad)
    return sent
