"""Stream a billing data file as bounded Arrow record batches: CSV, CSV.gz or Parquet.

Memory stays bounded by one batch (Parquet: up to ``PARQUET_BATCH_ROWS`` rows of
one row group; CSV: one ``CSV_BLOCK_BYTES`` block), never the whole month.
CSV columns are read as text so costs keep their exact decimal digits until we
parse them; Parquet columns keep their native types.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from services.ingestor.exceptions import FileRefused

# 16 Ki rows a batch: the normaliser turns a batch into Python objects (~2 KB a
# row), so this bounds that to ~35 MB, while per-batch kernel overhead (~2 ms)
# stays invisible next to the ~16k rows of per-row work.
PARQUET_BATCH_ROWS = 16_384
# 4 MiB CSV blocks: ~5-15k CUR rows, the same order as a Parquet batch.
CSV_BLOCK_BYTES = 4 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
# Corrupt inputs surface from pyarrow, zlib or gzip as any of these.
READ_ERRORS = (pa.ArrowException, OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError)


@dataclass(frozen=True)
class OpenedFile:
    """A data file ready to stream: its header and a batch iterator."""

    kind: str
    header: list[str]
    batches: Iterator[pa.RecordBatch]


def sniff(path: Path) -> str:
    """``parquet``, ``csv.gz`` or ``csv`` from the file's magic bytes (extensions lie)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(GZIP_MAGIC):
        return "csv.gz"
    if path.suffix.lower() == ".parquet":
        raise FileRefused(f"{path.name}: not a Parquet file (magic bytes missing); re-export it")
    return "csv"


def _csv_header(path: Path, compressed: bool) -> list[str]:
    try:
        if compressed:
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as text:
                return next(csv.reader(text), [])
        with path.open(encoding="utf-8-sig", newline="") as text:
            return next(csv.reader(io.StringIO(text.readline())), [])
    except READ_ERRORS as exc:
        raise FileRefused(f"{path.name}: cannot read CSV header ({exc}); file is corrupt") from exc


def _guard(name: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Turn low-level read errors mid-file into FileRefused with the file name."""
    try:
        yield from batches
    except READ_ERRORS as exc:
        raise FileRefused(
            f"{name}: corrupt or truncated data ({exc}); re-deliver the file"
        ) from exc


def _open_csv(path: Path, compressed: bool) -> OpenedFile:
    header = _csv_header(path, compressed)
    if not header:
        raise FileRefused(f"{path.name}: empty CSV (no header row)")
    header[0] = header[0].lstrip("\ufeff")
    stream = pa.input_stream(str(path), compression="gzip" if compressed else None)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding="utf8"),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except READ_ERRORS as exc:
        stream.close()
        raise FileRefused(
            f"{path.name}: corrupt or unreadable CSV ({exc}); re-deliver the file"
        ) from exc
    return OpenedFile("csv.gz" if compressed else "csv", header, _guard(path.name, iter(reader)))


def _open_parquet(path: Path) -> OpenedFile:
    try:
        parquet = pq.ParquetFile(str(path))
    except READ_ERRORS as exc:
        raise FileRefused(f"{path.name}: corrupt Parquet ({exc}); re-deliver the file") from exc
    header = list(parquet.schema_arrow.names)
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    return OpenedFile("parquet", header, _guard(path.name, batches))


def open_data_file(path: Path) -> OpenedFile:
    """Open ``path`` for streaming, or raise FileRefused saying why it cannot be read."""
    if not path.exists():
        raise FileRefused(f"{path}: listed in the manifest but missing; re-deliver the file")
    kind = sniff(path)
    if kind == "parquet":
        return _open_parquet(path)
    return _open_csv(path, compressed=kind == "csv.gz")
