"""Benchmark: a CUR 2.0 Parquet delivery into acknowledged Kafka messages.

Ours: the ingestor's CUR path (manifest -> streaming Parquet reader -> column-wise
encoder -> per-partition aiokafka record batches -> acks -> completed markers),
one process.

Baseline, in the same run on the same broker: the broker's raw produce rate of
pre-encoded records of the same size: the same line-item bodies, keys and
headers, encoded before the clock starts, produced and acked (a) through the
same aiokafka batch path and (b) by a ``confluent-kafka`` (librdkafka)
``produce`` loop; the faster of the two is the baseline. The ratio says how
close reading + normalising + encoding come to free.

Then two replicas in shared mode (``cur_shares``), each its own process, on the
same delivery, against the one process above: rows over the span from the first
replica's start to the last one's end.

Then the peak RSS of ingesting a 10M-row file in a child process: the kernel's
high-water mark of the child's own memory (``VmHWM``) and a psutil sample of
RSS every 0.2 s with what the process held at the peak (Arrow's pool, Python's
traced heap when ``--trace``). Not ``ru_maxrss``: a child started by fork+exec
inherits its parent's peak there, and this parent has just generated 10M rows.
The broker is memory-only, so that run uses gzip batch compression to keep
~7 GB of JSON from piling up in the broker.

Run: ``make bench-ingest`` (``--rows``, ``--rss-rows``, ``--skip-rss`` to size it).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from services.ingestor.batching import HeaderFactory, TopicBatcher
from services.ingestor.cur.encode import BatchEncoder
from services.ingestor.cur.formats import detect
from services.ingestor.cur.normalise import BatchNormaliser, FileContext
from services.ingestor.cur.readers import open_data_file
from services.ingestor.cur_runner import CurRunner, make_source
from services.ingestor.cur_shares import ShareBook
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.events import CostLineItem
from shared.kafka import EventProducer, make_producer
from shared.logging import configure_logging
from shared.topics import CUR_LINE_ITEMS, CUR_SHARES, ensure_topics

ROWS = 1_000_000
RSS_ROWS = 10_000_000
# Generate in 250k-row row groups: bounded generator memory, realistic row-group size.
GEN_CHUNK = 250_000
PERIOD = date(2024, 5, 1)
ACCOUNTS = np.array([f"{100000000000 + i * 7919:012d}" for i in range(24)])
SERVICES = np.array(["AmazonEC2", "AmazonS3", "AmazonRDS", "AWSLambda", "AmazonCloudWatch"])
USAGE = np.array(
    ["BoxUsage:m5.large", "TimedStorage-ByteHrs", "Requests-Tier1", "DataTransfer-Out-Bytes"]
)
REGIONS = np.array(["us-east-1", "eu-west-1", "ap-southeast-2"])
TEAMS = np.array(["payments", "search", "platform", "data"])
LIBRDKAFKA_BATCH_BYTES = 1024 * 1024  # the same 1 MiB batches the ingestor uses
LIBRDKAFKA_LINGER_MS = 5  # and the same linger
# Distinct pre-encoded records the raw baseline cycles through (bounded memory).
RAW_DISTINCT = 100_000
RSS_SAMPLE_S = 0.2


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write a CUR 2.0 Parquet file chunk by chunk (never the whole file in memory)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(datetime(PERIOD.year, PERIOD.month, 1), "s")
    writer: pq.ParquetWriter | None = None
    done = 0
    while done < rows:
        n = min(GEN_CHUNK, rows - done)
        idx = np.arange(done, done + n)
        hours = start + (idx % 744).astype("timedelta64[h]")
        cost = np.round(rng.gamma(0.6, 0.4, n), 8)
        resource_ids = [f"i-{v:017x}" for v in (idx % 20_000)]
        teams = TEAMS[idx % len(TEAMS)]
        offsets = np.arange(0, 2 * n + 1, 2, dtype=np.int32)
        keys = np.tile(np.array(["user_team", "user_env"]), n)
        items = np.empty(2 * n, dtype=object)
        items[0::2] = teams
        items[1::2] = np.where(idx % 3 == 0, "prod", "dev")
        table = pa.table(
            {
                "bill_payer_account_id": pa.array(np.full(n, "999999999999")),
                "bill_billing_period_start_date": pa.array(
                    np.full(n, start), pa.timestamp("s", "UTC")
                ),
                "line_item_usage_account_id": pa.array(ACCOUNTS[rng.integers(0, len(ACCOUNTS), n)]),
                "line_item_usage_start_date": pa.array(hours, pa.timestamp("s", "UTC")),
                "line_item_usage_end_date": pa.array(
                    hours + np.timedelta64(1, "h"), pa.timestamp("s", "UTC")
                ),
                "line_item_product_code": pa.array(SERVICES[idx % len(SERVICES)]),
                "line_item_usage_type": pa.array(USAGE[idx % len(USAGE)]),
                "line_item_operation": pa.array(np.full(n, "RunInstances")),
                "product_region_code": pa.array(REGIONS[idx % len(REGIONS)]),
                "line_item_resource_id": pa.array(resource_ids),
                "product_instance_type": pa.array(np.full(n, "m5.large")),
                "line_item_line_item_type": pa.array(np.full(n, "Usage")),
                "line_item_unblended_cost": pa.array(cost),
                "line_item_net_unblended_cost": pa.array(cost),
                "pricing_public_on_demand_cost": pa.array(np.round(cost * 1.2, 8)),
                "line_item_usage_amount": pa.array(np.ones(n)),
                "line_item_currency_code": pa.array(np.full(n, "USD")),
                "resource_tags": pa.MapArray.from_arrays(
                    pa.array(offsets), pa.array(keys), pa.array(items, pa.string())
                ),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table)
        done += n
    assert writer is not None
    writer.close()


def make_delivery(root: Path, parquets: list[Path], execution_id: str) -> None:
    """Lay the files out as one Data Exports delivery with its manifest."""
    part = f"BILLING_PERIOD={PERIOD:%Y-%m}"
    data = root / "exports" / "bench" / "data" / part
    data.mkdir(parents=True, exist_ok=True)
    for parquet in parquets:
        target = data / parquet.name
        if not target.exists():
            os.link(parquet, target)
    manifest = root / "exports" / "bench" / "metadata" / part / "bench-Manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(
        json.dumps(
            {
                "executionId": execution_id,
                "billingPeriod": {"start": f"{PERIOD:%Y-%m-%d}T00:00:00.000Z"},
                "dataFiles": [f"s3://bench/exports/bench/data/{part}/{p.name}" for p in parquets],
            }
        )
    )


def settings_for(bootstrap: str, state: Path, prefix: str | None = None) -> IngestorSettings:
    return IngestorSettings(
        kafka_bootstrap_servers=bootstrap,
        topic_prefix=prefix or f"bench-{uuid.uuid4().hex[:8]}.",
        kafka_enable_idempotence=os.environ.get("SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE", "false")
        == "true",
        ingestor_state_dir=state,
        log_level="WARNING",
    )


async def run_ours(settings: IngestorSettings, root: Path, **producer_overrides: object) -> int:
    """Ingest the delivery under ``root``; return rows acked."""
    await ensure_topics(settings, (CUR_LINE_ITEMS, CUR_LINE_ITEMS.dlq))
    raw = make_producer(settings, **producer_overrides)
    await raw.start()
    try:
        runner = CurRunner(
            make_source(str(root)),
            EventProducer(raw, settings),
            StateStore(settings.ingestor_state_dir),
        )
        reports = await runner.run_once()
    finally:
        await raw.stop()
    return sum(r.rows for r in reports)


Record = tuple[str, bytes, str]  # key, body, event id


def pre_encode(parquet: Path, limit: int) -> list[Record]:
    """Up to ``limit`` line-item records of ``parquet``, encoded as the ingestor encodes them."""
    opened = open_data_file(parquet)
    context = FileContext("raw", "raw", "raw", PERIOD, parquet.name)
    encoder = BatchEncoder(BatchNormaliser(detect(opened.header), opened.header, context))
    out: list[Record] = []
    first = 1
    for batch in opened.batches:
        encoded = encoder.encode(batch, first)
        first += batch.num_rows
        out += zip(encoded.accounts, encoded.values, encoded.ids, strict=True)
        if len(out) >= limit:
            break
    return out[:limit]


async def raw_aiokafka(settings: IngestorSettings, records: list[Record], total: int) -> float:
    """Seconds to produce and ack ``total`` pre-encoded records via the ingestor's batch path."""
    await ensure_topics(settings, (CUR_LINE_ITEMS,))
    raw = make_producer(settings)
    await raw.start()
    try:
        batcher = TopicBatcher(EventProducer(raw, settings), CUR_LINE_ITEMS)
        headers = HeaderFactory(CostLineItem.ce_type(), "raw")
        t0 = time.perf_counter()
        for key, value, event_id in itertools.islice(itertools.cycle(records), total):
            head = headers(event_id)
            if not batcher.try_append(key, value, head):
                await batcher.append(key, value, head)
        await batcher.flush()
        return time.perf_counter() - t0
    finally:
        await raw.stop()


