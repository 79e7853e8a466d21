"""Write a simulated organisation as real billing deliveries, CloudWatch data and truth.

Layouts (``dest`` is a directory or ``s3://bucket/prefix``):

* ``legacy`` — ``<report>/<YYYYMMDD-YYYYMMDD>/<assemblyId>/<report>-<n>.csv.gz`` plus the
  assembly's manifest beside them and the period's latest ``<report>-Manifest.json``;
* ``cur2`` / ``focus`` (Data Exports) — ``<export>/data/BILLING_PERIOD=YYYY-MM/
  <executionId>/<export>-<nnnnn>.snappy.parquet`` (``.csv.gz`` for FOCUS) and
  ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` (latest; a copy per
  execution sits under ``<executionId>/``).

Deliveries are written in issue order, so the latest manifest of each period is
written last; ``until`` writes only those issued by then (to replay a restatement).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from simulator import cur2, focus, legacy_cur
from simulator.deliveries import Delivery, issued_by, plan_deliveries
from simulator.exceptions import WriterError
from simulator.file_writers import DEFAULT_FILE_MAX_ROWS, write_rolling
from simulator.line_items import DEFAULT_CHUNK_ROWS, iter_line_chunks
from simulator.line_layout import LineLayout
from simulator.sinks import Sink, open_sink

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg

FORMATS = ("legacy", "cur2", "focus")
DEFAULT_REPORT = "spendstream-cur"


@dataclass(frozen=True)
class WrittenDelivery:
    """One delivery as written: where, how many rows, what total."""

    format: str
    billing_period: date
    sequence: int
    manifest_id: str
    issued_at: datetime
    manifest_keys: tuple[str, ...]
    data_keys: tuple[str, ...]
    rows: int
    cost_total: float


def _ref(sink: Sink, key: str) -> str:
    uri = sink.uri(key)
    return uri if uri.startswith("s3://") else sink.object_key(key)


def _write_json(sink: Sink, key: str, doc: dict[str, Any]) -> None:
    with sink.open(key) as handle:
        handle.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))


def _write_one(
    org: SimulatedOrg,
    sink: Sink,
    fmt: str,
    delivery: Delivery,
    grain: str,
    report: str,
    layout: LineLayout,
    on_day: Callable[[int], None] | None,
    file_max_rows: int,
    chunk_rows: int,
) -> WrittenDelivery:
    total = 0.0
    module: Any = {"legacy": legacy_cur, "cur2": cur2, "focus": focus}[fmt]

    def tables() -> Any:
        nonlocal total
        first = org.dates[delivery.days.start]
        done = 0
        for chunk in iter_line_chunks(org, delivery, grain, chunk_rows, layout):
            total += float(chunk["cost"].sum())
            yield module.table(chunk, delivery, layout)
            # Days strictly before the chunk's last day are complete.
            reached = (chunk["usage_start"].iloc[-1].date() - first).days
            if on_day is not None and reached > done:
                on_day(reached - done)
                done = reached
        if on_day is not None and len(delivery.days) > done:
            on_day(len(delivery.days) - done)

    mid = delivery.manifest_id
    if fmt == "legacy":
        folder = f"{report}/{legacy_cur.period_folder(delivery)}"
        files = write_rolling(
            sink,
            tables(),
            lambda n: f"{folder}/{mid}/{report}-{n}.csv.gz",
            "csv.gz",
            legacy_cur.SCHEMA,
            file_max_rows,
        )
        doc = legacy_cur.manifest(
            delivery,
            report,
            org.payer_account_id,
            _bucket(sink),
            [sink.object_key(k) for k in files.keys],
        )
        keys = (f"{folder}/{mid}/{report}-Manifest.json", f"{folder}/{report}-Manifest.json")
    else:
        part = f"BILLING_PERIOD={delivery.billing_period:%Y-%m}"
        ext, kind = ("snappy.parquet", "parquet") if fmt == "cur2" else ("csv.gz", "csv.gz")
        files = write_rolling(
            sink,
            tables(),
            lambda n: f"{report}/data/{part}/{mid}/{report}-{n:05d}.{ext}",
            kind,
            getattr(module, "WRITE_SCHEMA", module.SCHEMA),
            file_max_rows,
        )
        doc = cur2.manifest(
            delivery, report, org.payer_account_id, [_ref(sink, k) for k in files.keys]
        )
        if fmt == "focus":
            doc["columns"] = [{"name": f.name, "type": str(f.type)} for f in focus.SCHEMA]
        keys = (
            f"{report}/metadata/{part}/{mid}/{report}-Manifest.json",
            f"{report}/metadata/{part}/{report}-Manifest.json",
        )
    for key in keys:  # the period's top-level manifest last: it marks the delivery done
        _write_json(sink, key, doc)
    return WrittenDelivery(
        fmt,
        delivery.billing_period,
        delivery.sequence,
        mid,
        delivery.issued_at,
        keys,
        tuple(files.keys),
        files.rows,
        total,
    )


def _bucket(sink: Sink) -> str:
    uri = sink.uri("x")
    return uri[5:].split("/", 1)[0] if uri.startswith("s3://") else ""


def write_cur(
    org: SimulatedOrg,
    dest: str,
    fmt: str = "cur2",
    grain: str = "daily",
    report: str = DEFAULT_REPORT,
    until: datetime | None = None,
    endpoint_url: str | None = None,
    on_day: Callable[[int], None] | None = None,
    file_max_rows: int = DEFAULT_FILE_MAX_ROWS,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    mtd_every_days: int | None = None,
) -> list[WrittenDelivery]:
    """Write every delivery (issued by ``until``) of ``org`` in ``fmt`` under ``dest``.

    Args:
        org: The organisation.
        dest: Local directory or ``s3://bucket/prefix``.
        fmt: ``legacy``, ``cur2`` or ``focus``.
        grain: ``daily`` or ``hourly`` line items.
        report: Report (legacy) or export (Data Exports) name.
        until: Only deliveries issued at or before this instant (None: all).
        endpoint_url: S3 endpoint (moto, MinIO); None for AWS.
        on_day: Called with 1 after each delivered day (progress bars).
        file_max_rows: Rows per data file before rolling over.
        chunk_rows: Rows per in-memory chunk (bounds memory).
        mtd_every_days: Also write month-to-date deliveries every N days.
    """
    if fmt not in FORMATS:
        raise WriterError(f"format {fmt!r}: use one of {FORMATS}")
    sink = open_sink(dest, endpoint_url)
    layout = LineLayout.of(org)
    return [
        _write_one(org, sink, fmt, d, grain, report, layout, on_day, file_max_rows, chunk_rows)
        for d in plan_deliveries(org, mtd_every_days)
        if issued_by(d, until)
    ]


def write_ground_truth(org: SimulatedOrg, path: str, endpoint_url: str | None = None) -> str:
    """Write ``org.ground_truth()`` as JSON to a file path or ``s3://bucket/key``."""
    parent, _, name = str(path).rstrip("/").rpartition("/")
    sink = open_sink(parent or ".", endpoint_url)
    _write_json(sink, name, org.ground_truth())
    return sink.uri(name)


def schema_of(fmt: str) -> pa.Schema:
    """The Arrow schema of a format's data files."""
    return {"legacy": legacy_cur.SCHEMA, "cur2": cur2.SCHEMA, "focus": focus.SCHEMA}[fmt]


__all__ = [
    "DEFAULT_FILE_MAX_ROWS",
    "FORMATS",
    "WrittenDelivery",
    "schema_of",
    "write_cur",
    "write_ground_truth",
]
