"""Benchmark: a CUR 2.0 Parquet delivery into acknowledged Kafka messages.

Ours: the ingestor's CUR path (manifest -> streaming Parquet reader -> columnar
normaliser -> per-partition aiokafka record batches -> acks -> completed markers).
Baseline, in the same run on the same broker: a plain ``confluent-kafka``
(librdkafka) loop that reads the same file with the same reader and normaliser
and produces the same rows one at a time (``orjson.dumps`` + the same headers,
``produce`` + ``poll(0)``, ``flush`` at the end). The ratio is ours/baseline in
rows per second, so it measures what the ingestor does between a normalised
row and an acked record.

Then the peak RSS of ingesting a 10M-row file, measured in a child process
(``resource.getrusage`` ``ru_maxrss``). The broker is memory-only, so that run
uses gzip batch compression to keep ~7 GB of JSON from piling up in the broker;
the ingestor's own memory is what is measured.

Run: ``make bench-ingest`` (``--rows``, ``--rss-rows``, ``--skip-rss`` to size it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from services.ingestor.batching import HeaderFactory
from services.ingestor.cur.formats import detect
from services.ingestor.cur.normalise import BatchNormaliser, FileContext
from services.ingestor.cur.readers import open_data_file
from services.ingestor.cur_runner import CurRunner, make_source
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.events import CostLineItem
from shared.kafka import EventProducer, make_producer
from shared.logging import configure_logging
from shared.topics import CUR_LINE_ITEMS, ensure_topics

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


def make_delivery(root: Path, parquet: Path, execution_id: str) -> None:
    """Lay the file out as a Data Exports delivery with its manifest."""
    part = f"BILLING_PERIOD={PERIOD:%Y-%m}"
    data = root / "exports" / "bench" / "data" / part
    data.mkdir(parents=True, exist_ok=True)
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
                "dataFiles": [f"s3://bench/exports/bench/data/{part}/{parquet.name}"],
            }
        )
    )


def settings_for(bootstrap: str, state: Path) -> IngestorSettings:
    return IngestorSettings(
        kafka_bootstrap_servers=bootstrap,
        topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
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


def run_baseline(settings: IngestorSettings, parquet: Path) -> int:
    """The plain librdkafka loop: same reader and normaliser, one ``produce`` per row."""
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
    opened = open_data_file(parquet)
    context = FileContext("baseline", "baseline", "baseline", PERIOD, parquet.name)
    normaliser = BatchNormaliser(detect(opened.header), opened.header, context)
    headers = HeaderFactory(CostLineItem.ce_type(), "baseline")
    rows, first = 0, 1
    for batch in opened.batches:
        items, _ = normaliser.normalise(batch, first)
        first += batch.num_rows
        for item in items:
            value = orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS)
            while True:
                try:
                    producer.produce(
                        topic, value=value, key=item["account_id"], headers=headers(item["id"])
                    )
                    break
                except BufferError:  # local queue full: serve delivery reports, retry
                    producer.poll(0.05)
            producer.poll(0)
            rows += 1
    remaining = producer.flush(120)
    if remaining:
        raise RuntimeError(f"baseline: {remaining} messages not acknowledged")
    return rows


def rss_child(bootstrap: str, parquet: Path, state: Path) -> None:
    """Child process: ingest ``parquet`` (gzip batches) and print rows, seconds and peak RSS."""
    root = state / "delivery"
    make_delivery(root, parquet, f"rss-{uuid.uuid4().hex[:6]}")
    settings = settings_for(bootstrap, state / "state")
    t0 = time.perf_counter()
    rows = asyncio.run(run_ours(settings, root, compression_type="gzip"))
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_mb}))


def broker(stack: ExitStack, work: Path) -> str:
    """The broker from SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS, else an embedded Tansu of our own."""
    existing = os.environ.get("SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        return existing
    from devstack.stack import owned_stack

    work.chmod(0o755)  # PostgreSQL's unprivileged user keeps its data inside when we are root
    # All or nothing, stopped on any exit (Ctrl-C and SIGTERM included).
    return stack.enter_context(owned_stack(work / "stack")).kafka_bootstrap_servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--rss-rows", type=int, default=RSS_ROWS)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--rss-child", nargs=3, metavar=("BOOTSTRAP", "PARQUET", "STATE"))
    args = parser.parse_args()
    configure_logging("bench-ingest", "WARNING", json=False)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # progress as it runs
    if args.rss_child:
        bootstrap, parquet, state = args.rss_child
        rss_child(bootstrap, Path(parquet), Path(state))
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        bootstrap = broker(stack, work)
        parquet = work / "cur2-00001.snappy.parquet"
        t0 = time.perf_counter()
        generate(parquet, args.rows)
        print(
            f"generated {args.rows:,} CUR 2.0 rows ({parquet.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - t0:.1f} s; broker {bootstrap}"
        )

        make_delivery(work / "delivery", parquet, "bench-1")
        t0 = time.perf_counter()
        ours_rows = asyncio.run(
            run_ours(settings_for(bootstrap, work / "state"), work / "delivery")
        )
        ours_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        base_rows = run_baseline(settings_for(bootstrap, work / "state-b"), parquet)
        base_s = time.perf_counter() - t0

        ours_rate, base_rate = ours_rows / ours_s, base_rows / base_s
        for name, rows, secs, rate in (
            ("ours (ingestor, acked)", ours_rows, ours_s, ours_rate),
            ("baseline (confluent-kafka loop)", base_rows, base_s, base_rate),
        ):
            print(f"{name:<32} {rows:>10,} rows in {secs:7.2f} s = {rate:>9,.0f} rows/s")
        print(f"ratio ours/baseline: {ours_rate / base_rate:.2f} (target >= 1.0)")

        if args.skip_rss:
            return
        big = work / "cur2-rss.snappy.parquet"
        parquet.unlink()
        t0 = time.perf_counter()
        generate(big, args.rss_rows, seed=11)
        size_mb = big.stat().st_size / 1e6
        print(
            f"generated {args.rss_rows:,} rows ({size_mb:.0f} MB) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bench_ingest",
                "--rss-child",
                bootstrap,
                str(big),
                str(work / "rss"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"peak RSS ingesting {result['rows']:,} rows: {result['peak_rss_mb']:.0f} MB "
            f"(target < 500 MB; {result['rows'] / result['seconds']:,.0f} rows/s with gzip batches)"
        )


if __name__ == "__main__":
    main()
