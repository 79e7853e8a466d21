"""Replay a CloudWatch datapoints file (the simulator's output) onto the datapoints topic.

Accepted: Parquet (streamed by row group), JSON lines (``.jsonl``, ``.jsonl.gz``)
or CSV, one datapoint per row: ``instance_id`` (or ``resource_id``),
``account_id``, ``region``, ``metric``, ``stat``, ``timestamp``, ``value`` and
optionally ``namespace``, ``unit``, ``period_s``. Ids are the poller's
(``stable_id(stream key, timestamp)``), so a replay and a live poll of the same
point are the same event, and replaying twice is idempotent downstream. Rows
that do not parse are logged and counted, never sent. Records go out through
per-partition batches (see ``batching``): millions of points replay in minutes.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa

from services.ingestor.batching import HeaderFactory, TopicBatcher, encode_body
from services.ingestor.cloudwatch.usage import USAGE_NAMESPACES
from services.ingestor.cur import columns, values
from services.ingestor.cur.readers import open_data_file
from services.ingestor.exceptions import FileRefused
from shared.events import MetricDatapoint, stable_id
from shared.file_formats import DATAPOINT_REQUIRED, DATAPOINT_RESOURCE_COLUMNS
from shared.kafka import EventProducer
from shared.logging import get_logger
from shared.topics import CLOUDWATCH_DATAPOINTS, CLOUDWATCH_USAGE

log = get_logger(__name__)

# JSON lines are grouped into Arrow-sized chunks of this many rows before sending.
JSONL_CHUNK_ROWS = 50_000
DEFAULT_PERIOD_S = 300


def _jsonl_chunks(handle: BinaryIO | gzip.GzipFile) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, Any]] = []
    for line in handle:
        if line.strip():
            # As text: one bad cell must not make Arrow reject the whole chunk's
            # types; the column parsers then reject just that row (str(float) is repr).
            fields = orjson.loads(line)
            rows.append({k: None if v is None else str(v) for k, v in fields.items()})
        if len(rows) >= JSONL_CHUNK_ROWS:
            yield pa.RecordBatch.from_pylist(rows)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows)


def _batches(path: Path) -> Iterator[pa.RecordBatch]:
    if not path.exists():
        raise FileRefused(f"{path}: no such datapoints file")
    if path.name.endswith(".jsonl.gz"):
        with gzip.open(path, "rb") as handle:
            yield from _jsonl_chunks(handle)
    elif path.name.endswith((".jsonl", ".ndjson")):
        with path.open("rb") as handle:
            yield from _jsonl_chunks(handle)
    else:
        yield from open_data_file(path).batches


def _column(batch: pa.RecordBatch, *names: str) -> list[Any] | None:
    for name in names:
        if name in batch.schema.names:
            return columns.text_column(batch.column(name))
    return None


#: Marks a body bound for the usage topic (resource ids never start with "~").
USAGE_KEY = "~usage/"


def datapoint_bodies(batch: pa.RecordBatch) -> tuple[list[tuple[str, str, bytes]], int]:
    """(key, id, JSON body) per valid row, and the count of rows skipped."""
    missing = [n for n in DATAPOINT_REQUIRED if n not in batch.schema.names]
    resources = _column(batch, *DATAPOINT_RESOURCE_COLUMNS)
    if missing or resources is None:
        raise FileRefused(f"datapoints file lacks column(s) {missing or ['instance_id']}")
    n = batch.num_rows
    stamps, bad_time = columns.time_column(
        batch.column("timestamp"), "timestamp", values.TimeParser()
    )
    numbers, bad_value = columns.number_column(batch.column("value"), "value")
    accounts, regions = _column(batch, "account_id"), _column(batch, "region")
    metrics, stats = _column(batch, "metric"), _column(batch, "stat") or [None] * n
    namespaces = _column(batch, "namespace") or [None] * n
    units = _column(batch, "unit") or [None] * n
    periods = batch.column("period_s").to_pylist() if "period_s" in batch.schema.names else None
    if accounts is None or regions is None or metrics is None:  # checked above; for typing
        raise FileRefused("datapoints file lacks account_id, region or metric")
    out: list[tuple[str, str, bytes]] = []
    skipped = 0
    for i in range(n):
        resource, ts, value = resources[i], stamps[i], numbers[i]
        if (
            ts is None
            or i in bad_time
            or i in bad_value
            or None in (resource, ts, value, accounts[i], metrics[i])
        ):
            skipped += 1
            continue
        stat = stats[i] or "Average"
        key = f"{accounts[i]}/{regions[i]}/{resource}/{metrics[i]}/{stat}"
        event_id = stable_id(key, ts.astimezone(UTC).isoformat())
        body = {
            "id": event_id,
            "resource_id": resource,
            "account_id": accounts[i],
            "region": regions[i],
            "namespace": namespaces[i] or "AWS/EC2",
            "metric": metrics[i],
            "stat": stat,
            "unit": units[i],
            "period_s": int(periods[i]) if periods and periods[i] else DEFAULT_PERIOD_S,
            "timestamp": ts,
            "value": value,
        }
        # Usage metrics go to their own topic keyed by account (the anomaly usage loop
        # prices them), never to the EC2 metric path; rows carry no dimensions.
        usage = body["namespace"] in USAGE_NAMESPACES
        out.append((USAGE_KEY + accounts[i] if usage else resource, event_id, encode_body(body)))
    return out, skipped


async def replay_datapoints(path: Path, producer: EventProducer) -> int:
    """Send every datapoint of ``path``; return how many were acked."""
    batcher = TopicBatcher(producer, CLOUDWATCH_DATAPOINTS)
    usage = TopicBatcher(producer, CLOUDWATCH_USAGE)
    headers = HeaderFactory(MetricDatapoint.ce_type(), producer.settings.service_name)
    sent = skipped = 0
    for batch in _batches(path):
        bodies, bad = datapoint_bodies(batch)
        skipped += bad
        headers.tick()
        for key, event_id, body in bodies:
            if key.startswith(USAGE_KEY):
                await usage.append(key.removeprefix(USAGE_KEY), body, headers(event_id))
            else:
                await batcher.append(key, body, headers(event_id))
        sent += len(bodies)
    await batcher.flush()
    await usage.flush()
    if skipped:
        log.warning("datapoint rows skipped", file=str(path), skipped=skipped)
    log.info("datapoints replayed", file=str(path), sent=sent)
    return sent
