"""Write the fleet's CloudWatch datapoints to a file, streamed instance-day by instance-day.

``.parquet`` gets one row group per ``ROWS_PER_GROUP`` datapoints; ``.jsonl`` (and
``.jsonl.gz``) one JSON object per line. Columns / keys: instance_id, account_id, region, namespace,
metric, stat, unit, timestamp (UTC), value.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shared.file_formats import DATAPOINT_SCHEMA, DATAPOINT_SUFFIXES
from simulator.exceptions import WriterError
from simulator.file_writers import GZIP_LEVEL
from simulator.fleet import FleetMember
from simulator.fleet_view import DATAPOINT_SERIES
from simulator.sinks import open_sink
from simulator.utilisation import STEP_MINUTES, STEPS_PER_DAY

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg

OnDay = Callable[[int], None] | None
#: What ``spendstream ingest`` replays: Parquet or plain JSON lines (gzip for archives).
CLOUDWATCH_SUFFIXES = DATAPOINT_SUFFIXES
#: Datapoints per Parquet row group: ~20 MB in memory, large enough for fast scans.
ROWS_PER_GROUP = 500_000
UNITS = {
    "CPUUtilization": "Percent",
    "NetworkIn": "Bytes",
    "NetworkOut": "Bytes",
    "mem_used_percent": "Percent",
}
NAMESPACES = {"mem_used_percent": "CWAgent"}
SCHEMA = DATAPOINT_SCHEMA


def write_cloudwatch(
    org: SimulatedOrg,
    path: str,
    start: date | None = None,
    end: date | None = None,
    endpoint_url: str | None = None,
    on_day: Callable[[int], None] | None = None,
) -> int:
    """Write datapoints of [start, end) to ``path`` (.parquet or .jsonl.gz); return the count."""
    parent, _, name = str(path).rstrip("/").rpartition("/")
    if not name.endswith(CLOUDWATCH_SUFFIXES):
        raise WriterError(f"{path!r}: name the CloudWatch file one of *{CLOUDWATCH_SUFFIXES}")
    sink = open_sink(parent or ".", endpoint_url)
    with sink.open(name) as handle:
        if name.endswith(".parquet"):
            return _parquet(org, handle, start, end, on_day)
        if name.endswith(".jsonl"):
            return _jsonl(org, handle, start, end, on_day)
        with gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
            return _jsonl(org, gz, start, end, on_day)


def _columns(
    org: SimulatedOrg, start: date | None, end: date | None, on_day: Callable[[int], None] | None
) -> Iterator[tuple[FleetMember, date, str, str, np.ndarray]]:
    """Yield (member, day, metric, stat, values) for every series of every instance-day."""
    last = None
    for member, day, data in org.iter_instance_days(start, end):
        if on_day is not None and last is not None and day != last:
            on_day(1)
        last = day
        for metric, stat, key in DATAPOINT_SERIES:
            if key == "mem" and not member.load.has_memory_agent:
                continue
            yield member, day, metric, stat, data[key]
    if on_day is not None and last is not None:
        on_day(1)


def _parquet(
    org: SimulatedOrg, handle: BinaryIO, start: date | None, end: date | None, on_day: OnDay
) -> int:
    writer = pq.ParquetWriter(handle, SCHEMA, compression="snappy")
    buf: dict[str, list[np.ndarray]] = {f.name: [] for f in SCHEMA}
    count = pending = 0
    steps = np.arange(STEPS_PER_DAY) * np.timedelta64(STEP_MINUTES * 60, "s")

    def flush() -> None:
        arrays = [pa.array(np.concatenate(buf[f.name]), f.type) for f in SCHEMA]
        writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA))
        for values in buf.values():
            values.clear()

    try:
        for member, day, metric, stat, values in _columns(org, start, end, on_day):
            for field, value in (
                ("instance_id", member.instance_id),
                ("account_id", member.account_id),
                ("region", member.region),
                ("namespace", NAMESPACES.get(metric, "AWS/EC2")),
                ("metric", metric),
                ("stat", stat),
                ("unit", UNITS[metric]),
            ):
                buf[field].append(np.full(STEPS_PER_DAY, value, dtype=object))
            buf["timestamp"].append(np.datetime64(day, "s") + steps)
            buf["value"].append(values)
            pending += STEPS_PER_DAY
            if pending >= ROWS_PER_GROUP:
                flush()
                count, pending = count + pending, 0
        if pending:
            flush()
            count += pending
    finally:
        writer.close()
    return count


def _jsonl(
    org: SimulatedOrg,
    out: BinaryIO | gzip.GzipFile,
    start: date | None,
    end: date | None,
    on_day: OnDay,
) -> int:
    count = 0
    stamps: list[str] = []
    stamp_day = None
    for member, day, metric, stat, values in _columns(org, start, end, on_day):
        if day != stamp_day:
            base = np.datetime64(day, "s")
            stamps = [
                f"{t}Z"
                for t in np.datetime_as_string(
                    base + np.arange(STEPS_PER_DAY) * np.timedelta64(STEP_MINUTES * 60, "s")
                )
            ]
            stamp_day = day
        head = (
            f'{{"instance_id":"{member.instance_id}","account_id":"{member.account_id}",'
            f'"region":"{member.region}","namespace":"{NAMESPACES.get(metric, "AWS/EC2")}",'
            f'"metric":"{metric}","stat":"{stat}","unit":"{UNITS[metric]}","timestamp":"'
        )
        lines = [
            f'{head}{t}","value":{v!r}}}\n' for t, v in zip(stamps, values.tolist(), strict=True)
        ]
        out.write("".join(lines).encode())
        count += len(lines)
    return count