def raw_librdkafka(settings: IngestorSettings, records: list[Record], total: int) -> float:
    """Seconds for a librdkafka ``produce`` loop to send and ack the same records."""
    from confluent_kafka import Producer  # dev dependency: the baseline only

    asyncio.run(ensure_topics(settings, (CUR_LINE_ITEMS,)))
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "acks": "all",
            "enable.idempotence": settings.kafka_enable_idempotence,
            "linger.ms": LIBRDKAFKA_LINGER_MS,
            "batch.size": LIBRDKAFKA_BATCH_BYTES,
            "partitioner": "murmur2_random",  # Kafka's default, as the ingestor uses
        }
    )
    topic = CUR_LINE_ITEMS.full_name(settings.topic_prefix)
    headers = HeaderFactory(CostLineItem.ce_type(), "raw")
    t0 = time.perf_counter()
    for key, value, event_id in itertools.islice(itertools.cycle(records), total):
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers(event_id))
                break
            except BufferError:  # local queue full: serve delivery reports, retry
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(120)
    if remaining:
        raise RuntimeError(f"librdkafka baseline: {remaining} messages not acknowledged")
    return time.perf_counter() - t0


class RssSampler:
    """Samples this process's RSS in a thread; keeps the peak and what was held then."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak_mb = 0.0
        self.at_peak: dict[str, float] = {}
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_S):
            rss = self.process.memory_info().rss / 1e6
            self.samples.append(rss)
            if rss > self.peak_mb:
                self.peak_mb = rss
                self.at_peak = {
                    "arrow_pool_mb": pa.total_allocated_bytes() / 1e6,
                    "python_traced_mb": (
                        tracemalloc.get_traced_memory()[0] / 1e6 if tracemalloc.is_tracing() else -1
                    ),
                }

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def high_water_mb() -> float:
    """This process's own peak RSS (``VmHWM``: reset by exec, unlike ``ru_maxrss``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_child(bootstrap: str, parquet: Path, state: Path, trace: bool) -> None:
    """Child process: ingest ``parquet`` (gzip batches) and print rows, seconds and memory."""
    if trace:
        tracemalloc.start()
    root = state / "delivery"
    make_delivery(root, [parquet], f"rss-{uuid.uuid4().hex[:6]}")
    settings = settings_for(bootstrap, state / "state")
    t0 = time.perf_counter()
    with RssSampler() as sampler:
        rows = asyncio.run(run_ours(settings, root, compression_type="gzip"))
    seconds = time.perf_counter() - t0
    samples = sampler.samples
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "peak_rss_mb": high_water_mb(),
                "ru_maxrss_mb_inherits_parent": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                / 1024,
                "sampled_peak_mb": sampler.peak_mb,
                "at_peak": sampler.at_peak,
                "python_traced_peak_mb": (
                    tracemalloc.get_traced_memory()[1] / 1e6 if trace else None
                ),
                "rss_first_quarter_mb": max(samples[: len(samples) // 4] or [0]),
                "rss_last_quarter_mb": max(samples[-len(samples) // 4 :] or [0]),
                "arrow_pool_peak_mb": pa.default_memory_pool().max_memory() / 1e6,
                "arrow_pool": pa.default_memory_pool().backend_name,
            }
        )
    )


def broker(stack: ExitStack, work: Path) -> str:
    """The broker from SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS, else an embedded Tansu of our own."""
    existing = os.environ.get("SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        return existing
    from devstack.stack import owned_stack

    work.chmod(0o755)  # PostgreSQL's unprivileged user keeps its data inside when we are root
    # All or nothing, stopped on any exit (Ctrl-C and SIGTERM included).
    return stack.enter_context(owned_stack(work / "stack")).kafka_bootstrap_servers


async def replica(settings: IngestorSettings, root: Path, replicas: int) -> dict[str, float]:
    """One shared-mode replica: wait for its even share of the group, ingest, time it."""
    await ensure_topics(settings, (CUR_LINE_ITEMS, CUR_LINE_ITEMS.dlq, CUR_SHARES))
    raw = make_producer(settings)
    await raw.start()
    producer = EventProducer(raw, settings)
    book = ShareBook(settings, producer)
    await book.start()
    try:
        while len(await book.refresh()) != CUR_SHARES.partitions // replicas:
            pass  # until every replica has joined: else the first takes every share
        state = StateStore(Path(tempfile.mkdtemp(prefix="bench-replica-")))  # unused when shared
        runner = CurRunner(make_source(str(root)), producer, state, book)
        start = time.time()
        reports = await runner.run_once()
        return {"rows": sum(r.rows for r in reports), "start": start, "end": time.time()}
    finally:
        await book.stop()
        await raw.stop()


def two_replicas(work: Path, bootstrap: str, one_rate: float) -> None:
    """Two shared-mode replica processes on the same delivery against one process."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    command = [sys.executable, "-m", "bench.bench_ingest", "--replica-child", bootstrap]
    children = [
        subprocess.Popen(
            [*command, str(work / "delivery"), prefix, "2"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=3600)
        if child.returncode:
            raise RuntimeError(f"replica exited {child.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    rows = sum(r["rows"] for r in results)
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    rate = show("two shared-mode replicas, one delivery (acked)", rows, seconds)
    shares = ", ".join(f"{r['rows']:,}" for r in results)
    print(f"ratio two replicas / one process: {rate / one_rate:.2f} (target >= 1.6; rows {shares})")


def show(name: str, rows: int, seconds: float) -> float:
    rate = rows / seconds
    print(f"{name:<44} {rows:>10,} rows in {seconds:7.2f} s = {rate:>9,.0f} rows/s")
    return rate


def throughput(args: argparse.Namespace, work: Path, bootstrap: str) -> None:
    """One process vs the raw produce rate of the same records, on the same broker."""
    files = [work / f"cur2-{i:05d}.snappy.parquet" for i in range(args.files)]
    t0 = time.perf_counter()
    per_file = args.rows // args.files
    for i, path in enumerate(files):
        generate(path, per_file, seed=7 + i)
    size = sum(p.stat().st_size for p in files) / 1e6
    print(
        f"generated {per_file * args.files:,} CUR 2.0 rows in {args.files} files ({size:.0f} MB) "
        f"in {time.perf_counter() - t0:.1f} s; broker {bootstrap}; load {os.getloadavg()}"
    )
    make_delivery(work / "delivery", files, "bench-1")
    t0 = time.perf_counter()
    ours_rows = asyncio.run(run_ours(settings_for(bootstrap, work / "state"), work / "delivery"))
    ours = show("ours: one ingestor process (acked)", ours_rows, time.perf_counter() - t0)

    records = pre_encode(files[0], RAW_DISTINCT)
    size_b = sum(len(v) for _, v, _ in records) / len(records)
    seconds = asyncio.run(raw_aiokafka(settings_for(bootstrap, work / "raw-a"), records, ours_rows))
    raw_a = show(f"raw produce, aiokafka batches ({size_b:.0f} B)", ours_rows, seconds)
    seconds = raw_librdkafka(settings_for(bootstrap, work / "raw-l"), records, ours_rows)
    raw_l = show(f"raw produce, librdkafka loop ({size_b:.0f} B)", ours_rows, seconds)
    base = max(raw_a, raw_l)
    print(f"ratio ours / raw produce (faster of the two): {ours / base:.2f} (target >= 0.5)")
    two_replicas(work, bootstrap, ours)
    for path in files:
        path.unlink()


def peak_rss(args: argparse.Namespace, work: Path, bootstrap: str) -> None:
    big = work / "cur2-rss.snappy.parquet"
    t0 = time.perf_counter()
    generate(big, args.rss_rows, seed=11)
    size_mb = big.stat().st_size / 1e6
    print(
        f"generated {args.rss_rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - t0:.1f} s"
    )
    command = [sys.executable, "-m", "bench.bench_ingest", "--rss-child", bootstrap, str(big)]
    command += [str(work / "rss"), *(["--trace"] if args.trace else [])]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"peak RSS ingesting {result['rows']:,} rows: {result['peak_rss_mb']:.0f} MB "
        f"(target < 500 MB; {result['rows'] / result['seconds']:,.0f} rows/s with gzip batches)"
    )
    print(f"memory detail: {json.dumps({k: v for k, v in result.items() if k != 'rows'})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rss-rows", type=int, default=RSS_ROWS)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--trace", action="store_true", help="tracemalloc in the RSS run")
    parser.add_argument("--rss-child", nargs=3, metavar=("BOOTSTRAP", "PARQUET", "STATE"))
    parser.add_argument("--replica-child", nargs=4, metavar=("BOOTSTRAP", "ROOT", "PREFIX", "N"))
    args = parser.parse_args()
    configure_logging("bench-ingest", "WARNING", json=False)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # progress as it runs
    if args.rss_child:
        bootstrap, parquet, state = args.rss_child
        rss_child(bootstrap, Path(parquet), Path(state), args.trace)
        return
    if args.replica_child:
        bootstrap, root, prefix, replicas = args.replica_child
        settings = settings_for(bootstrap, Path(root) / "unused", prefix)
        print(json.dumps(asyncio.run(replica(settings, Path(root), int(replicas)))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        bootstrap = broker(stack, work)
        throughput(args, work, bootstrap)
        if not args.skip_rss:
            peak_rss(args, work, bootstrap)


if __name__ == "__main__":
    main()
